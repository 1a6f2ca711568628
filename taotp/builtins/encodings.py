"""The book's encodings: the 3-D ring fixed under layer norm (§2.3), its shifts
(§3.2), layer-norm padding (§4.1) and powerpoints (§5.2.1)."""

from __future__ import annotations

import numpy as np

from ..errors import CompileError, plain
from ..lang.budget import current as budget
from . import builtin

SQRT3 = 3 ** 0.5


def _count(n, what: str) -> int:
    """A positive whole number of points (a float such as 28.0 is accepted)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, float, np.integer, np.floating)) \
            or not float(n).is_integer():
        raise CompileError(f"{what} needs a whole number, got {plain(n)}")
    if n < 1:
        raise CompileError(f"{what} needs n >= 1, got {int(n)}")
    return int(n)


@builtin()
def ring3d(t):
    """Point(s) on the sqrt(3)-circle in the plane perpendicular to (1,1,1) (§2.3, fig 2.8).

    Every such point has mean 0 and variance 1, so layer norm leaves it fixed.
    t: an angle -> (3,); an array of n angles -> (n, 3)."""
    t = np.asarray(t, dtype=np.float64)
    budget().array(t.shape + (3,), "ring3d", ops_per_element=8)
    x, y = np.cos(t) / 2 ** 0.5, np.sin(t) / 6 ** 0.5
    return np.stack([x + y, -x + y, -2 * y], axis=-1) * SQRT3


@builtin()
def ring3d_array(n):
    """n evenly spaced ring points: row i is ring3d(2*pi*i/n) (fig 2.8). Linearly shiftable (§3.2)."""
    n = _count(n, "ring3d_array")
    budget().array((n, 3), "ring3d_array", ops_per_element=8)
    return ring3d(2 * np.pi * np.arange(n) / n)


@builtin()
def rotation3d(theta):
    """The 3x3 matrix R with ring3d(t) @ R == ring3d(t + theta) for every t (§3.2, fig 3.1).

    A rotation by theta about the (1,1,1) axis (Rodrigues), so it is exact and orthogonal
    and R(0) is the identity."""
    theta = float(theta)
    # ring3d(t) = sqrt(3) (cos t a + sin t b) for the orthonormal pair a, b below; R turns
    # (a, b) by theta in their plane and keeps the (1,1,1) direction n, so it is orthogonal.
    a = np.array([1.0, -1.0, 0.0]) / 2 ** 0.5
    b = np.array([1.0, 1.0, -2.0]) / 6 ** 0.5
    n = np.ones(3) / SQRT3
    c, s = np.cos(theta), np.sin(theta)
    r = np.outer(a, c * a + s * b) + np.outer(b, -s * a + c * b) + np.outer(n, n)
    return np.where(np.abs(r) < 1e-15, 0.0, r)


@builtin()
def shift3d(delta, n):
    """The shifting transformation T_delta of ring3d_array(n) (def 3.1): row i -> row i + delta."""
    return rotation3d(2 * np.pi * float(delta) / float(n))


@builtin()
def padding_block(d):
    """A d-vector fixed under layer norm (§4.1): (sqrt(d-1), -1/sqrt(d-1), ...)."""
    d = _count(d, "padding_block")
    if d < 2:
        raise CompileError(f"padding blocks need at least 2 dimensions, got {d}")
    budget().array((d,), "padding_block")
    return np.array([(d - 1) ** 0.5] + [-1 / (d - 1) ** 0.5] * (d - 1))


@builtin()
def powerpoints(n, mx=np.pi):
    """p_0 = 0, p_{i+1} = p_i + 2^-i, stretched to [0, mx] (§5.2.1): each point is closest
    to the next one, then the one after..."""
    n = _count(n, "powerpoints")
    if n < 2:
        raise CompileError(f"powerpoints needs n >= 2, got {n}")
    budget().array((n,), "powerpoints", ops_per_element=4)
    p = np.cumsum(np.concatenate([[0.0], 1.0 / 2.0 ** np.arange(n - 1)]))
    return float(mx) * p / p.max()


@builtin()
def nextpoint(ts):
    """q_i = (3 p_{i+1} + p_{i+2}) / 4 (§5.2.1): closest to p_{i+1}, then p_{i+2}...
    The last two (which have no successor to point at) are pi and 0, as in the book."""
    ts = np.asarray(ts, dtype=np.float64)
    return np.concatenate([ts[1:-1] * 3 / 4 + ts[2:] / 4, [np.pi, 0.0]])


@builtin()
def harden(m, n=1e6):
    """Attention hardening (§3.1): a query (or key) matrix scaled by a large N, so that
    softmax(N q.k) is, to rounding, the max - hard attention. The book uses N = 1e6 to 1e20."""
    n = float(n)
    if not n > 0:
        raise CompileError(f"harden needs a positive factor, got {n}")
    return np.asarray(m, dtype=np.float64) * n
