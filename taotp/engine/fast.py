"""The fast engine: the book's machine (fig. 1.1), same answers, vectorised.

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
- exact zeros dropped: heads whose V or P is all zero, query/key columns where
  Q or K is all zero, value columns where V or P is, MLP input rows of M1 that
  are all zero and hidden units whose M2 row is all zero take no part (adding
  x * 0 changes no sum); heads of equal kept widths are computed together;
- the MLP on distinct rows only: its output is a function of the LN'd input
  restricted to M1's non-zero rows; wide MLPs (the book's spike MLPs, §6.3,
  thm 6.1) are evaluated once per distinct such row and the result reused,
  within a batch and across batches (memoised per engine);
- the params' dtype is kept (float32 stays float32); OpenBLAS runs one thread.

Sums may run in another order than the reference's, so logits agree up to float
rounding (docs/performance.md says where that rounding is amplified).

Numerics are the book's: LN divides by (std + 1e-10) with std = sqrt(var);
softmax divides by (sum + 1e-10); scores are divided by sqrt(d_head); causal mask.

Public API: `generate_batch(params, prompts, rule, max_steps=None, stats=None)`,
`forward_logits(params, tokens_batch)`, and `FastEngine` (keeps the prepared
weights and the MLP memo across calls) with `Stats` (smallest logit margin,
softest attention).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..decoding import plan_steps
from ..errors import InputError, NumericError
from ..params import Params

EPS = 1e-10
MEMORY_BUDGET = 256 * 2**20   # bytes of working arrays per chunk
DEDUP_MIN_WIDTH = 64          # MLPs at least this wide (after dropping zeros) run on distinct rows
MEMO_MAX_ROWS = 2_000_000     # distinct MLP input rows remembered per layer


# -- BLAS threads -------------------------------------------------------------------------
# The engine's matrix products are small (d_model-wide); OpenBLAS's threads cost more
# than they save on them, and far more on a busy machine (measured in
# docs/performance.md). Runs use one BLAS thread; the caller's setting is restored.

def _openblas_thread_fns():
    """(get, set) of the OpenBLAS loaded in this process, or None (not Linux, not OpenBLAS)."""
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix in ("64_", "", "_64"):
            for prefix in ("scipy_openblas", "openblas"):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    return get, set_
    return None


_BLAS = None


class _one_blas_thread:
    def __enter__(self):
        global _BLAS
        if _BLAS is None:
            _BLAS = _openblas_thread_fns() or False
        self.before = None
        if _BLAS:
            self.before = int(_BLAS[0]())
            if self.before != 1:
                _BLAS[1](1)
        return self

    def __exit__(self, *exc):
        if _BLAS and self.before not in (None, 1):
            _BLAS[1](self.before)


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
class _HeadGroup:
    """Live heads of one layer that share widths: ks query/key and kv value columns.

    Its queries, keys and values are columns q0:q1, k0:k1, v0:v1 of the layer's
    projected rows; P maps its (H * kv) head outputs to the residual."""

    head_ids: np.ndarray     # the heads' indices in the program
    ks: int
    kv: int
    q: slice
    k: slice
    v: slice
    P: np.ndarray            # (H * kv, d)

    @property
    def n_heads(self) -> int:
        return self.head_ids.size


@dataclass
class _Layer:
    """One layer's weights, reshaped for batched matmuls, exact zeros dropped.

    Attention keeps only live heads (V and P not all zero: the others add exactly 0)
    and, per head, the query/key columns where both Q and K are non-zero (the other
    terms of q . k are exactly 0) and the value columns where both V and P are.
    Heads with the same widths form a group; a group's heads are computed together."""

    groups: list             # of _HeadGroup
    scale: float             # sqrt(d_head) of the program (scores are divided by it)
    qkv: np.ndarray          # (d, width): every group's Q columns, then K, then V
    n_q: int                 # the first n_q columns are queries
    ln1: tuple
    ln2: tuple
    mlp_in: np.ndarray       # indices of M1's non-zero rows
    M1: np.ndarray           # (len(mlp_in), f') non-zero rows, kept units
    b1: np.ndarray           # (f',)
    M2: np.ndarray           # (f', d)
    b2: np.ndarray           # (d,)
    has_mlp: bool
    dedup: bool
    memo_keys: np.ndarray | None = None
    memo_vals: np.ndarray | None = None


def _columns(M: np.ndarray, heads, cols_of, width: int) -> np.ndarray:
    """(d, H*width): for each head its kept columns of M (h, d, k), zero padded."""
    d = M.shape[1]
    out = np.zeros((d, len(heads) * width))
    for i, hd in enumerate(heads):
        c = cols_of[hd]
        out[:, i * width:i * width + len(c)] = M[hd][:, c]
    return out


