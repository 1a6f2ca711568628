"""The spec of DECIMAL MULTIPLICATION (book exercise 6.21): programs/mul.taotp.

"12*34=" -> "0408": two n_digits-digit numbers, zero padded, most significant digit
first; the product with 2 * n_digits digits.

Random inputs (`taotp check --samples`, the Hypothesis strategy) are biased towards
what is hard for a carry: a quarter uniform pairs, the rest drawn from families that
make long runs of 9s and 0s in the product or in its column sums:

- repdigit factors (99..9 x 99..9, 99..9 x anything, 55..5, ...);
- a power of ten times anything (one factor 10^k);
- factors whose digits are mostly 9 (each digit 9 with probability 0.8);
- "near-round" products: b at random, a = round(c 10^k / b), so a * b is within b of a
  round number and its digits run 99..9 or 00..0 (every carry ripples far);
- short numbers (leading zeros) of random lengths.
"""

from __future__ import annotations

from .specs import _int, _st, register


def _nd(s) -> int:
    return _int(s, "n_digits")


def _text(a: int, b: int, nd: int) -> str:
    return f"{a:0{nd}d}*{b:0{nd}d}="


def _reference(s, text: str) -> str:
    nd = _nd(s)
    a, _, b = text.rstrip("=").partition("*")
    return f"{int(a) * int(b):0{2 * nd}d}"


def _enumerate(s):
    nd = _nd(s)
    top = 10**nd
    return (_text(a, b, nd) for a in range(top) for b in range(top))


# -- the biased families, each a function of a source of randomness ------------------------------
# `pick(lo, hi)` returns an integer in [lo, hi]; `coin(p)` is True with probability p.

def _uniform(nd, pick, coin):
    return pick(0, 10**nd - 1), pick(0, 10**nd - 1)


def _repdigit(nd, pick, coin):
    top = 10**nd - 1
    d = pick(1, 9)
    rep = int(str(d) * pick(1, nd))
    other = top if coin(0.5) else pick(0, top)
    return (rep, other) if coin(0.5) else (other, rep)


def _power_of_ten(nd, pick, coin):
    p = 10 ** pick(0, nd - 1)
    other = 10**nd - 1 if coin(0.3) else pick(0, 10**nd - 1)
    return (p, other) if coin(0.5) else (other, p)


def _mostly_nines(nd, pick, coin):
    def num():
        return int("".join("9" if coin(0.8) else str(pick(0, 9)) for _ in range(nd)))
    return num(), num()


def _near_round(nd, pick, coin):
    top = 10**nd - 1
    b = pick(1, top)
    k = pick(0, 2 * nd - 1)
    target = pick(1, 9) * 10**k
    a = min(top, max(0, round(target / b)))
    return (a, b) if coin(0.5) else (b, a)


def _short(nd, pick, coin):
    return pick(0, 10 ** pick(0, nd) - 1), pick(0, 10 ** pick(0, nd) - 1)


FAMILIES = (_uniform, _repdigit, _power_of_ten, _mostly_nines, _near_round, _short)
WEIGHTS = (4, 2, 2, 3, 4, 1)  # out of 16: a quarter uniform


def _draw(families, weights, nd, pick, coin):
    """A pair from one of `families`, chosen with `weights`."""
    r, family = pick(0, sum(weights) - 1), families[-1]
    for f, w in zip(families, weights):
        if r < w:
            family = f
            break
        r -= w
    return family(nd, pick, coin)


def _rng_sample(families, weights, text, s, rng):
    """One input text drawn with numpy's `rng` (the spec's sampler)."""
    pick = lambda lo, hi: int(rng.integers(lo, hi + 1))
    coin = lambda p: bool(rng.random() < p)
    return text(*_draw(families, weights, _nd(s), pick, coin), _nd(s))


def _family_strategy(st, families, text, nd):
    """Hypothesis inputs: a family drawn uniformly, its pair as text."""
    @st.composite
    def draw_input(draw):
        pick = lambda lo, hi: draw(st.integers(lo, hi))
        coin = lambda p: draw(st.floats(0, 1, exclude_max=True)) < p
        family = draw(st.sampled_from(families))
        return text(*family(nd, pick, coin), nd)
    return draw_input()


def _sample(s, rng):
    return _rng_sample(FAMILIES, WEIGHTS, _text, s, rng)


def _strategy(s):
    st = _st()
    nd = _nd(s)
    edges = st.sampled_from([(0, 0), (10**nd - 1, 10**nd - 1), (10**nd - 1, 1), (1, 10**nd - 1),
                             (10 ** (nd - 1), 10**nd - 1)]).map(lambda ab: _text(*ab, nd))
    return st.one_of(edges, _family_strategy(st, FAMILIES, _text, nd))


register(
    "mul", reference=_reference, strategy=_strategy, enumerate=_enumerate,
    size=lambda s: 10 ** (2 * _nd(s)), sample=_sample,
    description="'12*34=' -> '0408': zero-padded n_digits-digit numbers, 2*n_digits-digit product "
                "(book exercise 6.21); samples biased to long carries",
)


# -- without zero padding: "45*78=" -> "3510", "4*8=" -> "32" ---------------------------------------

def _any_length(nd, pick, coin):
    """Both factors' lengths uniform in 1..nd (short numbers are the unpadded case's own)."""
    def num():
        k = pick(1, nd)
        return pick(0 if k == 1 else 10 ** (k - 1), 10**k - 1)
    return num(), num()


def _zero_factor(nd, pick, coin):
    other = _any_length(nd, pick, coin)[0]
    return (0, other) if coin(0.5) else (other, 0)


UNPADDED_FAMILIES = FAMILIES + (_any_length, _zero_factor)
UNPADDED_WEIGHTS = WEIGHTS + (4, 1)


def _plain(a: int, b: int, nd: int) -> str:
    return f"{a}*{b}="


def _unpadded_reference(s, text: str) -> str:
    a, _, b = text.rstrip("=").partition("*")
    return str(int(a) * int(b))


def _unpadded_sample(s, rng):
    return _rng_sample(UNPADDED_FAMILIES, UNPADDED_WEIGHTS, _plain, s, rng)


def _unpadded_strategy(s):
    st = _st()
    nd = _nd(s)
    top = 10**nd - 1
    edges = st.sampled_from([(0, 0), (top, top), (top, 1), (1, 1), (0, top), (10 ** (nd - 1), top), (9, 9)])
    return st.one_of(edges.map(lambda ab: _plain(*ab, nd)), _family_strategy(st, UNPADDED_FAMILIES, _plain, nd))


register(
    "mul_unpadded", reference=_unpadded_reference, strategy=_unpadded_strategy,
    enumerate=lambda s: (_plain(a, b, _nd(s)) for a in range(10 ** _nd(s)) for b in range(10 ** _nd(s))),
    size=lambda s: 10 ** (2 * _nd(s)), sample=_unpadded_sample,
    description="'45*78=' -> '3510', '4*8=' -> '32': numbers of 1..n_digits digits, no padding "
                "(book exercise 6.21 as 6.20 asks of addition); samples biased to long carries",
)
