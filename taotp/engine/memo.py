"""An MLP's outputs remembered by input row (the fast engine's memo, engine/mlp.py).

An MLP is a function of its input row, so a row seen in an earlier call (rows compared
bit for bit) need not be run again. The memo holds sorted runs of (keys, outputs),
largest first; the rows of a call form a run of their own, merged into the run before
it once it is a quarter of that run's size. A call then costs the sort of its own rows
and one binary search per run, and each remembered row is re-sorted O(log) times in
all. (Re-sorting the whole memo on every call grows quadratically with the calls: it
was 65% of the time of `taotp check mul --set n_digits=3 --exhaustive`, whose wide,
mostly distinct rows made it 20 times slower than the MLPs themselves.) Bounded in rows
and in bytes; it starts over when full.
"""

from __future__ import annotations

import numpy as np

MEMO_MAX_ROWS = 2_000_000     # distinct input rows remembered per MLP
MEMO_MAX_BYTES = 128 * 2**20  # ... and at most this many bytes of keys and outputs


class Memo:
    """Outputs by row key (one sortable key per row, e.g. mlp._row_keys)."""

    def __init__(self, max_rows: int, max_rows_by_bytes: int):
        self.max_rows = max(1, min(max_rows, max_rows_by_bytes))
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.rows = 0

    @classmethod
    def for_rows(cls, key_bytes: int, out_bytes: int) -> "Memo":
        """A memo within MEMO_MAX_ROWS and MEMO_MAX_BYTES for keys and outputs of these sizes."""
        return cls(MEMO_MAX_ROWS, MEMO_MAX_BYTES // max(1, key_bytes + out_bytes))

    def lookup(self, uk: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """Fill vals[i] for the distinct sorted keys uk found; returns the found mask."""
        hit = np.zeros(uk.size, dtype=bool)
        for keys, outs in self.runs:
            todo = np.flatnonzero(~hit)
            if todo.size == 0:
                break
            pos = np.minimum(np.searchsorted(keys, uk[todo]), keys.size - 1)
            found = keys[pos] == uk[todo]
            vals[todo[found]] = outs[pos[found]]
            hit[todo[found]] = True
        return hit

    def add(self, keys: np.ndarray, outs: np.ndarray) -> None:
        """Remember distinct keys (sorted, as np.unique gives them) not yet remembered."""
        if keys.size == 0:
            return
        if self.rows + keys.size > self.max_rows:
            self.runs, self.rows = [], 0
        self.runs.append((keys, outs))
        self.rows += keys.size
        while len(self.runs) > 1 and 4 * self.runs[-1][0].size >= self.runs[-2][0].size:
            (k1, v1), (k2, v2) = self.runs[-2], self.runs.pop()
            k, v = np.concatenate([k1, k2]), np.concatenate([v1, v2])
            order = np.argsort(k, kind="stable")
            self.runs[-1] = (k[order], v[order])
