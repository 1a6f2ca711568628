"""Specs of the integer sorting programs: sort_ints, min_ints, max_ints.

Their inputs are integers from `lo` to `hi` (program parameters), repeats allowed:

- sort_ints: 0..max_len numbers then "=" -> the numbers in ascending order;
- min_ints / max_ints: 1..block numbers -> the smallest / the largest.

The Hypothesis strategies and the samplers favour what breaks sorting networks: many
copies of few values, runs of neighbouring values, both ends of the range, and the
places where the two base-32 digits of sort_ints turn over (lo + 32 k).
"""

from __future__ import annotations

import itertools

from .errors import UsageError
from .specs import _int, _ints, _st, _words, register

DIGIT = 32  # sort_ints writes v - lo as two base-32 digits


def _range(s) -> tuple[int, int]:
    lo, hi = _int(s, "lo"), _int(s, "hi")
    if hi < lo:
        raise UsageError(f"this spec needs lo <= hi, got lo={lo}, hi={hi}")
    return lo, hi


def _max_len(s) -> int:
    """sort_ints states max_len; min_ints and max_ints take lists as long as the block."""
    if "max_len" in s:
        return max(1, _int(s, "max_len"))
    return max(1, int(s.get("input_room", _int(s, "block"))))


# -- the biased draw, shared by the strategy (Hypothesis) and the sampler (numpy) -----------

def _pools(lo: int, hi: int) -> list[tuple[int, int]]:
    """Intervals to draw a list from: the whole range, both ends, the digit turnovers."""
    pools = [(lo, hi), (lo, min(hi, lo + 2)), (max(lo, hi - 2), hi)]
    for k in range(1, (hi - lo) // DIGIT + 1):
        m = lo + DIGIT * k
        pools.append((max(lo, m - 2), min(hi, m + 1)))
    return pools


def _strategy(s, terminated: bool):
    st = _st()
    lo, hi = _range(s)
    n_min, n_max = (0 if terminated else 1), _max_len(s)
    pools = _pools(lo, hi)

    @st.composite
    def draw(draw_):
        size = draw_(st.integers(n_min, n_max))
        how = draw_(st.sampled_from(["uniform", "few", "window", "pool"]))
        if how == "uniform":
            xs = draw_(st.lists(st.integers(lo, hi), min_size=size, max_size=size))
        elif how == "few":      # many copies of at most 3 values
            vals = draw_(st.lists(st.integers(lo, hi), min_size=1, max_size=3))
            xs = draw_(st.lists(st.sampled_from(vals), min_size=size, max_size=size))
        elif how == "window":   # neighbouring values
            c = draw_(st.integers(lo, hi))
            w = draw_(st.integers(0, 4))
            xs = draw_(st.lists(st.integers(c, min(hi, c + w)), min_size=size, max_size=size))
        else:
            a, b = draw_(st.sampled_from(pools))
            xs = draw_(st.lists(st.integers(a, b), min_size=size, max_size=size))
        return _words(xs + (["="] if terminated else []))

    return draw()


def _sampler(terminated: bool):
    def sample(s, rng) -> str:
        lo, hi = _range(s)
        size = int(rng.integers(0 if terminated else 1, _max_len(s) + 1))
        how = int(rng.integers(4))
        if how == 0:
            xs = rng.integers(lo, hi + 1, size)
        elif how == 1:
            xs = rng.choice(rng.integers(lo, hi + 1, int(rng.integers(1, 4))), size)
        elif how == 2:
            c = int(rng.integers(lo, hi + 1))
            xs = rng.integers(c, min(hi, c + int(rng.integers(0, 5))) + 1, size)
        else:
            pools = _pools(lo, hi)
            a, b = pools[int(rng.integers(len(pools)))]
            xs = rng.integers(a, b + 1, size)
        return _words([int(x) for x in xs] + (["="] if terminated else []))

    return sample


def _enumerate(terminated: bool):
    def enum(s):
        lo, hi = _range(s)
        for k in range(0 if terminated else 1, _max_len(s) + 1):
            for xs in itertools.product(range(lo, hi + 1), repeat=k):
                yield _words(list(xs) + (["="] if terminated else []))

    return enum


def _size(terminated: bool):
    def size(s) -> int:
        lo, hi = _range(s)
        n = hi - lo + 1
        return sum(n ** k for k in range(0 if terminated else 1, _max_len(s) + 1))

    return size


def _numbers(text: str) -> list[int]:
    return _ints(text.replace("=", " "))


register(
    "sort_ints", reference=lambda s, text: _words(sorted(_numbers(text))),
    strategy=lambda s: _strategy(s, True), enumerate=_enumerate(True), size=_size(True),
    sample=_sampler(True),
    description="0..max_len integers in [lo, hi] (repeats allowed) then '=' -> them in ascending order",
)

for _name, _fn in (("min_ints", min), ("max_ints", max)):
    register(
        _name, reference=lambda s, text, fn=_fn: str(fn(_numbers(text))),
        strategy=lambda s: _strategy(s, False), enumerate=_enumerate(False), size=_size(False),
        sample=_sampler(False),
        description=f"the {_name[:3]}imum of 1..block integers in [lo, hi] (book §5.1, repeats and negatives)",
    )
