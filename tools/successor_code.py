"""Find a successor code and write taotp/builtins/successor_codes.json (needs scipy).

A successor code over n values is keys K (n, r) and queries Q (n-1, r), entries in
[-1, 1], such that for every query y the scores Q[y] . K[x] decrease strictly along
x = y+1, ..., n-1 and every x <= y scores below x = n-1 (taotp/builtins/successor.py).
The largest smallest gap ("margin") is what hardening needs (§3.1).

For fixed keys the best queries are n-1 small linear programs, and for fixed queries
the best keys are one linear program, so the code alternates the two. It grows the
code one value at a time (trying the new value at every place, keeping the best) and
polishes the last one. r = 5, n = 33: margin 1.8e-4, about an hour on one core.

    pip install scipy
    python tools/successor_code.py --n 33 --r 5 [--out taotp/builtins/successor_codes.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

OUT = Path(__file__).resolve().parent.parent / "taotp" / "builtins" / "successor_codes.json"


def constraints(n: int) -> list[tuple[int, int, int]]:
    """(y, a, b): query y must score key a above key b by the margin."""
    out = []
    for y in range(n - 1):
        out += [(y, x, x + 1) for x in range(y + 1, n - 1)]
        out += [(y, n - 1, z) for z in range(y + 1)]
    return out


def best_queries(K, rows):
    """The queries maximising the smallest gap, row by row: (Q, smallest gap)."""
    n, r = K.shape
    Q, gaps = np.zeros((n - 1, r)), []
    for y in range(n - 1):
        A = np.array([np.r_[K[b] - K[a], 1.0] for t, a, b in rows if t == y])
        res = linprog(np.r_[np.zeros(r), -1.0], A_ub=A, b_ub=np.zeros(len(A)),
                      bounds=[(-1, 1)] * r + [(None, None)], method="highs")
        Q[y], gaps = res.x[:r], gaps + [res.x[r]]
    return Q, min(gaps)


def best_keys(Q, rows, n):
    """The keys maximising the smallest gap for fixed queries: (K, smallest gap)."""
    r = Q.shape[1]
    A = np.zeros((len(rows), n * r + 1))
    for i, (t, a, b) in enumerate(rows):
        A[i, a * r:(a + 1) * r] -= Q[t]
        A[i, b * r:(b + 1) * r] += Q[t]
        A[i, -1] = 1.0
    c = np.zeros(n * r + 1)
    c[-1] = -1.0
    res = linprog(c, A_ub=A, b_ub=np.zeros(len(rows)), bounds=[(-1, 1)] * (n * r) + [(None, None)],
                  method="highs")
    return res.x[:-1].reshape(n, r), res.x[-1]


def alternate(K, iters: int, tol: float = 1e-4):
    """Alternate the two programs while the gap grows: (gap, K, Q)."""
    rows = constraints(K.shape[0])
    best = None
    for _ in range(iters):
        Q, _ = best_queries(K, rows)
        K2, gap = best_keys(Q, rows, K.shape[0])
        if best is not None and gap <= best[0] + tol * abs(best[0]):
            break
        best, K = (gap, K2, Q), K2
    return best


def grow(n: int, r: int, seed: int = 0, log=print):
    rng = np.random.default_rng(seed)
    gap, K, Q = max((alternate(rng.uniform(-1, 1, (4, r)), 20) for _ in range(8)), key=lambda z: z[0])
    for m in range(4, n):
        candidates = []
        for pos in range(m + 1):                 # the new value at every place
            if pos == 0:
                new = K[0] + 0.5 * (K[0] - K[1])
            elif pos == m:
                new = K[-1] + 0.5 * (K[-1] - K[-2])
            else:
                new = 0.5 * (K[pos - 1] + K[pos])
            candidates.append(alternate(np.insert(K, pos, np.clip(new, -1, 1), axis=0), 15))
        gap, K, Q = max(candidates, key=lambda z: z[0])
        log(f"n = {m + 1}: smallest gap {gap:.4g}")
        if gap <= 0:
            raise SystemExit(f"no code found at n = {m + 1} with r = {r}; try a larger r")
    polished = alternate(K, 60, tol=0.0)
    return polished if polished[0] > gap else (gap, K, Q)


def write(codes: list[dict], out: Path) -> None:
    rows = lambda M: ",\n".join("    [" + ", ".join(repr(float(v)) for v in row) + "]" for row in M)
    parts = [f'  {{"n": {c["n"]}, "r": {c["r"]},\n   "keys": [\n{rows(c["keys"])}\n   ],\n'
             f'   "queries": [\n{rows(c["queries"])}\n   ]}}' for c in codes]
    text = ('{\n "about": "Successor codes for the successor_code builtin (taotp/builtins/successor.py): '
            'queries[y] . keys[x] decreases strictly along x = y+1, ..., n-1 and every x <= y scores below '
            'x = n-1. Found by alternating linear programs (tools/successor_code.py); every entry is in '
            '[-1, 1].",\n "codes": [\n' + ",\n".join(parts) + "\n ]\n}\n")
    json.loads(text)
    out.write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=33)
    ap.add_argument("--r", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    gap, K, Q = grow(a.n, a.r, a.seed)
    Q, gap = best_queries(K, constraints(a.n))
    print(f"n = {a.n}, r = {a.r}: smallest gap {gap:.6g}; writing {a.out}")
    write([{"n": a.n, "r": a.r, "keys": K, "queries": Q}], a.out)


if __name__ == "__main__":
    main()
