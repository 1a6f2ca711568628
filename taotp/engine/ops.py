"""The machine's elementwise pieces (fig. 1.1), written as the reference computes them.

Same operations in the same order as `reference.layer_norm` and `reference.softmax`,
so a row gives the same bits here as there; only the overflow report is added.
"""

from __future__ import annotations

import numpy as np

from ..errors import NumericError
from .reference import EPS


def layer_norm(x: np.ndarray, gamma, beta) -> np.ndarray:
    """LN over the last axis, the book's way: (x - mean) / (sqrt(var) + 1e-10)."""
    mean = x.mean(axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        std = x.var(axis=-1, keepdims=True) ** 0.5
    if not np.isfinite(std).all():
        raise NumericError(
            f"a layer norm overflowed: the residual stream's values are too large for "
            f"{x.dtype} (their variance is not finite){' - try --dtype float64' if x.dtype != np.float64 else ''}")
    return beta + gamma * (x - mean) / (std + EPS)


def softmax_inplace(s: np.ndarray, axis: int) -> np.ndarray:
    """The book's softmax, exp(s - max) / (sum + 1e-10), overwriting s."""
    s -= s.max(axis=axis, keepdims=True)
    np.exp(s, out=s)
    total = s.sum(axis=axis, keepdims=True)
    total += EPS
    s /= total
    return s


def ln_params(ln, dtype) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(ln.gamma, dtype=dtype), np.asarray(ln.beta, dtype=dtype)


def one_hot_weight(dtype) -> np.ndarray:
    """The weight the book's softmax gives a key that takes all the attention: every
    other exp(s - max) is exactly 0, the sum is exactly 1, so exp(0) / (1 + 1e-10)."""
    one = np.ones(1, dtype=dtype)
    return (one / (one + EPS))[0]


# exp(x) is exactly 0 in float64 below about -745.1 (float32: -103.3); a score this far
# below its head's maximum gets weight exactly 0 in the reference's softmax.
UNDERFLOW_GAP = {np.dtype(np.float64): 800.0, np.dtype(np.float32): 120.0}
