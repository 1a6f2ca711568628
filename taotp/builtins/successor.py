"""Successor codes: hard attention to "the smallest present value above mine".

A head's score is bilinear, so for a fixed query it is a fixed linear function of the
key's features. "The smallest value above y" needs a score that jumps at y and then
decreases: on a 2-D ring that takes the book's powerpoints (gaps halving, §5.2.1),
exact only up to 28 values in float64. In r = 5 dimensions the table below reaches 33
values with every gap at least 1.8e-4 (entries in [-1, 1]): enough for float32.

The code was found by alternating linear programs (tools/successor_code.py, which
needs scipy) and is stored in successor_codes.json next to this file.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import CompileError
from ..values import Record
from . import builtin

_TABLE = Path(__file__).with_name("successor_codes.json")


@lru_cache(maxsize=1)
def _codes() -> list[dict]:
    data = json.loads(_TABLE.read_text(encoding="utf-8"))
    return [{"n": int(c["n"]), "keys": np.array(c["keys"], dtype=np.float64),
             "queries": np.array(c["queries"], dtype=np.float64)} for c in data["codes"]]


def successor_gaps(keys, queries) -> np.ndarray:
    """Per query y, the smallest of: Q[y].K[x] - Q[y].K[x+1] for y < x < n-1, and
    Q[y].K[n-1] - max over x <= y of Q[y].K[x]. Positive everywhere iff the code works."""
    keys, queries = np.asarray(keys, dtype=np.float64), np.asarray(queries, dtype=np.float64)
    n = keys.shape[0]
    S = queries @ keys.T                                   # (n-1, n)
    gaps = np.empty(n - 1)
    for y in range(n - 1):
        row = S[y]
        g = row[n - 1] - row[:y + 1].max()
        if y + 1 < n - 1:
            g = min(g, float(np.min(row[y + 1:n - 1] - row[y + 2:n])))
        gaps[y] = g
    return gaps


@builtin()
def successor_code(n):
    """Keys (n, r) and queries (n-1, r) for a hard successor search over values 0..n-1.

    Q[y] . K[x] is largest at x = y+1 and decreases along y+2, ..., n-1; every x <= y
    scores below x = n-1. So attention hardened by H/margin (§3.1) from a query y picks,
    among the keys present, the smallest x > y, and the key n-1 (always present) can be
    a sink: it wins only when nothing between y and n-1 is. Record: keys, queries,
    margin (the smallest gap; |entries| <= 1), r. Tabulated up to n = 33 (a shorter
    code is the tail of a longer one)."""
    n = int(n)
    codes = _codes()
    top = max(c["n"] for c in codes)
    if not 2 <= n <= top:
        raise CompileError(f"successor_code(n) is tabulated for n = 2..{top}, got {n}")
    code = min((c for c in codes if c["n"] >= n), key=lambda c: c["n"])
    cut = code["n"] - n                                    # the last n keys and queries
    keys, queries = code["keys"][cut:].copy(), code["queries"][cut:].copy()
    return Record("successor code", keys=keys, queries=queries,
                  margin=float(successor_gaps(keys, queries).min()), r=int(keys.shape[1]))
