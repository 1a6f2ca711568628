"""Spike MLPs (book §6.3, lemma 6.1, thm 6.1): exact on the set, zero far from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from taotp.builtins import BuiltinContext, load_all
from taotp.builtins.spike import build_spike_mlp, min_separation
from taotp.errors import CompileError, TaotpError

EPS = np.finfo(np.float64).eps


def mlp(M1, b1, M2, b2, y):
    """The machine's MLP on scalar inputs y (n,) -> (n, d)."""
    y = np.asarray(y, dtype=np.float64)[:, None]
    return np.maximum(y @ M1 + b1, 0) @ M2 + b2


def spikes(M1, b1, M2, y):
    """Each point's own contribution (its 3 hidden units) at inputs y -> (n, m, d)."""
    h = np.maximum(np.asarray(y, dtype=np.float64)[:, None] @ M1 + b1, 0)  # (n, 3m)
    n, m = h.shape[0], h.shape[1] // 3
    return np.einsum("nmk,mkd->nmd", h.reshape(n, m, 3), M2.reshape(m, 3, -1))


coord = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
value = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def point_sets(draw, max_size=30):
    """Distinct points (gap >= 1e-3 relative to 100) and a (m, d) table of values."""
    xs = draw(st.lists(coord, min_size=1, max_size=max_size, unique=True))
    x = np.array(xs)
    if x.size > 1:
        assume(np.min(np.diff(np.sort(x))) >= 1e-3)
    d = draw(st.integers(1, 4))
    a = np.array(draw(st.lists(st.lists(value, min_size=d, max_size=d), min_size=x.size, max_size=x.size)))
    return x, a


def tolerance(x, a, sep, y=()):
    # hidden units hold (y - x_i) / sep, so rounding is ~eps * |y|, |x| / sep, times the value's size.
    scale = max(np.max(np.abs(x)), np.max(np.abs(y), initial=0.0))
    return 16 * EPS * (1 + scale / sep) * (1 + np.max(np.abs(a)))


@settings(max_examples=150, deadline=None)
@given(point_sets())
def test_exact_on_the_set(data):
    x, a = data
    M1, b1, M2, b2, sep = build_spike_mlp(x, a)
    assert M1.shape == (1, 3 * x.size) and b1.shape == (3 * x.size,)
    assert M2.shape == (3 * x.size, a.shape[1]) and b2.shape == (a.shape[1],)
    np.testing.assert_allclose(mlp(M1, b1, M2, b2, x), a, rtol=0, atol=tolerance(x, a, sep))


@settings(max_examples=100, deadline=None)
@given(point_sets(), st.lists(coord, min_size=1, max_size=20))
def test_each_spike_vanishes_at_min_sep_and_beyond(data, ys):
    x, a = data
    M1, b1, M2, _, sep = build_spike_mlp(x, a)
    y = np.array(ys)
    dist = np.abs(y[:, None] - x[None, :])            # (n, m)
    far = dist >= sep * (1 + 1e-9)
    contrib = spikes(M1, b1, M2, y)                   # (n, m, d)
    assert np.all(np.abs(contrib[far]) <= tolerance(x, a, sep, y))


@settings(max_examples=100, deadline=None)
@given(point_sets(), st.floats(-1, 1))
def test_spike_is_a_tent_of_half_width_min_sep(data, u):
    """Lemma 6.1 / cor. 6.1: around x_i the MLP is a_i * (1 - |y - x_i| / min_sep)."""
    x, a = data
    M1, b1, M2, b2, sep = build_spike_mlp(x, a)
    i = 0
    y = x[i] + u * sep
    want = a[i] * (1 - abs(u))
    # near x_i only spike i is live (the neighbours are >= sep away from x_i)
    got = spikes(M1, b1, M2, [y])[0, i]
    np.testing.assert_allclose(got, want, rtol=0, atol=tolerance(x, a, sep) * 4)


@settings(max_examples=100, deadline=None)
@given(st.lists(coord, min_size=2, max_size=40, unique=True))
def test_min_sep_is_the_smallest_gap(xs):
    x = np.array(xs)
    brute = min(abs(p - q) for i, p in enumerate(xs) for q in xs[i + 1:])
    assert min_separation(x) == brute


def test_standard_spike():
    """Lemma 6.1: one point at 0 with value 1 is the standard spike."""
    M1, b1, M2, b2, sep = build_spike_mlp([0.0], [1.0])
    y = np.linspace(-3, 3, 601)
    out = mlp(M1, b1, M2, b2, y)[:, 0]
    assert out[np.argmin(np.abs(y))] == 1.0
    assert np.all(out[np.abs(y) >= 1] == 0)
    assert np.all((out >= 0) & (out <= 1))


@settings(max_examples=50, deadline=None)
@given(point_sets(max_size=10), st.data())
def test_duplicate_points_are_refused(data, draw):
    x, a = data
    j = draw.draw(st.integers(0, x.size - 1))
    xd = np.append(x, x[j])
    ad = np.vstack([a, a[:1] + 1])
    with pytest.raises(CompileError, match="equal"):
        build_spike_mlp(xd, ad)


@pytest.mark.parametrize(
    "points, values, match",
    [
        ([[0.0, 1.0]], [[1.0]], "1-D"),
        ([0.0, 1.0], [[1.0]], "one row per point"),
        ([], [], "at least one"),
        ([0.0, float("nan")], [1.0, 2.0], "finite"),
        ([0.0, 1.0], [1.0, float("inf")], "finite"),
    ],
)
def test_bad_arguments_get_clear_errors(points, values, match):
    with pytest.raises(TaotpError, match=match):
        build_spike_mlp(points, values)


def test_builtin_reports_min_sep_in_notes(tmp_path: Path):
    fn = load_all()["spike_mlp"]
    assert fn.context
    ctx = BuiltinContext(base_dir=tmp_path)
    x = np.arange(5) * 0.25
    rec = fn.fn(ctx, x, np.eye(5))
    assert rec.get("min_sep") == pytest.approx(0.25)
    np.testing.assert_array_equal(rec.get("points"), x)
    (note,) = ctx.notes["spike_mlps"]
    assert note["points"] == 5 and note["hidden"] == 15 and note["min_sep"] == pytest.approx(0.25)
    np.testing.assert_allclose(mlp(rec.get("M1"), rec.get("b1"), rec.get("M2"), rec.get("b2"), x), np.eye(5), atol=1e-12)
