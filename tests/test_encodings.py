"""The book's encodings keep the promises they are built on (§2.3, §3.2, §3.3, §4.1, §5.2.1)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from taotp.builtins.arrays import layer_norm
from taotp.builtins.encodings import (nextpoint, padding_block, powerpoints, ring3d, ring3d_array,
                                      rotation3d, shift3d)

angles = st.floats(-20, 20, allow_nan=False)


@given(angles)
def test_ring_point_is_fixed_under_layer_norm(t):
    v = ring3d(t)
    assert np.allclose(layer_norm(v), v, atol=1e-9)


@given(st.integers(1, 300))
def test_ring_array_is_evenly_spaced_and_fixed(n):
    E = ring3d_array(n)
    assert E.shape == (n, 3)
    assert np.allclose(layer_norm(E), E, atol=1e-9)
    if n > 1:
        gaps = np.linalg.norm(np.roll(E, -1, axis=0) - E, axis=1)
        assert np.allclose(gaps, gaps[0])


@given(angles, angles)
def test_rotation_shifts_every_point(t, theta):
    assert np.allclose(ring3d(t) @ rotation3d(theta), ring3d(t + theta), atol=1e-9)


@given(angles)
def test_rotation_is_orthogonal(theta):
    R = rotation3d(theta)
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12)


@given(st.integers(2, 200), st.data())
def test_shift_matrix_moves_rows_by_delta(n, data):
    delta = data.draw(st.integers(-n + 1, n - 1))
    E = ring3d_array(n)
    rows = np.arange(max(0, -delta), min(n, n - delta))
    assert np.allclose(E[rows] @ shift3d(delta, n), E[rows + delta], atol=1e-9)


@given(st.integers(2, 500))
def test_padding_block_is_fixed_under_layer_norm(d):
    p = padding_block(d)
    assert p.shape == (d,)
    assert np.allclose(layer_norm(p), p, atol=1e-9)


@given(st.lists(st.one_of(angles.map(ring3d), st.integers(2, 40).map(padding_block)), min_size=1, max_size=6))
def test_concatenated_fixed_blocks_stay_fixed(blocks):
    """Thm 3.1: a concatenation of blocks fixed under layer norm is fixed under layer norm."""
    v = np.concatenate(blocks)
    assert np.allclose(layer_norm(v), v, atol=1e-9)


@given(st.integers(3, 28))
def test_powerpoints_each_point_is_closest_to_its_successors_in_order(n):
    p = powerpoints(n)
    assert np.all(np.diff(p) > 0) and np.isclose(p[-1], np.pi)
    for i in range(n - 2):
        d = np.abs(p[i + 1:] - p[i])
        assert np.all(np.diff(d) > 0)  # closest to i+1, then i+2, ...
    q = nextpoint(p)
    for i in range(n - 2):  # q_i is closer to p_{i+1} than to any other point
        assert np.argmin(np.abs(p - q[i])) == i + 1


@given(st.floats(1e3, 1e12), st.integers(2, 30), st.data())
def test_hardened_attention_reads_one_position(n, m, data):
    """§3.1: with the query scaled by N, softmax over distinct ring keys is one-hot on the best key."""
    from taotp.builtins.encodings import harden
    from taotp.engine.reference import softmax

    keys = ring3d_array(m)
    target = data.draw(st.integers(0, m - 1))
    scores = keys @ harden(keys[target], n) / np.sqrt(3)
    w = softmax(scores)
    if n * (1 - np.cos(2 * np.pi / m)) > 50:  # the gap to the runner-up, times N, is large
        assert w[target] > 1 - 1e-9  # the book's softmax adds 1e-10 to its denominator
