"""Numeric helpers of the standard library (taotp/stdlib/): codes that layer norm leaves
fixed (book §3.3, §4.1), records, and what an MLP sees after layer norm (§6.3-6.4).

A *code* of size n is an n-vector with mean 0 and sum of squares n: a stream made
only of codes is fixed under the book's layer norm (thm 3.1), so every sublayer reads
exactly what the earlier ones wrote.
"""

from __future__ import annotations

import numpy as np

from ..engine.reference import layer_norm
from ..errors import CompileError
from ..values import Record
from . import builtin


@builtin()
def record(what, /, **fields):
    """A read-only bundle of named values: record("code", slot=s, size=3); fields read as r.slot.

    `what` names the kind of record (shown when it is printed). The standard library
    describes its codes and selectors with records."""
    if not isinstance(what, str) or not what:
        raise CompileError(f"record(what, ...) needs a name for the kind of record (a string), got {what!r}")
    return Record(what, **fields)


@builtin()
def complete(v):
    """v (m numbers, or an array of rows of m) completed to a code of m + 2 numbers (§4.1):
    v followed by a, b with a + b = -sum(v) and a^2 + b^2 = m + 2 - sum(v^2), so the row
    has mean 0 and sum of squares m + 2 (layer norm leaves it fixed). a >= b; both move
    continuously with v. Refuses a v too large to complete: (sum v)^2 > 2 (m + 2 - sum v^2)."""
    x = np.asarray(v, dtype=np.float64)
    one = x.ndim == 1
    rows = np.atleast_2d(x)
    if rows.ndim != 2 or rows.shape[1] == 0 or not np.all(np.isfinite(rows)):
        raise CompileError(f"complete(v) needs a non-empty list of numbers or rows of them, got shape {x.shape}")
    m = rows.shape[1]
    s = rows.sum(axis=1)
    r = m + 2 - (rows ** 2).sum(axis=1)                    # what a^2 + b^2 must be
    room = 2 * r - s ** 2                                  # (a - b)^2
    if np.any(room < 0):
        i = int(np.argmin(room))
        raise CompileError(f"complete(v): row {i} is too large to complete to a code of {m + 2} numbers "
                           f"(sum {s[i]:.4g}, sum of squares {m + 2 - r[i]:.4g}); scale it down")
    d = np.sqrt(room)
    out = np.concatenate([rows, ((-s + d) / 2)[:, None], ((-s - d) / 2)[:, None]], axis=1)
    return out[0] if one else out


@builtin()
def ln_points(rows, reader):
    """What an MLP reads after layer norm (§6.4): layer_norm(rows) @ reader, one number
    per row. rows: the residual stream (d_model numbers) in each case the MLP must tell
    apart, before layer norm; reader: the d_model-vector the MLP's input unit reads.
    Refuses two cases that layer norm makes equal (to a few float64 rounding steps): the
    MLP could not tell them apart."""
    x = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    r = np.asarray(reader, dtype=np.float64)
    if r.ndim != 1 or x.ndim != 2 or x.shape[1] != r.size:
        raise CompileError(f"ln_points(rows, reader): rows must be (n, d) and reader (d,), "
                           f"got {x.shape} and {r.shape}")
    points = layer_norm(x) @ r
    order = np.argsort(points, kind="stable")
    gaps = np.diff(points[order])
    if gaps.size and gaps.min() <= 1e-13 * max(1.0, float(np.abs(points).max())):   # a few float64 ulps
        k = int(np.argmin(gaps))
        i, j = sorted((int(order[k]), int(order[k + 1])))
        raise CompileError(f"ln_points: rows {i} and {j} look the same after layer norm "
                           f"({points[i]!r}); the MLP could not tell them apart")
    return points
