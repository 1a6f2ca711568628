"""Python-like helpers on lists, strings and integers: gcd, join, split, reversed, sorted.

They work on the language's plain values (lists, tuples, strings, numbers), e.g. to
state what a program should output: `reversed(tokens[:-1])`, `join(digits)`."""

from __future__ import annotations

import builtins as py
import math

import numpy as np

from ..errors import CompileError
from . import builtin


def _int(x, fn: str) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer, float, np.floating)) \
            or not float(x).is_integer():
        raise CompileError(f"{fn}() takes integers, got {x!r}")
    return int(x)


@builtin()
def gcd(*xs):
    """The greatest common divisor of integers: gcd(12, 18) is 6 (gcd() is 0)."""
    return math.gcd(*(_int(x, "gcd") for x in xs))


def _text(x) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)) or (isinstance(x, (float, np.floating)) and float(x).is_integer()):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return str(float(x))
    raise CompileError(f"join() joins strings and numbers, got {type(x).__name__}")


@builtin()
def join(items, sep=""):
    """The items (strings or numbers) as one string, sep between them: join(["a", 1], "-") is "a-1"."""
    if isinstance(items, str):
        items = list(items)
    if not isinstance(sep, str):
        raise CompileError(f"join(items, sep): sep must be a string, got {sep!r}")
    return sep.join(_text(x) for x in (items.tolist() if isinstance(items, np.ndarray) else items))


@builtin()
def split(text, sep=None):
    """A string cut at sep (default: at runs of spaces): split("a b  c") is ["a", "b", "c"]."""
    if not isinstance(text, str) or not (sep is None or isinstance(sep, str)):
        raise CompileError("split(text, sep) takes strings")
    if sep == "":
        raise CompileError("split(text, sep): sep must not be empty (chars_of(text) gives the characters)")
    return text.split(sep)


@builtin()
def reversed(x):
    """The items in reverse order: a list (a string for a string, an array for an array)."""
    if isinstance(x, str):
        return x[::-1]
    if isinstance(x, np.ndarray):
        return x[::-1].copy()
    return list(x)[::-1]


@builtin()
def sorted(x, reverse=False):
    """The items in increasing order (decreasing with reverse=True), as a list."""
    items = x.tolist() if isinstance(x, np.ndarray) else list(x)
    try:
        return py.sorted(items, reverse=bool(reverse))
    except TypeError:
        raise CompileError("sorted() needs items that compare with each other (all numbers or all strings)") from None
