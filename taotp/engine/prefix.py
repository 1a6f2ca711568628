"""Prompts that begin alike share the prefill of their common beginning.

The machine is causal (fig. 1.1): every layer's row at position p is a function of the
tokens at positions 0..p only. Prompts of one length that agree on their first p + 1
tokens therefore have the same rows, keys and values at positions 0..p, and these need
computing once. An exhaustive check enumerates its inputs in order ('0000+0000=',
'0000+0001=', ...): a chunk of 2,000 consecutive 4-digit sums holds about 230 distinct
beginnings of 8 tokens, so most of its prefill is shared.

`prefix_tree` finds the distinct beginnings at each depth; the engine (fast.py) runs
positions 0..n-2 one at a time on those alone, each depth's caches gathered from its
parents', then the last prompt position on every prompt (the read position, whose
logits and attention are reported per prompt) and decodes as before. Each distinct row
goes through the same operations as in the incremental decoding steps, so a prompt's
result does not depend on which other prompts share its chunk: a depth with a single
distinct beginning is run on two copies of it, as numpy would otherwise multiply one row
by a matrix with gemv, which rounds otherwise than gemm (mlp.py).

Used only in programs of two or more layers, whose prefill already sums in another order
than the reference's (attention.py): they agree with the reference to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORTH = 0.5   # use the tree when it computes at most this share of the prefill's rows


@dataclass
class PrefixTree:
    levels: list        # per depth p = 0..n-2: (first (N_p,) a prompt with each distinct
                        # beginning of p + 1 tokens, parent (N_p,) its node at depth p-1 or None)
    last: np.ndarray    # (B,) each prompt's node at depth n-2


def prefix_tree(toks: np.ndarray, vocab: int) -> PrefixTree | None:
    """The distinct beginnings of equal-length prompts toks (B, n) at each depth, or None
    when sharing them would save less than WORTH of the prefill (or n < 2)."""
    B, n = toks.shape
    if n < 2 or B < 2:
        return None
    levels, node, rows = [], np.zeros(B, dtype=np.int64), 0
    for p in range(n - 1):
        code = node * vocab + toks[:, p]                  # (parent node, token): one key per beginning
        _, first, node = np.unique(code, return_index=True, return_inverse=True)
        node = node.ravel()
        rows += first.size
        if rows > WORTH * B * (n - 1):
            return None
        parent = None if p == 0 else prev[first]
        if first.size == 1:                               # two copies: gemm, as for any other depth
            first = np.repeat(first, 2)
            parent = None if parent is None else np.repeat(parent, 2)
        levels.append((first, parent))
        prev = node
    return PrefixTree(levels, node)
