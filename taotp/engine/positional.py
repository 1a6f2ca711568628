"""Layer 0's heads whose attention is a function of positions alone (book §3.2).

Layer 0 sees x = tok_emb[t] + pos_emb[p]. A head whose Q and K read only dimensions
that every token embedding leaves zero (the position dimensions) scores LN(x) on those
dimensions only, and there LN(x) = beta + gamma * (pos_emb[p] - mean(x)) / (std(x) +
1e-10): the token enters only through its row's mean and std. With embeddings fixed
under layer norm (thm 3.1: SEARCH's and LOOKUP's relative attention), those are the
same for every token up to rounding, and the head's attention pattern is a table over
(query position, key position), the same for every input.

`fixed_heads` proves that, for every token at every position at once, before using it:

- for each position p, the LN'd position dimensions of every token, computed as the
  engine computes them (same dtype, same `layer_norm`), lie in a box of centre c[p] and
  half-width r[p] (r: the spread over the tokens - the per-token rounding of the
  row's mean and std - plus a few units in the last place);
- a score is sum_k q_k k_k / sqrt(d_head) with q = sum_c LN(x)_c Q_ck: from the boxes,
  |score - S[i, j]| <= R[i, j], where S is the score of the centres and R bounds
  both the boxes' spread and the rounding of the products and sums (each dot product of
  n terms rounds by at most gamma_n = n u / (1 - n u) times the sum of |terms|, u the
  dtype's unit roundoff; taken twice over, with n = d + d_head + 4);
- if at query position i (keys 0..i) the best key's lower bound is more than
  UNDERFLOW_GAP above every other key's upper bound, the reference's softmax gives, on
  every input, exactly 1 / (1 + 1e-10) to that key and exactly 0 to the others
  (exp(s - max) underflows to 0).

A head for which this holds at every query position of the block is fixed: its
weights are the reference's bit for bit, its output at query i is that weight times
the value row of key key_of[i], and neither its queries nor its keys are computed.
Any other head is left to the scores. Where the tokens' mean and std are not all
equal (embeddings not fixed under layer norm), the boxes are wide, the proof fails
and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import NumericError
from .ops import UNDERFLOW_GAP, layer_norm, one_hot_weight

MAX_PROOF_ROWS = 1 << 22   # (token, position) rows LN'd for the proof (~0.3 s at d = 33)
CHUNK_ROWS = 1 << 16


@dataclass
class FixedHeads:
    """Heads of layer 0 whose attention is one-hot and a function of positions alone."""

    heads: np.ndarray        # (hf,) head indices, ascending
    key_of: np.ndarray       # (hf, block): the key position each head attends to at each query position
    weight: np.ndarray       # the reference's weight of the attended key, 1 / (1 + 1e-10) in the dtype
    all_live: bool           # every live head is fixed: layer 0 computes no scores at all

    def keys_at(self, positions: np.ndarray) -> np.ndarray:
        """(hf, len(positions)): the attended key of each fixed head at each query position."""
        return self.key_of[:, positions]


def position_dims(tok_emb: np.ndarray) -> np.ndarray:
    """Dimensions every token embedding leaves exactly zero."""
    return np.flatnonzero(~np.any(tok_emb != 0, axis=0))


def fixed_heads(tok_emb, pos_emb, layer) -> FixedHeads | None:
    """The heads of layer 0 (a PreparedLayer) proven fixed, or None (see the module doc)."""
    dims = position_dims(tok_emb)
    if dims.size == 0:
        return None
    outside = np.setdiff1d(np.arange(tok_emb.shape[1]), dims)
    reads = lambda M: np.any(M != 0, axis=1)     # (d,) the input dims a head's Q or K reads
    candidates = [int(h) for h in layer.live_heads
                  if reads(layer.Q[h]).any() and reads(layer.K[h]).any()
                  and not reads(layer.Q[h])[outside].any() and not reads(layer.K[h])[outside].any()]
    V, block = tok_emb.shape[0], pos_emb.shape[0]
    if not candidates or V * block > MAX_PROOF_ROWS:
        return None
    box = _position_boxes(tok_emb, pos_emb, layer.ln1, dims)
    if box is None:
        return None
    centre, radius = box
    heads, keys = [], []
    for h in candidates:
        key_of = _prove_one_hot(centre, radius, layer.Q[h][dims], layer.K[h][dims], tok_emb.dtype,
                                tok_emb.shape[1])
        if key_of is not None:
            heads.append(h)
            keys.append(key_of)
    if not heads:
        return None
    return FixedHeads(np.array(heads), np.stack(keys), one_hot_weight(tok_emb.dtype),
                      set(heads) == set(int(h) for h in layer.live_heads))


def _position_boxes(tok_emb, pos_emb, ln, dims):
    """Per position, the centre and half-width (block, |dims|) of every token's LN'd
    position dimensions (float64), or None if a layer norm overflows."""
    V, d = tok_emb.shape
    lo = np.full((pos_emb.shape[0], dims.size), np.inf)
    hi = np.full((pos_emb.shape[0], dims.size), -np.inf)
    step = max(1, CHUNK_ROWS // pos_emb.shape[0])
    try:
        for s in range(0, V, step):
            x = tok_emb[s:s + step, None, :] + pos_emb[None, :, :]
            u = layer_norm(x, *ln)[:, :, dims].astype(np.float64)      # (chunk, block, |dims|)
            np.minimum(lo, u.min(axis=0), out=lo)
            np.maximum(hi, u.max(axis=0), out=hi)
    except NumericError:
        return None
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        return None
    ulp = np.finfo(tok_emb.dtype).eps
    centre = (lo + hi) / 2
    radius = (hi - lo) / 2 + 4 * ulp * np.maximum(np.abs(lo), np.abs(hi))
    return centre, radius


def _prove_one_hot(centre, radius, Q, K, dtype, d):
    """key_of (block,) if the head (Q, K restricted to the position dims, (|dims|, k)) is
    one-hot with the same key for every token at every query position, else None."""
    Q, K = np.asarray(Q, np.float64), np.asarray(K, np.float64)
    k = Q.shape[1]
    u = np.finfo(dtype).eps / 2
    n = d + k + 4
    g = 2 * n * u / (1 - n * u)
    reach = np.abs(centre) + radius                              # |LN'd value| <= reach
    q, kk = centre @ Q, centre @ K                               # the centres' queries, keys (block, k)
    Aq, Ak = reach @ np.abs(Q), reach @ np.abs(K)                # bounds on |q|, |k|
    dq = radius @ np.abs(Q) + g * Aq                             # |q - centre's q|, rounding included
    dk = radius @ np.abs(K) + g * Ak
    scale = k ** 0.5
    S = (q @ kk.T) / scale                                       # (block, block)
    R = (dq @ Ak.T + Aq @ dk.T + g * (Aq @ Ak.T)) / scale * (1 + g)
    if not (np.isfinite(S).all() and np.isfinite(R).all()) or \
            np.abs(S).max() + R.max() > np.finfo(dtype).max / 4:
        return None
    block = S.shape[0]
    future = np.triu(np.ones((block, block), dtype=bool), 1)
    S = np.where(future, -np.inf, S)
    key_of = S.argmax(axis=1)
    rows = np.arange(block)
    low = S[rows, key_of] - R[rows, key_of]
    high = np.where(future, -np.inf, S + R)
    high[rows, key_of] = -np.inf
    others = high.max(axis=1)                                    # -inf at query 0: a single key
    if np.all(others < low - UNDERFLOW_GAP[np.dtype(dtype)]):
        return key_of
    return None
