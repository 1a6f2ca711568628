"""The fast engine: the book's machine (fig. 1.1), the reference's answers, vectorised.

What it does differently from `reference` (none of it changes the math):

- many prompts at once: prompts are grouped by length and run as one (B, n, d)
  array, in chunks that bound memory;
- incremental decoding with a key/value cache (book ex. 1.3): the prompt is run
  once (prefill), then each step runs only the one new position;
- only what the output reads: the last layer computes its queries, attention
  and MLP only at the position whose logits are read, and the final layer norm
  and unembedding only there;
- layer 0 from tables (table.py): it sees only tok_emb[t] + pos_emb[p], so its LN'd
  queries, keys and values are computed once per (token, position) and gathered, and
  where its attention is one-hot, its output is a sum of gathered rows;
- exact zeros dropped: MLP input rows of M1 that are all zero take no part; in
  programs of two or more layers, so do heads whose V or P is all zero and
  query/key or value columns that are all zero (x * 0 adds nothing);
- the MLP (mlp.py): a wide one reading a single input is evaluated from its
  breakpoints in float64; other wide ones once per distinct input row, memoised;
- the params' dtype is kept (float32 stays float32); OpenBLAS runs one thread;
- in programs of two or more layers: prompts that begin alike share the prefill of
  their common beginning (prefix.py), and layer norms sum each row by einsum
  (ops.layer_norm_einsum: another summation order, twice as fast on short rows).

Same bits where it can: in a one-layer program, attention is the reference's
einsums with a batch axis added (or, where every head is one-hot, tables built with
those einsums), which numpy evaluates in the same order, and so is every program's
unembedding; layer norms are the same elementwise steps. So a one-layer
attention-only program (SORT, MIN, MAX, LOOKUP) gives the reference's answer on every
input, even where a near-tie makes that answer a matter of rounding (SORT at n = 29,
docs/ERRATA.md). The MLP's sums round differently from the reference's (mlp.py), and
a deeper program's prefill sums in another order: those agree with the reference to
rounding (docs/performance.md measures it against the programs' logit margins).

Numerics are the book's: LN divides by (std + 1e-10) with std = sqrt(var);
softmax divides by (sum + 1e-10); scores are divided by sqrt(d_head); causal mask.

Public API: `generate_batch(params, prompts, rule, max_steps=None, stats=None)`,
`forward_logits(params, tokens_batch)`, and `FastEngine` (keeps the prepared
weights and the MLP memo across calls). `stats`, if given, is told the logits and
attention weights at every read position (`taotp.checking.stats.Stats` collects
what `taotp check` reports).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..blas import one_blas_thread
from ..decoding import check_finite, plan_steps
from ..errors import InputError
from ..params import Params
from .attention import attention, fixed_attention, grouped_attention, layer0_from_table
from .layers import PreparedLayer, prepare_layer, with_fixed_heads
from .ops import layer_norm, layer_norm_einsum, ln_params
from .positional import fixed_heads
from .prefix import PrefixTree, prefix_tree
from .readout import Readout
from .table import Layer0Table

MEMORY_BUDGET = 256 * 2**20   # bytes of working arrays per chunk
TABLE_SHARE = 4               # layer 0's tables may take 1/TABLE_SHARE of the budget


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
        self.unemb_T = np.ascontiguousarray(self.unemb.T)
        self.lnf = ln_params(params.lnf, dt)
        self.layers: list[PreparedLayer] = [prepare_layer(L, dt) for L in params.layers]
        self._fixed_checked = False     # layer 0's heads attending by position alone: found on first use
        self.memory_budget = memory_budget
        self._table: Layer0Table | None | bool = None  # built on first use; False: too big
        self.exact = len(self.layers) <= 1  # reference-order projections (see _project)
        self.ln = layer_norm if self.exact else layer_norm_einsum   # deeper: sums in another order
        # deeper programs: the last layer's one query attends over LN'd rows (readout.py)
        self.readout = None if self.exact else Readout(self.layers[-1], dt)

    @property
    def block(self) -> int:
        return self.pos_emb.shape[0]

    def _find_fixed_heads(self) -> None:
        """Layer 0's heads whose one-hot attention is proven a function of positions alone
        (positional.py): grouped apart, computed without queries, keys or scores."""
        if not self._fixed_checked and self.layers:
            fixed = fixed_heads(self.tok_emb, self.pos_emb, self.layers[0])
            if fixed is not None:
                with_fixed_heads(self.layers[0], self.params.layers[0], fixed)
        self._fixed_checked = True

    def table(self) -> Layer0Table | None:
        """Layer 0's (token, position) tables, or None when they would be too big."""
        if self._table is None:
            budget = self.memory_budget // TABLE_SHARE
            self._table = bool(self.layers) and Layer0Table.fits(self.tok_emb, self.pos_emb, self.layers[0],
                                                                 budget) \
                and Layer0Table(self.tok_emb, self.pos_emb, self.layers[0], self._project, budget)
        return self._table or None

    def _chunk_size(self, total_len: int) -> int:
        """Prompts per chunk so that caches and activations stay within the budget."""
        d = self.tok_emb.shape[1]
        per = total_len * d * 4
        for L in self.layers:
            hk, H = L.n_heads * L.d_head, L.n_heads
            per += total_len * (5 * hk + 2 * d) + total_len * H * 3
            per += total_len * total_len * H * 3  # prefill scores, exps and weights
            if L.has_mlp and not L.dedup:
                per += total_len * (L.mlp.width + L.mlp.inputs.size) * 2
        per += self.tok_emb.shape[0] * 3
        return max(1, int(self.memory_budget // (per * self.dtype.itemsize)))

    # ---- one block of new positions through the stack
    def _project(self, L: PreparedLayer, lx, read_only: bool = False):
        """Queries (B, nq, h, k) and keys, values (B, n, h, k) of LN'd rows lx (B, n, d);
        queries only at the last row if read_only.

        One-layer programs use the reference's einsum('nj,hjk->nhk') (same order, same
        bits: their answers then equal the reference's even on near-ties). Deeper ones
        use a matmul: their prefill already sums in another order (attention.py)."""
        B, n, d = lx.shape
        if self.exact:
            q = np.einsum("bnj,hjk->bnhk", lx[:, -1:] if read_only else lx, L.Q)
            return q, np.einsum("bnj,hjk->bnhk", lx, L.K), np.einsum("bnj,hjk->bnhk", lx, L.V)
        h, k = L.n_heads, L.d_head
        qkv = L.qkv_matrix()
        kv = (lx.reshape(B * n, d) @ qkv[:, h * k:]).reshape(B, n, 2, h, k)
        src = lx[:, -1:] if read_only else lx
        q = (src.reshape(-1, d) @ qkv[:, :h * k]).reshape(B, src.shape[1], h, k)
        return q, kv[:, :, 0], kv[:, :, 1]

    def _forward(self, x: np.ndarray, pos0: int, caches, read_only: bool, stats,
                 rows: np.ndarray | None, step: int, kid=None, fill_only: bool = False) -> np.ndarray | None:
        """Run new positions pos0..pos0+n of x (B, n, d) through every layer.

        read_only: the last layer works only at the last new position (its logits are
        the only ones read); returns the final residual rows (B, n', d). kid: layer 0's
        table ids of every position so far (B, pos0 + n), when it runs from its tables.
        fill_only: only fill the caches (the last layer's, a readout's, with its LN'd rows);
        returns None."""
        last = len(self.layers) - 1
        n = x.shape[1]
        end = pos0 + n
        one_token = end == 1  # the reference's matrices have a single row
        for i, L in enumerate(self.layers):
            only_last = read_only and i == last
            if fill_only and i == last:
                caches[i][:, pos0:end] = self.ln(x, *L.ln1)
                return None
            if i == 0 and kid is not None:
                qid = kid[:, end - 1:end] if only_last else kid[:, pos0:end]
                att = layer0_from_table(L, self._table, qid, kid[:, :end], self.exact, stats, rows, step)
            elif self.exact:
                lx = layer_norm(x, *L.ln1)
                cache_k, cache_v = caches[i]
                if L.fixed is not None and L.fixed.all_live:   # only values: the reference's einsum
                    cache_v[:, pos0:end] = np.einsum("bnj,hjk->bnhk", lx, L.V)
                    att, peak = fixed_attention(L, lambda pos: cache_v[:, pos, L.fixed.heads],
                                                1 if only_last else n, end, True)
                else:
                    q, k, v = self._project(L, lx, only_last)
                    cache_k[:, pos0:end] = k
                    cache_v[:, pos0:end] = v
                    att, w = attention(L, q, cache_k[:, :end], cache_v[:, :end], True)
                    peak = w.max(axis=1)
                if stats is not None:
                    stats.merge_peaks(peak[:, L.live_heads], i, L.live_heads, rows, step)
            elif only_last and self.readout is not None:
                att, peak = self.readout(self.ln(x, *L.ln1), caches[i], pos0)
                if stats is not None:
                    stats.merge_peaks(peak[:, L.live_heads], i, L.live_heads, rows, step)
            else:
                att, peak = grouped_attention(L, self.ln(x, *L.ln1), caches[i], pos0, only_last)
                if stats is not None:
                    stats.merge_peaks(peak[:, L.live_heads], i, L.live_heads, rows, step)
            x = (x[:, -1:] if only_last else x) + att
            if L.has_mlp:
                B, m, d = x.shape
                lx = self.ln(x, *L.ln2).reshape(B * m, d)
                x = x + L.mlp(lx, gemv=one_token).reshape(B, m, d)
        return x

    def _logits(self, x_last: np.ndarray) -> np.ndarray:
        """The reference's einsum('nd,vd->nv', LN_f(x), out_emb), distinct rows only; a
        deeper program (whose residual already sums in another order) by a matmul."""
        if self.exact:
            return np.einsum("bd,vd->bv", layer_norm(x_last, *self.lnf), self.unemb)
        return self.ln(x_last, *self.lnf) @ self.unemb_T

    def _new_caches(self, B: int, T: int, skip_first: bool, readout: bool = False) -> list:
        """Per layer, the arrays that keep its keys and values: none for layer 0 when it
        runs from its tables, (B, T, h, k) keys and values in a one-layer program,
        per head group (B, H, T, ks) keys and (B, H, T, kv) values otherwise (a fixed
        group: (B, T, H*kv) values); the LN'd rows (B, T, d) of a readout last layer."""
        new = lambda *shape: np.empty(shape, self.dtype)
        caches = []
        for i, L in enumerate(self.layers):
            if i == 0 and skip_first:
                caches.append([])
            elif readout and i == len(self.layers) - 1 and self.readout is not None:
                caches.append(new(B, T, self.tok_emb.shape[1]))
            elif self.exact:
                caches.append([new(B, T, L.n_heads, L.d_head), new(B, T, L.n_heads, L.d_head)])
            else:
                caches.append([(new(B, 0), new(B, 0 if L.fixed_rows else T, G.widths[0] * G.widths[2]))
                               if G.key_of is not None
                               else (new(B, G.widths[0], T, G.widths[1]), new(B, G.widths[0], T, G.widths[2]))
                               for G in L.groups] + ([new(B, T, L.Q.shape[1])] if L.fixed_rows else []))
        return caches

    @staticmethod
    def _keep_rows(caches: list, keep: np.ndarray) -> list:
        rows = lambda c: tuple(a[keep] for a in c) if isinstance(c, tuple) else c[keep]
        return [layer[keep] if isinstance(layer, np.ndarray) else [rows(c) for c in layer] for layer in caches]

    def _embed(self, toks: np.ndarray, pos0: int):
        """Residual rows (B, n, d) of tokens at positions pos0.., and their table ids (or None)."""
        tab = self.table()
        if tab is None:
            return self.tok_emb[toks] + self.pos_emb[pos0:pos0 + toks.shape[1]], None
        ids = tab.ids(toks, pos0)
        return tab.x[ids], ids

    # ---- decoding
    def generate(self, prompts, rule, max_steps: int | None = None, stats=None) -> list[list[int]]:
        """Greedy continuations, exactly as reference.generate_batch (prefix added here)."""
        self._find_fixed_heads()
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
            gen, length = self.generate_tokens(toks, steps, rule.stop, stats, np.asarray(idx))
            for j, g, m in zip(idx, gen, length):
                out[j] = g[:m].tolist()
        return out  # type: ignore[return-value]

    def generate_tokens(self, toks: np.ndarray, steps: int, stop, stats=None, rows=None):
        """Greedy decoding of equal-length token rows toks (B, n) (prefix included), in
        chunks: (tokens (B, steps), kept lengths (B,)); a row's tokens from its length on
        are not generated (the stop token or after). rows: the prompts' indices for stats."""
        B = toks.shape[0]
        rows = np.arange(B) if rows is None else rows
        self._find_fixed_heads()
        gen = np.zeros((B, steps), dtype=np.int64)
        length = np.zeros(B, dtype=np.int64)
        size = self._chunk_size(toks.shape[1] + steps)
        with one_blas_thread():
            for s in range(0, B, size):
                gen[s:s + size], length[s:s + size] = self._generate_group(
                    toks[s:s + size], steps, stop, stats, rows[s:s + size])
        return gen, length

    def _generate_group(self, toks: np.ndarray, steps: int, stop, stats, rows):
        B, n = toks.shape
        gen = np.zeros((B, steps), dtype=np.int64)
        length = np.full(B, steps)      # tokens kept per prompt (cut at the stop token)
        if steps == 0:
            return gen, length
        x, ids = self._embed(toks, 0)
        kid = None
        if ids is not None:             # layer 0 from its tables: remember every position's row id
            kid = np.empty((B, n + steps - 1), dtype=np.int64)
            kid[:, :n] = ids
        tree = prefix_tree(toks, self.tok_emb.shape[0]) if self.readout is not None else None
        if tree is None:
            caches = self._new_caches(B, n + steps - 1, kid is not None, readout=True)
            pos0 = 0
        else:                           # shared beginnings once (prefix.py), then the last position
            caches = self._prefill_tree(tree, toks, kid, n + steps - 1)
            x, pos0 = x[:, n - 1:], n - 1
        alive = np.arange(B)            # prompts still decoding (indices into this group)
        for step in range(steps):
            xl = self._forward(x, pos0, caches, True, stats, rows[alive], step, kid)
            logits = self._logits(xl[:, -1])
            check_finite(logits)
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
                    caches = self._keep_rows(caches, keep)
                    kid = None if kid is None else kid[keep]
                    if alive.size == 0:
                        break
            pos0 += x.shape[1]
            if step + 1 < steps:
                x, ids = self._embed(nxt[:, None], pos0)
                if kid is not None:
                    kid[:, pos0] = ids[:, 0]
        return gen, length

    def _prefill_tree(self, tree: PrefixTree, toks: np.ndarray, kid, T: int) -> list:
        """Caches (B rows) of positions 0..n-2, each distinct beginning computed once."""
        gather = lambda caches, idx: caches if np.array_equal(idx, np.arange(idx.size)) \
            else self._keep_rows(caches, idx)
        caches = None
        for p, (first, parent) in enumerate(tree.levels):
            caches = self._new_caches(first.size, T, kid is not None, readout=True) if parent is None \
                else gather(caches, parent)
            x, _ = self._embed(toks[first, p:p + 1], p)
            self._forward(x, p, caches, True, None, None, 0, None if kid is None else kid[first], fill_only=True)
        return gather(caches, tree.last)

    def forward_logits(self, tokens_batch) -> np.ndarray:
        """Logits (B, n, vocab) at every position of equal-length token sequences."""
        toks = np.asarray(tokens_batch, dtype=np.int64)
        if toks.ndim == 1:
            toks = toks[None]
        B, n = toks.shape
        if n > self.block:
            raise InputError(f"the input is {n} tokens long, but the block size is {self.block}")
        self._find_fixed_heads()
        with one_blas_thread():
            x, ids = self._embed(toks, 0)
            caches = self._new_caches(B, n, ids is not None)
            x = self._forward(x, 0, caches, False, None, None, 0, ids)
        U = np.asarray(self.params.unembedding, dtype=self.dtype)
        return np.einsum("bnd,vd->bnv", layer_norm(x, *self.lnf), U)


def generate_batch(params: Params, prompts, rule, max_steps=None, stats=None) -> list[list[int]]:
    """Same contract as reference.generate_batch; `stats` (see the module doc) is told
    what the read positions saw."""
    return FastEngine(params).generate(prompts, rule, max_steps, stats)


def forward_logits(params: Params, tokens_batch) -> np.ndarray:
    """Logits (B, n, vocab) for a batch of equal-length token sequences."""
    return FastEngine(params).forward_logits(tokens_batch)
