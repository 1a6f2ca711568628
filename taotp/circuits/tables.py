"""The circuit tables of a head, and of the embeddings, read through the vocabulary.

For head h of a layer, on the layer's basis (basis.py: mean layer-normed input per
token, per position):

- QK over tokens     T[a, b] = (x_a Q_h) . (x_b K_h) / sqrt(d_head)      query a, key b
- QK over positions  S[i, j] = (x_i Q_h) . (x_j K_h) / sqrt(d_head), masked for j > i
  (the causal mask: a query never sees a later key)
- OV over tokens     O[b, c] = (x_b V_h P_h^T) . U_c
  what attending to token b writes, read through the unembedding U (out_emb, or
  tok_emb when tied) as a direct logit contribution, before the final layer norm.
- the direct path: LN_f(tok_emb[a] + pos_emb[i]) . U_c, averaged over positions
  (per token) and over tokens (per position): what the embeddings alone decode to.

Each table knows, per row, its best column, the runner-up's gap and the row's range;
a row whose range is at rounding level (REL of the table's largest entry) is flat:
it prefers nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..params import Layer
from .basis import Basis

REL = 1e-9          # a row range below REL * max|entry| is rounding noise: the row is flat
TINY = 1e-12        # ... and so is one below this in absolute terms
FULL_JSON = 128 * 128   # JSON carries the whole matrix up to this many entries
ENGINE_ORDER = 2_000_000   # QK tables up to this many products follow the engine's order (einsum)


@dataclass
class Table:
    kind: str                 # "qk_tokens" | "qk_positions" | "ov" | "direct_tokens" | "direct_positions"
    row_axis: str             # "tokens" | "positions"
    col_axis: str
    values: np.ndarray        # (R, C); NaN: unknown row (unsampled) or masked key
    rows: list[str]           # labels
    cols: list[str]
    floor: float = 0.0        # a scale below whose REL share differences are noise (see qk_tables)
    best: np.ndarray = field(init=False)       # (R,) best column, -1 where the row is unknown or flat
    top: np.ndarray = field(init=False)        # (R,) its value (NaN where unknown)
    worst: np.ndarray = field(init=False)      # (R,) lowest column, -1 as for best
    gap: np.ndarray = field(init=False)        # (R,) top minus the runner-up (NaN: fewer than 2 keys)
    span: np.ndarray = field(init=False)       # (R,) the row's max minus min

    def __post_init__(self):
        v = self.values
        fin = np.isfinite(v)
        filled = np.where(fin, v, -np.inf)
        known = fin.any(axis=1)
        self.best = np.where(known, np.argmax(filled, axis=1), -1)
        self.top = np.where(known, filled.max(axis=1, initial=-np.inf), np.nan)
        second = (np.partition(filled, -2, axis=1)[:, -2] if v.shape[1] > 1
                  else np.full(v.shape[0], -np.inf))
        with np.errstate(invalid="ignore"):
            self.gap = np.where(np.isfinite(second) & known, self.top - second, np.nan)
            low = np.where(fin, v, np.inf).min(axis=1) if v.shape[1] else np.full(v.shape[0], np.nan)
            self.span = np.where(known, self.top - low, np.nan)
        scale = float(np.max(np.abs(v[fin]))) if fin.any() else 0.0
        self.tol = max(TINY, REL * max(scale, self.floor))
        self.worst = np.where(known, np.argmin(np.where(fin, v, np.inf), axis=1), -1)
        self.best[~(self.span > self.tol)] = -1
        self.worst[self.best < 0] = -1

    @property
    def known(self) -> np.ndarray:
        return np.isfinite(self.top)

    @property
    def decided(self) -> np.ndarray:
        """Rows that prefer some column (known and not flat)."""
        return self.best >= 0

    @property
    def spread(self) -> float:
        """How much the table can move attention (or logits): the mean row range."""
        s = self.span[self.known]
        return float(s.mean()) if s.size else 0.0

    @property
    def flat(self) -> bool:
        return not self.decided.any()

    @property
    def row_dependence(self) -> float:
        """How much the row changes any entry: max over columns of its range over rows."""
        v = self.values[self.known]
        if v.shape[0] < 2:
            return 0.0
        with np.errstate(invalid="ignore"):
            r = np.nanmax(v, axis=0) - np.nanmin(v, axis=0)
        return float(np.nanmax(r)) if np.isfinite(r).any() else 0.0

    def pairs(self) -> list[tuple[int, int]]:
        """(row, best column) of every decided row."""
        return [(int(r), int(self.best[r])) for r in np.flatnonzero(self.decided)]

    def to_json(self) -> dict:
        num = lambda x: None if not np.isfinite(x) else float(x)
        out = {
            "kind": self.kind, "row_axis": self.row_axis, "col_axis": self.col_axis,
            "shape": list(self.values.shape), "spread": self.spread, "flat": self.flat,
            "best": [None if b < 0 else {"col": int(b), "score": num(t), "gap": num(g)}
                     for b, t, g in zip(self.best, self.top, self.gap)],
        }
        if self.values.size <= FULL_JSON:
            obj = self.values.astype(object)
            obj[~np.isfinite(self.values)] = None
            out["matrix"] = obj.tolist()
        return out


def _labels(n: int) -> list[str]:
    return [str(i) for i in range(n)]


def _scores(x: np.ndarray, layer: Layer, h: int) -> np.ndarray:
    """(R, R) scores of head h between the rows of x, divided by sqrt(d_head) of this
    layer. Up to ENGINE_ORDER products they are computed as the reference engine
    computes them (einsum, then the division): SORT's neighbours differ by a few units
    in the last place (§5.2.1), so the order of operations shows. Larger tables use
    BLAS (einsum's loops take ~0.1 s per 1000 x 1000 table)."""
    d = layer.Q.shape[-1] ** 0.5
    with np.errstate(invalid="ignore"):
        if x.shape[0] ** 2 * layer.Q.shape[-1] <= ENGINE_ORDER:
            q = np.einsum("nj,jk->nk", x, layer.Q[h])
            k = np.einsum("nj,jk->nk", x, layer.K[h])
            return np.einsum("nk,mk->nm", q, k) / d
        return ((x @ layer.Q[h]) @ (x @ layer.K[h]).T) / d


def qk_tables(layer: Layer, h: int, basis: Basis, tokens: list[str]) -> tuple[Table, Table]:
    """Head h's QK circuit over tokens (query, key) and over positions (causal)."""
    by_tok, by_pos = (_scores(x, layer, h) for x in (basis.tokens, basis.positions))
    n = by_pos.shape[0]
    by_pos[~np.tril(np.ones((n, n), dtype=bool))] = np.nan
    # Both tables are one bilinear form read on two averages: rounding noise in either
    # is relative to the larger of the two (ADD's token table is 1e-11 of rounding
    # where its position table reaches 1e6).
    floor = max(_largest(by_tok), _largest(by_pos))
    return (Table("qk_tokens", "tokens", "tokens", by_tok, tokens, tokens, floor),
            Table("qk_positions", "positions", "positions", by_pos, _labels(n), _labels(n), floor))


def _largest(v: np.ndarray) -> float:
    fin = np.isfinite(v)
    return float(np.abs(v[fin]).max()) if fin.any() else 0.0


def head_output(layer: Layer, h: int, vectors: np.ndarray) -> np.ndarray:
    """What head h adds to the stream when it attends fully to inputs `vectors` (R, d)."""
    return (vectors @ layer.V[h]) @ layer.P[h].T             # (R, k) -> (R, d)


def ov_table(layer: Layer, h: int, basis: Basis, unembedding: np.ndarray, tokens: list[str]) -> Table:
    with np.errstate(invalid="ignore"):
        logits = head_output(layer, h, basis.tokens) @ unembedding.T
    return Table("ov", "tokens", "tokens", logits, tokens, tokens)


def direct_tables(basis: Basis, unembedding: np.ndarray, tokens: list[str]) -> tuple[Table, Table]:
    """The embeddings read through LN_f and the unembedding, per token and per position."""
    by_tok = basis.tokens @ unembedding.T
    by_pos = basis.positions @ unembedding.T
    return (Table("direct_tokens", "tokens", "tokens", by_tok, tokens, tokens),
            Table("direct_positions", "positions", "tokens", by_pos, _labels(by_pos.shape[0]), tokens))