def _head_groups(score_cols, val_cols, heads) -> list[list[int]]:
    """Live heads grouped by (query/key width, value width); one padded group when the
    widths are many (each group costs a pass of its own)."""
    key = lambda i: (max(1, score_cols[i].size), val_cols[i].size)
    by = {}
    for i in heads:
        by.setdefault(key(i), []).append(i)
    return list(by.values()) if len(by) <= 3 else [list(heads)]


def _prepare_layer(L, dtype) -> _Layer:
    h, d, k = L.Q.shape
    as_ = lambda a: np.ascontiguousarray(a, dtype=dtype)
    Q, K, V, P = (np.asarray(m, dtype=np.float64) for m in (L.Q, L.K, L.V, L.P))
    nz = lambda M: np.any(M != 0, axis=0)  # (k,) columns of one head's (d, k) not all zero
    val_cols = [np.flatnonzero(nz(V[i]) & nz(P[i])) for i in range(h)]
    score_cols = [np.flatnonzero(nz(Q[i]) & nz(K[i])) for i in range(h)]
    heads = [i for i in range(h) if val_cols[i].size]
    parts, groups = {"q": [], "k": [], "v": []}, []
    for g in _head_groups(score_cols, val_cols, heads):
        ks = max([score_cols[i].size for i in g] + [1])
        kv = max(val_cols[i].size for i in g)
        parts["q"].append(_columns(Q, g, score_cols, ks))
        parts["k"].append(_columns(K, g, score_cols, ks))
        parts["v"].append(_columns(V, g, val_cols, kv))
        # P as (H*kv, d): row (head i, value column j) is P[head][:, col j]
        groups.append(_HeadGroup(np.asarray(g, dtype=np.int64), ks, kv, slice(0), slice(0), slice(0),
                                 as_(_columns(P, g, val_cols, kv).T)))
    at = 0
    for name in ("q", "k", "v"):  # column ranges of each group within [Q | K | V]
        for G, M in zip(groups, parts[name]):
            setattr(G, name, slice(at, at + M.shape[1]))
            at += M.shape[1]
    qkv = np.concatenate([m for name in ("q", "k", "v") for m in parts[name]] or [np.zeros((d, 0))], axis=1)
    M1, b1, M2, b2 = (np.asarray(a) for a in (L.M1, L.b1, L.M2, L.b2))
    mlp_in = np.flatnonzero(np.any(M1 != 0, axis=1))
    units = np.flatnonzero(np.any(M2 != 0, axis=1))  # units M2 ignores add exactly 0
    has_mlp = units.size > 0
    return _Layer(
        groups=groups, scale=k ** 0.5, qkv=as_(qkv), n_q=sum(m.shape[1] for m in parts["q"]),
        ln1=_ln_params(L.ln1, dtype), ln2=_ln_params(L.ln2, dtype),
        mlp_in=mlp_in, M1=as_(M1[np.ix_(mlp_in, units)]), b1=as_(b1[units]),
        M2=as_(M2[units]), b2=as_(b2), has_mlp=has_mlp or bool(np.any(b2 != 0)),
        dedup=units.size >= DEDUP_MIN_WIDTH,
    )


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
        """w: (T, B, H) attention weights of the read query; heads: their ids in the program."""
        if heads.size == 0 or w.shape[1] == 0:
            return
        peak = w.max(axis=0)  # (B, H)
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
        self.unemb_T = np.ascontiguousarray(U[self.out_ids].T)
        self.lnf = _ln_params(params.lnf, dt)
        self.layers = [_prepare_layer(L, dt) for L in params.layers]
        self.memory_budget = memory_budget
        self._table = None  # layer 0's (token, position) table, built on first use

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
            hk = L.qkv.shape[1]
            H = sum(G.n_heads for G in L.groups)
            per += total_len * (2 * hk + 2 * d) + total_len * H * 3
            per += total_len * total_len * H * 3  # prefill scores, exps and weights
            if L.has_mlp and not L.dedup:
                per += total_len * (L.b1.size + L.mlp_in.size) * 2
        per += self.tok_emb.shape[0] * 3
        return max(1, int(self.memory_budget // (per * item)))

    # ---- one block of new positions through the stack
    def _project(self, L: _Layer, lx, read_only: bool):
        """Queries and keys/values of the new LN'd rows lx (B, n, d): (q rows, kv rows),
        q (B, nq, n_q) only at the last position when read_only, kv (B, n, width - n_q)."""
        B, n, d = lx.shape
        a = L.n_q
        if read_only:
            kv = (lx.reshape(B * n, d) @ L.qkv[:, a:]).reshape(B, n, -1)
            q = (lx[:, -1] @ L.qkv[:, :a]).reshape(B, 1, a)
            return q, kv
        qkv = (lx.reshape(B * n, d) @ L.qkv).reshape(B, n, -1)
        return qkv[:, :, :a], qkv[:, :, a:]

    def _attend(self, L: _Layer, G: _HeadGroup, q, kv, cache_k, cache_v, pos0: int):
        """Attention of one head group for the new positions pos0.. .

        q (B, nq, n_q) and kv (B, n, ...) are the layer's projected rows (see _project).
        The caches are position-major, (T, width, B, H): every reduction over positions
        (max, sum of the softmax, the weighted sum of values) then runs across whole
        contiguous (B * H) slices instead of along a short last axis.
        Returns (B, nq, d) head outputs projected by P and the attention weights of
        the last query (T', B, H)."""
        H, ks, kv_w, a = G.n_heads, G.ks, G.kv, L.n_q
        B, n = kv.shape[:2]
        nq = q.shape[1]
        q = q[:, :, G.q].reshape(B, nq, H, ks)
        k = kv[:, :, G.k.start - a:G.k.stop - a].reshape(B, n, H, ks)
        v = kv[:, :, G.v.start - a:G.v.stop - a].reshape(B, n, H, kv_w)
        end = pos0 + n
        N = B * H
        cache_k[pos0:end] = k.transpose(1, 3, 0, 2)                 # (n, ks, B, H)
        cache_v[pos0:end] = v.transpose(1, 3, 0, 2)                 # (n, kv, B, H)
        if nq == 1:  # one query: ks multiply-adds over whole (T, B*H) slices
            keys = cache_k[:end].reshape(end, ks, N)
            qt = q.transpose(1, 3, 0, 2).reshape(ks, N)             # (ks, B*H)
            scores = keys[:, 0] * qt[0]
            for j in range(1, ks):
                scores += keys[:, j] * qt[j]
            scores /= L.scale                                        # (T, B*H)
            w = _softmax_inplace(scores, axis=0)
            z = np.einsum("tn,tkn->kn", w, cache_v[:end].reshape(end, kv_w, N))  # (kv, B*H)
            z = z.reshape(kv_w, B, H).transpose(1, 2, 0).reshape(B, 1, H * kv_w)
            return z @ G.P, w.reshape(end, B, H)
        # several queries (prefill of a layer whose every position is needed): batched
        # matmuls over (B, H); contiguous copies, on which numpy's matmul is much faster
        qh = np.ascontiguousarray(q.transpose(0, 2, 1, 3))           # (B, H, nq, ks)
        kh = np.ascontiguousarray(cache_k[:end].transpose(2, 3, 1, 0))  # (B, H, ks, T)
        scores = qh @ kh                                             # (B, H, nq, T)
        scores /= L.scale
        future = np.arange(end)[None, :] > np.arange(end - nq, end)[:, None]  # (nq, T)
        np.copyto(scores, -np.inf, where=future)                     # the causal mask
        w = _softmax_inplace(scores, axis=-1)
        z = w @ np.ascontiguousarray(cache_v[:end].transpose(2, 3, 0, 1))  # (B, H, nq, kv)
        z = z.transpose(0, 2, 1, 3).reshape(B, nq, H * kv_w)
        return z @ G.P, w[:, :, -1].transpose(2, 0, 1)

    def _mlp_rows(self, L: _Layer, rows: np.ndarray) -> np.ndarray:
        """relu(x @ M1 + b1) @ M2 on (N, m) inputs (M1's non-zero rows only), in slices."""
        f = L.b1.size
        out = np.empty((rows.shape[0], L.M2.shape[1]), dtype=self.dtype)
        step = max(1, int(self.memory_budget // (4 * max(f, 1) * self.dtype.itemsize)))
        for s in range(0, rows.shape[0], step):
            x = rows[s:s + step]
            if x.shape[1] == 0:  # M1 all zero: every unit sees only its bias
                hid = np.zeros((x.shape[0], f), dtype=self.dtype)
            elif x.shape[1] <= 4:  # few live inputs: outer products beat a thin matmul
                hid = x[:, :1] * L.M1[0]
                for j in range(1, x.shape[1]):
                    hid += x[:, j:j + 1] * L.M1[j]
            else:
                hid = x @ L.M1
            hid += L.b1
            np.maximum(hid, 0, out=hid)
            out[s:s + step] = hid @ L.M2
        return out

    def _mlp(self, L: _Layer, lx: np.ndarray) -> np.ndarray:
        """The MLP on LN'd rows (N, d): zeros dropped, distinct rows only when wide."""
        xin = np.ascontiguousarray(lx[:, L.mlp_in])
        if not L.dedup or xin.shape[0] < 2:
            return self._mlp_rows(L, xin) + L.b2
        m = xin.shape[1]
        if m == 0:
            return np.broadcast_to(self._mlp_rows(L, xin[:1]) + L.b2, lx.shape).copy()
        keys = xin.view(np.dtype((np.void, m * xin.itemsize))).ravel()
        uk, inv = np.unique(keys, return_inverse=True)
        vals = np.empty((uk.size, L.M2.shape[1]), dtype=self.dtype)
        if L.memo_keys is not None and L.memo_keys.size:
            pos = np.searchsorted(L.memo_keys, uk)
            pos_c = np.minimum(pos, L.memo_keys.size - 1)
            hit = L.memo_keys[pos_c] == uk
        else:
            pos_c, hit = None, np.zeros(uk.size, dtype=bool)
        if hit.any():
            vals[hit] = L.memo_vals[pos_c[hit]]
        miss = ~hit
        if miss.any():
            new_k = uk[miss]
            new_v = self._mlp_rows(L, new_k.view(self.dtype).reshape(-1, m))
            vals[miss] = new_v
            self._remember(L, new_k, new_v)
        return vals[inv.ravel()] + L.b2

    @staticmethod
    def _remember(L: _Layer, keys, vals) -> None:
        if L.memo_keys is None or L.memo_keys.size + keys.size > MEMO_MAX_ROWS:
            all_k, all_v = keys, vals
        else:
            all_k = np.concatenate([L.memo_keys, keys])
            all_v = np.concatenate([L.memo_vals, vals])
        order = np.argsort(all_k, kind="stable")
        L.memo_keys, L.memo_vals = all_k[order], all_v[order]

    def _layer0_table(self):
        """Layer 0 sees only tok_emb[t] + pos_emb[p]: its residual rows and LN'd queries,
        keys and values for every (token, position) pair, computed once (None if too big)."""
        if self._table is None and self.layers:
            V, d = self.tok_emb.shape
            T = self.block
            L = self.layers[0]
            if V * T * (L.qkv.shape[1] + d) * self.dtype.itemsize > self.memory_budget // 4:
                self._table = False
            else:
                x = (self.tok_emb[:, None, :] + self.pos_emb[None, :, :]).reshape(V * T, d)
                qkv = layer_norm(x, *L.ln1) @ L.qkv
                c = np.ascontiguousarray
                self._table = (x, c(qkv[:, :L.n_q]), c(qkv[:, L.n_q:]))
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
        for i, L in enumerate(self.layers):
            only_last = read_only and i == last
            if not L.groups:  # no live head: attention adds exactly 0
                x = x[:, -1:] if only_last else x
            else:
                if i == 0 and ids is not None:
                    _, tq, tkv = self._table
                    q, kv = (tq[ids[:, -1:]] if only_last else tq[ids]), tkv[ids]
                else:
                    q, kv = self._project(L, layer_norm(x, *L.ln1), only_last)
                att = None
                for G, (ck, cv) in zip(L.groups, caches[i]):
                    a_g, w = self._attend(L, G, q, kv, ck, cv, pos0)
                    att = a_g if att is None else att + a_g
                    if stats is not None:
                        stats.merge_attention(w, i, G.head_ids, rows, step)
                x = (x[:, -1:] if only_last else x) + att
            if L.has_mlp:
                B, n, d = x.shape
                lx = layer_norm(x, *L.ln2).reshape(B * n, d)
                x = x + self._mlp(L, lx).reshape(B, n, d)
        return x

    def _logits(self, x_last: np.ndarray) -> np.ndarray:
        return layer_norm(x_last, *self.lnf) @ self.unemb_T

    def _new_caches(self, B: int, T: int):
        return [
            [(np.empty((T, G.ks, B, G.n_heads), self.dtype), np.empty((T, G.kv, B, G.n_heads), self.dtype))
             for G in L.groups]
            for L in self.layers
        ]

    # ---- decoding
    def generate(self, prompts, rule, max_steps: int | None = None,
                 stats: Stats | None = None) -> list[list[int]]:
        """Greedy continuations, exactly as reference.generate_batch (prefix added here)."""
        with _one_blas_thread():
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
                    caches = [[(ck[:, :, keep], cv[:, :, keep]) for ck, cv in layer] for layer in caches]
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
        x = self._forward(x, 0, caches, False, None, None, 0, ids)
        return layer_norm(x, *self.lnf) @ np.asarray(self.params.unembedding, dtype=self.dtype).T


def generate_batch(params: Params, prompts, rule, max_steps=None, stats: Stats | None = None
                   ) -> list[list[int]]:
    """Same contract as reference.generate_batch; `stats` (a Stats) is filled if given."""
    return FastEngine(params).generate(prompts, rule, max_steps, stats)


def forward_logits(params: Params, tokens_batch) -> np.ndarray:
    """Logits (B, n, vocab) for a batch of equal-length token sequences."""
    return FastEngine(params).forward_logits(tokens_batch)
