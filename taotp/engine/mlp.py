"""One layer's MLP, relu(x @ M1 + b1) @ M2 + b2, as the fast engine runs it.

- M1's all-zero rows are dropped: `x * 0` adds nothing (BLAS's fused multiply-adds
  with a zero change no bit).
- A wide MLP (at least DEDUP_MIN_WIDTH units) whose input is a single dimension (the
  spike MLPs of ch. 6, thm 6.1) is, in float64, a piecewise-linear function of that
  scalar: unit j is live where x * w_j + b_j > 0, i.e. on one side of its breakpoint
  t_j = -b_j / w_j. With the units sorted by breakpoint, the sums over the live ones,
  W(x) = sum w_j M2[j] and B(x) = sum b_j M2[j], are prefix sums (computed once, in
  extended precision), and the output is x * W(x) + B(x): a binary search and two rows
  per input instead of a pass over every unit. Same function; the rounding differs
  from the reference's matrix product by about as much as two BLAS summation orders
  do (docs/performance.md measures it against the logit margins).
- Other wide MLPs run once per distinct input row, memoised across calls (an MLP is
  a function of its row; engine/memo.py); float32 spike MLPs go this way too, through
  BLAS as in the reference, so that even their rounding-decided answers (add_mod in
  float32, docs/ERRATA.md) are the reference's.
"""

from __future__ import annotations

import numpy as np

from .memo import Memo

DEDUP_MIN_WIDTH = 64          # MLPs at least this wide run on distinct rows (or by breakpoints)
SLICE_BYTES = 4 * 2**20       # hidden activations per BLAS slice (stays in cache)
# At most this many rows per product: OpenBLAS rounds a product's rows differently once
# it has a few hundred of them (measured on add_mod's MLP in float32: from 256 rows on),
# and the reference's products have one row per position of a sequence. In float32,
# where ch. 6's answers are decided by that rounding, this keeps add_mod's answers the
# reference's (with ~1,700-row slices 7,270 of its 10,000 answers differed).
SLICE_ROWS = 128


