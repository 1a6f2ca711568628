"""The spec of `reverse` (programs/reverse.taotp, written with the standard library):
up to n letters from `letters`, then '=', prints the letters in reverse order.
(Until specs can be written in the language, this registers it in Python.)"""

from __future__ import annotations

import itertools

from .specs import _int, _st, register


def _letters(s) -> str:
    return str(s["letters"])


def _size(s) -> int:
    k, n = len(_letters(s)), _int(s, "n")
    return sum(k ** m for m in range(n + 1))


def _enumerate(s):
    for m in range(_int(s, "n") + 1):
        for xs in itertools.product(_letters(s), repeat=m):
            yield "".join(xs) + "="


def _sample(s, rng):
    letters = list(_letters(s))
    m = int(rng.integers(0, _int(s, "n") + 1))
    return "".join(rng.choice(letters, size=m)) + "="


register(
    "reverse",
    reference=lambda s, text: text[:-1][::-1],
    strategy=lambda s: _st().text(alphabet=_letters(s), max_size=_int(s, "n")).map(lambda t: t + "="),
    enumerate=_enumerate, size=_size, sample=_sample,
    description="'abc=' -> 'cba': up to n letters and '=', printed in reverse (tracr's make_reverse)",
)
