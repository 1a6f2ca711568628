"""Values in the language: operators, conversions, and how values are named in messages.

Arithmetic is NumPy's, with the language's own rules on top: `+` joins lists and
strings and extends a vocabulary, `"ab" * 3` repeats a string, integers stay exact
Python integers, and numpy never prints warnings (inf/NaN are reported once the
program is compiled)."""

from __future__ import annotations

import operator

import numpy as np

from ..builtins import Builtin
from ..errors import CompileError, ShapeError
from ..values import Record, Slot
from ..vocab import Vocab

COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}
ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "//": np.floor_divide,
         "%": np.mod, "@": np.matmul}


def binary(op: str, a, b):
    """`a op b` for the language's binary operators (+ - * / // % @)."""
    if op == "+":
        if isinstance(a, Vocab):
            extra = b.tokens if isinstance(b, Vocab) else ([b] if isinstance(b, str) else list(b))
            return Vocab(a.tokens + tuple(str(t) for t in extra), mode=a.mode)
        if isinstance(a, list) and isinstance(b, list):
            return a + b
        if isinstance(a, str) and isinstance(b, str):
            return a + b
    if op == "*" and isinstance(a, str) and is_int(b):
        return a * int(b)
    if isinstance(a, str) or isinstance(b, str):
        raise CompileError(f"cannot apply '{op}' to {kind(a)} and {kind(b)}")
    x, y = as_number(a), as_number(b)
    if op == "/" and not isinstance(y, np.ndarray) and y == 0:
        raise CompileError("division by zero")
    if isinstance(x, (int, np.integer)) and isinstance(y, (int, np.integer)) and op in ("+", "-", "*", "//", "%"):
        return {"+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv,
                "%": operator.mod}[op](int(x), int(y))
    if op == "@":
        xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if xa.ndim == 0 or ya.ndim == 0:
            raise CompileError("'@' needs arrays, not scalars")
        if xa.shape[-1] != ya.shape[0 if ya.ndim == 1 else -2]:
            raise ShapeError(f"cannot multiply {shape_text(xa.shape)} @ {shape_text(ya.shape)}")
        return xa @ ya
    try:
        with np.errstate(all="ignore"):  # inf/NaN are reported once, after compilation (finish)
            return ARITH[op](x, y)
    except ValueError:
        raise ShapeError(f"'{op}' on {shape_text(np.shape(x))} and {shape_text(np.shape(y))}: shapes do not broadcast") from None


def contains(container, item) -> bool:
    """`item in container`: a substring, a token of a vocabulary, an element of a list
    (arrays compared whole), a number in an array, an index in a slot's range."""
    if isinstance(container, str):
        if not isinstance(item, str):
            raise CompileError(f"'in' a string needs a string on the left, got {kind(item)}")
        return item in container
    if isinstance(container, Vocab):
        return isinstance(item, str) and item in container.index
    if isinstance(container, Slot):
        return is_int(item) and container.start <= int(item) < container.stop
    if isinstance(container, (list, tuple, range)):
        return any(_same(item, x) for x in container)
    if isinstance(container, np.ndarray):
        if isinstance(item, str):
            return False
        try:
            return bool(np.any(container == as_number(item)))
        except (ValueError, CompileError):
            return False
    raise CompileError(f"cannot test membership in {kind(container)}")


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, (np.ndarray, list, tuple, int, float)) and not isinstance(b, str) and \
            np.shape(a) == np.shape(b) and bool(np.all(np.asarray(a) == np.asarray(b)))
    return type(a) is type(b) and a == b or (is_number(a) and is_number(b) and a == b)


def is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def as_number(v):
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, float, np.integer, np.floating, np.ndarray)):
        return v
    if isinstance(v, (list, tuple, range)):
        arr = np.asarray(list(v) if isinstance(v, range) else v)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise CompileError(f"expected numbers, got a {kind(v)} that holds {arr.dtype}")
        return arr
    raise CompileError(f"expected a number or an array, got {kind(v)}")


def comparable(v):
    return v if isinstance(v, (str, int, float, bool)) else as_number(v)


def is_int(v) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, np.integer)):
        return True
    if isinstance(v, (float, np.floating)):
        return float(v).is_integer()
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return is_int(v.item())
    return False



def kind(v) -> str:
    if isinstance(v, np.ndarray):
        return f"an array of shape {shape_text(v.shape)}"
    if isinstance(v, Record):
        return f"a {v.kind}"
    if isinstance(v, Builtin):
        return f"the builtin {v.name}()"
    if type(v).__name__ == "UserFunction":
        return f"the function {v.name}()"
    return {list: "list", tuple: "tuple", str: "string", int: "integer", float: "number", bool: "boolean",
            Slot: "slot", Vocab: "vocabulary", range: "range"}.get(type(v), type(v).__name__)


def shape_text(shape) -> str:
    shape = tuple(shape)
    if not shape:
        return "a scalar"
    return "x".join(str(s) for s in shape)


def show(v) -> str:
    if isinstance(v, np.ndarray):
        return np.array2string(v, threshold=20, precision=6)
    return repr(v) if isinstance(v, str) else str(v)


def describe(e: Exception) -> str:
    if isinstance(e, OverflowError):
        return "a number too large for floating point (overflow)"
    text = str(e) or type(e).__name__
    return text.splitlines()[0]


def unescape(body: str, fail) -> str:
    out, i = [], 0
    table = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "0": "\0"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt not in table:
                raise fail(f"unknown escape \\{nxt} in string (known: \\n \\t \\\\ \\\" \\' \\0)")
            out.append(table[nxt])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def convert_override(name: str, text, default):
    """A --set value, typed after the parameter's default."""
    if not isinstance(text, str):
        return text
    try:
        if isinstance(default, bool):
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if isinstance(default, int):
            return int(text.replace("_", ""))
        if isinstance(default, float):
            return float(text)
    except ValueError:
        kind = {bool: "true/false", int: "an integer", float: "a number"}[type(default)]
        raise CompileError(f"--set {name}={text}: '{name}' takes {kind}") from None
    return text
