"""Specs for arithmetic at any length: `long_add`, `long_sub` and `long_add_unpadded`
(programs/long_*.taotp).

Both take two zero-padded n_digits-digit numbers. What makes them hard is the carry
(borrow) chain: a run of places whose pair passes the carry on (a + b = 9 for addition,
a = b for subtraction). Uniform random pairs rarely have long runs, so the sampler and
the Hypothesis strategy mix uniform pairs with *chain pairs*: b is the partner that
makes every place pass the carry on (9 - a for addition, a itself for subtraction),
then a few places are changed at random, so that runs of every length end in every way.
`edge_pairs(n, op)` lists the classic edge cases.

`long_add_unpadded` takes numbers of 1..n_digits digits without leading zeros ("45+78=").
There the carry chain may also run through the places where only the longer number has
digits (9999 + 1), and the lengths matter: `unpadded_pair` draws each length first, then
a chain pair aligned at the last digit (b's digit is 9 - a's, or 9 where a has none; a's
digits above b's are 9s half the time), then a few breaks, then fixes the leading digits.
"""

from __future__ import annotations

import itertools

from .specs import _digits, _st, register

OPS = ("add", "sub")


def _number(digits) -> int:
    return int("".join(str(int(d)) for d in digits)) if len(digits) else 0


def partner(d: int, op: str) -> int:
    """The digit of b that makes a place pass the carry (borrow) on."""
    return 9 - d if op == "add" else d


def chain_pair(a_digits, breaks, op: str) -> tuple[int, int]:
    """a from its digits (most significant first); b its partner everywhere except at
    `breaks`, (index, digit) pairs that set b's digit there."""
    b_digits = [partner(int(d), op) for d in a_digits]
    for i, d in breaks:
        b_digits[i] = int(d)
    return _number(a_digits), _number(b_digits)


