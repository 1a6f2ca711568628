"""The machine's elementwise pieces (fig. 1.1), written as the reference computes them.

Same operations in the same order as `reference.layer_norm` and `reference.softmax`,
so a row gives the same bits here as there; only the overflow report is added.
"""

from __future__ import annotations

import numpy as np

from ..errors import NumericError
from .reference import EPS


def layer_norm(x: np.ndarray, gamma, beta) -> np.ndarray:
    """LN over the last axis, the book's way: beta + gamma * (x - mean) / (sqrt(var) + 1e-10).

    The reference's x.mean and x.var, step by step as numpy computes them (var is the
    mean of the squared centred row), with the centred row computed once and used for
    both. gamma or beta None (ln_params: all ones, all zeros) skip a product by 1 and
    a sum with 0, which change no bit (a zero's sign aside)."""
    n = np.intp(x.shape[-1])
    mean = np.add.reduce(x, axis=-1, keepdims=True)
    np.true_divide(mean, n, out=mean, casting="unsafe")
    c = x - mean
    with np.errstate(over="ignore", invalid="ignore"):   # an overflow is reported below
        sq = c * c
        var = np.add.reduce(sq, axis=-1, keepdims=True)
        np.true_divide(var, n, out=var, casting="unsafe")
        std = var ** 0.5
    return _scale(c, std, gamma, beta)


def layer_norm_einsum(x: np.ndarray, gamma, beta) -> np.ndarray:
    """The same layer norm with the row's sum and sum of squares by einsum, and one
    division per row: another summation order than the reference's (last bits only),
    about twice as fast on short rows. For programs of two or more layers, whose
    projections already sum in another order (fast.py); one-layer programs keep
    `layer_norm`, the reference's bits. Each row is summed on its own, in the same
    order whatever its neighbours."""
    n = x.shape[-1]
    mean = np.einsum("...j->...", x)
    mean /= n
    c = x - mean[..., None]
    with np.errstate(over="ignore", invalid="ignore"):   # an overflow is reported below
        var = np.einsum("...j,...j->...", c, c)
        var /= n
        std = np.sqrt(var)
    return _scale(c, std[..., None], gamma, beta)


def _scale(c: np.ndarray, std: np.ndarray, gamma, beta) -> np.ndarray:
    """beta + gamma * c / (std + EPS), in place in the centred rows c; refuses a std that
    overflowed."""
    if not np.isfinite(std).all():
        raise NumericError(
            f"a layer norm overflowed: the residual stream's values are too large for "
            f"{c.dtype} (their variance is not finite){' - try --dtype float64' if c.dtype != np.float64 else ''}")
    std += EPS
    if gamma is not None:
        np.multiply(gamma, c, out=c)
    c /= std
    if beta is not None:
        np.add(beta, c, out=c)
    return c


def softmax_inplace(s: np.ndarray, axis: int) -> np.ndarray:
    """The book's softmax, exp(s - max) / (sum + 1e-10), overwriting s."""
    s -= s.max(axis=axis, keepdims=True)
    np.exp(s, out=s)
    total = s.sum(axis=axis, keepdims=True)
    total += EPS
    s /= total
    return s


def ln_params(ln, dtype) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(gamma, beta) for layer_norm; None for gamma all ones, beta all zeros."""
    gamma, beta = np.asarray(ln.gamma, dtype=dtype), np.asarray(ln.beta, dtype=dtype)
    return (None if np.all(gamma == 1) else gamma), (None if np.all(beta == 0) else beta)


def one_hot_weight(dtype) -> np.ndarray:
    """The weight the book's softmax gives a key that takes all the attention: every
    other exp(s - max) is exactly 0, the sum is exactly 1, so exp(0) / (1 + 1e-10)."""
    one = np.ones(1, dtype=dtype)
    return (one / (one + EPS))[0]


# exp(x) is exactly 0 in float64 below about -745.1 (float32: -103.3); a score this far
# below its head's maximum gets weight exactly 0 in the reference's softmax.
UNDERFLOW_GAP = {np.dtype(np.float64): 800.0, np.dtype(np.float32): 120.0}


class Selection:
    """A matrix M (n, c) with at most one non-zero per column, as a gather: x @ M is
    x[..., src] * scale, exactly (every other product in a column's sum is a zero; a
    zero's sign aside). scale is None when every non-zero is 1 (then no product)."""

    def __init__(self, src: np.ndarray, scale: np.ndarray | None):
        self.src, self.scale = src, scale

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.take(x, self.src, axis=-1)
        if self.scale is not None:
            out *= self.scale
        return out


def column_selection(M: np.ndarray) -> Selection | None:
    """M as a Selection, or None if some column has two non-zeros."""
    nz = M != 0
    if M.ndim != 2 or M.shape[0] == 0 or (nz.sum(axis=0) > 1).any():
        return None
    src = nz.argmax(axis=0)                           # row 0 for a column of zeros (scale 0)
    scale = M[src, np.arange(M.shape[1])]
    return Selection(src, None if np.all(scale == 1) else np.ascontiguousarray(scale))
