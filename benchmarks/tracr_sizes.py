"""tracr's own parameter counts for the programs of docs/tracr.md, at the sizes it compares at.

Optional, never imported by tests. tracr is not a dependency of taotp: install it in a
scratch virtual environment and run this file with that environment's Python:

    python3 -m venv /work/venvs/tracr && /work/venvs/tracr/bin/pip install tracr-pypi
    /work/venvs/tracr/bin/python benchmarks/tracr_sizes.py [NAME ...]

(tracr-pypi 1.0.0 with jax 0.10.2 and dm-haiku 0.0.17.) Counted as issue 11 counts them:
every array of the compiled model's params (embeddings, attention and MLP weights and
biases; tracr has no layer norm in its compiled model, and the unembedding is not among
its params), and the non-zero entries of the same arrays. make_reverse at 4 letters,
length 10 gives 92,465 / 641, the number issue 11 lists.
"""

from __future__ import annotations

import sys

import numpy as np
from tracr.compiler import compiling, lib
from tracr.rasp import rasp

LETTERS = {"a", "b", "c", "d"}
DIGITS = set(range(10))
BRACKETS = {"(", ")", "{", "}"}


def window_sum():
    """(x_j + x_{j-1} + x_{j-2}) mod 10, a missing x (before the start) read as 0:
    make_nary_sequencemap of tokens and two shift_by's of them (programs/nary_sequencemap.taotp)."""
    def f(x, y, z):
        return sum(v for v in (x, y, z) if v is not None) % 10
    return lib.make_nary_sequencemap(f, rasp.tokens, lib.shift_by(1, rasp.tokens), lib.shift_by(2, rasp.tokens))


# name -> (program, vocabulary, max_seq_len): the sizes docs/tracr.md compares at.
PROGRAMS = {
    "reverse": (lambda: lib.make_reverse(rasp.tokens), LETTERS, 10),
    "shift_by": (lambda: lib.shift_by(1, rasp.tokens), LETTERS, 10),
    "detect_pattern": (lambda: lib.detect_pattern(rasp.tokens, "abc"), LETTERS, 10),
    "count": (lambda: lib.make_count(rasp.tokens, "a"), LETTERS, 10),
    "nary_sequencemap": (window_sum, DIGITS, 10),
    "length": (lib.make_length, LETTERS, 20),
    "hist": (lib.make_hist, LETTERS, 10),
    "sort_unique": (lambda: lib.make_sort_unique(rasp.tokens, rasp.tokens), set(range(20)), 20),
    "sort": (lambda: lib.make_sort(rasp.tokens, rasp.tokens, max_seq_len=8, min_key=1), set(range(10)), 8),
    "sort_freq": (lambda: lib.make_sort_freq(max_seq_len=10), LETTERS, 10),
    "count_less_freq": (lambda: lib.make_count_less_freq(n=2), LETTERS, 10),
    "frac_prevs": (lambda: lib.make_frac_prevs(rasp.tokens == "x"), {"a", "b", "x"}, 10),
    "pair_balance": (lambda: lib.make_pair_balance(rasp.tokens, "(", ")"), {"(", ")", "a"}, 10),
    "dyck1": (lambda: lib.make_shuffle_dyck(["()"]), {"(", ")"}, 16),
    "dyck2": (lib.make_shuffle_dyck2, BRACKETS, 12),
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
