"""Seeded random builtins (taotp/builtins/random.py): deterministic, and what they promise."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taotp
from taotp.builtins.random import random_ints, random_normal, random_orthogonal, random_signs
from taotp.errors import TaotpError

shapes = st.lists(st.integers(0, 6), min_size=0, max_size=3)
seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=40, deadline=None)
@given(shapes, seeds, st.floats(0.01, 100))
def test_normal_is_deterministic_and_scales_with_std(shape, seed, std):
    a = random_normal(shape, std=std, seed=seed)
    assert a.shape == tuple(shape)
    assert np.array_equal(a, random_normal(shape, std=std, seed=seed))
    assert np.allclose(a, std * random_normal(shape, seed=seed))


@settings(max_examples=20, deadline=None)
@given(seeds)
def test_normal_moments(seed):
    x = random_normal(20_000, std=2.5, seed=seed, mean=1.0)
    # 20,000 samples: the mean's standard error is 2.5 / 141 = 0.018; the std's is 0.0125
    assert abs(x.mean() - 1.0) < 0.1 and abs(x.std() - 2.5) < 0.07


@settings(max_examples=20, deadline=None)
@given(seeds, seeds)
def test_other_seed_other_numbers(s1, s2):
    if s1 != s2:
        assert not np.array_equal(random_normal(8, seed=s1), random_normal(8, seed=s2))
        assert not np.array_equal(random_orthogonal(4, seed=s1), random_orthogonal(4, seed=s2))


@settings(max_examples=40, deadline=None)
@given(shapes, seeds)
def test_signs_are_plus_minus_one(shape, seed):
    s = random_signs(shape, seed=seed)
    assert s.shape == tuple(shape) and np.all(np.abs(s) == 1.0)
    assert np.array_equal(s, random_signs(shape, seed=seed))


def test_signs_are_fair():
    s = random_signs([100, 100], seed=7)
    assert abs(s.mean()) < 0.05  # standard error 0.01


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 24), seeds, st.one_of(st.none(), st.integers(1, 4)))
def test_orthogonal_is_orthogonal(d, seed, count):
    q = random_orthogonal(d, seed=seed, count=count)
    qs = q[None] if count is None else q
    assert qs.shape == (count or 1, d, d)
    for m in qs:
        assert np.allclose(m @ m.T, np.eye(d), atol=1e-12) and np.allclose(m.T @ m, np.eye(d), atol=1e-12)
    assert np.array_equal(q, random_orthogonal(d, seed=seed, count=count))


def test_orthogonal_is_haar_not_sign_biased():
    """Plain QR returns a Q whose columns lean to R's sign convention; the Haar
    measure is symmetric, so every entry averages 0 over seeds."""
    qs = random_orthogonal(3, seed=1, count=2000)
    assert np.all(np.abs(qs.mean(axis=0)) < 0.06)  # entries have variance 1/3: SE 0.013
    dets = np.linalg.det(qs)
    assert np.allclose(np.abs(dets), 1) and 0.4 < np.mean(dets > 0) < 0.6


@settings(max_examples=30, deadline=None)
@given(shapes, seeds, st.integers(-5, 5), st.integers(1, 20))
def test_ints_in_range(shape, seed, low, width):
    x = random_ints(shape, low + width, seed=seed, low=low)
    assert x.shape == tuple(shape) and np.issubdtype(x.dtype, np.integer)
    assert np.all((low <= x) & (x < low + width))


@pytest.mark.parametrize("call, words", [
    (lambda: random_normal([2, -1]), "must be non-negative"),
    (lambda: random_normal([2.5]), "must be an integer"),
    (lambda: random_normal("ab"), "must be an integer"),
    (lambda: random_normal(3, std=-1), "std must be a finite number >= 0"),
    (lambda: random_normal(3, seed=-2), "seed must be non-negative"),
    (lambda: random_signs([10**5, 10**5]), "memory budget"),
    (lambda: random_orthogonal(0), "d must be at least 1"),
    (lambda: random_orthogonal(10**4, count=10**3), "memory budget"),
    (lambda: random_ints(3, 2, low=5), "must be greater than low"),
])
def test_bad_arguments_are_clear(call, words):
    with pytest.raises(TaotpError, match=words):
        call()


SOURCE = """
param seed = 0
vocab ints(6)
model block=4
stream x:4
tok_emb = layer_norm(random_normal([6, 4], seed=seed))
pos_emb[:, x] = random_signs([4, 4], seed=seed + 1) * 0.01
layer 0:
  head 0:
    P = random_orthogonal(4, seed=seed + 2)
"""


def test_programs_using_them_compile_deterministically():
    a = taotp.compile_source(SOURCE, "r.taotp", progress=False).params.to_flat()
    b = taotp.compile_source(SOURCE, "r.taotp", progress=False).params.to_flat()
    c = taotp.compile_source(SOURCE, "r.taotp", {"seed": "5"}, progress=False).params.to_flat()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["tok_emb"], c["tok_emb"])
