"""Spike MLPs: a one-hidden-layer ReLU MLP that computes any function exactly on a
finite set of scalars (book §6.3, lemma 6.1, cor. 6.1, thm 6.1, fig. 6.1).

Lemma 6.1: with hidden units h = relu(x + (0, 1, -1)) and output (-2, 1, 1) . h
the MLP is the "standard spike": 1 at x = 0, linear down to 0 at x = +-1, 0 outside.
Cor. 6.1 shifts it to a point x0 and scales it by a value a0. Thm 6.1 sums one spike
per point; each spike is made narrower than the smallest gap between the points
(the input is divided by `min_sep`), so at every point exactly one spike is live
and the MLP returns that point's value, exactly. 3 hidden units per point.
"""

from __future__ import annotations

import numpy as np

from ..errors import CompileError, plain
from ..lang.budget import current as budget
from ..values import Record
from . import builtin

# lemma 6.1: the standard spike's first-layer offsets and second-layer weights
SPIKE_OFFSETS = np.array([0.0, 1.0, -1.0])
SPIKE_WEIGHTS = np.array([-2.0, 1.0, 1.0])


def _as_points(points) -> np.ndarray:
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 1:
        raise CompileError(f"spike_mlp: points must be a list of numbers (1-D), got shape {x.shape}")
    if x.size == 0:
        raise CompileError("spike_mlp: needs at least one point")
    if not np.all(np.isfinite(x)):
        raise CompileError("spike_mlp: points must be finite numbers (found NaN or infinity)")
    return x


def _as_values(values, m: int) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]  # a scalar function: d = 1
    if a.ndim != 2 or a.shape[0] != m:
        raise CompileError(
            f"spike_mlp: values must have one row per point, shape ({m}, d); got shape {a.shape}"
        )
    if not np.all(np.isfinite(a)):
        raise CompileError("spike_mlp: values must be finite numbers (found NaN or infinity)")
    return a


def min_separation(x: np.ndarray) -> float:
    """The smallest gap between two of the points; a clear error if two coincide.

    A single point has no gap; its spike is given width 1 (any width works)."""
    if x.size == 1:
        return 1.0
    order = np.argsort(x, kind="stable")
    gaps = np.diff(x[order])
    k = int(np.argmin(gaps))
    if gaps[k] <= 0:
        i, j = sorted((int(order[k]), int(order[k + 1])))
        raise CompileError(
            f"spike_mlp: points {i} and {j} are equal ({plain(x[i])}); a function on a set needs "
            "distinct points (thm 6.1). Make the MLP's input tell these cases apart."
        )
    return float(gaps[k])


def build_spike_mlp(points, values):
    """(M1 (1, 3m), b1 (3m,), M2 (3m, d), b2 (d,), min_sep) with, for every point x_i,
    relu(x_i M1 + b1) @ M2 + b2 == values[i]  (thm 6.1).

    Hidden units 3i..3i+2 form the spike around x_i (width min_sep, height values[i])."""
    x = _as_points(points)
    a = _as_values(values, x.size)
    m, d = a.shape
    budget().array((3 * m, d + 2), f"spike_mlp of {m:,} points", ops_per_element=2 + np.log2(max(m, 2)) / d)
    sep = min_separation(x)
    M1 = np.ones((1, 3 * m)) / sep                                          # (1, 3m)
    b1 = (SPIKE_OFFSETS[None, :] - x[:, None] / sep).reshape(3 * m)         # (3m,)
    M2 = (SPIKE_WEIGHTS[None, :, None] * a[:, None, :]).reshape(3 * m, d)   # (3m, d)
    b2 = np.zeros(d)
    return M1, b1, M2, b2, sep


@builtin("spike_mlp", context=True)
def spike_mlp(ctx, points, values):
    """A ReLU MLP exact on a finite set of scalars (book §6.3, thm 6.1): 3 hidden units per point.

    points: m distinct numbers (what the MLP's single input will be); values: (m, d), row i
    the output wanted at points[i]. Returns a record with M1 (1, 3m), b1 (3m,), M2 (3m, d),
    b2 (d,), min_sep (the smallest gap between points: each spike's half-width) and points.
    Write M1 into the row of the residual dimension the MLP reads, e.g. `M1[s, :] = r.M1`."""
    M1, b1, M2, b2, sep = build_spike_mlp(points, values)
    x = np.asarray(points, dtype=np.float64)
    ctx.notes.setdefault("spike_mlps", []).append(
        {"points": int(x.size), "hidden": int(b1.size), "out_dim": int(M2.shape[1]),
         "min_sep": sep, "range": [float(x.min()), float(x.max())]}
    )
    return Record("spike_mlp", M1=M1, b1=b1, M2=M2, b2=b2, min_sep=sep, points=x)
