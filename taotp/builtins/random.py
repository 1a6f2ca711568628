"""Seeded random matrices for constructions that start from noise (book §3.5–3.6).

LOOKUP TABLE draws its token embeddings and hash matrices at random (fig. 3.3,
fig. 3.6); §3.5.1 suggests random orthogonal hash matrices. Every builtin here
takes an explicit integer seed and draws from its own generator, so the same
source, parameters and seed always give the same weights (DESIGN.md §4).
"""

from __future__ import annotations

import numpy as np

from ..errors import CompileError, plain
from ..lang.budget import current as budget
from . import builtin


def _int(value, what: str, nonneg: bool = True) -> int:
    """An integer (non-negative unless nonneg=False) from a language value
    (int, integral float or numpy scalar)."""
    if isinstance(value, (bool, np.bool_)):
        raise CompileError(f"{what} must be an integer, got {plain(value)}")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise CompileError(f"{what} must be an integer, got {plain(value)}") from None
    if not np.isfinite(as_float) or as_float != int(as_float):
        raise CompileError(f"{what} must be an integer, got {plain(value)}")
    if nonneg and as_float < 0:
        raise CompileError(f"{what} must be non-negative, got {int(as_float)}")
    return int(as_float)


def _shape(shape, ops_per_element: float = 1.0) -> tuple[int, ...]:
    """A shape from an int or a list/tuple/array of ints, charged to the compilation's budget
    (refused before allocating when it does not fit, DESIGN.md §4)."""
    if isinstance(shape, np.ndarray):
        shape = shape.tolist()
    dims = tuple(_int(s, "every dimension of a shape") for s in shape) if isinstance(shape, (list, tuple)) \
        else (_int(shape, "a shape"),)
    return budget().array(dims, "a random array", ops_per_element=ops_per_element)


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(_int(seed, "seed"))


@builtin("random_normal")
def random_normal(shape, std=1.0, seed=0, mean=0.0) -> np.ndarray:
    """Normal samples N(mean, std^2) of the given shape, from generator `seed`."""
    std = float(std)
    if not np.isfinite(std) or std < 0:
        raise CompileError(f"random_normal: std must be a finite number >= 0, got {std}")
    return _rng(seed).normal(float(mean), std, _shape(shape))


@builtin("random_signs")
def random_signs(shape, seed=0) -> np.ndarray:
    """Independent fair +1/-1 entries of the given shape, from generator `seed`."""
    return _rng(seed).choice(np.array([-1.0, 1.0]), size=_shape(shape))


@builtin("random_orthogonal")
def random_orthogonal(d, seed=0, count=None) -> np.ndarray:
    """A Haar-random (d, d) orthogonal matrix, or `count` of them stacked as (count, d, d).

    QR of a Gaussian matrix, with the signs of R's diagonal moved into Q so the
    distribution is uniform over the orthogonal group (§3.5.1's G_i)."""
    d = _int(d, "random_orthogonal: d")
    if d == 0:
        raise CompileError("random_orthogonal: d must be at least 1")
    n = 1 if count is None else _int(count, "random_orthogonal: count")
    _shape((n, d, d), ops_per_element=4 * d)   # QR: about 4 d^3 operations per matrix
    g = _rng(seed).normal(size=(n, d, d))
    q, r = np.linalg.qr(g)
    signs = np.sign(np.diagonal(r, axis1=1, axis2=2))
    signs[signs == 0] = 1.0
    q = q * signs[:, None, :]
    return q[0] if count is None else q


@builtin("random_ints")
def random_ints(shape, high, seed=0, low=0) -> np.ndarray:
    """Uniform integers in [low, high) of the given shape, from generator `seed`;
    an int array, usable as indices."""
    low, high = _int(low, "random_ints: low", False), _int(high, "random_ints: high", False)
    if high <= low:
        raise CompileError(f"random_ints: high ({high}) must be greater than low ({low})")
    return _rng(seed).integers(low, high, size=_shape(shape))
