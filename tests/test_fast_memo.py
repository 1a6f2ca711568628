"""The fast engine's MLP memo (taotp.engine.memo.Memo): outputs remembered by input row.

It must find exactly the rows it was given, with their outputs, however the rows arrive
in calls; keep few sorted runs (so a call does not re-sort everything it holds); and
start over when full.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from taotp.engine.memo import Memo


def keys_of(rows: np.ndarray) -> np.ndarray:
    rows = np.ascontiguousarray(rows)
    return rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel()


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=25), st.integers(0, 2**32 - 1))
def test_finds_what_was_added_and_nothing_else(sizes, seed):
    rng = np.random.default_rng(seed)
    memo = Memo(max_rows=10**6, max_rows_by_bytes=10**6)
    added = {}
    for size in sizes:
        rows = rng.integers(0, 40, (size, 2)).astype(np.float64)   # repeats across calls
        uk, first = np.unique(keys_of(rows), return_index=True)
        vals = np.empty((uk.size, 3))
        hit = memo.lookup(uk, vals)
        for k, h, v in zip(uk, hit, vals):
            assert h == (k.tobytes() in added)
            if h:
                np.testing.assert_array_equal(v, added[k.tobytes()])
        new = ~hit
        outs = rng.standard_normal((int(new.sum()), 3))
        memo.add(uk[new], outs)
        for k, v in zip(uk[new], outs):
            added[k.tobytes()] = v
    assert memo.rows == len(added)
    assert len(memo.runs) <= 2 + math.log(max(2, memo.rows), 4) + 1


def test_starts_over_when_full():
    memo = Memo(max_rows=100, max_rows_by_bytes=10**6)
    first = keys_of(np.arange(80, dtype=np.float64)[:, None])
    memo.add(first, np.zeros((80, 1)))
    second = keys_of(np.arange(100, 130, dtype=np.float64)[:, None])
    memo.add(second, np.ones((30, 1)))
    assert memo.rows == 30
    vals = np.empty((80, 1))
    assert not memo.lookup(first, vals).any()
    assert Memo(max_rows=10**6, max_rows_by_bytes=50).max_rows == 50


def test_engine_mlp_uses_the_memo_across_calls():
    """The fast engine's wide MLP answers a repeated row from the memo, the same bits."""
    from types import SimpleNamespace

    from taotp.engine.mlp import MLP

    rng = np.random.default_rng(0)
    d, f = 6, 80                      # wide (f >= DEDUP_MIN_WIDTH): distinct rows, memoised
    layer = SimpleNamespace(M1=rng.standard_normal((d, f)), b1=rng.standard_normal(f),
                            M2=rng.standard_normal((f, d)), b2=rng.standard_normal(d))
    mlp = MLP(layer, np.float64)
    x = rng.standard_normal((5, d))
    first = mlp(x)
    assert mlp.memo is not None and mlp.memo.rows == 5
    again = mlp(np.concatenate([x[::-1], rng.standard_normal((3, d))]))
    np.testing.assert_array_equal(again[:5], first[::-1])
    assert mlp.memo.rows == 8
