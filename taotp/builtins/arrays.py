"""Array and math builtins: a small, explicit subset of NumPy (no way to reach Python).

Every function that creates an array checks its size first, so a program that
would allocate absurd sizes is refused before allocating (DESIGN.md §4)."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..engine import reference
from ..errors import CompileError
from . import builtin

MAX_ELEMENTS = 200_000_000  # 1.6 GB of float64


def check_size(shape, what: str = "array") -> tuple:
    shape = tuple(int(s) for s in (shape if isinstance(shape, (tuple, list, np.ndarray)) else (shape,)))
    if any(s < 0 for s in shape):
        raise CompileError(f"{what} shape {shape} has a negative size")
    n = math.prod(shape)
    if n > MAX_ELEMENTS:
        raise CompileError(f"{what} of shape {shape} would hold {n:,} numbers, more than the limit of {MAX_ELEMENTS:,}")
    return shape


def _arr(x):
    return np.asarray(x, dtype=np.float64) if isinstance(x, (list, tuple)) else np.asarray(x)


# -- creation ------------------------------------------------------------------------
@builtin()
def eye(n, m=None):
    """Identity matrix n x n (or n x m)."""
    shape = check_size((n, n if m is None else m), "eye")
    return np.eye(*shape)


@builtin()
def zeros(shape):
    return np.zeros(check_size(shape, "zeros"))


@builtin()
def ones(shape):
    return np.ones(check_size(shape, "ones"))


@builtin()
def full(shape, value):
    return np.full(check_size(shape, "full"), float(value))


@builtin()
def arange(start, stop=None, step=1):
    """Like numpy.arange: integers from start (or 0) up to stop."""
    if stop is None:
        start, stop = 0, start
    n = max(0, math.ceil((stop - start) / step))
    check_size((n,), "arange")
    return np.arange(start, stop, step)


@builtin()
def linspace(start, stop, num):
    return np.linspace(float(start), float(stop), check_size((num,), "linspace")[0])


@builtin()
def array(x):
    """A list (of lists) of numbers as an array."""
    return np.asarray(x, dtype=np.float64)


@builtin()
def onehot(indices, n):
    """Rows of eye(n) picked by indices."""
    idx = np.asarray(indices, dtype=np.int64)
    check_size(idx.shape + (int(n),), "onehot")
    return np.eye(int(n))[idx]


# -- shaping -----------------------------------------------------------------------
@builtin()
def concat(arrays, axis=0):
    """Concatenate a list of arrays along an axis (numpy.concatenate)."""
    return np.concatenate([_arr(a) for a in arrays], axis=int(axis))


@builtin()
def stack(arrays, axis=0):
    return np.stack([_arr(a) for a in arrays], axis=int(axis))


@builtin()
def pad(x, widths, value=0.0):
    """numpy.pad with a constant: widths as [[before, after], ...] per axis."""
    x = _arr(x)
    widths = [tuple(int(v) for v in w) for w in widths]
    check_size(tuple(s + a + b for s, (a, b) in zip(x.shape, widths)), "pad")
    return np.pad(x, widths, constant_values=float(value))


@builtin()
def tile(x, reps):
    x = _arr(x)
    reps = tuple(int(r) for r in (reps if isinstance(reps, (list, tuple)) else (reps,)))
    check_size((x.size * math.prod(reps),), "tile")
    return np.tile(x, reps)


@builtin()
def repeat(x, n, axis=None):
    x = _arr(x)
    check_size((x.size * int(n),), "repeat")
    return np.repeat(x, int(n), axis=None if axis is None else int(axis))


@builtin()
def reshape(x, shape):
    return _arr(x).reshape(tuple(int(s) for s in (shape if isinstance(shape, (list, tuple)) else (shape,))))


@builtin()
def transpose(x, axes=None):
    return np.transpose(_arr(x), None if axes is None else [int(a) for a in axes])


@builtin()
def flatten(x):
    return _arr(x).reshape(-1)


@builtin()
def outer(a, b):
    a, b = _arr(a), _arr(b)
    check_size((a.size, b.size), "outer")
    return np.outer(a, b)


@builtin()
def kron(a, b):
    a, b = _arr(a), _arr(b)
    check_size((a.size * b.size,), "kron")
    return np.kron(a, b)


@builtin()
def diag(x):
    return np.diag(_arr(x))


@builtin()
def where(cond, a, b):
    return np.where(_arr(cond), _arr(a), _arr(b))


# -- elementwise ---------------------------------------------------------------------
def _ufunc(name, fn):
    def f(x):
        return fn(_arr(x))
    f.__doc__ = f"numpy.{fn.__name__}, element by element."
    builtin(name)(f)


for _name, _fn in {
    "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "tan": np.tan, "arctan2": None, "exp": np.exp,
    "log": np.log, "abs": np.abs, "floor": np.floor, "ceil": np.ceil, "sign": np.sign,
    "round": np.round,
}.items():
    if _fn is not None:
        _ufunc(_name, _fn)


@builtin()
def arctan2(y, x):
    return np.arctan2(_arr(y), _arr(x))


@builtin()
def maximum(a, b):
    return np.maximum(_arr(a), _arr(b))


@builtin()
def minimum(a, b):
    return np.minimum(_arr(a), _arr(b))


@builtin()
def clip(x, lo, hi):
    return np.clip(_arr(x), lo, hi)


# -- reductions ------------------------------------------------------------------------
def _reduction(name, fn):
    def f(x, axis=None):
        return fn(_arr(x), axis=None if axis is None else int(axis))
    f.__doc__ = f"numpy.{fn.__name__} over all elements, or along `axis`."
    builtin(name)(f)


for _name, _fn in {"sum": np.sum, "prod": np.prod, "mean": np.mean, "std": np.std, "var": np.var,
                   "all": np.all, "any": np.any, "argmax": np.argmax, "argmin": np.argmin,
                   "cumsum": np.cumsum}.items():
    _reduction(_name, _fn)


@builtin("min")
def min_(x, *more, axis=None):
    """min(array) -> smallest element; min(a, b, ...) -> smallest argument."""
    if more:
        return min([x, *more])
    return np.min(_arr(x), axis=axis)


@builtin("max")
def max_(x, *more, axis=None):
    if more:
        return max([x, *more])
    return np.max(_arr(x), axis=axis)


@builtin()
def sort(x, axis=-1):
    return np.sort(_arr(x), axis=int(axis))


@builtin()
def argsort(x):
    return np.argsort(_arr(x), kind="stable")


@builtin()
def unique(x):
    return np.unique(_arr(x))


@builtin()
def norm(x, axis=None):
    return np.linalg.norm(_arr(x), axis=axis)


@builtin()
def solve(a, b):
    return np.linalg.solve(_arr(a), _arr(b))


@builtin()
def layer_norm(x, axis=-1):
    """The book's layer norm without gamma/beta: (x - mean) / (std + 1e-10) (fig 1.1)."""
    x = np.moveaxis(_arr(x).astype(np.float64), int(axis), -1)
    return np.moveaxis(reference.layer_norm(x), -1, int(axis))


