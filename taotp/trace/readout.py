"""Reading the residual stream through the program's own vocabulary.

Every slot of the stream was written by hand with known vectors: token
encodings (tok_emb restricted to the slot), position encodings (pos_emb
restricted), or copies of another slot's token encodings (SEARCH, ch. 4). So a
residual vector is read slot by slot as the nearest of those vectors by cosine.
The logit lens reads the whole stream after each layer as the model would
decode it: LN_f, then the unembedding (fig. 1.1's last line).
Spike MLPs (§6.3, thm 6.1) are recognised by their shape and read as which
spikes fired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.reference import layer_norm
from ..params import Layer, Params

TINY = 1e-12
EDGE = 1e-4   # a spike this close to its edge (neighbours sit exactly one edge away) is rounding noise


# -- slots ---------------------------------------------------------------------------
def slot_layout(program) -> dict[str, tuple[int, int]]:
    """The program's named slots in stream order, with any unnamed stretch of the stream
    as a slot '[a:b]'; a literal (no slots) is one slot 'x'."""
    d = program.params.d_model
    slots = {k: (int(a), int(b)) for k, (a, b) in (program.slots or {}).items()}
    if not slots:
        return {"x": (0, d)}
    out, at = {}, 0
    for name, (a, b) in sorted(slots.items(), key=lambda kv: kv[1]):
        if a > at:                                   # dimensions no slot names
            out[f"[{at}:{a}]"] = (at, a)
        out[name] = (a, b)
        at = max(at, b)
    if at < d:
        out[f"[{at}:{d}]"] = (at, d)
    return out


def _informative(rows: np.ndarray) -> bool:
    """A dictionary is worth reading against when its rows are not all the same."""
    return rows.shape[0] > 1 and bool(np.any(np.abs(rows - rows[0]) > TINY * (1 + np.abs(rows).max())))


@dataclass
class Dictionary:
    kind: str          # "tok" | "pos" | "tok@<slot>"
    rows: np.ndarray   # (entries, width)
    labels: list[str]


@dataclass
class Reader:
    """One row of the readout: the stream's [start, stop) read against `dicts`."""

    label: str         # the slot's name, or name.i for the i-th part of a wide slot
    start: int
    stop: int
    dicts: list[Dictionary]
    constant: np.ndarray | None = None   # what every token writes here (e.g. §4.1 padding)


@dataclass
class Reading:
    kind: str
    label: str
    score: float       # cosine similarity in [-1, 1]


def readers(program, slots: dict[str, tuple[int, int]] | None = None) -> list[Reader]:
    """How each slot is read: as tokens (tok_emb restricted to it), as positions
    (pos_emb restricted), and, when no token encoding is written there, as the
    tokens of a token slot of the same width. A slot k times as wide as a token
    slot and written by no token encoding (SEARCH's memory of the previous tokens,
    §4.2) is read as k parts."""
    p: Params = program.params
    slots = slots or slot_layout(program)
    toks = [str(t) for t in program.vocab.tokens]
    poss = [str(i) for i in range(p.block_size)]
    own: dict[str, list[Dictionary]] = {}
    for name, (a, b) in slots.items():
        ds = []
        if _informative(p.tok_emb[:, a:b]):
            ds.append(Dictionary("tok", p.tok_emb[:, a:b], toks))
        if _informative(p.pos_emb[:, a:b]):
            ds.append(Dictionary("pos", p.pos_emb[:, a:b], poss))
        own[name] = ds
    token_slots = [(n, a, b) for n, (a, b) in slots.items() if any(d.kind == "tok" for d in own[n])]
    out: list[Reader] = []

    def const(a, b):
        rows = p.tok_emb[:, a:b]
        return rows[0] if np.any(rows[0]) and not _informative(rows) else None

    for name, (a, b) in slots.items():
        ds = list(own[name])
        if any(d.kind == "tok" for d in ds):
            out.append(Reader(name, a, b, ds))
            continue
        same = next(((n, c, e) for n, c, e in token_slots if e - c == b - a), None)
        part = next(((n, c, e) for n, c, e in token_slots if (b - a) % (e - c) == 0), None)
        if same is not None:
            n, c, e = same
            out.append(Reader(name, a, b, ds + [Dictionary(f"tok@{n}", p.tok_emb[:, c:e], toks)], const(a, b)))
        elif part is not None and not ds:
            n, c, e = part
            w = e - c
            for i, s in enumerate(range(a, b, w)):
                out.append(Reader(f"{name}.{i}", s, s + w, [Dictionary(f"tok@{n}", p.tok_emb[:, c:e], toks)],
                                  const(s, s + w)))
        else:
            out.append(Reader(name, a, b, ds, const(a, b)))
    return out


