"""Array and math builtins: a small, explicit subset of NumPy (no way to reach Python).

Every function whose result can be larger than its arguments charges the
compilation's budget (taotp/lang/budget.py) for it first, so a program that would
allocate absurd sizes, alone or together, is refused before allocating (DESIGN.md §4)."""

from __future__ import annotations

import math

import numpy as np

from ..engine import reference
from ..errors import CompileError, plain
from ..lang.budget import current as budget
from . import builtin


def check_size(shape, what: str = "array", ops_per_element: float = 1.0) -> tuple:
    """The shape of an array about to be made, charged to the compilation's budget."""
    shape = tuple(_int(s, f"{what}: a dimension") for s in
                  (shape if isinstance(shape, (tuple, list, np.ndarray)) else (shape,)))
    return budget().array(shape, what, ops_per_element=ops_per_element)


def _int(v, what: str) -> int:
    """An integer argument; a non-integral number or a non-number is a clear error."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise CompileError(f"{what} must be an integer, got {_show(v)}")
    if isinstance(v, (float, np.floating)) and not float(v).is_integer():
        raise CompileError(f"{what} must be an integer, got {_show(v)}")
    return int(v)


_show = plain


def _arr(x):
    """A builtin's argument as an array of numbers (lists and integers too large for int64
    become float64); anything else is a clear error, not one from deep inside numpy."""
    try:
        if isinstance(x, (list, tuple)) or (isinstance(x, int) and not isinstance(x, bool) and abs(x) >= 2**63):
            return np.asarray(x, dtype=np.float64)
        arr = np.asarray(x)
    except (TypeError, ValueError, OverflowError):
        raise CompileError(f"expected numbers, got {_show(x)}") from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool) or np.iscomplexobj(arr):
        raise CompileError(f"expected numbers, got {_show(x)}")
    return arr


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
    start, stop, step = (float(v) if isinstance(v, (float, np.floating)) else _int(v, "arange")
                         for v in (start, stop, step))
    if step == 0:
        raise CompileError("arange: step must not be 0")
    if not all(math.isfinite(v) for v in (start, stop, step)):
        raise CompileError("arange: start, stop and step must be finite")
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
    n = _int(n, "onehot: n")
    check_size(idx.shape + (n,), "onehot")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise CompileError(f"onehot: indices must be in [0, {n}), got {int(idx.min())}..{int(idx.max())}")
    return np.eye(n)[idx]


# -- shaping -----------------------------------------------------------------------
@builtin()
def concat(arrays, axis=0):
    """Concatenate a list of arrays along an axis (numpy.concatenate)."""
    parts = [_arr(a) for a in arrays]
    check_size((sum(a.size for a in parts),), "concat")
    return np.concatenate(parts, axis=_int(axis, "concat: axis"))


@builtin()
def stack(arrays, axis=0):
    """Join arrays of one shape along a new axis (numpy.stack)."""
    parts = [_arr(a) for a in arrays]
    check_size((sum(a.size for a in parts),), "stack")
    return np.stack(parts, axis=_int(axis, "stack: axis"))


@builtin()
def pad(x, widths, value=0.0):
    """numpy.pad with a constant: widths as [[before, after], ...] per axis."""
    x = _arr(x)
    widths = [tuple(_int(v, "pad: a width") for v in w) for w in widths]
    if any(v < 0 for w in widths for v in w):
        raise CompileError("pad: widths must be >= 0")
    check_size(tuple(s + a + b for s, (a, b) in zip(x.shape, widths)), "pad")
    return np.pad(x, widths, constant_values=float(value))


@builtin()
def tile(x, reps):
    x = _arr(x)
    reps = tuple(_int(r, "tile: a repetition") for r in (reps if isinstance(reps, (list, tuple)) else (reps,)))
    if any(r < 0 for r in reps):
        raise CompileError("tile: repetitions must be >= 0")
    check_size((x.size * math.prod(reps),), "tile")
    return np.tile(x, reps)


@builtin()
def repeat(x, n, axis=None):
    x = _arr(x)
    n = _int(n, "repeat: n")
    if n < 0:
        raise CompileError(f"repeat: n must be >= 0, got {n}")
    check_size((x.size * n,), "repeat")
    return np.repeat(x, n, axis=None if axis is None else _int(axis, "repeat: axis"))


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
    """numpy.diag: a vector's diagonal matrix, or a matrix's diagonal."""
    x = _arr(x)
    if x.ndim == 1:
        check_size((x.size, x.size), "diag")
    return np.diag(x)


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


def _n_log_n(x, what):
    budget().work(x.size * max(1.0, math.log2(max(x.size, 1))), what)
    return x


@builtin()
def sort(x, axis=-1):
    return np.sort(_n_log_n(_arr(x), "sort"), axis=_int(axis, "sort: axis"))


@builtin()
def argsort(x):
    return np.argsort(_n_log_n(_arr(x), "argsort"), kind="stable")


@builtin()
def unique(x):
    return np.unique(_n_log_n(_arr(x), "unique"))


@builtin()
def norm(x, axis=None):
    return np.linalg.norm(_arr(x), axis=axis)


@builtin()
def solve(a, b):
    """numpy.linalg.solve: x with a @ x = b (a square)."""
    a, b = _arr(a), _arr(b)
    if a.ndim == 2:
        n = a.shape[0]
        budget().work(n ** 3 + n * n * (b.size // max(n, 1)), f"solve() of a {n}x{n} system")
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError as e:
        raise CompileError(f"solve(): {e} (shapes {a.shape} and {b.shape})") from None


@builtin()
def layer_norm(x, axis=-1):
    """The book's layer norm without gamma/beta: (x - mean) / (std + 1e-10) (fig 1.1)."""
    x = np.moveaxis(_arr(x).astype(np.float64), int(axis), -1)
    return np.moveaxis(reference.layer_norm(x), -1, int(axis))
