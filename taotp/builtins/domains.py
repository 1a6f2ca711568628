"""The domain builtins: values that describe a program's inputs, for
`spec expected=F, inputs=D` (taotp/spec_lang/domain.py says what each one means).

They only check their arguments and build the description; nothing is enumerated or
drawn here (taotp/spec_lang/readers.py does that when the program is checked)."""

from __future__ import annotations

import numpy as np

from ..errors import CompileError
from ..spec_lang.domain import (Filter, Fixed, Integers, Lists, Map, OneOf, Seq, Tuples, Union, brief,
                                need_domain, need_function, need_int, plain_value)
from ..spec_lang.domain import Domain
from . import builtin


@builtin()
def fixed(value):
    """The domain holding the one value: fixed(["="]), fixed([]) (the empty input)."""
    return Fixed(plain_value(value, "fixed()"))


@builtin()
def one_of(*choices):
    """One of the listed values, one_of(["a", "b"]) (a list, range or array); or a value of
    any of the domains given, one_of(d1, d2) (their union)."""
    if not choices:
        raise CompileError("one_of() needs a list of values, or domains")
    if all(isinstance(c, Domain) for c in choices):
        return choices[0] if len(choices) == 1 else Union(tuple(choices))
    if len(choices) == 1 and isinstance(choices[0], (list, tuple, range, np.ndarray)):
        options = plain_value(list(choices[0]) if not isinstance(choices[0], np.ndarray) else choices[0], "one_of()")
        if not options:
            raise CompileError("one_of([]) has no values to choose from")
        seen = set()
        for v in options:
            key = repr(v)
            if key in seen:
                raise CompileError(f"one_of() lists {brief(v)} twice")
            seen.add(key)
        return OneOf(tuple(options))
    if len(choices) == 1 and isinstance(choices[0], str):
        raise CompileError(f"one_of() takes a list: one_of(chars_of({choices[0]!r})) for its characters, "
                           f"or fixed({choices[0]!r}) for the one token")
    raise CompileError("one_of() takes either one list of values, one_of([\"a\", \"b\"]), "
                       "or domains, one_of(d1, d2); got " + ", ".join(brief(c) for c in choices))


@builtin()
def weighted(pairs):
    """The union of the domains, the sampler (`check --samples`) drawing each with its
    weight: weighted([(9, carries), (1, anything)]). Hypothesis and --exhaustive see the union."""
    if not isinstance(pairs, (list, tuple)) or not pairs:
        raise CompileError("weighted() takes a list of (weight, domain) pairs")
    weights, alternatives = [], []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise CompileError(f"weighted(): item {i} should be a (weight, domain) pair, got {brief(pair)}")
        w, d = pair
        if isinstance(w, (bool, np.bool_)) or not isinstance(w, (int, float, np.integer, np.floating)) \
                or not np.isfinite(w) or w <= 0:
            raise CompileError(f"weighted(): weight {i} must be a positive number, got {brief(w)}")
        weights.append(float(w) if not float(w).is_integer() else int(w))
        alternatives.append(need_domain(d, f"weighted(): item {i}"))
    return Union(tuple(alternatives), tuple(weights))


@builtin()
def seq(*parts):
    """The concatenation of a value from each domain: a list is spliced in, a token (or
    number) is one item. seq(lists(letter, 1, 5), fixed(["="]))."""
    if not parts:
        raise CompileError("seq() needs at least one domain")
    return Seq(tuple(need_domain(p, f"seq(): argument {i + 1}") for i, p in enumerate(parts)))


@builtin()
def lists(element, min=None, max=None, unique=False):
    """Lists of min..max values of the domain element (lengths included): lists(digit, 1, 8);
    unique=True: no value twice."""
    d = need_domain(element, "lists(): the first argument")
    if min is None or max is None:
        raise CompileError("lists(d, min, max) needs the shortest and longest length "
                           "(an input must fit the block)")
    lo, hi = need_int(min, "lists(): min"), need_int(max, "lists(): max")
    if lo < 0 or hi < lo:
        raise CompileError(f"lists(): lengths {lo}..{hi} are empty; need 0 <= min <= max")
    if not isinstance(unique, (bool, np.bool_)):
        raise CompileError(f"lists(): unique must be True or False, got {brief(unique)}")
    if unique:
        from ..spec_lang.readers import distinct_count

        n = distinct_count(d)
        if n is not None and n < lo:
            raise CompileError(f"lists(..., unique=True) needs at least {lo} different values; "
                               f"the domain has {n}")
    return Lists(d, lo, hi, bool(unique))


@builtin()
def integers(lo, hi):
    """The integers lo, lo+1, ..., hi (both included)."""
    a, b = need_int(lo, "integers(): lo"), need_int(hi, "integers(): hi")
    if b < a:
        raise CompileError(f"integers({a}, {b}) is empty; need lo <= hi")
    return Integers(a, b)


@builtin()
def tuples(*parts):
    """Tuples (v1, v2, ...) of a value from each domain: tuples(integers(0, 9), integers(0, 9))."""
    if not parts:
        raise CompileError("tuples() needs at least one domain")
    return Tuples(tuple(need_domain(p, f"tuples(): argument {i + 1}") for i, p in enumerate(parts)))


@builtin("map")
def map_(domain, f):
    """f(v) for every value v of the domain: map(integers(0, 99), digits_of). f is a `def`
    of one argument (or a builtin)."""
    return Map(need_domain(domain, "map(): the first argument"), need_function(f, "map(): the second argument"))


@builtin("filter")
def filter_(domain, pred):
    """The values v of the domain with pred(v) true. --exhaustive counts those that pass;
    the sampler and Hypothesis draw again (assume) when pred says no."""
    return Filter(need_domain(domain, "filter(): the first argument"),
                  need_function(pred, "filter(): the second argument"))
