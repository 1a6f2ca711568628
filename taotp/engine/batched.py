"""Greedy decoding around a whole-sequence logits function, for the runtime engines.

The onnxruntime and torch engines run a graph from token ids (batch, seq) to logits
(batch, seq, vocab) and know nothing of decoding; this module runs the program's
decode rule outside the graph, as the book's decode() (fig. 1.2) does: every step
re-runs the whole sequence and takes the argmax of the last position. Prompts of equal
length (prefix included) are batched together, in chunks that bound memory.

The argmax is taken over distinct unembedding rows only, in order of first appearance
(as the fast engine does): tokens with identical rows tie exactly in the reference and
np.argmax takes the lowest id there, whatever rounding a runtime's matrix product
gives each copy.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..decoding import check_finite, plan_steps
from ..errors import InputError

MEMORY_BUDGET = 256 * 2**20  # bytes of activations per chunk


def distinct_rows(unembedding: np.ndarray) -> np.ndarray:
    """Sorted ids of the first token of each distinct unembedding row."""
    _, first = np.unique(np.asarray(unembedding), axis=0, return_index=True)
    return np.sort(first)


def rows_per_chunk(params, seq_len: int, itemsize: int, budget: int = MEMORY_BUDGET) -> int:
    """Sequences of seq_len tokens per call so that one call's activations fit the budget."""
    d = params.d_model
    per = seq_len * (6 * d + 2 * params.vocab_size)
    for L in params.layers:
        per += seq_len * (4 * L.n_heads * L.d_head + 2 * L.d_ff) + 3 * L.n_heads * seq_len * seq_len
    return max(1, int(budget // (per * itemsize)))


def generate(logits_fn, params, prompts, rule, max_steps=None, itemsize: int = 8) -> list[list[int]]:
    """The greedy continuation of each prompt (prefix excluded, stop token excluded).

    logits_fn(tokens int64 (B, n)) -> logits (B, n, vocab) as a numpy array."""
    prefix = [int(t) for t in rule.prefix]
    seqs = [prefix + [int(t) for t in p] for p in prompts]
    vocab = params.vocab_size
    for j, s in enumerate(seqs):
        for t in s:
            if not 0 <= t < vocab:
                raise InputError(f"token id {t} of input {j} is outside the vocabulary (size {vocab})")
    ids = distinct_rows(params.unembedding)
    by_len = defaultdict(list)
    for j, s in enumerate(seqs):
        by_len[len(s)].append(j)
    out: list[list[int] | None] = [None] * len(seqs)
    for n, members in by_len.items():
        steps = plan_steps(rule, n, params.block_size, max_steps)
        if n == 0 and steps > 0:
            raise InputError("an empty input needs a start token (the program has no prefix)")
        size = rows_per_chunk(params, n + steps, itemsize)
        for s in range(0, len(members), size):
            rows = members[s:s + size]
            toks = np.array([seqs[j] for j in rows], dtype=np.int64).reshape(len(rows), n)
            for j, g in zip(rows, _decode(logits_fn, toks, steps, rule.stop, ids)):
                out[j] = g
    return out  # type: ignore[return-value]


def _decode(logits_fn, toks: np.ndarray, steps: int, stop, ids: np.ndarray) -> list[list[int]]:
    """Greedy steps for equal-length sequences toks (B, n); rows leave at the stop token."""
    B, n = toks.shape
    gen = [[] for _ in range(B)]
    alive = np.arange(B)
    for _ in range(steps):
        last = np.asarray(logits_fn(toks))[:, -1]
        check_finite(last)
        nxt = ids[last[:, ids].argmax(axis=-1)]
        keep = np.ones(len(alive), dtype=bool) if stop is None else nxt != stop
        for b, t in zip(alive[keep], nxt[keep]):
            gen[b].append(int(t))
        alive, toks = alive[keep], np.concatenate([toks[keep], nxt[keep, None]], axis=1)
        if alive.size == 0:
            break
    return gen