def unit_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row over its length (scaled by its largest entry first, so 1e20s do not
    overflow), and which rows are non-zero."""
    rows = np.asarray(rows, dtype=np.float64)
    rs = np.abs(rows).max(axis=1, keepdims=True)
    rn = np.divide(rows, rs, out=np.zeros_like(rows), where=rs > 0)
    nr = np.linalg.norm(rn, axis=1, keepdims=True)
    return np.divide(rn, nr, out=np.zeros_like(rn), where=nr > 0), nr[:, 0] > 0


def cosine_rows(v: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """cos(v, row) for every row; 0 where either vector is zero.

    Computed as 1 - |v/|v| - r/|r||^2 / 2: the same number as the dot product of
    unit vectors, but exact to rounding near 1, where the book's powerpoints (§5.2.1)
    put neighbours whose cosines differ by less than 1e-15."""
    v = np.asarray(v, dtype=np.float64)
    out = np.zeros(np.shape(rows)[0])
    nv = np.linalg.norm(v / np.abs(v).max()) * np.abs(v).max() if np.any(v) else 0.0
    if nv == 0 or not np.isfinite(nv):
        return out
    unit_r, ok = unit_rows(rows)
    diff = unit_r - v / nv
    out[ok] = 1 - 0.5 * np.einsum("ij,ij->i", diff, diff)[ok]
    return np.clip(out, -1.0, 1.0)


def cosine_matrix(vs: np.ndarray, rows: np.ndarray, near: float = 1e-9) -> np.ndarray:
    """cos(v, row) for every v of vs (R, w) and row of rows (E, w); 0 where either is
    zero or not finite. Unit vectors' dot products (BLAS), except for the vs whose best
    two rows are within `near` of each other: those get cosine_rows's formula, exact
    near 1 (SORT's powerpoints, §5.2.1)."""
    vs = np.asarray(vs, dtype=np.float64)
    finite = np.all(np.isfinite(vs), axis=1)
    uv, okv = unit_rows(np.where(finite[:, None], vs, 0.0))
    ur, okr = unit_rows(rows)
    out = np.clip(uv @ ur.T, -1.0, 1.0)
    out[:, ~okr] = 0
    if out.shape[1] > 1:
        top2 = np.partition(out, -2, axis=1)[:, -2:]
        for i in np.flatnonzero((top2[:, 1] - top2[:, 0] < near) & okv & finite):
            out[i] = cosine_rows(vs[i], rows)
    out[~(okv & finite)] = 0
    return out


def read_vector(v: np.ndarray, dicts: list[Dictionary]) -> list[Reading]:
    """The best match of v in each dictionary (empty when v is zero or nothing fits)."""
    if not dicts or not np.any(v):
        return []
    out = []
    for d in dicts:
        cos = cosine_rows(v, d.rows)
        i = int(np.argmax(cos))
        out.append(Reading(d.kind, d.labels[i], float(cos[i])))
    return out


def read_stream(program, x: np.ndarray, rs: list[Reader] | None = None) -> dict[str, list[Reading]]:
    """One residual vector (d,) read slot by slot: {reader label: best match per dictionary}."""
    rs = rs or readers(program)
    return {r.label: read_vector(x[r.start:r.stop], r.dicts) for r in rs}


# -- logit lens --------------------------------------------------------------------------
def lens_points(n_layers: int) -> list[tuple[str, str]]:
    """(label, cache key) of each place the logit lens looks: the embedding, then
    after each layer's attention and after its MLP."""
    pts = [("embed", "blocks.0.hook_resid_pre")] if n_layers else []
    for l in range(n_layers):
        pts += [(f"L{l} attn", f"blocks.{l}.hook_resid_mid"), (f"L{l} mlp", f"blocks.{l}.hook_resid_post")]
    return pts


def logit_lens(params: Params, x: np.ndarray) -> np.ndarray:
    """Logits the stream x (..., d) would decode to if the model ended here."""
    return np.einsum("...d,vd->...v", layer_norm(x, params.lnf), params.unembedding)


def top_tokens(logits: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
    order = np.argsort(-logits, kind="stable")[:k]
    return [(int(i), float(logits[i])) for i in order]


# -- spike MLPs (§6.3) ------------------------------------------------------------------
@dataclass
class SpikeMLP:
    """The hidden units 3j, 3j+1, 3j+2 of spike j (lemma 6.1): the same input
    weights, biases c, c + delta, c - delta, and output rows -2r, r, r. Spike j
    is non-zero exactly where its first unit's pre-activation t has |t| < delta."""

    triples: np.ndarray   # (m,) indices j of the triples that are spikes
    delta: np.ndarray     # (m,) bias offset of each
    values: np.ndarray    # (m, d) the value each spike outputs at its centre: delta * r
    rows: np.ndarray      # (m,) the one stream dimension a spike reads (fig. 6.1), or -1
    centres: np.ndarray   # (m,) x_0: the value of that (layer-normed) dimension at the centre


def find_spikes(layer: Layer, rtol: float = 1e-9) -> SpikeMLP | None:
    """The spike triples of a layer's MLP, or None when it holds none."""
    f = layer.d_ff
    if f < 3:
        return None
    m = f // 3
    M1 = layer.M1[:, : 3 * m].reshape(layer.M1.shape[0], m, 3)
    b1 = np.asarray(layer.b1)[: 3 * m].reshape(m, 3)
    M2 = layer.M2[: 3 * m].reshape(m, 3, -1)
    close = lambda a, b: np.all(np.abs(a - b) <= rtol * (1 + np.maximum(np.abs(a), np.abs(b))), axis=-1)
    delta = b1[:, 1] - b1[:, 0]
    ok = (
        close(M1[:, :, 0].T, M1[:, :, 1].T) & close(M1[:, :, 0].T, M1[:, :, 2].T)
        & np.any(M1[:, :, 0] != 0, axis=0)
        & (delta > 0) & (np.abs(b1[:, 0] - b1[:, 2] - delta) <= rtol * (1 + np.abs(b1[:, 0])))
        & close(M2[:, 1], M2[:, 2]) & close(M2[:, 0], -2 * M2[:, 1]) & np.any(M2[:, 1] != 0, axis=-1)
    )
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return None
    w = M1[:, idx, 0]                                          # (d, k) input weights
    single = np.count_nonzero(w, axis=0) == 1
    rows = np.where(single, np.argmax(w != 0, axis=0), -1)
    wr = w[np.maximum(rows, 0), np.arange(idx.size)]
    centres = np.where(single, -b1[idx, 0] / np.where(wr != 0, wr, 1), np.nan) + 0.0  # no -0
    return SpikeMLP(idx, delta[idx], M2[idx, 1] * delta[idx, None], rows, centres)


@dataclass
class Fired:
    spike: int          # index j of the triple (hidden units 3j..3j+2)
    strength: float     # 1 at the spike's centre, 0 at its edge
    value: np.ndarray   # the spike's full output value (d,)


def fired_spikes(spikes: SpikeMLP, pre: np.ndarray) -> list[Fired]:
    """Spikes whose output is non-zero for one position's MLP pre-activations (f,)."""
    t = pre[3 * spikes.triples]
    strength = 1 - np.abs(t) / spikes.delta
    hit = np.flatnonzero(strength > EDGE)
    hit = hit[np.argsort(-strength[hit], kind="stable")]
    return [Fired(int(spikes.triples[i]), float(strength[i]), spikes.values[i]) for i in hit]


def spike_notes(program, n_spikes: int) -> dict | None:
    """The spike_mlp builtin's note (Program.notes['spike_mlps']) for an MLP of n_spikes
    spikes, if one matches: it holds min_sep, the spikes' half-width."""
    for note in (program.notes or {}).get("spike_mlps", []) or []:
        if isinstance(note, dict) and (note.get("points") == n_spikes or note.get("hidden") == 3 * n_spikes):
            return note
    return None
