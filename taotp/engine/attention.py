"""Attention, as the fast engine computes it (fig. 1.1: scores / sqrt(d_head), causal
softmax with +1e-10, weighted values, output projection P).

- `attention`: a one-layer program's read position as the reference's einsums with a
  batch axis (the same bits); otherwise batched matmuls over live heads and their
  non-zero columns (head groups, layers.py).
- `grouped_attention`: a deeper program's layers, with keys and values kept per head
  group in matmul layout; one-hot queries by gathers (`weighted_values`).
- `layer0_from_table`: layer 0 from its (token, position) tables (table.py).
- heads of layer 0 that attend by position alone (positional.py) skip queries, keys
  and scores: their output is the attended key's value row times the reference's
  one-hot weight (`fixed_attention`, and fixed head groups in the paths above).
"""

from __future__ import annotations

import numpy as np

from .layers import PreparedLayer
from .ops import UNDERFLOW_GAP, one_hot_weight, softmax_inplace
from .table import Layer0Table


def attention(L: PreparedLayer, q, keys, vals, exact: bool):
    """Attention of the last nq positions (q (B, nq, h, k)) over keys, values
    (B, T, h, k). Returns (B, nq, d) and the attention weights of the last query (B, T, h).

    In a one-layer program, at a read position (one query), each step is the
    reference's (fig. 1.1) with a batch axis: scores einsum('nhk,mhk->nmh') /
    sqrt(d_head), softmax over the keys, einsum('nmh,mhk->nhk'),
    einsum('nhk,hdk->nd'); numpy evaluates them in the same order, so the numbers
    are the reference's bit for bit."""
    end = keys.shape[1]
    nq = q.shape[1]
    if nq == 1 and exact:  # the read position: it sees every key, no mask
        scores = np.einsum("bhk,bmhk->bmh", q[:, 0], keys) / L.scale    # (B, T, h)
        w = softmax_inplace(scores, axis=1)
        z = np.einsum("bmh,bmhk->bhk", w, vals)
        return np.einsum("bhk,hdk->bd", z, L.P)[:, None], w
    # Many queries (the prefill of a layer whose every position is read by the next),
    # or any query of a deeper program (whose prefill already sums in another order):
    # batched matmuls over live heads and their non-zero columns only. Same math,
    # other summation order: these agree with the reference to rounding.
    B, h, k = q.shape[0], L.n_heads, L.d_head
    padded = any(G.padded for G in L.groups)  # a zero slot at index h*k for padding
    flat = (lambda a: np.concatenate([a.reshape(B, a.shape[1], h * k),
                                      np.zeros((B, a.shape[1], 1), a.dtype)], axis=2)) if padded \
        else (lambda a: a.reshape(B, a.shape[1], h * k))
    qf, kf, vf = flat(q), flat(keys), flat(vals)
    future = np.arange(end)[None, :] > np.arange(end - nq, end)[:, None]  # (nq, T)
    out = np.zeros((B, nq, L.P.shape[1]), dtype=q.dtype)
    w_last = np.zeros((B, end, h), dtype=q.dtype)
    for G in L.groups:
        if G.key_of is not None:
            z = vf[:, G.key_of[:, end - nq:end].T[:, :, None], G.sel_v]      # (B, nq, H, kv)
            out += (z * L.fixed.weight).reshape(B, nq, -1) @ G.P
            w_last[:, G.key_of[:, end - 1], G.heads] = L.fixed.weight
            continue
        qh = np.ascontiguousarray(qf[:, :, G.sel_s].transpose(0, 2, 1, 3))   # (B, H, nq, ks)
        kh = np.ascontiguousarray(kf[:, :, G.sel_s].transpose(0, 2, 3, 1))   # (B, H, ks, T)
        vh = np.ascontiguousarray(vf[:, :, G.sel_v].transpose(0, 2, 1, 3))   # (B, H, T, kv)
        scores = qh @ kh                                                     # (B, H, nq, T)
        scores /= L.scale
        np.copyto(scores, -np.inf, where=future)
        w = softmax_inplace(scores, axis=-1)
        z = (w @ vh).transpose(0, 2, 1, 3)                                   # (B, nq, H, kv)
        out += z.reshape(B, nq, -1) @ G.P
        w_last[:, :, G.heads] = w[:, :, -1].transpose(0, 2, 1)
    return out, w_last


