"""One domain description (domain.py) read three ways:

- `strategy(d, rt)`  a Hypothesis strategy (filters are Hypothesis's `.filter`, an assume);
- `sampler(d, rt)`   a function rng -> value (numpy Generator: seeded, fast, for
                     `check --samples`); a filter draws again, up to MAX_TRIES times;
- `enumerate_values(d, rt)` every value, and `size(d)` how many the enumeration walks:
                     (n, True) exactly, or (n, False) an upper bound when a filter drops
                     values it cannot know in advance.

The enumeration walks the description: a value that two alternatives of a one_of (or
two splits of a seq) both build is walked twice, and counted twice by `size`.
`rt` runs the program's functions (runtime.SpecRuntime: `apply(fn, value, role)`,
`truth(value, role)`, `error(message)`).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..errors import UsageError
from .domain import Domain, Filter, Fixed, Integers, Lists, Map, OneOf, Seq, Tuples, Union, brief, describe

MAX_TRIES = 1000            # a filter's sampler gives up after this many refusals in a row
MATERIALISE = 1_000_000     # unique lists draw from the element's values listed, up to this many
TOO_MANY = 10**300 + 1      # size() saturates here: more values than anyone can count (or print as a float)


# -- size ------------------------------------------------------------------------------

def size(d: Domain) -> tuple[int, bool]:
    """(how many values the enumeration walks, whether that is exact); TOO_MANY stands
    for any count at least that large (lists(d, 1, 10**9) is counted in a few steps)."""
    n, exact = _size(d)
    return min(n, TOO_MANY), exact


def _size(d: Domain) -> tuple[int, bool]:
    if isinstance(d, Fixed):
        return 1, True
    if isinstance(d, OneOf):
        return len(d.options), True
    if isinstance(d, Integers):
        return d.hi - d.lo + 1, True
    if isinstance(d, Union):
        sizes = [size(p) for p in d.alternatives]
        return sum(n for n, _ in sizes), all(e for _, e in sizes)
    if isinstance(d, (Seq, Tuples)):
        sizes = [size(p) for p in d.items]
        return math.prod(n for n, _ in sizes), all(e for _, e in sizes)
    if isinstance(d, Lists):
        if d.unique:
            known = distinct_count(d.element)
            n, exact = (known, True) if known is not None else (size(d.element)[0], False)
            return count_lists(n, d.min, d.max, unique=True), exact
        n, exact = size(d.element)
        return count_lists(n, d.min, d.max), exact
    if isinstance(d, Map):
        return size(d.base)
    if isinstance(d, Filter):
        return size(d.base)[0], False
    raise TypeError(d)


def count_lists(n: int, lo: int, hi: int, unique: bool = False) -> int:
    """How many lists of lo..hi values from n (all different if unique): the sum over
    lengths k of n**k (or n!/(n-k)!), stopped once it passes TOO_MANY."""
    if lo > hi:
        return 0
    if n >= TOO_MANY:
        return TOO_MANY if hi >= 1 else int(lo == 0)
    if unique:
        hi = min(hi, n)                       # no list of more than n different values
        if lo > hi:
            return 0
    elif n <= 1:
        return (hi - lo + 1) if n == 1 else int(lo == 0)
    # the first term's size in bits, from logarithms: n ** lo itself may be billions of digits
    bits = (math.lgamma(n + 1) - math.lgamma(n - lo + 1)) / math.log(2) if unique else lo * math.log2(n)
    if bits > TOO_MANY.bit_length():
        return TOO_MANY
    total = 0
    term = math.perm(n, lo) if unique else n ** lo
    for k in range(lo, hi + 1):
        total += term
        if total >= TOO_MANY:
            return TOO_MANY
        term = term * (n - k) if unique else term * n
    return total


def distinct_count(d: Domain) -> int | None:
    """How many different values d has, when known without enumerating it."""
    if isinstance(d, Fixed):
        return 1
    if isinstance(d, (OneOf, Integers)):
        return size(d)[0]           # one_of's values are checked distinct when it is built
    if isinstance(d, Tuples):
        counts = [distinct_count(p) for p in d.items]
        return None if None in counts else math.prod(counts)
    if isinstance(d, Lists) and not d.unique:
        n = distinct_count(d.element)
        return None if n is None else count_lists(n, d.min, d.max)
    return None


# -- enumeration -----------------------------------------------------------------------

def enumerate_values(d: Domain, rt):
    """Every value of d, in a fixed order (lengths, then positions, as itertools.product)."""
    if isinstance(d, Fixed):
        yield d.value
    elif isinstance(d, OneOf):
        yield from d.options
    elif isinstance(d, Integers):
        yield from range(d.lo, d.hi + 1)
    elif isinstance(d, Union):
        for p in d.alternatives:
            yield from enumerate_values(p, rt)
    elif isinstance(d, Seq):
        for combo in product(d.items, rt):
            yield concat(combo)
    elif isinstance(d, Tuples):
        yield from product(d.items, rt)
    elif isinstance(d, Lists):
        values = list(enumerate_values(d.element, rt))
        if d.unique:
            values = distinct(values, d, rt)
        walk = itertools.permutations if d.unique else (lambda vs, k: itertools.product(vs, repeat=k))
        for k in range(d.min, d.max + 1):
            for combo in walk(values, k):
                yield list(combo)
    elif isinstance(d, Map):
        for v in enumerate_values(d.base, rt):
            yield rt.apply(d.fn, v, "map")
    elif isinstance(d, Filter):
        for v in enumerate_values(d.base, rt):
            if rt.truth(rt.apply(d.pred, v, "filter"), d.pred):
                yield v
    else:
        raise TypeError(d)


def product(parts, rt):
    """itertools.product of the parts' values, the first part streamed: the others are
    listed once when they are small (their functions run once per value), else walked
    again for each value before them."""
    head, tail = parts[0], parts[1:]
    if not tail:
        for v in enumerate_values(head, rt):
            yield (v,)
        return
    tails = list(product(tail, rt)) if math.prod(size(p)[0] for p in tail) <= MATERIALISE else None
    for v in enumerate_values(head, rt):
        for t in (tails if tails is not None else product(tail, rt)):
            yield (v,) + t


def concat(items) -> list:
    """seq's value: lists and tuples spliced in, anything else one item."""
    out = []
    for v in items:
        if isinstance(v, (list, tuple)):
            out.extend(v)
        else:
            out.append(v)
    return out