def edge_pairs(n: int, op: str = "add") -> list[tuple[int, int]]:
    """0+0, 9..9+1, 9..9+9..9, a chain through every place, alternating chains, and their
    subtraction counterparts (equal numbers, a borrow through every place)."""
    top = 10**n - 1
    alt_a = _number([(9, 0)[i % 2] for i in range(n)])                    # 9090...
    if op == "add":
        alt_b = _number([(0, 9)[i % 2] if i < n - 1 else 1 for i in range(n)])   # 0909...1
        half = _number([4 + i % 2 for i in range(n)])                     # 4545...
        pairs = [(0, 0), (top, 1), (1, top), (top, top), (top, 0), (alt_a, alt_b),
                 (half, top - half), (half, top - half + 1), (top // 9 * 5, top // 9 * 5)]
    else:
        pairs = [(0, 0), (top, top), (top, 0), (0, top), (10**(n - 1), 1) if n > 1 else (1, 1),
                 (top, top - 1), (top - 1, top), (alt_a, alt_a), (alt_a, alt_a + 1 if alt_a < top else 0),
                 (10**n // 2, 10**n // 2 - 1)]
    return [(a, b) for a, b in pairs if 0 <= a <= top and 0 <= b <= top]


def _sample_pair(n: int, rng, op: str) -> tuple[int, int]:
    """Half uniform pairs, half chain pairs with 0..3 breaks."""
    if rng.random() < 0.5:
        return _number(rng.integers(0, 10, n)), _number(rng.integers(0, 10, n))
    breaks = [(int(rng.integers(0, n)), int(rng.integers(0, 10))) for _ in range(int(rng.integers(0, 4)))]
    return chain_pair(rng.integers(0, 10, n), breaks, op)


def pair_strategy(n: int, op: str):
    """Hypothesis: uniform pairs, or chain pairs (long runs of carries) with a few breaks."""
    st = _st()
    top = 10**n - 1
    digits = st.lists(st.integers(0, 9), min_size=n, max_size=n)
    breaks = st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 9)), max_size=3)
    chains = st.tuples(digits, breaks).map(lambda db: chain_pair(db[0], db[1], op))
    return st.one_of(st.tuples(st.integers(0, top), st.integers(0, top)), chains)


def _head(a: int, n: int, op: str) -> str:
    return f"{a:0{n}d}{'+' if op == 'add' else '-'}"


def _tail(b: int, n: int) -> str:
    return f"{b:0{n}d}="


def text_of(a: int, b: int, n: int, op: str) -> str:
    return _head(a, n, op) + _tail(b, n)


def result_of(a: int, b: int, n: int, op: str) -> str:
    """add: the n+1-digit sum; sub: '+' or '-' then the n digits of |a - b|."""
    if op == "add":
        return f"{a + b:0{n + 1}d}"
    return ("+" if a >= b else "-") + f"{abs(a - b):0{n}d}"


def _parse(text: str, op: str) -> tuple[int, int]:
    a, _, b = text.rstrip("=").partition("+" if op == "add" else "-")
    return int(a), int(b)


def _register(name: str, op: str, description: str):
    def enum(s):
        n = _digits(s)
        if n > 6:                      # the second numbers' texts would not be worth keeping
            return (text_of(a, b, n, op) for a in range(10**n) for b in range(10**n))
        tails = [_tail(b, n) for b in range(10**n)]      # text_of, the second number's part made once
        return itertools.chain.from_iterable(map(_head(a, n, op).__add__, tails) for a in range(10**n))

    register(
        name,
        reference=lambda s, text: result_of(*_parse(text, op), _digits(s), op),
        strategy=lambda s: pair_strategy(_digits(s), op).map(lambda ab: text_of(*ab, _digits(s), op)),
        enumerate=enum, size=lambda s: 10 ** (2 * _digits(s)),
        sample=lambda s, rng: text_of(*_sample_pair(_digits(s), rng, op), _digits(s), op),
        description=description,
    )


_register("long_add", "add", "'0045+0078=' -> '00123' at any n_digits (as add); samples favour long carry chains")
_register("long_sub", "sub", "'0078-0045=' -> '+0033', '0045-0078=' -> '-0033': the sign, then |a - b| "
                             "in n_digits digits; samples favour long borrow chains")


# -- without zero padding (long_add_unpadded) --------------------------------------------------
def _from_places(places) -> int:
    """The number whose digits, least significant first, are `places`."""
    return int("".join(str(int(d)) for d in reversed(places)))


def unpadded_chain(la: int, lb: int, a_places, through_a: bool, breaks, lead_a: int, lead_b: int):
    """a from its digits (least significant first, la of them); b (lb digits) passes the carry
    on at every place: 9 - a's digit where a has one, 9 above it; a's digits above b's are 9
    when `through_a`; then `breaks` ((place, digit, which): which 0 sets a's digit, 1 b's) and
    the leading digits: a zero lead becomes lead_a / lead_b (1..9)."""
    a = [int(d) for d in a_places[:la]]
    b = [9 - a[j] if j < la else 9 for j in range(lb)]
    if through_a:
        a = [9 if j >= lb else d for j, d in enumerate(a)]
    for place, digit, which in breaks:
        x = b if which else a
        x[place % len(x)] = int(digit)
    if la > 1 and a[-1] == 0:
        a[-1] = lead_a
    if lb > 1 and b[-1] == 0:
        b[-1] = lead_b
    return _from_places(a), _from_places(b)


def unpadded_edge_pairs(n: int) -> list[tuple[int, int]]:
    """0+0, 9..9+1 (the carry through every place of a), 1+9..9, 9..9+9..9, 9..9+0, numbers of
    different lengths (9..9+9, 10..0+9..9 of n-1 digits), alternating chains, a chain through
    every place (4545.. + 5454.. and + 1), 5..5+5..5."""
    top = 10**n - 1
    alt_a = _number([(9, 0)[i % 2] for i in range(n)])                    # 9090...
    alt_b = _number([(0, 9)[i % 2] if i < n - 1 else 1 for i in range(n)])   # 0909...1
    half = _number([4 + i % 2 for i in range(n)])                         # 4545...
    short = 10 ** (n - 1) - 1                                             # n-1 nines
    pairs = [(0, 0), (top, 1), (1, top), (top, top), (top, 0), (0, top), (top, 9), (9, top),
             (10 ** (n - 1), short), (short, 10 ** (n - 1)), (alt_a, alt_b), (alt_b, alt_a),
             (half, top - half), (half, top - half + 1), (top // 9 * 5, top // 9 * 5),
             (top - 1, 1), (5 * 10 ** (n - 1), 5 * 10 ** (n - 1))]
    return list(dict.fromkeys((a, b) for a, b in pairs if 0 <= a <= top and 0 <= b <= top))


def _unpadded_sample(n: int, rng) -> tuple[int, int]:
    """A third uniform (each length drawn first), two thirds carry chains; the two lengths
    are equal half the time, drawn apart otherwise."""
    la, lb = (int(x) for x in rng.integers(1, n + 1, 2))
    if rng.random() < 0.5:
        lb = la
    if rng.random() < 1 / 3:
        def number(k):                       # k digits, the first not 0 (unless k = 1)
            digits = rng.integers(0, 10, k)
            digits[0] = rng.integers(1 if k > 1 else 0, 10)
            return _number(digits)
        return number(la), number(lb)
    breaks = [(int(rng.integers(0, n)), int(rng.integers(0, 10)), int(rng.integers(0, 2)))
              for _ in range(int(rng.integers(0, 4)))]
    a, b = unpadded_chain(la, lb, rng.integers(0, 10, la), bool(rng.random() < 0.5), breaks,
                          int(rng.integers(1, 10)), int(rng.integers(1, 10)))
    return (a, b) if rng.random() < 0.5 else (b, a)


def unpadded_strategy(n: int):
    """Hypothesis: numbers of every length, or carry chains (the same shapes as the sampler)."""
    st = _st()
    number = st.integers(1, n).flatmap(lambda k: st.integers(0 if k == 1 else 10 ** (k - 1), 10 ** k - 1))
    digits = st.lists(st.integers(0, 9), min_size=n, max_size=n)
    breaks = st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, 9), st.integers(0, 1)), max_size=3)
    lengths = st.one_of(st.integers(1, n).map(lambda k: (k, k)), st.tuples(st.integers(1, n), st.integers(1, n)))
    chain = st.builds(lambda ls, *rest: unpadded_chain(*ls, *rest), lengths, digits, st.booleans(), breaks,
                      st.integers(1, 9), st.integers(1, 9))
    chains = st.tuples(chain, st.booleans()).map(lambda cs: cs[0] if cs[1] else cs[0][::-1])
    return st.one_of(st.tuples(number, number), chains)


def unpadded_text(a: int, b: int) -> str:
    return f"{a}+{b}="


def _unpadded_enum(s):
    top = 10 ** _digits(s)
    return (unpadded_text(a, b) for a in range(top) for b in range(top))


register(
    "long_add_unpadded",
    reference=lambda s, text: str(sum(_parse(text, "add"))),
    strategy=lambda s: unpadded_strategy(_digits(s)).map(lambda ab: unpadded_text(*ab)),
    enumerate=_unpadded_enum, size=lambda s: 10 ** (2 * _digits(s)),
    sample=lambda s, rng: unpadded_text(*_unpadded_sample(_digits(s), rng)),
    description="'45+78=' -> '123': numbers of 1..n_digits digits without leading zeros, at any "
                "n_digits; samples favour carry chains and numbers of different lengths",
)
