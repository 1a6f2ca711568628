"""The fast engine: the book's machine (fig. 1.1), the reference's answers, vectorised.

What it does differently from `reference` (none of it changes the math):

- many prompts at once: prompts are grouped by length and run as one (B, n, d)
  array, in chunks that bound memory;
- incremental decoding with a key/value cache (book ex. 1.3): the prompt is run
  once (prefill), then each step runs only the one new position;
- only what the output reads: the last layer computes its queries, attention
  and MLP only at the position whose logits are read, and the final layer norm
  and unembedding only there;
- layer 0 from a table: it sees only tok_emb[t] + pos_emb[p], so its LN'd
  queries, keys and values are computed once per (token, position) and gathered;
- exact zeros dropped: MLP input rows of M1 that are all zero take no part; in
  programs of two or more layers, so do heads whose V or P is all zero and
  query/key or value columns that are all zero (x * 0 adds nothing);
- the MLP on distinct rows only: its output is a function of the LN'd input
  restricted to M1's non-zero rows; wide MLPs (the book's spike MLPs, §6.3,
  thm 6.1) are evaluated once per distinct such row and the result reused,
  within a batch and across batches (memoised per engine);
- the params' dtype is kept (float32 stays float32); OpenBLAS runs one thread.

Same bits where it can: in a one-layer program, attention is the reference's
einsums with a batch axis added, which numpy evaluates in the same order (and so
is every program's unembedding), and layer norms are the same elementwise steps.
So a one-layer attention-only program (SORT, MIN, MAX, LOOKUP) gives the reference's
answer on every input, even where a near-tie makes that answer a matter of
rounding (SORT at n = 29, docs/ERRATA.md). The MLP's matrix products go through BLAS,
whose last bits can depend on a row's place in the matrix (none changed an answer
of the shipped additions in our tests), and a deeper program's prefill sums in
another order: those agree with the reference to rounding (docs/performance.md
says where such rounding is amplified).

Numerics are the book's: LN divides by (std + 1e-10) with std = sqrt(var);
softmax divides by (sum + 1e-10); scores are divided by sqrt(d_head); causal mask.

Public API: `generate_batch(params, prompts, rule, max_steps=None, stats=None)`,
`forward_logits(params, tokens_batch)`, and `FastEngine` (keeps the prepared
weights and the MLP memo across calls) with `Stats` (smallest logit margin,
softest attention).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..blas import one_blas_thread
from ..decoding import plan_steps
from ..errors import InputError, NumericError
from ..params import Params
from .reference import EPS

MEMORY_BUDGET = 256 * 2**20   # bytes of working arrays per chunk
DEDUP_MIN_WIDTH = 64          # MLPs at least this wide (after dropping zeros) run on distinct rows
MEMO_MAX_ROWS = 2_000_000     # distinct MLP input rows remembered per layer
MEMO_MAX_BYTES = 128 * 2**20  # ... and at most this many bytes of rows and outputs


# -- the machine's pieces (fig. 1.1) -----------------------------------------------

def layer_norm(x: np.ndarray, gamma, beta) -> np.ndarray:
    """LN over the last axis, the book's way: (x - mean) / (sqrt(var) + 1e-10)."""
    mean = x.mean(axis=-1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        std = x.var(axis=-1, keepdims=True) ** 0.5
    if not np.isfinite(std).all():
        raise NumericError(
            f"a layer norm overflowed: the residual stream's values are too large for "
            f"{x.dtype} (their variance is not finite){' - try --dtype float64' if x.dtype != np.float64 else ''}")
    return beta + gamma * (x - mean) / (std + EPS)


def _softmax_inplace(s: np.ndarray, axis: int) -> np.ndarray:
    """The book's softmax, exp(s - max) / (sum + 1e-10), overwriting s."""
    s -= s.max(axis=axis, keepdims=True)
    np.exp(s, out=s)
    total = s.sum(axis=axis, keepdims=True)
    total += EPS
    s /= total
    return s


def _ln_params(ln, dtype):
    return np.asarray(ln.gamma, dtype=dtype), np.asarray(ln.beta, dtype=dtype)


@dataclass
class _Layer:
    """One layer's weights. Q, K, V, P keep the reference's (h, d, k) layouts for the
    reference-order einsums of one-layer programs; `groups` hold the live heads with
    zero columns dropped for the matmul path. The MLP drops M1's all-zero rows (their
    terms are exact zeros)."""

    Q: np.ndarray            # (h, d, k)
    K: np.ndarray
    V: np.ndarray
    P: np.ndarray            # (h, d, k)
    scale: float             # sqrt(d_head), as the reference divides by it
    live_heads: np.ndarray   # heads whose V and P are not all zero (for attention stats)
    groups: list             # _HeadGroup: the live heads, zeros dropped (many-query path)
    ln1: tuple
    ln2: tuple
    mlp_in: np.ndarray       # indices of M1's non-zero rows
    M1: np.ndarray           # (len(mlp_in), f) M1's non-zero rows
    M1_full: np.ndarray      # (d, f)
    b1: np.ndarray           # (f,)
    M2: np.ndarray           # (f, d)
    b2: np.ndarray           # (d,)
    has_mlp: bool
    dedup: bool
    memo: "_Memo | None" = None
    qkv: np.ndarray | None = None  # (d, 3*h*k) for matmul projections, built on first use

    @property
    def n_heads(self) -> int:
        return self.Q.shape[0]

    @property
    def d_head(self) -> int:
        return self.Q.shape[2]


@dataclass
class _HeadGroup:
    """Live heads with the same kept widths, for the matmul path (see _attend): sel_s
    (H, ks) and sel_v (H, kv) pick each head's kept query/key and value columns out of
    a row of h*k projections plus one zero slot (index h*k) for padding."""

    heads: np.ndarray
    sel_s: np.ndarray
    sel_v: np.ndarray
    P: np.ndarray            # (H * kv, d): P's rows for the picked value columns
    padded: bool             # some head has fewer kept columns than the group's width


def _head_groups(Q, K, V, P, dtype) -> list[_HeadGroup]:
    """Heads whose V or P is all zero add exactly 0: dropped. Per live head, a query/key
    column where Q or K is all zero adds exactly 0 to q . k, and a value column where V
    or P is all zero adds exactly 0 to the output: dropped too. Heads with equal kept
    widths are computed together (one padded group if the widths are many)."""
    h, d, k = Q.shape
    nz = lambda M: np.any(M != 0, axis=0)
    s_cols = [np.flatnonzero(nz(Q[i]) & nz(K[i])) for i in range(h)]
    v_cols = [np.flatnonzero(nz(V[i]) & nz(P[i])) for i in range(h)]
    live = [i for i in range(h) if v_cols[i].size]
    by = {}
    for i in live:
        by.setdefault((max(1, s_cols[i].size), v_cols[i].size), []).append(i)
    sets = list(by.values()) if len(by) <= 3 else ([live] if live else [])
    groups = []
    for heads in sets:
        ks = max([s_cols[i].size for i in heads] + [1])
        kv = max(v_cols[i].size for i in heads)
        pick = lambda cols, w: np.array([[i * k + c for c in cols[i]] + [h * k] * (w - len(cols[i]))
                                         for i in heads], dtype=np.int64)
        Pg = np.zeros((len(heads) * kv, d))
        for j, i in enumerate(heads):
            Pg[j * kv:j * kv + v_cols[i].size] = P[i][:, v_cols[i]].T
        sel_s, sel_v = pick(s_cols, ks), pick(v_cols, kv)
        groups.append(_HeadGroup(np.asarray(heads), sel_s, sel_v, np.ascontiguousarray(Pg, dtype=dtype),
                                 bool((sel_s == h * k).any() or (sel_v == h * k).any())))
    return groups


def _prepare_layer(L, dtype) -> _Layer:
    h, d, k = L.Q.shape
    as_ = lambda a: np.ascontiguousarray(a, dtype=dtype)
    M1, b1, M2, b2 = (np.asarray(a) for a in (L.M1, L.b1, L.M2, L.b2))
    mlp_in = np.flatnonzero(np.any(M1 != 0, axis=1))
    live = np.flatnonzero([np.any(L.V[i] != 0) and np.any(L.P[i] != 0) for i in range(h)])
    QKVP = [np.asarray(m, dtype=np.float64) for m in (L.Q, L.K, L.V, L.P)]
    return _Layer(
        Q=as_(L.Q), K=as_(L.K), V=as_(L.V), P=as_(L.P), scale=k ** 0.5, live_heads=live,
        groups=_head_groups(*QKVP, dtype),
        ln1=_ln_params(L.ln1, dtype), ln2=_ln_params(L.ln2, dtype),
        mlp_in=mlp_in, M1=as_(M1[mlp_in]), M1_full=as_(M1), b1=as_(b1), M2=as_(M2), b2=as_(b2),
        has_mlp=bool(np.any(M2 != 0) or np.any(b2 != 0)),
        dedup=M1.shape[1] >= DEDUP_MIN_WIDTH,
    )


class _Memo:
    """An MLP's outputs remembered by input row (rows compared bit for bit).

    Sorted runs of (keys, outputs), largest first; new rows form a run of their own,
    and a run is merged into the one before it once it is a quarter of its size. So a
    call costs its own rows' sort plus a binary search per run, and each remembered
    row is re-sorted O(log) times in all (re-sorting the whole memo on every call grew
    quadratically with the calls: 65% of a check of mul at n_digits = 3). Starts over
    when full."""

    def __init__(self, max_rows: int, max_rows_by_bytes: int):
        self.max_rows = max(1, min(max_rows, max_rows_by_bytes))
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.rows = 0

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


# -- statistics for `taotp check` -------------------------------------------------------

@dataclass
class Stats:
    """What a run saw at the positions whose logits were read.

    margin: the smallest top-1 minus top-2 logit; attention: the smallest max
    attention weight of any head (V and P not all zero) at those queries, with
    the layer and head. `*_where` hold (prompt index in the call, step)."""

    margin: float = float("inf")
    margin_where: tuple | None = None
    attention: float = float("inf")
    attention_layer: int | None = None
    attention_head: int | None = None
    attention_where: tuple | None = None
    offset: int = 0  # added to prompt indices (callers that split work into calls)

    def merge_margin(self, logits: np.ndarray, rows: np.ndarray, step: int) -> None:
        if logits.shape[-1] < 2 or logits.shape[0] == 0:
            return
        top2 = np.partition(logits, -2, axis=-1)[:, -2:]
        m = top2[:, 1] - top2[:, 0]
        i = int(np.argmin(m))
        if m[i] < self.margin:
            self.margin, self.margin_where = float(m[i]), (self.offset + int(rows[i]), step)

    def merge_attention(self, w: np.ndarray, layer: int, heads: np.ndarray, rows: np.ndarray,
                        step: int) -> None:
        """w: (B, T, h) attention weights of the read query; heads: those to watch."""
        if heads.size == 0 or w.shape[0] == 0:
            return
        peak = w.max(axis=1)[:, heads]  # (B, h')
        b, j = np.unravel_index(int(np.argmin(peak)), peak.shape)
        if peak[b, j] < self.attention:
            self.attention = float(peak[b, j])
            self.attention_layer, self.attention_head = layer, int(heads[j])
            self.attention_where = (self.offset + int(rows[b]), step)

    def as_dict(self) -> dict:
        return {
            "min_margin": None if self.margin == float("inf") else self.margin,
            "min_margin_at": self.margin_where,
            "softest_attention": None if self.attention == float("inf") else self.attention,
            "softest_attention_layer": self.attention_layer,
            "softest_attention_head": self.attention_head,
            "softest_attention_at": self.attention_where,
        }


# -- the engine -------------------------------------------------------------------------

class FastEngine:
    """Prepared weights of one Params; reuse it across calls to keep the MLP memo."""

    def __init__(self, params: Params, memory_budget: int = MEMORY_BUDGET):
        self.params = params
        self.dtype = np.result_type(params.tok_emb.dtype, np.float32)
        dt = self.dtype
        self.tok_emb = np.ascontiguousarray(params.tok_emb, dtype=dt)
        self.pos_emb = np.ascontiguousarray(params.pos_emb, dtype=dt)
        # Tokens with identical unembedding rows tie exactly; np.argmax takes the lowest
        # id. Scoring each distinct row once (in order of first appearance) keeps that
        # rule bit-for-bit and lets the margin ignore such harmless ties.
        U = np.asarray(params.unembedding, dtype=dt)
        _, first = np.unique(U, axis=0, return_index=True)
        self.out_ids = np.sort(first)
        self.unemb = np.ascontiguousarray(U[self.out_ids])
        self.lnf = _ln_params(params.lnf, dt)
        self.layers = [_prepare_layer(L, dt) for L in params.layers]
        self.memory_budget = memory_budget
        self._table = None  # layer 0's (token, position) table, built on first use
        self.exact = len(self.layers) <= 1  # reference-order projections (see _project)

    # ---- sizes
    @property
    def block(self) -> int:
        return self.pos_emb.shape[0]

    def _chunk_size(self, total_len: int) -> int:
        """Prompts per chunk so that caches and activations stay within the budget."""
        d = self.tok_emb.shape[1]
        item = self.dtype.itemsize
        per = total_len * d * 4
        for L in self.layers:
            hk, H = L.n_heads * L.d_head, L.n_heads
            per += total_len * (5 * hk + 2 * d) + total_len * H * 3
            per += total_len * total_len * H * 3  # prefill scores, exps and weights
            if L.has_mlp and not L.dedup:
                per += total_len * (L.b1.size + L.mlp_in.size) * 2
        per += self.tok_emb.shape[0] * 3
        return max(1, int(self.memory_budget // (per * item)))

    # ---- one block of new positions through the stack
    def _project(self, L: _Layer, lx, read_only: bool):
        """Queries (B, nq, h, k) and keys, values (B, n, h, k) of LN'd rows lx (B, n, d);
        queries only at the last row if read_only.

        One-layer programs use the reference's einsum('nj,hjk->nhk') (same order, same
        bits: their answers then equal the reference's even on near-ties). Deeper ones
        use a matmul: their prefill already sums in another order (see _attend)."""
        B, n, d = lx.shape
        if self.exact:
            q = np.einsum("bnj,hjk->bnhk", lx[:, -1:] if read_only else lx, L.Q)
            return q, np.einsum("bnj,hjk->bnhk", lx, L.K), np.einsum("bnj,hjk->bnhk", lx, L.V)
        h, k = L.n_heads, L.d_head
        if L.qkv is None:
            L.qkv = np.ascontiguousarray(
                np.concatenate([M.transpose(1, 0, 2).reshape(d, h * k) for M in (L.Q, L.K, L.V)], axis=1))
        kv = (lx.reshape(B * n, d) @ L.qkv[:, h * k:]).reshape(B, n, 2, h, k)
        src = lx[:, -1:] if read_only else lx
        q = (src.reshape(-1, d) @ L.qkv[:, :h * k]).reshape(B, src.shape[1], h, k)
        return q, kv[:, :, 0], kv[:, :, 1]

    def _attend(self, L: _Layer, q, k, v, cache_k, cache_v, pos0: int):
        """Attention of the new positions pos0.. (q (B, nq, h, k); k, v (B, n, h, k)),
        with the keys and values of earlier positions from the caches (B, T, h, k).

        In a one-layer program, at a read position (one query), each step is the
        reference's (fig. 1.1) with a batch axis: scores einsum('nhk,mhk->nmh') /
        sqrt(d_head), softmax over the keys, einsum('nmh,mhk->nhk'),
        einsum('nhk,hdk->nd'); numpy evaluates them in the same order, so the numbers
        are the reference's bit for bit.
        Returns (B, nq, d) and the attention weights of the last query (B, T', h)."""
        n = k.shape[1]
        end = pos0 + n
        cache_k[:, pos0:end] = k
        cache_v[:, pos0:end] = v
        keys, vals = cache_k[:, :end], cache_v[:, :end]
        nq = q.shape[1]
        if nq == 1 and self.exact:  # the read position: it sees every key, no mask
            scores = np.einsum("bhk,bmhk->bmh", q[:, 0], keys) / L.scale    # (B, T, h)
            w = _softmax_inplace(scores, axis=1)
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
            qh = np.ascontiguousarray(qf[:, :, G.sel_s].transpose(0, 2, 1, 3))   # (B, H, nq, ks)
            kh = np.ascontiguousarray(kf[:, :, G.sel_s].transpose(0, 2, 3, 1))   # (B, H, ks, T)
            vh = np.ascontiguousarray(vf[:, :, G.sel_v].transpose(0, 2, 1, 3))   # (B, H, T, kv)
            scores = qh @ kh                                                     # (B, H, nq, T)
            scores /= L.scale
            np.copyto(scores, -np.inf, where=future)
            w = _softmax_inplace(scores, axis=-1)
            z = (w @ vh).transpose(0, 2, 1, 3)                                   # (B, nq, H, kv)
            out += z.reshape(B, nq, -1) @ G.P
            w_last[:, :, G.heads] = w[:, :, -1].transpose(0, 2, 1)
        return out, w_last

    def _mlp_rows(self, L: _Layer, rows: np.ndarray) -> np.ndarray:
        """relu(x @ M1 + b1) @ M2 on (N, m) inputs (M1's non-zero rows only), in slices.

        numpy multiplies a one-row matrix with gemv, whose sums round differently from
        gemm's; the reference's MLP sees one row only for a 1-token sequence (handled
        in _mlp), so a lone row here is doubled to go through gemm as there."""
        f = L.b1.size
        out = np.empty((rows.shape[0], L.M2.shape[1]), dtype=self.dtype)
        step = max(2, int(self.memory_budget // (4 * max(f, 1) * self.dtype.itemsize)))
        for s in range(0, rows.shape[0], step):
            x = rows[s:s + step]
            n_rows = x.shape[0]
            if n_rows == 1:
                x = np.repeat(x, 2, axis=0)
            if x.shape[1] == 0:  # M1 all zero: every unit sees only its bias
                hid = np.zeros((x.shape[0], f), dtype=self.dtype)
            elif x.shape[1] == 1:  # one live input: a product, as BLAS's first FMA rounds it
                hid = x * L.M1[0]
            else:
                hid = x @ L.M1
            hid += L.b1
            np.maximum(hid, 0, out=hid)
            out[s:s + step] = (hid @ L.M2)[:n_rows]
        return out

    def _mlp(self, L: _Layer, lx: np.ndarray, gemv: bool = False) -> np.ndarray:
        """The MLP on LN'd rows (N, d): zeros dropped, distinct rows only when wide.
        gemv: the reference ran this MLP on a single row (see _mlp_rows); gemv's sums
        may pair terms by position, so there M1 keeps its zero rows."""
        if gemv:  # one (1, d) product per row, as the reference's
            hid = np.matmul(lx[:, None, :], L.M1_full) + L.b1
            return (np.matmul(np.maximum(hid, 0), L.M2) + L.b2)[:, 0]
        xin = np.ascontiguousarray(lx[:, L.mlp_in])
        if not L.dedup or xin.shape[0] < 2:
            return self._mlp_rows(L, xin) + L.b2
        m = xin.shape[1]
        if m == 0:
            return np.broadcast_to(self._mlp_rows(L, xin[:1]) + L.b2, lx.shape).copy()
        keys = xin.view(np.dtype((np.void, m * xin.itemsize))).ravel()
        uk, inv = np.unique(keys, return_inverse=True)
        vals = np.empty((uk.size, L.M2.shape[1]), dtype=self.dtype)
        if L.memo is None:
            L.memo = _Memo(MEMO_MAX_ROWS, MEMO_MAX_BYTES // (uk.itemsize + vals[0].nbytes))
        hit = L.memo.lookup(uk, vals)
        miss = ~hit
        if miss.any():
            new_k = uk[miss]
            new_v = self._mlp_rows(L, new_k.view(self.dtype).reshape(-1, m))
            vals[miss] = new_v
            L.memo.add(new_k, new_v)
        return vals[inv.ravel()] + L.b2

    def _layer0_table(self):
        """Layer 0 sees only tok_emb[t] + pos_emb[p]: its residual rows and LN'd queries,
        keys and values for every (token, position) pair, computed once (None if too big)."""
        if self._table is None and self.layers:
            V, d = self.tok_emb.shape
            T = self.block
            L = self.layers[0]
            if V * T * (3 * L.n_heads * L.d_head + d) * self.dtype.itemsize > self.memory_budget // 4:
                self._table = False
            else:
                x = (self.tok_emb[:, None, :] + self.pos_emb[None, :, :]).reshape(1, V * T, d)
                q, k, v = self._project(L, layer_norm(x, *L.ln1), False)
                self._table = (x[0], q[0], k[0], v[0])
        return self._table or None

    def _embed(self, toks: np.ndarray, pos0: int):
        """Residual rows (B, n, d) of tokens at positions pos0.., and their table ids."""
        B, n = toks.shape
        tab = self._layer0_table()
        if tab is None:
            return self.tok_emb[toks] + self.pos_emb[pos0:pos0 + n], None
        ids = toks * self.block + np.arange(pos0, pos0 + n)
        return tab[0][ids], ids

    def _forward(self, x: np.ndarray, pos0: int, caches, read_only: bool, stats: Stats | None,
                 rows: np.ndarray | None, step: int, ids=None) -> np.ndarray:
        """Run new positions pos0..pos0+n of x (B, n, d) through every layer.

        read_only: the last layer works only at the last new position (its logits are
        the only ones read); returns the final residual rows (B, n', d). ids: table
        ids of the rows (see _embed), so layer 0 gathers instead of computing."""
        last = len(self.layers) - 1
        one_token = pos0 + x.shape[1] == 1  # the reference's matrices have a single row
        for i, L in enumerate(self.layers):
            only_last = read_only and i == last
            if i == 0 and ids is not None:
                _, tq, tk, tv = self._table
                q, k, v = (tq[ids[:, -1:]] if only_last else tq[ids]), tk[ids], tv[ids]
            else:
                q, k, v = self._project(L, layer_norm(x, *L.ln1), only_last)
            att, w = self._attend(L, q, k, v, *caches[i], pos0)
            if stats is not None:
                stats.merge_attention(w, i, L.live_heads, rows, step)
            x = (x[:, -1:] if only_last else x) + att
            if L.has_mlp:
                B, n, d = x.shape
                lx = layer_norm(x, *L.ln2).reshape(B * n, d)
                x = x + self._mlp(L, lx, gemv=one_token).reshape(B, n, d)
        return x

    def _logits(self, x_last: np.ndarray) -> np.ndarray:
        """The reference's einsum('nd,vd->nv', LN_f(x), out_emb), distinct rows only."""
        return np.einsum("bd,vd->bv", layer_norm(x_last, *self.lnf), self.unemb)

    def _new_caches(self, B: int, T: int):
        return [
            (np.empty((B, T, L.n_heads, L.d_head), self.dtype), np.empty((B, T, L.n_heads, L.d_head), self.dtype))
            for L in self.layers
        ]

    # ---- decoding
    def generate(self, prompts, rule, max_steps: int | None = None,
                 stats: Stats | None = None) -> list[list[int]]:
        """Greedy continuations, exactly as reference.generate_batch (prefix added here)."""
        with one_blas_thread():
            return self._generate(prompts, rule, max_steps, stats)

    def _generate(self, prompts, rule, max_steps, stats) -> list[list[int]]:
        prefix = [int(t) for t in rule.prefix]
        seqs = [prefix + [int(t) for t in p] for p in prompts]
        vocab = self.tok_emb.shape[0]
        for j, s in enumerate(seqs):
            for t in s:
                if not 0 <= t < vocab:
                    raise InputError(f"token id {t} of input {j} is outside the vocabulary (size {vocab})")
        groups = defaultdict(list)
        for j, s in enumerate(seqs):
            groups[len(s)].append(j)
        out: list[list[int] | None] = [None] * len(seqs)
        for n, idx in groups.items():
            steps = plan_steps(rule, n, self.block, max_steps)
            if n == 0 and steps > 0:
                raise InputError("an empty input needs a start token (the program has no prefix)")
            toks = np.array([seqs[j] for j in idx], dtype=np.int64).reshape(len(idx), n)
            size = self._chunk_size(n + steps)
            for s in range(0, len(idx), size):
                rows = np.asarray(idx[s:s + size])
                gen = self._generate_group(toks[s:s + size], steps, rule.stop, stats, rows)
                for j, g in zip(rows, gen):
                    out[j] = g
        return out  # type: ignore[return-value]

    def _generate_group(self, toks: np.ndarray, steps: int, stop, stats, rows) -> list[list[int]]:
        B, n = toks.shape
        if steps == 0:
            return [[] for _ in range(B)]
        caches = self._new_caches(B, n + steps - 1)
        gen = np.empty((B, steps), dtype=np.int64)
        length = np.full(B, steps)      # tokens kept per prompt (cut at the stop token)
        alive = np.arange(B)            # prompts still decoding (indices into this group)
        x, ids = self._embed(toks, 0)
        pos0 = 0
        for step in range(steps):
            xl = self._forward(x, pos0, caches, True, stats, rows[alive], step, ids)
            logits = self._logits(xl[:, -1])
            if not np.all(np.isfinite(logits)):
                raise NumericError(
                    "the logits hold NaN or infinity (an overflow in the weights' arithmetic); "
                    "try --dtype float64 or smaller constants")
            if stats is not None:
                stats.merge_margin(logits, rows[alive], step)
            nxt = self.out_ids[logits.argmax(axis=-1)]
            gen[alive, step] = nxt
            if stop is not None:
                stopped = nxt == stop
                if stopped.any():
                    length[alive[stopped]] = step
                    keep = ~stopped
                    alive, nxt = alive[keep], nxt[keep]
                    caches = [(ck[keep], cv[keep]) for ck, cv in caches]
                    if alive.size == 0:
                        break
            pos0 += x.shape[1]
            if step + 1 < steps:
                x, ids = self._embed(nxt[:, None], pos0)
        return [gen[b, :length[b]].tolist() for b in range(B)]

    def forward_logits(self, tokens_batch) -> np.ndarray:
        """Logits (B, n, vocab) at every position of equal-length token sequences."""
        toks = np.asarray(tokens_batch, dtype=np.int64)
        if toks.ndim == 1:
            toks = toks[None]
        B, n = toks.shape
        if n > self.block:
            raise InputError(f"the input is {n} tokens long, but the block size is {self.block}")
        caches = self._new_caches(B, n)
        x, ids = self._embed(toks, 0)
        with one_blas_thread():
            x = self._forward(x, 0, caches, False, None, None, 0, ids)
        U = np.asarray(self.params.unembedding, dtype=self.dtype)
        return np.einsum("bnd,vd->bnv", layer_norm(x, *self.lnf), U)


def generate_batch(params: Params, prompts, rule, max_steps=None, stats: Stats | None = None
                   ) -> list[list[int]]:
    """Same contract as reference.generate_batch; `stats` (a Stats) is filled if given."""
    return FastEngine(params).generate(prompts, rule, max_steps, stats)


def forward_logits(params: Params, tokens_batch) -> np.ndarray:
    """Logits (B, n, vocab) for a batch of equal-length token sequences."""
    return FastEngine(params).forward_logits(tokens_batch)