def freeze(v):
    """A hashable stand-in for a value (unique lists compare values by it)."""
    if isinstance(v, list):
        return ("list",) + tuple(freeze(x) for x in v)
    if isinstance(v, tuple):
        return ("tuple",) + tuple(freeze(x) for x in v)
    if isinstance(v, np.ndarray):
        return ("array", v.shape) + tuple(v.ravel().tolist())
    try:
        hash(v)
    except TypeError:
        raise UsageError(f"lists(..., unique=True) cannot compare the value {brief(v)}") from None
    return v


def distinct(values: list, d: Lists, rt) -> list:
    seen, out = set(), []
    for v in values:
        key = freeze(v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    if len(out) < d.min:
        raise rt.error(f"{describe(d)} needs at least {d.min} different values; its element has {len(out)}")
    return out


# -- the sampler -----------------------------------------------------------------------

def sampler(d: Domain, rt):
    """A function rng -> one value of d, built once."""
    if isinstance(d, Fixed):
        value = d.value
        return lambda rng: value
    if isinstance(d, OneOf):
        options, n = d.options, len(d.options)
        return lambda rng: options[int(rng.integers(n))]
    if isinstance(d, Integers):
        lo, span = d.lo, d.hi - d.lo + 1
        if span <= 2**62:
            return lambda rng: lo + int(rng.integers(span))
        words = (span.bit_length() + 61) // 62 + 1   # enough random bits that the modulo bias is negligible
        return lambda rng: lo + sum(int(rng.integers(2**62)) << (62 * i) for i in range(words)) % span
    if isinstance(d, Union):
        parts = [sampler(p, rt) for p in d.alternatives]
        if d.weights is None:
            return lambda rng: parts[int(rng.integers(len(parts)))](rng)
        cum = np.cumsum(np.asarray(d.weights, dtype=np.float64))
        cum /= cum[-1]
        return lambda rng: parts[min(int(np.searchsorted(cum, rng.random(), side="right")), len(parts) - 1)](rng)
    if isinstance(d, Seq):
        parts = [sampler(p, rt) for p in d.items]
        return lambda rng: concat([s(rng) for s in parts])
    if isinstance(d, Tuples):
        parts = [sampler(p, rt) for p in d.items]
        return lambda rng: tuple(s(rng) for s in parts)
    if isinstance(d, Lists):
        return _lists_sampler(d, rt)
    if isinstance(d, Map):
        base, fn = sampler(d.base, rt), d.fn
        return lambda rng: rt.apply(fn, base(rng), "map")
    if isinstance(d, Filter):
        base, pred = sampler(d.base, rt), d.pred

        def draw(rng):
            for _ in range(MAX_TRIES):
                v = base(rng)
                if rt.truth(rt.apply(pred, v, "filter"), pred):
                    return v
            raise rt.error(f"{describe(d)}: the filter refused {MAX_TRIES:,} values in a row; "
                           f"does it accept any? (build the values directly, or loosen it)")
        return draw
    raise TypeError(d)


def _lists_sampler(d: Lists, rt):
    lo, hi = d.min, d.max
    element = sampler(d.element, rt)
    if not d.unique:
        return lambda rng: [element(rng) for _ in range(int(rng.integers(lo, hi + 1)))]
    if size(d.element)[0] <= MATERIALISE:
        pool: list = []

        def draw_listed(rng):
            if not pool:
                pool.extend(distinct(list(enumerate_values(d.element, rt)), d, rt))
            k = int(rng.integers(lo, min(hi, len(pool)) + 1))
            return [pool[int(i)] for i in rng.choice(len(pool), size=k, replace=False)]
        return draw_listed

    def draw_distinct(rng):
        k = int(rng.integers(lo, hi + 1))
        out, seen = [], set()
        for _ in range(MAX_TRIES * max(1, k)):
            if len(out) == k:
                break
            v = element(rng)
            if freeze(v) not in seen:
                seen.add(freeze(v))
                out.append(v)
        else:
            raise rt.error(f"{describe(d)}: could not draw {k} different values")
        return out
    return draw_distinct


# -- the Hypothesis strategy -------------------------------------------------------------

def strategy(d: Domain, rt):
    import hypothesis.strategies as st   # a test dependency: imported only when asked for

    if isinstance(d, Fixed):
        return st.just(d.value)
    if isinstance(d, OneOf):
        return st.sampled_from(list(d.options))
    if isinstance(d, Integers):
        return st.integers(d.lo, d.hi)
    if isinstance(d, Union):
        return st.one_of(*(strategy(p, rt) for p in d.alternatives))
    if isinstance(d, Seq):
        return st.tuples(*(strategy(p, rt) for p in d.items)).map(concat)
    if isinstance(d, Tuples):
        return st.tuples(*(strategy(p, rt) for p in d.items))
    if isinstance(d, Lists):
        return st.lists(strategy(d.element, rt), min_size=d.min, max_size=d.max,
                        unique_by=freeze if d.unique else None)
    if isinstance(d, Map):
        fn = d.fn
        return strategy(d.base, rt).map(lambda v: rt.apply(fn, v, "map"))
    if isinstance(d, Filter):
        pred = d.pred
        return strategy(d.base, rt).filter(lambda v: rt.truth(rt.apply(pred, v, "filter"), pred))
    raise TypeError(d)
