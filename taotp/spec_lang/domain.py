"""Domain descriptions: values that describe a set of inputs, built by the domain builtins.

    fixed(v)                      the one value v
    one_of([v1, v2, ...])         one of the listed values (tokens, numbers, lists...)
    one_of(d1, d2, ...)           a value of any of the domains (their union)
    weighted([(w1, d1), ...])     the same union, the sampler drawing d_i with weight w_i
    seq(d1, d2, ...)              the concatenation: lists spliced, a token taken as itself
    lists(d, min, max, unique=False)  lists of min..max values of d (all different if unique)
    integers(lo, hi)              the integers lo..hi, both included
    tuples(d1, d2, ...)           tuples (v1, v2, ...) of a value from each
    map(d, f)                     f(v) for each value v of d
    filter(d, pred)               the values of d for which pred(v) is true

A description holds no Python code: its functions are the program's own (UserFunction)
or builtins. readers.py turns it into a strategy, a sampler and an enumerator;
`text(render)` writes it back as the language's text (capture.py saves it that way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CompileError

_plain = (str, int, float, bool)


class Domain:
    """Base class of the descriptions below (the language shows them as `<domain ...>`)."""

    def parts(self) -> tuple["Domain", ...]:
        return ()

    def functions(self) -> tuple:
        """The program functions the description calls (for capture.py)."""
        return ()

    def values(self) -> tuple:
        """The plain values it holds (for capture.py)."""
        return ()

    def text(self, render) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<domain {describe(self)}>"


@dataclass(frozen=True, eq=False, repr=False)
class Fixed(Domain):
    value: object

    def values(self):
        return (self.value,)

    def text(self, render):
        return f"fixed({render(self.value)})"


@dataclass(frozen=True, eq=False, repr=False)
class OneOf(Domain):
    options: tuple

    def values(self):
        return (list(self.options),)

    def text(self, render):
        return f"one_of({render(list(self.options))})"


@dataclass(frozen=True, eq=False, repr=False)
class Union(Domain):
    alternatives: tuple
    weights: tuple | None = None      # None: one_of(d1, d2, ...); else weighted(...)

    def parts(self):
        return self.alternatives

    def text(self, render):
        if self.weights is None:
            return f"one_of({', '.join(d.text(render) for d in self.alternatives)})"
        pairs = ", ".join(f"({render(w)}, {d.text(render)})" for w, d in zip(self.weights, self.alternatives))
        return f"weighted([{pairs}])"


@dataclass(frozen=True, eq=False, repr=False)
class Seq(Domain):
    items: tuple

    def parts(self):
        return self.items

    def text(self, render):
        return f"seq({', '.join(d.text(render) for d in self.items)})"


@dataclass(frozen=True, eq=False, repr=False)
class Lists(Domain):
    element: Domain
    min: int
    max: int
    unique: bool = False

    def parts(self):
        return (self.element,)

    def text(self, render):
        tail = ", unique=True" if self.unique else ""
        return f"lists({self.element.text(render)}, {self.min}, {self.max}{tail})"


@dataclass(frozen=True, eq=False, repr=False)
class Integers(Domain):
    lo: int
    hi: int

    def text(self, render):
        return f"integers({self.lo}, {self.hi})"


@dataclass(frozen=True, eq=False, repr=False)
class Tuples(Domain):
    items: tuple

    def parts(self):
        return self.items

    def text(self, render):
        return f"tuples({', '.join(d.text(render) for d in self.items)})"


@dataclass(frozen=True, eq=False, repr=False)
class Map(Domain):
    base: Domain
    fn: object

    def parts(self):
        return (self.base,)

    def functions(self):
        return (self.fn,)

    def text(self, render):
        return f"map({self.base.text(render)}, {render(self.fn)})"


@dataclass(frozen=True, eq=False, repr=False)
class Filter(Domain):
    base: Domain
    pred: object

    def parts(self):
        return (self.base,)

    def functions(self):
        return (self.pred,)

    def text(self, render):
        return f"filter({self.base.text(render)}, {render(self.pred)})"


def walk(d: Domain):
    """d and every description inside it."""
    yield d
    for p in d.parts():
        yield from walk(p)


def function_name(fn) -> str:
    return getattr(fn, "name", None) or type(fn).__name__


def brief(v, limit: int = 6) -> str:
    """A value as short text for messages."""
    if isinstance(v, Domain):
        return describe(v)
    if callable(getattr(v, "fn", None)) or hasattr(v, "params"):
        return function_name(v)
    if isinstance(v, (list, tuple)):
        items = [brief(x, limit) for x in list(v)[:limit]]
        if len(v) > limit:
            items.append(f"... ({len(v)} items)")
        body = ", ".join(items)
        return f"[{body}]" if isinstance(v, list) else f"({body}{',' if len(v) == 1 else ''})"
    if isinstance(v, np.ndarray):
        return brief(v.tolist(), limit) if v.ndim else brief(v.item(), limit)
    if isinstance(v, np.generic):
        return repr(v.item())
    return repr(v)


def describe(d: Domain) -> str:
    """A description as text for messages: values shortened, functions by name."""
    return d.text(brief)


# -- checking what the builtins are given ---------------------------------------------

def plain_value(v, where: str):
    """v as a plain value (token, number, list or tuple of them); numpy numbers and
    integer arrays become Python's."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return plain_value(v.tolist(), where)
    if isinstance(v, range):
        return list(v)
    if isinstance(v, _plain):
        return v
    if isinstance(v, list):
        return [plain_value(x, where) for x in v]
    if isinstance(v, tuple):
        return tuple(plain_value(x, where) for x in v)
    raise CompileError(f"{where}: a domain holds tokens, numbers, lists and tuples, not {_kind(v)}")


def need_domain(v, where: str) -> Domain:
    if isinstance(v, Domain):
        return v
    hint = " (write fixed(...) for one value, one_of([...]) for a choice)" if isinstance(v, (list, tuple, str, int)) else ""
    raise CompileError(f"{where} needs a domain, got {_kind(v)}{hint}")


def need_function(fn, where: str):
    params = getattr(fn, "params", None)
    if params is not None:
        if len(params) != 1:
            raise CompileError(f"{where} needs a function of one argument; {fn.name}() takes {len(params)}")
        return fn
    if callable(getattr(fn, "fn", None)):  # a builtin
        return fn
    raise CompileError(f"{where} needs a function (a `def` of one argument, or a builtin), got {_kind(fn)}")


def need_int(v, where: str) -> int:
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer, float, np.floating)) \
            or not float(v).is_integer():
        raise CompileError(f"{where} must be an integer, got {brief(v)}")
    return int(v)


def _kind(v) -> str:
    from ..lang.operators import kind

    return kind(v)
