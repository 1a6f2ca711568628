"""LOOKUP TABLE's small optimisation (book §3.6, fig. 3.4–3.5) and §3.5's hashing.

The tied construction reads the last l tokens with l heads and adds their hash
h = sum_p E[k_p] @ M[p] into the residual of the last token; head 0 cleans the
rest, so the final layer norm sees (h, 0, 0, 0) in d + 3 dimensions and the
logits are E @ LN(h)[:d]. We fit E (V, d) and M (l, d, d) so that these logits
pick each key's value: cross-entropy with the closed-form gradient of fig. 3.4,
plain gradient steps, and E layer-normalised before every step (fig. 3.5, with
the ERRATA fix `E -= lr * dE`). Unlike the book's loop, the fit keeps the iterate
that answered the most keys (see `fit`).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from ..blas import one_blas_thread
from ..engine.reference import EPS, layer_norm
from ..errors import CompileError
from ..values import Record
from . import builtin
from .random import _int

PAD = 3      # the position slot's 3 dims, zero after cleanup, still counted by LN
MAX_LOGITS = 50_000_000  # entries * vocab per step: refuse before allocating (DESIGN.md §4)
MAX_STEP_WORK = 300_000_000  # multiplications per step (hashing + gradients): refuse runaway widths
STEP_OVERHEAD = 100_000      # a step's fixed cost (its numpy calls), in the budget's element-operations


def layer_norm_rows(x: np.ndarray) -> np.ndarray:
    """The machine's layer norm (gamma 1, beta 0) over the last axis."""
    return layer_norm(x)


