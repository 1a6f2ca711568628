"""One budget per compilation: steps, element-operations and memory (DESIGN.md §4).

A program can loop, multiply matrices and build arrays, strings and lists; each of
those is charged here *before* it happens, so a runaway program stops with a message
instead of hanging or filling memory:

- steps: statements and expression nodes evaluated (the evaluator's tick);
- work: element-operations - an array op charges its result's size, a matrix product
  m*k*n, long builtins (lookup_fit, solve, ...) what they will do;
- memory: bytes held by the values the program has made and can still reach. Values are
  held in a registry; when a new allocation would pass the limit, the registry drops
  what only it still references (`sys.getrefcount`), so the limit is on live memory,
  the whole compilation together, not on each array.

The evaluator owns a Budget and activates it while it runs (`active`), so builtins and
operators charge it through `current()` without being passed it. The limits come from
the environment (TAOTP_MAX_STEPS, TAOTP_MAX_WORK, TAOTP_MAX_MEMORY) or the defaults,
measured against the shipped programs (the largest, add_unpadded at 3 digits, takes
61,000 steps; a 1,000-entry lookup fit about 4e9 element-operations).
"""

from __future__ import annotations

import contextvars
import math
import os
import sys
from contextlib import contextmanager

import numpy as np

from ..errors import CompileError
from ..values import Record
from ..vocab import Vocab

DEFAULT_STEPS = 250_000              # 4x the largest shipped program (add_unpadded: 61,000); ~0.7 s
DEFAULT_WORK = 10_000_000_000        # ~10-30 s of numpy
DEFAULT_BYTES = 384 * 2**20          # live values of one compilation
TRACK_BYTES = 256                    # smaller values are not worth a registry entry (steps bound them)
ARRAY_OVERHEAD = 112                 # bytes of an ndarray object besides its data
VOCAB_TOKEN_BYTES = 200              # a token's string, tuple slot and entry in the vocabulary's index
ENV = {"steps": "TAOTP_MAX_STEPS", "work": "TAOTP_MAX_WORK", "bytes": "TAOTP_MAX_MEMORY"}


class BudgetError(CompileError):
    """A compilation went past its budget (the evaluator adds the line)."""


def _limit(kind: str, default: float) -> float:
    text = os.environ.get(ENV[kind])
    if not text:
        return default
    try:
        units = {"K": 2**10, "M": 2**20, "G": 2**30} if kind == "bytes" else {}
        body = text.upper().removesuffix("B") if kind == "bytes" else text
        scale = units.get(body[-1:], 1)
        value = float(body[:-1] if scale != 1 else body) * scale
        if value <= 0:
            raise ValueError
        return value
    except ValueError:
        raise CompileError(f"{ENV[kind]}={text!r} is not a positive number") from None


def _size(n: float) -> str:
    if n >= 2**50:
        return f"{float(n) / 2**30:.3g} GB"
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{int(n):,} bytes"


def _count(n) -> str:
    """A count as a message shows it: 1,000,000 - or 1e+300 when it is absurd."""
    return f"{n:,}" if abs(n) < 10**15 else f"{float(n):.3g}"


