"""Specs for arithmetic at any length: `long_add` and `long_sub` (programs/long_*.taotp).

Both take two zero-padded n_digits-digit numbers. What makes them hard is the carry
(borrow) chain: a run of places whose pair passes the carry on (a + b = 9 for addition,
a = b for subtraction). Uniform random pairs rarely have long runs, so the sampler and
the Hypothesis strategy mix uniform pairs with *chain pairs*: b is the partner that
makes every place pass the carry on (9 - a for addition, a itself for subtraction),
then a few places are changed at random, so that runs of every length end in every way.
`edge_pairs(n, op)` lists the classic edge cases.
"""

from __future__ import annotations

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


def text_of(a: int, b: int, n: int, op: str) -> str:
    return f"{a:0{n}d}{'+' if op == 'add' else '-'}{b:0{n}d}="


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
        return (text_of(a, b, n, op) for a in range(10**n) for b in range(10**n))

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
