"""Values in the language: operators, conversions, and how values are named in messages.

Arithmetic is NumPy's, with the language's own rules on top: `+` joins lists and
strings and extends a vocabulary, `"ab" * 3` repeats a string, integers stay exact
Python integers, and numpy never prints warnings (inf/NaN are reported once the
program is compiled)."""

from __future__ import annotations

import operator
import re

import numpy as np

from ..builtins import Builtin
from ..errors import CompileError, ShapeError, UsageError, cut
from ..values import Record, Slot
from ..vocab import Vocab
from .budget import current as current_budget

COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}
ARITH = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "//": np.floor_divide,
         "%": np.mod, "@": np.matmul}


def binary(op: str, a, b):
    """`a op b` for the language's binary operators (+ - * / // % @), charged to the
    compilation's budget before it runs (lang/budget.py)."""
    budget = current_budget()
    budget.before_binary(op, a, b)
    return budget.hold(_binary(op, a, b))


def _binary(op: str, a, b):
    if op == "+":
        if isinstance(a, Vocab):
            extra = b.tokens if isinstance(b, Vocab) else ([b] if isinstance(b, str) else list(b))
            return Vocab(a.tokens + tuple(str(t) for t in extra), mode=a.mode)
        if isinstance(a, list) and isinstance(b, list):
            return a + b
        if isinstance(a, str) and isinstance(b, str):
            return a + b
    if op == "*" and isinstance(a, str) and is_int(b):
        return a * max(0, int(b)) if a and int(b) > 0 else ""  # (the budget checked the size)
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
            Slot: "slot", Vocab: "vocabulary", range: "range",
            type(None): "nothing (a function without `return`?)"}.get(type(v), type(v).__name__)


def shape_text(shape) -> str:
    shape = tuple(shape)
    if not shape:
        return "a scalar"
    return "x".join(str(s) for s in shape)


def show(v, limit: int = 200) -> str:
    """A value as a message (or `print`) shows it: numbers plainly (never `np.float64(2.5)`),
    strings quoted, containers element by element, anything long cut."""
    if isinstance(v, str):
        return cut(v, limit)
    if isinstance(v, np.ndarray):
        text = np.array2string(v, threshold=20, precision=6)
    elif isinstance(v, np.generic):
        text = str(v.item())
    elif isinstance(v, (list, tuple)):
        items = ", ".join(show(x, 40) for x in v[:20]) + (f", ... ({len(v):,} items)" if len(v) > 20 else "")
        text = f"[{items}]" if isinstance(v, list) else f"({items}{',' if len(v) == 1 else ''})"
    elif isinstance(v, Vocab):
        text = v.describe(limit=10)
    elif isinstance(v, (bool, int, float, Slot, Record, range)) or v is None:
        text = str(v)
    else:
        text = kind(v)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text):,} characters)"


_NUMPY_INDEX = [
    (re.compile(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)"),
     lambda m: f"index {m[1]} is out of range for axis {m[2]}, which has {m[3]} entries"),
    (re.compile(r"too many indices for array: array is (\d+)-dimensional, but (\d+) were indexed"),
     lambda m: f"{m[2]} indices for an array with {m[1]} axes"),
    (re.compile(r"arrays used as indices must be of integer \(or boolean\) type"),
     lambda m: "indices must be integers (or booleans)"),
    (re.compile(r"only integers, slices .* are valid indices"),
     lambda m: "an index must be an integer (of at most 19 digits), a slice, a slot or an array of integers"),
    (re.compile(r"shape mismatch: indexing arrays could not be broadcast together with shapes (.*)"),
     lambda m: f"index arrays of different shapes ({m[1].strip()}) cannot be used together"),
    (re.compile(r"boolean index did not match indexed array along (?:axis|dimension) (\d+); "
                r"size of axis is (\d+) but size of corresponding boolean axis is (\d+)"),
     lambda m: f"a mask of {m[3]} entries cannot select along axis {m[1]}, which has {m[2]} entries"),
]


def index_message(e: Exception, shape) -> str:
    """numpy's IndexError text, said in the language's terms, with the array's shape."""
    text = describe(e)
    for pattern, say in _NUMPY_INDEX:
        m = pattern.search(text)
        if m:
            text = say(m)
            break
    return f"{text} (the array's shape is {shape_text(shape)})"


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


class SettingError(UsageError):
    """A bad --set value: the command line's mistake, reported without a source line."""

    locate = False


def convert_override(name: str, text, default, program: str = "the program"):
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
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
    except ValueError:
        kind = {bool: "true or false", int: "an integer", float: "a finite number"}[type(default)]
        shown = text if len(text) <= 40 and text.isprintable() and text.strip() == text else cut(text, 40)
        raise SettingError(f"--set {name}={shown}: {program}'s parameter '{name}' takes {kind} "
                           f"(its default is {show(default)})") from None
    if not isinstance(default, str):
        raise SettingError(f"--set {name}: {program}'s parameter '{name}' is {kind(default)}, which the "
                           f"command line cannot set")
    return text