# -- Python-ish helpers ----------------------------------------------------------------
@builtin("range")
def range_(*args):
    ints = [int(a) for a in args]
    r = range(*ints)
    if len(r) > MAX_ELEMENTS:
        raise CompileError(f"range of {len(r):,} numbers is too long")
    return r


@builtin("len")
def len_(x):
    return len(x) if not isinstance(x, np.ndarray) or x.ndim else 1


@builtin("int")
def int_(x):
    return int(np.asarray(x).item()) if isinstance(x, np.ndarray) else int(x)


@builtin("float")
def float_(x):
    return float(np.asarray(x).item()) if isinstance(x, np.ndarray) else float(x)


@builtin("str")
def str_(x):
    if isinstance(x, (int, float, str, bool, np.integer, np.floating)):
        return str(x)
    raise CompileError(f"str() takes a number or a string, got {type(x).__name__}")


@builtin("list")
def list_(x):
    return list(x.tolist() if isinstance(x, np.ndarray) else x)


@builtin("enumerate")
def enumerate_(x):
    return [list(t) for t in enumerate(x)]


@builtin("zip")
def zip_(*xs):
    return [list(t) for t in zip(*xs)]


@builtin()
def product(*xs):
    """Cartesian product of lists, as itertools.product: a list of lists."""
    n = math.prod(len(x) for x in xs)
    if n > MAX_ELEMENTS:
        raise CompileError(f"product of {n:,} tuples is too large")
    return [list(t) for t in itertools.product(*xs)]


@builtin()
def chars_of(s):
    """The characters of a string, as a list."""
    return list(str(s))
