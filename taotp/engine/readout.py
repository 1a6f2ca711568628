"""The last layer of a deeper program, where only the read position is computed.

The last layer's one query per row looks at every earlier position, but nothing
later reads its keys or values at any other query. So instead of projecting every
position's key and value, head h works on the LN'd rows lx_t themselves (fig. 1.1
regrouped):

    score_t = (lx_q Q_h) . (lx_t K_h) / sqrt(d_head) = lx_t . a,   a = lx_q (Q_h K_h^T / sqrt(d_head))
    output  = sum_t w_t (lx_t V_h) P_h^T = (sum_t w_t lx_t) (V_h P_h^T)

with QK_h = Q_h K_h^T / sqrt(d_head) and OV_h = V_h P_h^T (d x d) computed once. The
cache holds the LN'd rows (B, T, d); a step costs about h * (2 d^2 + 2 T d) products
instead of projecting T rows. Same math, other summation order: used only in programs
of two or more layers, whose prefill sums in another order anyway. Where the softmax
is one-hot (the second-best score UNDERFLOW_GAP below the best) the row is gathered
and scaled by the reference's weight, as in attention.weighted_values.
"""

from __future__ import annotations

import numpy as np

from .ops import UNDERFLOW_GAP, one_hot_weight, softmax_inplace


class Readout:
    """QK (d, H*d) and OV (H*d, d) of the live heads of one layer."""

    def __init__(self, L, dtype):
        self.heads = np.asarray(L.live_heads)
        d, k = L.Q.shape[1], L.Q.shape[2]
        Q, K, V, P = (np.asarray(M, dtype=np.float64)[self.heads] for M in (L.Q, L.K, L.V, L.P))
        QK = np.einsum("hdk,hek->dhe", Q, K) / k ** 0.5               # (d, H, d)
        OV = np.einsum("hdk,hek->hde", V, P)                          # (H, d, d): rows lx, columns output
        self.QK = np.ascontiguousarray(QK.reshape(d, -1), dtype=dtype)
        self.OV = np.ascontiguousarray(OV.reshape(-1, d), dtype=dtype)
        self.weight = one_hot_weight(dtype)
        self.n_heads = L.n_heads

    def __call__(self, lx: np.ndarray, cache: np.ndarray, pos0: int):
        """lx: LN'd new rows (B, n, d) at positions pos0..; cache (B, T, d) keeps them.
        Returns the attention output at the last new position (B, 1, d) and each head's
        largest weight there (B, h)."""
        B, n, d = lx.shape
        end = pos0 + n
        cache[:, pos0:end] = lx
        rows = cache[:, :end]                                         # (B, T, d)
        H = self.heads.size
        peak = np.zeros((B, self.n_heads), dtype=lx.dtype)
        if H == 0:
            return np.zeros((B, 1, d), dtype=lx.dtype), peak
        a = (lx[:, -1] @ self.QK).reshape(B, H, d)
        scores = a @ rows.transpose(0, 2, 1)                          # (B, H, T)
        u, top = weighted_rows(scores, rows, self.weight)             # (B, H, d)
        peak[:, self.heads] = top
        return (u.reshape(B, H * d) @ self.OV)[:, None], peak


def weighted_rows(scores: np.ndarray, rows: np.ndarray, weight):
    """softmax(scores) @ rows for every head (scores (B, H, T), rows (B, T, d)) and each
    head's largest weight (B, H); one-hot heads by a gather (attention.weighted_values)."""
    B, H, T = scores.shape
    best = scores.argmax(axis=-1)                                     # (B, H)
    b_idx = np.arange(B)[:, None]
    at = best[:, :, None]
    top = np.take_along_axis(scores, at, axis=-1)                     # (B, H, 1)
    np.put_along_axis(scores, at, -np.inf, axis=-1)                   # the others' largest: the second
    hot = (scores.max(axis=-1) - top[:, :, 0]) < -UNDERFLOW_GAP[scores.dtype]
    np.put_along_axis(scores, at, top, axis=-1)
    u = rows[b_idx, best]                                             # (B, H, d)
    u *= weight
    peak = np.full((B, H), weight, dtype=scores.dtype)
    if not hot.all():
        b, h = np.nonzero(~hot)
        w = softmax_inplace(scores[b, h], axis=-1)                    # (M, T)
        u[b, h] = np.einsum("mt,mtd->md", w, rows[b])
        peak[b, h] = w.max(axis=-1)
    return u, peak
