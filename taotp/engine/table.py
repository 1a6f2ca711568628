"""Layer 0 from tables: it sees only tok_emb[t] + pos_emb[p].

`Layer0Table` holds, for every (token, position) pair (row id = token * block +
position), the residual row and its LN'd queries, keys and values, computed once.

When every head's attention is one-hot - every score but the largest at least
UNDERFLOW_GAP below it, so the reference's softmax gives the other keys weight
exactly 0 and the attended one exactly 1 / (1 + 1e-10) - layer 0's output at a query
is a function of which key each head picked. Two more tables make it a few gathers:

- S (N, N, h): the score of every (query row, key row) pair, the reference's
  einsum('nhk,mhk->nmh') / sqrt(d_head) (each entry is one sum over k: the same
  bits as in the reference's (n, n) einsum);
- A (h, N, d): head h's contribution to the output when it attends to key row m,
  w * V-row through P, as the reference's einsum('nhk,hdk->nd') computes each head's
  part; that einsum adds the heads' parts one after another into its output, so
  summing A over the heads in order gives its bits (checked on this machine's numpy
  when the tables are built; the tables are not used if it differs).

Rows where some head is not one-hot (a near-tie, an averaging head) are left to the
caller's general path. The result is the reference's, bit for bit, a zero's sign aside.
"""

from __future__ import annotations

import numpy as np

from .ops import UNDERFLOW_GAP, layer_norm, one_hot_weight

LOOP_KEYS = 16   # up to this many keys, find each head's top scores in one pass over the keys


