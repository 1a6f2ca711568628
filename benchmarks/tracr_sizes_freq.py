"""tracr's own parameter count for make_sort_freq at docs/tracr.md's size (4 letters, length 10).

Optional, never imported by tests. tracr is not a dependency of taotp: install it in a
scratch virtual environment and run this file with that environment's Python:

    python3 -m venv /work/venvs/tracr && /work/venvs/tracr/bin/pip install tracr-pypi
    /work/venvs/tracr/bin/python benchmarks/tracr_sizes_freq.py

(tracr-pypi 1.0.0 with jax 0.10.2 and dm-haiku 0.0.17.) Counted as issue 11 counts them:
every array of the compiled model's params (embeddings, attention and MLP weights and
biases; tracr's compiled model has no layer norm, and its unembedding is not among its
params), and the non-zero entries of the same arrays.
"""

from __future__ import annotations

import numpy as np
from tracr.compiler import compiling, lib
from tracr.rasp import rasp

LETTERS, MAX_LEN = {"a", "b", "c", "d"}, 10


def main() -> None:
    program = lib.make_sort_freq(max_seq_len=MAX_LEN)
    model = compiling.compile_rasp_to_model(program, vocab=LETTERS, max_seq_len=MAX_LEN, compiler_bos="BOS")
    arrays = [np.asarray(v) for layer in model.params.values() for v in layer.values()]
    total, nonzero = sum(a.size for a in arrays), sum(int(np.count_nonzero(a)) for a in arrays)
    print(f"sort_freq: vocab {len(LETTERS)}, max_seq_len {MAX_LEN}: {total:,} params, {nonzero:,} non-zero")
    out = model.apply(["BOS", "b", "a", "c", "a", "b", "a"]).decoded
    print("tracr on b a c a b a:", out[1:])


if __name__ == "__main__":
    main()