class MLP:
    """M1's non-zero rows, b1, M2, b2 of one layer; call it on LN'd rows (N, d)."""

    def __init__(self, layer, dtype):
        self.dtype = np.dtype(dtype)
        as_ = lambda a: np.ascontiguousarray(a, dtype=self.dtype)
        M1, M2, b2 = (np.asarray(a) for a in (layer.M1, layer.M2, layer.b2))
        self.inputs = np.flatnonzero(np.any(M1 != 0, axis=1))   # the input dims it reads
        self.M1, self.M1_full = as_(M1[self.inputs]), as_(M1)
        self.b1, self.M2, self.b2 = as_(layer.b1), as_(M2), as_(b2)
        self.live = bool(np.any(M2 != 0) or np.any(b2 != 0))
        self.width = self.b1.size
        self.wide = self.width >= DEDUP_MIN_WIDTH
        self.by_breakpoints = self.wide and self.inputs.size == 1 and self.dtype == np.float64
        self._pieces = None
        self.memo: Memo | None = None

    def __call__(self, lx: np.ndarray, gemv: bool = False) -> np.ndarray:
        """The MLP's output (N, d) on LN'd rows lx (N, d). gemv: the reference ran this
        MLP on a single row, with numpy's one-row product (gemv), whose sums may pair
        terms by position; M1 then keeps its zero rows, one (1, d) product per row."""
        if gemv and not self.by_breakpoints:
            hid = np.matmul(lx[:, None, :], self.M1_full) + self.b1
            return (np.matmul(np.maximum(hid, 0), self.M2) + self.b2)[:, 0]
        xin = np.ascontiguousarray(lx[:, self.inputs])
        if self.by_breakpoints:
            return self._piecewise(xin[:, 0]) + self.b2
        if not self.wide or xin.shape[0] < 2:
            return self._rows(xin) + self.b2
        if xin.shape[1] == 0:
            return np.broadcast_to(self._rows(xin[:1]) + self.b2, lx.shape).copy()
        return self._distinct(xin) + self.b2

    # -- a product per row, in cache-sized slices ------------------------------------------
    def _rows(self, x: np.ndarray) -> np.ndarray:
        """relu(x @ M1 + b1) @ M2 on (N, m) inputs (M1's non-zero rows only).

        numpy multiplies a one-row matrix with gemv, whose sums round differently from
        gemm's; the reference's MLP sees one row only for a 1-token sequence (the gemv
        case of __call__), so a lone row here is doubled to go through gemm as there."""
        f = self.width
        out = np.empty((x.shape[0], self.M2.shape[1]), dtype=self.dtype)
        step = max(2, min(SLICE_ROWS, SLICE_BYTES // (max(f, 1) * self.dtype.itemsize)))
        for s in range(0, x.shape[0], step):
            part = x[s:s + step]
            n = part.shape[0]
            if n == 1:
                part = np.repeat(part, 2, axis=0)
            if part.shape[1] == 0:   # M1 all zero: every unit sees only its bias
                hid = np.zeros((part.shape[0], f), dtype=self.dtype)
            elif part.shape[1] == 1:  # one live input: a product, as BLAS's first FMA rounds it
                hid = part * self.M1[0]
            else:
                hid = part @ self.M1
            hid += self.b1
            np.maximum(hid, 0, out=hid)
            out[s:s + step] = (hid @ self.M2)[:n]
        return out

    # -- once per distinct row, memoised ------------------------------------------------------
    def _distinct(self, xin: np.ndarray) -> np.ndarray:
        keys = _row_keys(xin)
        uk, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        vals = np.empty((uk.size, self.M2.shape[1]), dtype=self.dtype)
        if self.memo is None:
            self.memo = Memo.for_rows(uk.itemsize, vals[0].nbytes)
        hit = self.memo.lookup(uk, vals)
        miss = ~hit
        if miss.any():
            new = self._rows(xin[first[miss]])
            vals[miss] = new
            self.memo.add(uk[miss], new)
        return vals[inv.ravel()]

    # -- a one-input MLP from its breakpoints ------------------------------------------------
    def _piecewise(self, x: np.ndarray) -> np.ndarray:
        """sum over live units j of (x w_j + b_j) M2[j], from prefix sums (see the module doc)."""
        if self._pieces is None:
            self._pieces = _breakpoint_sums(self.M1[0], self.b1, self.M2)
        t_up, W_up, B_up, t_down, W_down, B_down, const = self._pieces
        k = np.searchsorted(t_up, x, side="left")      # w > 0: live where t < x (at t it adds 0)
        out = x[:, None] * W_up[k]
        out += B_up[k]
        if t_down.size:                                # w < 0: live where t > x
            k = np.searchsorted(t_down, x, side="right")
            out += x[:, None] * W_down[k]
            out += B_down[k]
        out += const
        return out


def _row_keys(x: np.ndarray) -> np.ndarray:
    """One sortable key per row holding its exact bits."""
    width = x.shape[1] * x.itemsize
    if width in (4, 8):
        return x.view(np.int32 if width == 4 else np.int64).ravel()
    return x.view(np.dtype((np.void, width))).ravel()


def _breakpoint_sums(w: np.ndarray, b: np.ndarray, M2: np.ndarray):
    """Units with w > 0 sorted by breakpoint with prefix sums (index k: the k first are
    live), units with w < 0 with suffix sums (index k: those from k on are live), and
    the constant output of units with w = 0. Sums in extended precision, then rounded."""
    ext = np.longdouble
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -b / w

    def sums(units, suffix):
        terms_w = w[units, None].astype(ext) * M2[units].astype(ext)
        terms_b = b[units, None].astype(ext) * M2[units].astype(ext)
        zero = np.zeros((1, M2.shape[1]), dtype=ext)
        if suffix:
            acc = lambda a: np.concatenate([np.cumsum(a[::-1], axis=0)[::-1], zero])
        else:
            acc = lambda a: np.concatenate([zero, np.cumsum(a, axis=0)])
        return t[units], acc(terms_w).astype(np.float64), acc(terms_b).astype(np.float64)

    up = np.flatnonzero(w > 0)
    up = up[np.argsort(t[up], kind="stable")]
    down = np.flatnonzero(w < 0)
    down = down[np.argsort(t[down], kind="stable")]
    flat = np.flatnonzero(w == 0)
    const = (np.maximum(b[flat], 0)[:, None] * M2[flat]).sum(axis=0)
    return (*sums(up, False), *sums(down, True), const)