def grouped_attention(L: PreparedLayer, lx, cache, pos0: int, only_last: bool):
    """A deeper program's attention (its prefill sums in another order anyway): each
    group of live heads projects only its kept columns and keeps its own keys and
    values, laid out for batched matmuls, (B, H, T, ks) and (B, H, T, kv).
    lx: LN'd new rows (B, n, d) at positions pos0..; returns (B, nq, d) and each
    head's largest weight at the last query (B, h)."""
    B, n, d = lx.shape
    end = pos0 + n
    nq = 1 if only_last else n
    out = np.zeros((B, nq, d), dtype=lx.dtype)
    peak = np.zeros((B, L.n_heads), dtype=lx.dtype)
    future = np.arange(end)[None, :] > np.arange(end - nq, end)[:, None]  # (nq, T)
    mask = np.where(future, -np.inf, 0).astype(lx.dtype)                   # added to the scores
    if L.fixed_rows is not None:        # fixed heads as gathers of LN'd rows (layers.fixed_row_gathers)
        rows = cache[-1]
        rows[:, pos0:end] = lx
        flat = rows.reshape(B, -1)
        for keys, dims, factor in L.fixed_rows:
            g = np.take(flat, keys[:, end - nq:end].T * d + dims, axis=1)      # (B, nq, d)
            g *= factor
            out += g
        peak[:, L.fixed.heads] = L.fixed.weight
    for G, (ck, cv) in zip(L.groups, cache):
        if G.key_of is not None and L.fixed_rows is not None:
            continue
        H, ks, kv = G.widths
        proj = G.w_sel(lx) if G.w_sel is not None else (lx.reshape(B * n, d) @ G.W).reshape(B, n, -1)
        if G.key_of is not None:        # a fixed group: values (B, T, H*kv), no keys, no scores
            cv[:, pos0:end] = proj
            z = cv[:, G.key_of[:, end - nq:end].T[:, :, None], np.arange(H * kv).reshape(H, kv)]
            z *= L.fixed.weight                                                   # (B, nq, H, kv)
            out += z.reshape(B, nq, H * kv) @ G.P
            peak[:, G.heads] = L.fixed.weight
            continue
        ck[:, :, pos0:end] = proj[:, :, H * ks:2 * H * ks].reshape(B, n, H, ks).transpose(0, 2, 1, 3)
        cv[:, :, pos0:end] = proj[:, :, 2 * H * ks:].reshape(B, n, H, kv).transpose(0, 2, 1, 3)
        q = proj[:, n - nq:, :H * ks].reshape(B, nq, H, ks).transpose(0, 2, 1, 3)      # (B, H, nq, ks)
        scores = q @ ck[:, :, :end].swapaxes(-1, -2)            # (B, H, nq, T), q already / sqrt(d_head)
        if nq > 1:
            scores += mask
        z, top_w = weighted_values(scores, cv[:, :, :end])    # (B, H, nq, kv)
        out += z.transpose(0, 2, 1, 3).reshape(B, nq, H * kv) @ G.P
        peak[:, G.heads] = top_w[:, :, -1]
    return out, peak