class Budget:
    def __init__(self, max_steps: float | None = None, max_work: float | None = None,
                 max_bytes: float | None = None):
        self.max_steps = max_steps if max_steps is not None else _limit("steps", DEFAULT_STEPS)
        self.max_work = max_work if max_work is not None else _limit("work", DEFAULT_WORK)
        self.max_bytes = max_bytes if max_bytes is not None else _limit("bytes", DEFAULT_BYTES)
        self.steps = 0
        self.work_done = 0.0
        self.live = 0.0                      # bytes of registered values, dead ones until a sweep
        self._objs: list = []
        self._sizes: list = []
        self._ids: set[int] = set()          # ids of the held values (each is held once)
        self._swept_at = 0

    # -- steps -------------------------------------------------------------------
    def step(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise BudgetError(
                f"the program ran more than {int(self.max_steps):,} steps (statements and expressions); "
                f"is a loop too long?",
                hint=f"if it is meant to, raise the limit: {ENV['steps']}={int(self.max_steps) * 10} taotp ...")

    # -- work --------------------------------------------------------------------
    def work(self, n: float, what: str) -> None:
        """Charge n element-operations about to be done by `what`."""
        if n <= 0:
            return
        if self.work_done + n > self.max_work:
            raise BudgetError(
                f"{what} would take about {n:.3g} element-operations, past the compilation's work budget "
                f"of {self.max_work:.3g} ({self.work_done:.3g} used so far)",
                hint=f"if it is meant to, raise it: {ENV['work']}={self.max_work * 10:.0e} taotp ...")
        self.work_done += n

    # -- memory ------------------------------------------------------------------
    def reserve(self, nbytes: float, what: str) -> None:
        """Check, before allocating, that nbytes more fit in the memory budget."""
        if self.live + nbytes <= self.max_bytes:
            return
        self.sweep()
        if self.live + nbytes > self.max_bytes:
            held = f" on top of the {_size(self.live)} the program's values hold" if self.live >= 2**20 else ""
            raise BudgetError(
                f"{what} would need {_size(nbytes)}{held}, more than the compilation's memory budget of "
                f"{_size(self.max_bytes)}",
                hint=f"if it is meant to, raise it: {ENV['bytes']}={int(self.max_bytes * 4 / 2**20)}M taotp ... "
                     f"(the machine must have the memory)")

    def array(self, shape, what: str, itemsize: int = 8, ops_per_element: float = 1.0) -> tuple[int, ...]:
        """A new array's shape, checked (non-negative) and charged (bytes and work) before allocating."""
        dims = tuple(int(s) for s in shape)
        if any(s < 0 for s in dims):
            raise CompileError(f"{what}: shape {dims} has a negative size")
        n = math.prod(dims)
        self.reserve(n * itemsize, f"{what} of shape {dims} ({_count(n)} numbers)")
        self.work(n * ops_per_element, f"{what} of shape {dims}")
        return dims

    def hold(self, value):
        """Register a value the program now holds; returns it. Views and small values are free;
        a record's arrays are held one by one."""
        if isinstance(value, Record):
            for name in value.field_names():
                self.hold(value.get(name))
            return value
        n = nbytes(value)
        if n >= TRACK_BYTES and id(value) not in self._ids:   # (a builtin may return its argument)
            self._ids.add(id(value))
            self._objs.append(value)
            self._sizes.append(n)
            self.live += n
            if len(self._objs) > 2 * self._swept_at + 1024:   # amortised: the registry stays small
                self.sweep()
        return value

    def sweep(self) -> None:
        """Forget the values nothing but the registry references (newest first, so that a
        dead list releases the values inside it in the same pass)."""
        objs, sizes = self._objs, self._sizes
        for i in range(len(objs) - 1, -1, -1):
            if sys.getrefcount(objs[i]) <= 2:       # the list's reference and the argument's
                self._ids.discard(id(objs[i]))
                objs[i] = None
                self.live -= sizes[i]
        keep = [i for i, o in enumerate(objs) if o is not None]
        self._objs = [objs[i] for i in keep]
        self._sizes = [sizes[i] for i in keep]
        self._swept_at = len(self._objs)

    def before_builtin(self, name: str, args, kwargs) -> None:
        """Every builtin reads its arguments at least once: charge their size as work, and
        check that a result of that size would fit. (Builtins whose results can be larger
        than their arguments charge those themselves, through `array`.)"""
        n = sum(_elements(v) for v in (*args, *kwargs.values()))
        if n:
            self.work(n, f"{name}()")
            self.reserve(8 * n, f"{name}()'s result")

    # -- operators -----------------------------------------------------------------
    def before_binary(self, op: str, a, b) -> None:
        """Charge `a op b` before it runs: strings and lists by length, arrays by the result's
        broadcast shape, `@` by its m*k*n multiply-adds."""
        if isinstance(a, str) and isinstance(b, str):
            self.reserve(len(a) + len(b) + 49, "joining two strings")
        elif op == "*" and isinstance(a, str) and not isinstance(b, str):
            try:
                times = max(0, int(b))
            except (TypeError, ValueError, OverflowError):
                return
            self.reserve(len(a) * times + 49, f"repeating a string of {len(a):,} characters {_count(times)} times")
            self.work(len(a) * times, "string repetition")
        elif isinstance(a, list) and isinstance(b, list):
            self.reserve(8 * (len(a) + len(b)) + 56, "joining two lists")
        else:
            sa, sb = _shape(a), _shape(b)
            if sa is None or sb is None:
                return
            if op == "@":
                if len(sa) and len(sb) and sa[-1] == sb[0 if len(sb) == 1 else -2]:
                    m = math.prod(sa[:-1]) if len(sa) > 1 else 1
                    n = sb[-1] if len(sb) > 1 else 1
                    self.work(m * sa[-1] * n, f"the product {_dims(sa)} @ {_dims(sb)}")
                    self.reserve(8 * m * n, f"the product {_dims(sa)} @ {_dims(sb)}")
                return
            try:
                out = np.broadcast_shapes(sa, sb)
            except ValueError:
                return                      # the operator reports the shapes
            if out:
                self.array(out, f"'{op}' on {_dims(sa)} and {_dims(sb)}")

    def before_index(self, shape, index, what: str = "indexing") -> None:
        """Charge an advanced (array) index before it copies: its result's size."""
        parts = index if isinstance(index, tuple) else (index,)
        arrays = [p for p in parts if isinstance(p, np.ndarray) and p.dtype != bool]
        if not arrays:
            return
        try:
            picked = math.prod(np.broadcast_shapes(*(a.shape for a in arrays)))
        except ValueError:
            return
        rest = math.prod(shape[len(parts):]) if len(shape) > len(parts) else 1
        self.array((picked * rest,), what)


def _elements(v) -> int:
    if isinstance(v, np.ndarray):
        return v.size
    if isinstance(v, (list, tuple, str, range)):   # (a range is lazy, but a builtin makes it an array)
        return len(v)
    return 0


def _shape(v):
    if isinstance(v, np.ndarray):
        return v.shape
    if isinstance(v, (int, float, bool, np.number)):
        return ()
    if isinstance(v, (list, tuple, range)):
        return (len(v),)               # the operator converts it (nested lists: at least this)
    return None


def _dims(shape) -> str:
    return "x".join(map(str, shape)) if shape else "a scalar"


def nbytes(value) -> int:
    """Bytes a value holds of its own (a view of another array holds none)."""
    if isinstance(value, np.ndarray):
        return 0 if value.base is not None else value.nbytes + ARRAY_OVERHEAD
    if isinstance(value, str):
        return len(value) + 49
    if isinstance(value, (list, tuple)):
        return 8 * len(value) + 56
    if isinstance(value, Vocab):
        return VOCAB_TOKEN_BYTES * len(value)
    return 0


# -- the active budget ---------------------------------------------------------------
_active: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("taotp_budget", default=None)


@contextmanager
def active(budget: Budget):
    """Make `budget` the one builtins and operators charge while a compilation runs."""
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)


def current() -> Budget:
    """The running compilation's budget; outside one, a fresh budget with the default limits
    (a builtin called from Python is still refused an absurd size)."""
    return _active.get() or Budget()