class Layer0Table:
    def __init__(self, tok_emb, pos_emb, layer, project, budget: int):
        """project(layer, lx (1, N, d)) -> q, k, v (1, N, h, k), the engine's projection."""
        V, d = tok_emb.shape
        self.block = pos_emb.shape[0]
        self.dtype = tok_emb.dtype
        self.layer = layer
        self.x = (tok_emb[:, None, :] + pos_emb[None, :, :]).reshape(V * self.block, d)
        q, k, v = project(layer, layer_norm(self.x[None], *layer.ln1))
        self.q, self.k, self.v = q[0], k[0], v[0]
        self.S = self.A = None
        N, h = self.x.shape[0], layer.n_heads
        # The one-hot tables cost about N * N * h products: built once the queries that
        # went without them have looked at as many keys (see note_work).
        self.can_one_hot = bool(h and d >= 2 and h * N * (N + d) * self.dtype.itemsize <= budget)
        self.work_left = N * N * h

    def note_work(self, queries: int, keys: int) -> None:
        """Count the (query, key) scores computed without the one-hot tables; build them
        when that reaches their own cost."""
        if self.can_one_hot and self.S is None:
            self.work_left -= queries * keys * self.layer.n_heads
            if self.work_left <= 0:
                self.can_one_hot = False
                self._one_hot_tables()

    @staticmethod
    def fits(tok_emb, pos_emb, layer, budget: int) -> bool:
        rows = tok_emb.shape[0] * pos_emb.shape[0]
        return rows * (3 * layer.n_heads * layer.d_head + tok_emb.shape[1]) * tok_emb.itemsize <= budget

    def ids(self, toks: np.ndarray, pos0: int) -> np.ndarray:
        """Row ids (B, n) of tokens (B, n) at positions pos0.."""
        return toks * self.block + np.arange(pos0, pos0 + toks.shape[1])

    # -- one-hot attention ---------------------------------------------------------------
    @property
    def one_hot(self) -> bool:
        return self.S is not None

    def _one_hot_tables(self) -> None:
        L = self.layer
        S = np.einsum("nhk,mhk->nmh", self.q, self.k) / L.scale      # (N, N, h), as the reference
        self.S = np.ascontiguousarray(S)                              # (N, N, h)
        self.weight = one_hot_weight(self.dtype)
        self.A = np.stack([np.einsum("nk,dk->nd", self.weight * self.v[:, i], L.P[i])
                           for i in range(L.n_heads)])               # (h, N, d)
        if not self._reproduces_einsum():
            self.S = self.A = None

    def _reproduces_einsum(self, rows: int = 64) -> bool:
        """Summing A over the heads gives the reference's einsum('nhk,hdk->nd') bits."""
        rng = np.random.default_rng(0)
        pick = rng.integers(0, self.v.shape[0], (rows, self.layer.n_heads))
        z = self.weight * self.v[pick, np.arange(self.layer.n_heads)]   # (rows, h, k)
        return bool(np.array_equal(np.einsum("nhk,hdk->nd", z, self.layer.P), self._sum_heads(pick)))

    def _sum_heads(self, picked: np.ndarray) -> np.ndarray:
        """sum_h A[h][picked[..., h]] in head order, starting from 0 as einsum does."""
        out = np.zeros(picked.shape[:-1] + (self.A.shape[2],), dtype=self.dtype)
        for i in range(self.A.shape[0]):
            out += self.A[i][picked[..., i]]
        return out

    def attend(self, qid: np.ndarray, kid: np.ndarray):
        """Layer 0's attention output at queries qid (B, n) (the last n of the kid (B, T)
        positions), for the rows where every head is one-hot: (output (B', n, d), ok (B,)
        the rows computed, in order)."""
        B, n = qid.shape
        T = kid.shape[1]
        h = self.S.shape[2]
        # Per query and head: the largest score, the first key holding it, and the largest
        # of the others - so whether every other is far enough below the top that
        # exp(s - top) is exactly 0, as the reference computes it.
        top, second, best = (self._top_two_by_key if T <= LOOP_KEYS else self._top_two)(qid, kid)
        ok = ((second - top) < -UNDERFLOW_GAP[self.dtype]).reshape(B, n * h).all(axis=1)
        best = best[ok]                                                # (B', n, h)
        picked = np.take_along_axis(kid[ok], best.reshape(best.shape[0], n * h), axis=1).reshape(best.shape)
        return self._sum_heads(picked), ok

    def _scores(self, pair: np.ndarray) -> np.ndarray:
        N, h = self.S.shape[1], self.S.shape[2]
        return np.take(self.S.reshape(N * N, h), pair, axis=0)

    def _top_two_by_key(self, qid, kid):
        """Few keys: one pass over them on (B, n, h) arrays."""
        n, T = qid.shape[1], kid.shape[1]
        s = self._scores((qid * self.S.shape[1])[None, :, :] + kid.T[:, :, None])   # (T, B, n, h)
        top = s[0].copy()
        second = np.full_like(top, -np.inf)
        best = np.zeros(top.shape, dtype=np.int32)
        for t in range(1, T):
            v = s[t]
            if t > T - n:   # query j sits at position T - n + j: keys after it are masked
                v = np.where((np.arange(n) >= t - (T - n))[None, :, None], v, -np.inf)
            up = v > top                                   # a strictly larger score: the new first max
            np.maximum(second, np.minimum(top, v), out=second)
            np.maximum(top, v, out=top)
            best += up * (np.int32(t) - best)              # best = t where up (faster than a masked copy)
        return top, second, best

    def _top_two(self, qid, kid):
        """Many keys: reductions over them."""
        n, T = qid.shape[1], kid.shape[1]
        s = self._scores((qid * self.S.shape[1])[:, :, None] + kid[:, None, :])     # (B, n, T, h)
        if n > 1:
            s[:, np.arange(T)[None, :] > np.arange(T - n, T)[:, None]] = -np.inf
        best = s.argmax(axis=2)[:, :, None]                           # (B, n, 1, h)
        top = np.take_along_axis(s, best, axis=2)
        np.put_along_axis(s, best, -np.inf, axis=2)
        return top[:, :, 0], s.max(axis=2), best[:, :, 0].astype(np.int32)