def weighted_values(scores: np.ndarray, vals: np.ndarray):
    """softmax(scores) @ vals over the keys (scores (B, H, nq, T), vals (B, H, T, kv)),
    and each query's largest weight (B, H, nq). Where the second largest score is far
    enough below the largest that its exp(s - max) is exactly 0, the softmax is one-hot,
    1 / (1 + 1e-10) on the largest: a gather instead of exp, sum and product (the
    softmax's own numbers); the other queries run the softmax."""
    B, H, nq, T = scores.shape
    flat = scores.reshape(-1, T)                                               # a view: scores is fresh
    best = flat.argmax(axis=-1)                                                # (B*H*nq,)
    at = np.arange(best.size)
    top = flat[at, best]
    flat[at, best] = -np.inf
    hot = (flat.max(axis=-1) - top) < -UNDERFLOW_GAP[scores.dtype]
    flat[at, best] = top
    weight = one_hot_weight(scores.dtype)
    kv = vals.shape[-1]
    z = vals.reshape(B * H, T, kv)[np.arange(B * H)[:, None], best.reshape(B * H, nq)]  # (B*H, nq, kv)
    z *= weight
    z = z.reshape(B, H, nq, kv)
    top_w = np.full((B, H, nq), weight, dtype=scores.dtype)
    if not hot.all():
        b, h, j = np.unravel_index(np.flatnonzero(~hot), (B, H, nq))
        w = softmax_inplace(scores[b, h, j], axis=-1)                          # (M, T)
        z[b, h, j] = np.einsum("mt,mtk->mk", w, vals[b, h])
        top_w[b, h, j] = w.max(axis=-1)
    return z, top_w


def fixed_attention(L: PreparedLayer, values, nq: int, end: int, exact: bool):
    """Layer 0 when every live head is fixed (positional.py): its output at the last nq
    of positions 0..end-1, (B, nq, d), and each head's largest weight (B, h).
    values(pos (nq, hf)) -> (B, nq, hf, k): the fixed heads' value rows at key positions pos.

    A head's z is the attended value row times the one-hot weight: the reference's
    einsum('nmh,mhk->nhk') adds only exact zeros to that product (a zero's sign aside).
    At a one-layer program's read position the output projection is the reference's
    einsum('nhk,hdk->nd') on those z (the same bits)."""
    F = L.fixed
    zf = values(F.key_of[:, end - nq:end].T)                                   # (B, nq, hf, k)
    B = zf.shape[0]
    z = np.zeros((B, nq, L.n_heads, L.d_head), dtype=zf.dtype)
    z[:, :, F.heads] = zf
    z *= F.weight
    if exact and nq == 1:
        out = np.einsum("bhk,hdk->bd", z.reshape(B, L.n_heads, L.d_head), L.P)[:, None]
    else:
        out = z.reshape(B * nq, -1) @ L.P.transpose(0, 2, 1).reshape(-1, L.P.shape[1])
        out = out.reshape(B, nq, -1)
    peak = np.zeros((B, L.n_heads), dtype=zf.dtype)
    peak[:, F.heads] = F.weight
    return out, peak


def layer0_from_table(L: PreparedLayer, tab: Layer0Table, qid, kid, exact: bool, stats, rows, step):
    """Layer 0's attention at queries qid (B, n) over the keys kid (B, T), from the
    tables: every head fixed by gathers of values, one-hot rows by gathers, the others
    through `attention`."""
    B, n = qid.shape
    if L.fixed is not None and L.fixed.all_live:
        heads = L.fixed.heads
        out, peak = fixed_attention(L, lambda pos: tab.v[kid[:, pos], heads], n, kid.shape[1], exact)
        if stats is not None:
            stats.merge_peaks(peak[:, L.live_heads], 0, L.live_heads, rows, step)
        return out
    out = np.empty((B, n, tab.x.shape[1]), dtype=tab.dtype)
    ok = np.zeros(B, dtype=bool)
    tab.note_work(B * n, kid.shape[1])
    if tab.one_hot:
        out_ok, ok = tab.attend(qid, kid)
        out[ok] = out_ok
        if stats is not None and ok.any():
            peaks = np.full((int(ok.sum()), L.live_heads.size), tab.weight, dtype=tab.dtype)
            stats.merge_peaks(peaks, 0, L.live_heads, rows[ok], step)
    if not ok.all():
        rest = ~ok
        out[rest], w = attention(L, tab.q[qid[rest]], tab.k[kid[rest]], tab.v[kid[rest]], exact)
        if stats is not None:
            stats.merge_attention(w, 0, L.live_heads, rows[rest], step)
    return out
