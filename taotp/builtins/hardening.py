"""Hardening chosen for the dtype (book §3.1): the smallest factor that makes a head's
softmax a max, checked for float32 and float64 at once (one set of weights runs in both).

A head whose winning key beats every other by `gap` in score (before hardening, before
the machine divides scores by sqrt(d_head)) leaves, with hardening H, the weight

    (n_keys - 1) * exp(-H * gap / sqrt(d_head))

on the losers. harden_for picks the H that brings this to LEAK even when float32's
rounding of the scores eats ROUNDING_SHARE of the gap. A larger H would make
the head no harder in any dtype but would magnify rounding: the scores' rounding error,
about H * score_max * (d_head + 2) * eps, is what splits the weight of keys that should
tie (an averaging head) and what could flip a decision if it reached H * gap.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import CompileError
from . import builtin

LEAK = 1e-13                          # weight the losing keys may keep in total
FLOAT32_EPS = float(np.finfo(np.float32).eps)
ROUNDING_SHARE = 0.1                  # float32 rounding may eat at most 10% of the gap
MAX_SCORE = 1e30                      # hardened scores stay far below float32's 3.4e38


def hardening(gap: float, n_keys: int, d_head: int, score_max: float) -> float:
    if not (gap > 0 and math.isfinite(gap)):
        raise CompileError(f"harden_for: the score gap must be a positive number, got {gap!r}")
    if int(n_keys) < 1 or int(d_head) < 1:
        raise CompileError(f"harden_for: n_keys and d_head must be >= 1, got {n_keys}, {d_head}")
    score_max = max(float(score_max), float(gap))
    noise = score_max * (int(d_head) + 2) * FLOAT32_EPS
    if noise > ROUNDING_SHARE * gap:
        raise CompileError(
            f"harden_for: a gap of {gap:.3g} among scores up to {score_max:.3g} is finer than float32 "
            f"can resolve (rounding {noise:.2g} at d_head={int(d_head)}); widen the gap, e.g. with "
            f"fewer positions or values")
    h = math.sqrt(int(d_head)) * (math.log(max(int(n_keys) - 1, 1)) - math.log(LEAK)) / ((1 - ROUNDING_SHARE) * gap)
    if h * score_max > MAX_SCORE:
        raise CompileError(f"harden_for: hardening {h:.3g} would make scores of {h * score_max:.3g}, "
                           f"past what float32 can hold; widen the gap")
    return h


@builtin()
def harden_for(gap, n_keys, d_head=1, score_max=0.0):
    """The hardening factor (§3.1) for a head whose winner beats every other key by `gap`
    in score (before hardening; scores are later divided by sqrt(d_head)), among up to
    `n_keys` keys, with scores up to `score_max` in size: the smallest H that leaves the
    losers at most 1e-13 of the weight in total. Refuses when float32's rounding of the
    scores would reach 10% of the gap (the same weights must be exact in float32 and float64)."""
    return hardening(float(gap), int(n_keys), int(d_head), float(score_max))