def key_hashes(E: np.ndarray, M: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """h[n] = sum_p E[keys[n, p]] @ M[p]  -> (n, d) (§3.5's hash, one matrix per key position):
    the keys' embeddings side by side, (n, l*d), times M stacked, (l*d, d): one product."""
    n, l = keys.shape
    return E[keys].reshape(n, l * E.shape[1]) @ M.reshape(l * M.shape[1], M.shape[2])


class _KeyRows:
    """The keys' token ids per key position, fixed during a fit, indexed once.

    With more entries than tokens (n > V), every product over the keys' side-by-side
    embeddings (n, l*d) is cheaper per token: h = sum_p (E @ M[p])[keys[:, p]], and
    the gradients go through G[p] (V, d), the rows of dh summed per token at position
    p (np.bincount over (token, dim) pairs): dM[p] = E^T G[p] and E's key rows
    get sum_p G[p] M[p]^T. Otherwise the products over (n, l*d) run as they are. Same
    sums, grouped otherwise (the fit's last bits change, not its math)."""

    def __init__(self, keys: np.ndarray, vocab_size: int):
        n, l = keys.shape
        self.keys, self.V = keys, vocab_size
        self.by_token = vocab_size < n
        self.slot = keys.ravel()
        self.order = np.argsort(self.slot, kind="stable")
        self.slots, self.starts = np.unique(self.slot[self.order], return_index=True)
        self._g_index = None   # per position p, (n*d,) flat index into G[p] (V, d) of every (entry, dim)
        self.cols = np.ascontiguousarray((keys + vocab_size * np.arange(l)).T)   # (l, n): rows of E @ M

    def hashes(self, E: np.ndarray, M: np.ndarray) -> np.ndarray:
        """key_hashes(E, M, keys), (n, d)."""
        if not self.by_token:
            return key_hashes(E, M, self.keys)
        EM = np.matmul(E, M).reshape(-1, E.shape[1])                 # (l*V, d): row p*V + t = E[t] @ M[p]
        return EM.take(self.cols, axis=0).sum(axis=0)                # one gather (l, n, d), summed over p

    def backward(self, dE: np.ndarray, E: np.ndarray, M: np.ndarray, dh: np.ndarray) -> np.ndarray:
        """Adds the keys' embeddings' share of the gradient into dE; returns dM (l, d, d)."""
        n, l = self.keys.shape
        d = E.shape[1]
        if not self.by_token:
            x = E[self.keys].reshape(n, l * d)
            rows = dh @ M.reshape(l * d, d).T                              # (n, l*d)
            dE[self.slots] += np.add.reduceat(rows.reshape(-1, d)[self.order], self.starts, axis=0)
            return (x.T @ dh).reshape(l, d, d)
        if self._g_index is None or self._g_index[0].size != n * d:
            self._g_index = [(self.keys[:, p, None] * d + np.arange(d)).ravel() for p in range(l)]
        flat = dh.ravel()
        G = np.stack([np.bincount(ix, weights=flat, minlength=self.V * d) for ix in self._g_index])
        G = G.reshape(l, self.V, d)
        dE += np.matmul(G, M.transpose(0, 2, 1)).sum(axis=0)
        return np.matmul(E.T, G)


def fitted_logits(E: np.ndarray, M: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Logits (n, V) the built transformer gives on each key: E @ LN((h, 0, 0, 0))[:d]."""
    h = key_hashes(E, M, keys)
    full = np.concatenate([h, np.zeros((len(h), PAD))], axis=1)
    return layer_norm_rows(full)[:, : h.shape[1]] @ E.T


def loss_and_grad(E: np.ndarray, M: np.ndarray, keys: np.ndarray, values: np.ndarray):
    """Summed cross-entropy of `fitted_logits` and its gradients (dE, dM) (fig. 3.4)."""
    loss, grads, _, _ = _loss_grad_correct(E, M, keys, values)
    return loss, grads


def _row_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b)


NO_SHIFT = 300.0   # |logit| bound below which exp needs no max-subtraction (e^300 ~ 1e130)


def _loss_grad_correct(E, M, keys, values, key_rows: _KeyRows | None = None):
    """loss_and_grad, plus how many keys the current E, M already answer right and
    the smallest margin (logit of the key's value minus the largest other logit).

    The layer norm runs over D = d + 3 dims, three of them zero (the cleaned
    position slot): mean m = sum(h)/D, centred h0 = h - m on the d live dims
    (the padding dims become -m), var = (|h0|^2 + 3 m^2) / D, u = h0 / std.
    Softmax without max-subtraction when it cannot overflow: |u| < sqrt(D) (a
    layer-normed row of D dims has norm sqrt(D) at most), so |z_v| <= sqrt(D) |E_v|;
    the rows of E the fit uses have norm sqrt(d), 34 at d = 32. The softmax's
    normalisation 1/sum(exp z) is applied to the (n, d) products, not to (n, V).
    The sums over key positions: see _KeyRows."""
    n, d = len(keys), E.shape[1]
    D = d + PAD
    key_rows = key_rows or _KeyRows(keys, E.shape[0])
    h = key_rows.hashes(E, M)                             # (n, d)
    m = h.sum(axis=1) / D                                 # (n,)
    h0 = h - m[:, None]                                   # (n, d)
    sd = np.sqrt((_row_dots(h0, h0) + PAD * m * m) / D)   # (n,)
    std = sd + EPS
    u = h0 / std[:, None]                                 # (n, d) = LN(h)[:d]
    rows = np.arange(n)
    P = u @ E.T                                           # (n, V) logits z; becomes exp(z), then dL/dz * sum
    z_true = P[rows, values].copy()
    P[rows, values] = -np.inf
    margins = z_true - P.max(axis=1)                      # > 0: the key is answered right
    P[rows, values] = z_true
    correct = int(np.count_nonzero(margins > 0))
    if np.sqrt(D) * np.sqrt(_row_dots(E, E).max()) > NO_SHIFT:
        shift = P.max(axis=1)
        P -= shift[:, None]
        z_true = z_true - shift
    np.exp(P, out=P)
    total = P.sum(axis=1)
    loss = float(np.log(total).sum() - z_true.sum())     # sum of logsumexp(z) - z[value]
    P[rows, values] -= total                              # total * (softmax - onehot)
    k = 1.0 / (total * std)
    PE = P @ E                                            # (n, d); du = PE / total
    dE = P.T @ (h0 * k[:, None])                          # E as the unembedding: dz^T u
    dstd = -_row_dots(PE, h0) * k / std                   # through u = h0 / std
    dvar = dstd / (2 * np.maximum(sd, EPS))
    dh0 = PE * k[:, None] + (2 * dvar / D)[:, None] * h0  # through u and |h0|^2
    dm = dvar * 2 * PAD * m / D - dh0.sum(axis=1)         # through 3 m^2 and h0 = h - m
    dh = dh0 + (dm / D)[:, None]                          # m = sum(h) / D

    dM = key_rows.backward(dE, E, M, dh)                  # E as the keys' embeddings; M
    return loss, (dE, dM), correct, float(margins.min())


def _check_table(keys, values, vocab_size):
    keys = np.asarray(keys)
    values = np.asarray(values)
    if keys.ndim != 2 or keys.shape[0] == 0 or keys.shape[1] == 0:
        raise CompileError(f"lookup: keys must be a non-empty (entries, key_len) array, got shape {keys.shape}")
    if values.shape != (keys.shape[0],):
        raise CompileError(f"lookup: values must have shape ({keys.shape[0]},), got {values.shape}")
    for name, a in (("keys", keys), ("values", values)):
        if not np.all(a == np.round(a)):
            raise CompileError(f"lookup: {name} must be token ids (integers)")
        if a.min() < 0 or a.max() >= vocab_size:
            raise CompileError(f"lookup: {name} must be token ids in [0, {vocab_size}), "
                               f"got {int(a.min())}..{int(a.max())}")
    return keys.astype(np.int64), values.astype(np.int64)


def fit(keys, values, vocab_size: int, tok_dims: int, iters: int, lr: float, seed: int,
        init_std: float = 0.1, progress=None, stop_margin: float = 0.0, report: dict | None = None):
    """Fig. 3.5/3.6: E, M ~ N(0, init_std^2); `iters` steps of E <- LN(E), gradient step.

    Plain gradient steps can oscillate late in the run (a key answered right, then
    wrong again): when the final E, M answer fewer keys than an earlier iterate, the
    earlier one that answered the most (the latest among equals) is returned instead.

    stop_margin > 0 makes `iters` a cap: the loop stops at the first iterate LN(E), M
    whose logits give every key's value a lead of at least stop_margin over every other
    token, and returns that iterate - exactly what the book's loop run for that many
    steps returns (it ends with E <- LN(E), and that iterate answers every key).
    stop_margin = 0: all `iters` steps (the book's loop).
    Returns (E layer-normalised, M, the loss at each iterate evaluated: one per step, and
    after a stop the returned iterate's last); `report`, if given, gets "steps" (run)."""
    rng = np.random.default_rng(seed)
    E = rng.normal(0.0, init_std, (vocab_size, tok_dims))
    M = rng.normal(0.0, init_std, (keys.shape[1], tok_dims, tok_dims))
    losses = np.empty(iters)
    best, best_correct = None, -1
    key_rows = _KeyRows(keys, vocab_size)
    for i in range(iters):
        E = layer_norm_rows(E)
        loss, (dE, dM), correct, margin = _loss_grad_correct(E, M, keys, values, key_rows)
        if not np.isfinite(loss):
            raise CompileError(f"lookup_fit diverged at step {i} (loss {loss}); try a smaller lr")
        losses[i] = loss
        if stop_margin > 0 and margin >= stop_margin:
            if progress is not None:
                progress.update(iters - i)
                progress.set_postfix(f"loss={loss:.4g} right={correct}/{len(keys)} "
                                     f"margin={margin:.3g}: stopped after {i} steps")
            if report is not None:
                report["steps"] = i
            return E, M, losses[: i + 1]
        if correct >= best_correct:
            best, best_correct = (E.copy(), M.copy()), correct
        E -= lr * dE
        M -= lr * dM
        if progress is not None:
            progress.update()
            if i % 20 == 0 or i == iters - 1:
                progress.set_postfix(f"loss={loss:.4g} right={correct}/{len(keys)} margin={margin:.3g}")
    E = layer_norm_rows(E)
    if best is not None:
        final_correct = int(np.count_nonzero(fitted_logits(E, M, keys).argmax(axis=1) == values))
        if final_correct < best_correct:
            E, M = best
    if report is not None:
        report["steps"] = iters
    return E, M, losses


@builtin("lookup_fit", context=True)
def lookup_fit(ctx, keys, values, vocab_size, tok_dims, iters=1000, lr=1e-2, seed=0,
               stop_margin=0.0) -> Record:
    """Fit LOOKUP TABLE's token embeddings and hash matrices (§3.6).

    iters steps, or (stop_margin > 0) fewer: the fit stops at the first iterate whose
    fitted logits give every key's value a lead of at least stop_margin (see `fit`).
    Returns a record: E (vocab_size, tok_dims) layer-normalised token embeddings,
    M (key_len, tok_dims, tok_dims) hash matrices (key position p is hashed by M[p]),
    loss (final summed cross-entropy), fit_accuracy (fraction of keys whose fitted
    logits already pick their value), fit_margin (the smallest lead of a key's value
    over the other tokens in the fitted logits; negative when a key is answered
    wrong), steps (the gradient steps run)."""
    vocab_size = _int(vocab_size, "lookup_fit: vocab_size")
    tok_dims = _int(tok_dims, "lookup_fit: tok_dims")
    iters = _int(iters, "lookup_fit: iters")
    lr, stop_margin = float(lr), float(stop_margin)
    if not (np.isfinite(stop_margin) and stop_margin >= 0):
        raise CompileError(f"lookup_fit: stop_margin must be a number >= 0 (0: run every step), got {stop_margin}")
    if tok_dims < 2:
        raise CompileError(f"lookup_fit: tok_dims must be at least 2 (a layer-normed row needs 2), got {tok_dims}")
    if not (np.isfinite(lr) and lr > 0):
        raise CompileError(f"lookup_fit: lr must be a positive number, got {lr}")
    keys, values = _check_table(keys, values, vocab_size)
    if len(keys) * vocab_size > MAX_LOGITS:
        raise CompileError(f"lookup_fit: {len(keys):,} entries x {vocab_size:,} tokens = "
                           f"{len(keys) * vocab_size:,} logits per step, more than the limit of {MAX_LOGITS:,}")
    work = max(len(keys), vocab_size) * tok_dims * (keys.shape[1] * tok_dims + 1)
    if work > MAX_STEP_WORK:
        raise CompileError(f"lookup_fit: tok_dims={tok_dims:,} makes each step about {work:,} multiplications, "
                           f"more than the limit of {MAX_STEP_WORK:,}; use a smaller tok_dims")
    # one step holds the logits (entries, vocab) a few times over and E, M and their gradients
    ctx.budget.reserve(8 * (3 * len(keys) * vocab_size + 4 * (vocab_size + keys.shape[1] * tok_dims) * tok_dims),
                       "lookup_fit's working arrays")
    # a step also costs some 30 numpy calls whatever its size: about STEP_OVERHEAD element-operations
    ctx.budget.work((work + STEP_OVERHEAD) * iters, f"lookup_fit: {iters:,} steps of about {work:,} multiplications")
    with ctx.progress(iters, desc=f"lookup fit ({len(keys)} entries, {tok_dims} dims)") as bar, one_blas_thread():
        E, M, losses = fit(keys, values, vocab_size, tok_dims, iters, lr, _int(seed, "seed"), progress=bar,
                           stop_margin=stop_margin, report=(run := {}))
    z = fitted_logits(E, M, keys)
    acc = float(np.mean(z.argmax(axis=1) == values))
    rows = np.arange(len(keys))
    z_true = z[rows, values].copy()
    z[rows, values] = -np.inf
    margin = float((z_true - z.max(axis=1)).min()) if z.shape[1] > 1 else float("inf")
    loss = float(losses[-1]) if iters else float("nan")
    steps = run["steps"]
    ctx.notes["lookup_fit"] = {"entries": int(len(keys)), "tok_dims": tok_dims, "iters": iters,
                               "steps": steps, "stop_margin": stop_margin, "fit_margin": margin,
                               "final_loss": loss, "fit_accuracy": acc}
    if acc < 1.0 and ctx.progress_enabled and not os.environ.get("TAOTP_QUIET"):
        right = int(round(acc * len(keys)))
        print(f"warning: lookup_fit: the fitted weights answer {right} of {len(keys)} keys right "
              f"(try a larger tok_dims, more iters or another lr; a table can also be beyond the "
              f"construction, see docs/lookup.md)", file=sys.stderr)
    return Record("lookup_fit", E=E, M=M, loss=loss, fit_accuracy=acc, fit_margin=margin, steps=steps)


@builtin("key_hashes")
def key_hashes_builtin(E, M, keys) -> np.ndarray:
    """§3.5's hash of each key: row n is sum_p E[keys[n, p]] @ M[p]  -> (entries, d)."""
    E, M, keys = np.asarray(E, float), np.asarray(M, float), np.asarray(keys)
    if E.ndim != 2 or M.ndim != 3 or keys.ndim != 2:
        raise CompileError(f"key_hashes: want E (V, d), M (l, d, o), keys (n, l); "
                           f"got {E.shape}, {M.shape}, {keys.shape}")
    if M.shape[0] != keys.shape[1] or M.shape[1] != E.shape[1]:
        raise CompileError(f"key_hashes: M {M.shape} does not fit keys of length {keys.shape[1]} "
                           f"and E of width {E.shape[1]}")
    keys, _ = _check_table(keys, np.zeros(len(keys)), E.shape[0])
    return key_hashes(E, M, keys)


@builtin("scatter_add")
def scatter_add(n, index, rows) -> np.ndarray:
    """An (n, ...) zero array with rows[i] added at row index[i] (repeats accumulate),
    e.g. §3.5's out_emb[v] = sum of the hashes of the keys whose value is v."""
    n = _int(n, "scatter_add: n")
    rows, index = np.asarray(rows, float), np.asarray(index)
    if index.ndim != 1 or len(index) != len(rows):
        raise CompileError(f"scatter_add: index must be 1-D with one entry per row "
                           f"({len(rows)}), got shape {index.shape}")
    if len(index) and (not np.all(index == np.round(index)) or index.min() < 0 or index.max() >= n):
        raise CompileError(f"scatter_add: index entries must be integers in [0, {n})")
    out = np.zeros((n,) + rows.shape[1:])
    np.add.at(out, index.astype(np.int64), rows)
    return out


@builtin("rotation3d_solved")
def rotation3d_solved(theta) -> np.ndarray:
    """The shift matrix exactly as fig. 3.1 computes it: solve T R = S for the ring points
    at t = 0, 1, 2 and their turns by theta (so ring3d(t) @ R == ring3d(t + theta)).

    The three points lie in one plane, so the system is singular and the solution's
    (1,1,1) part is rounding noise (harmless: every ring point lies in the plane). Its
    exact zeros are what the book's non-zero counts (SEARCH, LOOKUP TABLE) saw; use
    `rotation3d` for the exact rotation."""
    from .encodings import ring3d

    t = np.arange(3.0)
    try:
        return np.linalg.solve(ring3d(t), ring3d(t + float(theta)))
    except np.linalg.LinAlgError:
        raise CompileError("rotation3d_solved: this machine's solver refused fig. 3.1's singular "
                           "system; use rotation3d instead") from None
