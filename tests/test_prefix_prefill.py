"""Prompts that begin alike share their prefill (taotp/engine/prefix.py).

The tree of distinct beginnings is checked as a property on random token rows; the
engine with the tree against the engine without it (the same tokens; the margins and
softest attention equal to rounding) and against the reference, on programs of two or
more layers with inputs in enumeration order (where the tree is used) and shuffled.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import taotp
from taotp import specs
from taotp.checking.stats import Stats
from taotp.engine import fast, prefix, reference


@given(st.integers(2, 6).flatmap(lambda n: arrays(np.int64, st.tuples(st.integers(2, 40), st.just(n)),
                                                   elements=st.integers(0, 2))))
@settings(max_examples=60, deadline=None)
def test_tree_nodes_are_the_distinct_beginnings(toks):
    B, n = toks.shape
    old = prefix.WORTH
    prefix.WORTH = 1.0                     # always build it (the sharing rule is not under test)
    try:
        tree = prefix.prefix_tree(toks, 3)
    finally:
        prefix.WORTH = old
    assert len(tree.levels) == n - 1
    for p, (first, parent) in enumerate(tree.levels):
        distinct = {tuple(r) for r in toks[:, :p + 1]}
        assert {tuple(r) for r in toks[first, :p + 1]} == distinct
        assert first.size == len(distinct) or (len(distinct) == 1 and first.size == 2)
        if p:
            up = tree.levels[p - 1][0]
            assert (toks[up[parent], :p] == toks[first, :p]).all()
    last = tree.levels[-1][0][tree.last]
    assert (toks[last, :n - 1] == toks[:, :n - 1]).all()


def test_no_tree_when_little_is_shared():
    toks = np.arange(200).reshape(50, 4) % 97
    assert prefix.prefix_tree(toks, 97) is None
    assert prefix.prefix_tree(np.zeros((1, 5), dtype=np.int64), 3) is None
    assert prefix.prefix_tree(np.zeros((9, 1), dtype=np.int64), 3) is None


@functools.lru_cache(maxsize=None)
def program(name, n):
    return taotp.load_program(name, {"n_digits": n}, progress=False)


def decode(prog, texts, dtype, tree: bool, monkeypatch):
    if not tree:
        monkeypatch.setattr(fast, "prefix_tree", lambda toks, vocab: None)
    stats = Stats()
    params = prog.params if dtype == np.float64 else prog.params.astype(dtype)
    out = fast.FastEngine(params).generate([prog.encode(t) for t in texts], prog.rule, stats=stats)
    monkeypatch.undo()
    return out, stats


@pytest.mark.parametrize("name,n", [("long_add", 2), ("long_sub", 2), ("add_unpadded", 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_tree_changes_no_answer(name, n, dtype, monkeypatch):
    prog = program(name, n)
    spec = specs.get(prog.spec)
    texts = list(itertools.islice(spec.enumerate(specs.settings_of(prog)), 1500))
    calls = []
    real = prefix.prefix_tree
    monkeypatch.setattr(fast, "prefix_tree", lambda toks, vocab: calls.append(1) or real(toks, vocab))
    params = prog.params if dtype == np.float64 else prog.params.astype(dtype)
    fast.FastEngine(params).generate([prog.encode(t) for t in texts[:500]], prog.rule)
    monkeypatch.undo()
    assert calls                                            # the engine asked for the tree
    for order in (texts, list(np.random.default_rng(0).permutation(texts))):
        with_tree, s1 = decode(prog, order, dtype, True, monkeypatch)
        without, s0 = decode(prog, order, dtype, False, monkeypatch)
        assert with_tree == without
        # the rows' sums may pair terms otherwise (gemm on fewer rows): equal to rounding
        tol = 1e-9 if dtype == np.float64 else 1e-4
        assert s1.margin == pytest.approx(s0.margin, abs=tol)
        assert s1.attention == pytest.approx(s0.attention, abs=tol)
    some = texts[::150]
    ref = reference.generate_batch(prog.params, [prog.encode(t) for t in some], prog.rule)
    mine, _ = decode(prog, some + texts[:200], np.float64, True, monkeypatch)
    assert mine[:len(some)] == ref
