"""What layer norm does to a program's stream (DESIGN.md §6: layer norm is the compiler's job).

The book's layer norm divides each position's stream by its standard deviation (after
subtracting its mean). A stream made of *codes* (mean 0, sum of squares = size: ring
points §2.3, padding blocks §4.1, centred one-hot codes) has mean 0 and std 1, so layer
norm is the identity and every sublayer reads exactly what was written (thm 3.1). Two
reports say whether a program's stream is like that:

- static (`embedding_scales`): the rows tok_emb[t] + pos_emb[p] that layer 0 sees, for
  every token and position: their mean and std (the "layer-norm scale");
- measured (`measure_scales`): the std before every sublayer's layer norm and the final
  one, min and max over the positions of some inputs, run through the reference
  engine's own functions (taotp/engine/reference.py).

`taotp params` shows the first, `taotp check` both; `check` warns when a program whose
every dimension is a library slot (docs/library.md) shows a scale other than 1.
"""

from __future__ import annotations

import numpy as np

from .engine.reference import layer_norm, mlp, self_attention

IDENTITY = 1e-9          # static: |mean| and |std - 1| within this: layer norm is the identity
MEASURED_SAMPLES = 200   # inputs whose runs `check` measures


def embedding_scales(params) -> dict:
    """Mean and std of tok_emb[t] + pos_emb[p] over every (token, position) pair."""
    T = np.asarray(params.tok_emb, dtype=np.float64)
    P = np.asarray(params.pos_emb, dtype=np.float64)
    d = T.shape[1]
    mean = (T.sum(axis=1)[:, None] + P.sum(axis=1)[None, :]) / d                       # (V, B)
    squares = (T ** 2).sum(axis=1)[:, None] + (P ** 2).sum(axis=1)[None, :] + 2 * T @ P.T
    std = np.sqrt(np.maximum(squares / d - mean ** 2, 0.0))
    out = {"mean_max": float(np.abs(mean).max()), "scale_min": float(std.min()), "scale_max": float(std.max())}
    out["identity"] = out["mean_max"] <= IDENTITY and max(abs(out["scale_min"] - 1), abs(out["scale_max"] - 1)) <= IDENTITY
    return out


def measure_scales(params, sequences) -> list[dict]:
    """The std each layer norm divides by, min and max over every position of every
    sequence (token ids, prefix included): one entry per sublayer, then the final one."""
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    order: list[str] = []

    def note(where: str, x: np.ndarray) -> None:
        s = x.var(axis=-1) ** 0.5
        if where not in lo:
            order.append(where)
            lo[where], hi[where] = float(s.min()), float(s.max())
        else:
            lo[where], hi[where] = min(lo[where], float(s.min())), max(hi[where], float(s.max()))

    for toks in sequences:
        toks = np.asarray(toks, dtype=np.int64)
        x = params.tok_emb[toks] + params.pos_emb[np.arange(toks.size)]
        for i, layer in enumerate(params.layers):
            note(f"layer {i} attention", x)
            x = x + self_attention(layer_norm(x, layer.ln1), layer)
            note(f"layer {i} MLP", x)
            x = x + mlp(layer_norm(x, layer.ln2), layer)
        note("final", x)
    return [{"where": w, "min": lo[w], "max": hi[w]} for w in order]


def tolerance(dtype) -> float:
    return max(1e-6, 100 * float(np.finfo(np.dtype(dtype)).eps))


def report(program, sequences, params) -> dict:
    """Everything `check` says about layer norm: the static embedding scales, the
    measured scales, the stream notes the compiler made, and a warning if any."""
    stream = program.notes.get("stream", {})
    scales = measure_scales(params, sequences) if sequences else []
    tol = tolerance(params.tok_emb.dtype)
    scratch = set(stream.get("scratch", []))    # sublayers that read a scratch scalar, by design
    off = [s for s in scales if max(abs(s["min"] - 1), abs(s["max"] - 1)) > tol and s["where"] not in scratch]
    warning = None
    if stream.get("library") and off:
        warning = (f"every slot of this program is a library slot, so layer norm should be the identity, but "
                   + "; ".join(f"{s['where']} divides by {fmt_range(s)}" for s in off[:3])
                   + " (a slot does not hold a code: see docs/library.md, the stream model)")
    return {"embeddings": embedding_scales(program.params), "measured": scales, "inputs": len(sequences),
            "adds": list(stream.get("adds", [])), "library": bool(stream.get("library")),
            "scratch": sorted(scratch), "warning": warning}


def fmt_range(s: dict) -> str:
    a, b = s["min"], s["max"]
    dev = max(abs(a - 1), abs(b - 1))
    if dev < 1e-4:
        return "1" if dev == 0 else f"1±{dev:.0e}"
    return f"{a:.6g}" if f"{a:.6g}" == f"{b:.6g}" else f"{a:.6g}-{b:.6g}"


def embedding_line(e: dict) -> str:
    if e["identity"]:
        dev = max(abs(e["scale_min"] - 1), abs(e["scale_max"] - 1), e["mean_max"])
        return f"layer norm at layer 0: the identity on every embedding row tok_emb[t] + pos_emb[p] (within {dev:.1g})"
    return (f"layer norm at layer 0: divides the embedding rows by {fmt_range({'min': e['scale_min'], 'max': e['scale_max']})}"
            f" (mean up to {e['mean_max']:.3g}): the embeddings are not codes (§3.3, §4.1)")


def lines(r: dict, max_adds: int = 8) -> list[str]:
    """The report as text (for `check`; `params` prints the static part)."""
    out = [embedding_line(r["embeddings"])]
    if r["measured"]:
        parts = ", ".join(f"{s['where']} {fmt_range(s)}" for s in r["measured"])
        out.append(f"layer-norm scale (the std it divides by; {r['inputs']} inputs): {parts}")
        if r.get("scratch"):
            out.append(f"  ({', '.join(r['scratch'])}: a scratch scalar that attention averaged, by design)")
    out += adds_lines(r["adds"], max_adds)
    if r["warning"]:
        out.append("warning: " + r["warning"])
    return out


def adds_lines(adds: list[str], max_adds: int = 8) -> list[str]:
    out = [f"note: {a}" for a in adds[:max_adds]]
    if len(adds) > max_adds:
        out.append(f"note: ... and {len(adds) - max_adds} more sublayer(s) adding into earlier writes")
    return out
