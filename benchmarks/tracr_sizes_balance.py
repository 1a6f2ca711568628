"""tracr's own parameter counts for the "balance" group of docs/tracr.md: frac_prevs,
pair_balance, dyck1 (shuffle_dyck with one pair), dyck2 (shuffle_dyck2).

Optional, never imported by tests. tracr is not a dependency of taotp: install it in a
scratch virtual environment and run this file with that environment's Python:

    python3 -m venv /work/venvs/tracr && /work/venvs/tracr/bin/pip install tracr-pypi
    /work/venvs/tracr/bin/python benchmarks/tracr_sizes_balance.py [NAME ...]

Counted as issue 11 counts: every array of the compiled model's params (embeddings,
attention and MLP weights and biases; no layer norm; the unembedding is not among its
params), and the non-zero entries of the same arrays. frac_prevs, dyck1 and dyck2 give
the numbers issue 11 lists; pair_balance is not in issue 11's table.
"""

from __future__ import annotations

import sys

import numpy as np
from tracr.compiler import compiling, lib
from tracr.rasp import rasp

# name -> (program, vocabulary, max_seq_len): the sizes docs/tracr.md compares at.
PROGRAMS = {
    "frac_prevs": (lambda: lib.make_frac_prevs(rasp.tokens == "x"), {"a", "b", "x"}, 10),
    "pair_balance": (lambda: lib.make_pair_balance(rasp.tokens, "(", ")"), {"(", ")", "a"}, 10),
    "dyck1": (lambda: lib.make_shuffle_dyck(["()"]), {"(", ")"}, 16),
    "dyck2": (lib.make_shuffle_dyck2, {"(", ")", "{", "}"}, 12),
}


def size(name: str) -> tuple[int, int]:
    make, vocab, max_len = PROGRAMS[name]
    model = compiling.compile_rasp_to_model(make(), vocab=vocab, max_seq_len=max_len, compiler_bos="BOS")
    arrays = [np.asarray(v) for layer in model.params.values() for v in layer.values()]
    return sum(a.size for a in arrays), sum(int(np.count_nonzero(a)) for a in arrays)


def main(names: list[str]) -> None:
    for name in names or list(PROGRAMS):
        _, vocab, max_len = PROGRAMS[name]
        total, nonzero = size(name)
        print(f"{name}: vocab {len(vocab)}, max_seq_len {max_len}: {total:,} params, {nonzero:,} non-zero", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
