"""Builtins that work like Python's on numbers, strings and lists: range, len, int, float,
str, list, enumerate, zip, product, chars_of. Lists they build are charged to the
compilation's budget first (about 8 bytes a slot, 32 a number, 64 a small list)."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..errors import CompileError, plain
from ..lang.budget import current as budget
from . import builtin
from .arrays import _int

_show = plain
@builtin("range")
def range_(*args):
    """range(stop), range(start, stop[, step]): integers, as Python's (not built as a list)."""
    if not 1 <= len(args) <= 3:
        raise CompileError(f"range() takes 1 to 3 integers, got {len(args)}")
    ints = [_int(a, "range") for a in args]
    if len(ints) == 3 and ints[2] == 0:
        raise CompileError("range(): step must not be 0")
    return range(*ints)


@builtin("len")
def len_(x):
    """The length of a list, string, range, vocabulary or array (its first axis)."""
    try:
        return len(x) if not isinstance(x, np.ndarray) or x.ndim else 1
    except TypeError:
        raise CompileError(f"len() takes a list, string, range or array, got {_show(x)}") from None


def _scalar(x, name):
    if isinstance(x, np.ndarray):
        if x.size != 1:
            raise CompileError(f"{name}() takes a number, got an array of shape {'x'.join(map(str, x.shape))}")
        x = x.item()
    if isinstance(x, str):
        try:
            return float(x) if name == "float" else int(x)
        except ValueError:
            raise CompileError(f"{name}() cannot read a number from {x!r}") from None
    if not isinstance(x, (int, float, bool, np.number)):
        raise CompileError(f"{name}() takes a number, got {_show(x)}")
    return x


@builtin("int")
def int_(x):
    """The integer part of a number (toward zero), or the integer a string spells."""
    x = _scalar(x, "int")
    if isinstance(x, (float, np.floating)) and not math.isfinite(x):
        raise CompileError(f"int() of {float(x)} is not a number")
    return int(x)


@builtin("float")
def float_(x):
    """A number as a float."""
    return float(_scalar(x, "float"))


@builtin("str")
def str_(x):
    if isinstance(x, (int, float, str, bool, np.integer, np.floating)):
        return str(x)
    raise CompileError(f"str() takes a number or a string, got {type(x).__name__}")


# Python lists cost about 8 bytes a slot, 32 a number and 64 a small list (budget estimates).
def _list_cost(n_items: int, per_item: int, what: str) -> None:
    budget().reserve(n_items * per_item, what)
    budget().work(n_items, what)


def _items(x, name):
    if isinstance(x, (list, tuple, str, range, np.ndarray)):
        return x
    raise CompileError(f"{name}() takes a list, string, range or array, got {_show(x)}")


@builtin("list")
def list_(x):
    """A list of the items of a list, string, range or array (an array's rows as lists)."""
    x = _items(x, "list")
    _list_cost(x.size if isinstance(x, np.ndarray) else len(x), 40, "list()")
    return list(x.tolist() if isinstance(x, np.ndarray) else x)


@builtin("enumerate")
def enumerate_(x):
    """[[0, x0], [1, x1], ...]."""
    x = _items(x, "enumerate")
    _list_cost(len(x), 120, "enumerate()")
    return [list(t) for t in enumerate(x)]


@builtin("zip")
def zip_(*xs):
    """[[a0, b0, ...], [a1, b1, ...], ...], as long as the shortest."""
    xs = [_items(x, "zip") for x in xs]
    _list_cost(min((len(x) for x in xs), default=0), 64 + 40 * len(xs), "zip()")
    return [list(t) for t in zip(*xs)]


@builtin()
def product(*xs):
    """Cartesian product of lists, as itertools.product: a list of lists."""
    xs = [_items(x, "product") for x in xs]
    n = math.prod(len(x) for x in xs)
    _list_cost(n, 64 + 8 * len(xs), f"product() of {n:,} tuples")
    return [list(t) for t in itertools.product(*xs)]


@builtin()
def chars_of(s):
    """The characters of a string, as a list."""
    if not isinstance(s, str):
        raise CompileError(f"chars_of() takes a string, got {_show(s)}")
    _list_cost(len(s), 8, "chars_of()")
    return list(s)
