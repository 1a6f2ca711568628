"""One layer's weights, prepared for the fast engine.

Each layer is read from its own arrays: heads, d_head and d_ff may differ from layer
to layer (DESIGN.md §1). Q, K, V, P keep the reference's (h, d, k) layouts for the
reference-order einsums of one-layer programs; `groups` hold the live heads with
their all-zero columns dropped for the matmul path; the MLP is an `MLP`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mlp import MLP
from .ops import Selection, column_selection, ln_params
from .positional import FixedHeads


@dataclass
class HeadGroup:
    """Live heads with the same kept widths, for the matmul path: sel_s (H, ks) and
    sel_v (H, kv) pick each head's kept query/key and value columns out of a row of
    h*k projections plus one zero slot (index h*k) for padding."""

    heads: np.ndarray
    sel_s: np.ndarray
    sel_v: np.ndarray
    P: np.ndarray            # (H * kv, d): P's rows for the picked value columns
    padded: bool             # some head has fewer kept columns than the group's width
    W: np.ndarray | None = None  # (d, H*ks + H*ks + H*kv): kept columns of Q / sqrt(d_head), K, V
    key_of: np.ndarray | None = None  # fixed heads (positional.py): (H, block) attended key per query
                                      # position; W then holds only the V columns (ks = 0)
    w_sel: Selection | None = None    # W as a gather, when each of its columns has one non-zero
    p_sel: Selection | None = None    # P likewise: each output dim is one value column times a number

    @property
    def widths(self) -> tuple[int, int, int]:
        """(H, ks, kv)"""
        return self.sel_s.shape[0], self.sel_s.shape[1], self.sel_v.shape[1]


@dataclass
class PreparedLayer:
    Q: np.ndarray            # (h, d, k)
    K: np.ndarray
    V: np.ndarray
    P: np.ndarray            # (h, d, k)
    scale: float             # sqrt(d_head), as the reference divides by it
    live_heads: np.ndarray   # heads whose V and P are not all zero (for attention stats)
    groups: list             # HeadGroup: the live heads, zeros dropped (many-query path)
    ln1: tuple
    ln2: tuple
    mlp: MLP
    qkv: np.ndarray | None = None  # (d, 3*h*k) for matmul projections, built on first use
    fixed: FixedHeads | None = None  # layer 0's heads attending by position alone (positional.py)
    fixed_rows: list | None = None   # the fixed groups as gathers of LN'd rows (see fixed_row_gathers)

    @property
    def n_heads(self) -> int:
        return self.Q.shape[0]

    @property
    def d_head(self) -> int:
        return self.Q.shape[2]

    @property
    def has_mlp(self) -> bool:
        return self.mlp.live

    @property
    def dedup(self) -> bool:
        """The MLP is wide: run on distinct rows or from its breakpoints (see MLP)."""
        return self.mlp.wide

    def qkv_matrix(self) -> np.ndarray:
        """Q, K, V side by side as one (d, 3*h*k) matrix, for one matmul."""
        if self.qkv is None:
            h, d, k = self.Q.shape
            self.qkv = np.ascontiguousarray(
                np.concatenate([M.transpose(1, 0, 2).reshape(d, h * k) for M in (self.Q, self.K, self.V)],
                               axis=1))
        return self.qkv


def head_groups(Q, K, V, P, dtype, fixed: FixedHeads | None = None) -> list[HeadGroup]:
    """Heads whose V or P is all zero add exactly 0: dropped. Per live head, a query/key
    column where Q or K is all zero adds exactly 0 to q . k, and a value column where V
    or P is all zero adds exactly 0 to the output: dropped too. Heads with equal kept
    widths are computed together (one padded group if the widths are many). Fixed heads
    (positional.py) need no query/key columns: grouped apart, by value width."""
    h, d, k = Q.shape
    nz = lambda M: np.any(M != 0, axis=0)
    s_cols = [np.flatnonzero(nz(Q[i]) & nz(K[i])) for i in range(h)]
    v_cols = [np.flatnonzero(nz(V[i]) & nz(P[i])) for i in range(h)]
    key_of = {} if fixed is None else dict(zip(fixed.heads.tolist(), fixed.key_of))
    live = [i for i in range(h) if v_cols[i].size]
    by: dict = {}
    for i in live:
        if i in key_of:
            s_cols[i] = s_cols[i][:0]
            by.setdefault(("fixed", v_cols[i].size), []).append(i)
        else:
            by.setdefault((max(1, s_cols[i].size), v_cols[i].size), []).append(i)
    scored = [hs for key, hs in by.items() if key[0] != "fixed"]
    if len(scored) > 3:
        scored = [[i for i in live if i not in key_of]]
    sets = scored + [hs for key, hs in by.items() if key[0] == "fixed"]
    groups = []
    for heads in sets:
        ks = 0 if heads[0] in key_of else max([s_cols[i].size for i in heads] + [1])
        kv = max(v_cols[i].size for i in heads)
        pick = lambda cols, w: np.array([[i * k + c for c in cols[i]] + [h * k] * (w - len(cols[i]))
                                         for i in heads], dtype=np.int64)
        Pg = np.zeros((len(heads) * kv, d))
        for j, i in enumerate(heads):
            Pg[j * kv:j * kv + v_cols[i].size] = P[i][:, v_cols[i]].T
        sel_s, sel_v = pick(s_cols, ks), pick(v_cols, kv)
        # Q / sqrt(d_head), K, V as (d, h*k + 1) with a zero column last (the padding slot), picked
        cols = lambda M: np.concatenate([M.transpose(1, 0, 2).reshape(d, h * k), np.zeros((d, 1))], axis=1)
        W = np.concatenate([cols(Q / k ** 0.5)[:, sel_s.ravel()], cols(K)[:, sel_s.ravel()],
                            cols(V)[:, sel_v.ravel()]], axis=1)
        W, Pg = np.ascontiguousarray(W, dtype=dtype), np.ascontiguousarray(Pg, dtype=dtype)
        groups.append(HeadGroup(np.asarray(heads), sel_s.reshape(len(heads), ks), sel_v, Pg,
                                bool((sel_s == h * k).any() or (sel_v == h * k).any()), W,
                                np.stack([key_of[i] for i in heads]) if ks == 0 else None,
                                column_selection(W), column_selection(Pg)))
    return groups


def prepare_layer(L, dtype) -> PreparedLayer:
    h, d, k = L.Q.shape
    as_ = lambda a: np.ascontiguousarray(a, dtype=dtype)
    live = np.flatnonzero([np.any(L.V[i] != 0) and np.any(L.P[i] != 0) for i in range(h)])
    return PreparedLayer(
        Q=as_(L.Q), K=as_(L.K), V=as_(L.V), P=as_(L.P), scale=k ** 0.5, live_heads=live,
        groups=head_groups(*_qkvp(L), dtype), ln1=ln_params(L.ln1, dtype), ln2=ln_params(L.ln2, dtype),
        mlp=MLP(L, dtype),
    )


def with_fixed_heads(prepared: PreparedLayer, L, fixed: FixedHeads) -> PreparedLayer:
    """The prepared layer 0 with its fixed heads (positional.py) grouped apart."""
    prepared.fixed = fixed
    prepared.groups = head_groups(*_qkvp(L), prepared.Q.dtype, fixed)
    prepared.fixed_rows = fixed_row_gathers(prepared.groups, fixed.weight, prepared.Q.shape[1])
    return prepared


def fixed_row_gathers(groups: list[HeadGroup], weight, d: int) -> list | None:
    """When every fixed group's V columns and P are selections (ops.Selection: each value
    column one LN'd dim times a number, each output dim one value column times a number),
    its output at query i is, for each output dim c, one LN'd entry times a factor:
    weight * P's number * V's number times LN(x)[key_of[head, i], dim]. One gather per
    group, (keys (d, block), LN'd dims (d,), factors (d,)); None otherwise. (Rounds
    once where the reference rounds three times: deeper programs only, like the rest of
    the grouped path.)"""
    fixed = [G for G in groups if G.key_of is not None]
    if not fixed or any(G.w_sel is None or G.p_sel is None for G in fixed):
        return None
    plans = []
    for G in fixed:
        col = G.p_sel.src                                   # (d,) the value column of each output dim
        ones = np.ones(G.W.shape[1], G.W.dtype)
        w_scale = ones if G.w_sel.scale is None else G.w_sel.scale
        p_scale = np.ones(d, G.W.dtype) if G.p_sel.scale is None else G.p_sel.scale
        factor = (weight * p_scale * w_scale[col]).astype(G.W.dtype)
        plans.append((np.ascontiguousarray(G.key_of[col // G.sel_v.shape[1]]), G.w_sel.src[col], factor))
    return plans


def _qkvp(L):
    return [np.asarray(m, dtype=np.float64) for m in (L.Q, L.K, L.V, L.P)]
