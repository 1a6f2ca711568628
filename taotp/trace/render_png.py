"""Pictures of a trace (matplotlib, the optional `plot` extra).

- attention heatmaps, one figure per layer, one panel per head ([query, key]);
- the residual stream as a heatmap after the embedding and each sub-layer, with
  the slot boundaries marked (values on a signed log scale: weights of 1e20 sit
  next to values of 1);
- the 3-D ring encodings of width-3 slots as in the book's fig. 2.7 (§2.3): each
  token's (or position's) 3 coordinates projected onto the plane perpendicular
  to (1, 1, 1), where layer norm leaves them on the circle of radius sqrt(3).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import UsageError
from . import readout
from .cache import Trace
from .render_text import checkpoints

MAX_TICKS = 40      # label every position / point up to this many
# An orthonormal basis of the plane perpendicular to (1, 1, 1) (§2.3: the ring is
# sqrt(3) * (cos t * U + sin t * W)).
U = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
W = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)


def require_matplotlib():
    """pyplot on the non-interactive backend, or a clear error naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError("pictures need matplotlib, which is not installed",
                         hint="pip install 'taotp[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _shown(s: str) -> str:
    """A token as a label: quoted when blank or padded, so ' ' stays visible."""
    return repr(s) if not s.strip() or s.strip() != s else s


def _labels(t: Trace) -> list[str]:
    return [f"{i}:{_shown(t.token(tok))}" for i, tok in enumerate(t.ids)]


def _ticks(ax, labels: list[str], axis: str, most: int = MAX_TICKS) -> None:
    n = len(labels)
    step = max(1, int(np.ceil(n / most)))
    idx = list(range(0, n, step))
    if axis == "x":
        ax.set_xticks(idx, [labels[i] for i in idx], rotation=90, fontsize=7)
    else:
        ax.set_yticks(idx, [labels[i] for i in idx], fontsize=7)


def attention_figures(t: Trace, plt) -> list[tuple[str, str, object]]:
    figs = []
    labels = _labels(t)
    for l, layer in enumerate(t.params.layers):
        pat = t.cache[f"blocks.{l}.attn.hook_pattern"]             # (h, n, m)
        h = pat.shape[0]
        cols = min(h, 4)
        rows = int(np.ceil(h / cols))
        size = 2.2 + 0.12 * len(labels)
        fig, axes = plt.subplots(rows, cols, figsize=(size * cols + 1.2, size * rows), squeeze=False,
                                 layout="constrained")
        for i, ax in enumerate(axes.flat):
            if i >= h:
                ax.axis("off")
                continue
            im = ax.imshow(pat[i], cmap="viridis", vmin=0, vmax=1)
            ax.set_title(f"layer {l} head {i}", fontsize=9)
            ax.set_xlabel("key position", fontsize=8)
            ax.set_ylabel("query position", fontsize=8)
            ax.axhline(t.prompt_len - 0.5, color="w", lw=0.8, ls=":")
            _ticks(ax, labels, "x")
            _ticks(ax, labels, "y")
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
        figs.append((f"attention_L{l}", f"Attention, layer {l}", fig))
    return figs


def signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log10(1 + np.abs(x))


def residual_figure(t: Trace, plt) -> tuple[str, str, object]:
    pts = checkpoints(t)
    slots = readout.slot_layout(t.program)
    labels = _labels(t)
    n, d = pts[0][1].shape
    w = 1.5 + 0.25 * d + 0.8
    fig, axes = plt.subplots(1, len(pts), figsize=(max(3.5, w) * len(pts), 1.9 + 0.2 * n), squeeze=False,
                             layout="constrained")
    for ax, (label, x) in zip(axes[0], pts):
        v = signed_log(x)
        vmax = max(1e-9, float(np.abs(v).max()))   # each panel on its own scale
        im = ax.imshow(v, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set_title(f"residual after {label}", fontsize=9, pad=18)
        _ticks(ax, labels, "y")
        ax.set_xlabel("d_model", fontsize=8)
        for name, (a, b) in slots.items():
            if a > 0:
                ax.axvline(a - 0.5, color="k", lw=1.2)
            ax.text((a + b - 1) / 2, -0.7, name, ha="center", va="bottom", fontsize=7,
                    clip_on=False)
        ax.axhline(t.prompt_len - 0.5, color="k", lw=0.8, ls=":")
        xs = list(range(0, d, max(1, int(np.ceil(d / MAX_TICKS)))))
        ax.set_xticks(xs, [str(i) for i in xs], fontsize=7)
        cb = fig.colorbar(im, ax=ax, shrink=0.8)
        cb.ax.tick_params(labelsize=7)
        cb.set_label("sign(x)·log10(1+|x|)", fontsize=7)
    return ("residual", "Residual stream (slot boundaries marked; dotted line: end of input)", fig)


def ring_sets(t: Trace) -> list[tuple[str, np.ndarray, list[str]]]:
    """(title, points (k, 3), labels) for every width-3 slot the embeddings write."""
    p = t.params
    out = []
    slots = readout.slot_layout(t.program)
    for name, (a, b) in slots.items():
        if b - a != 3:
            continue
        for kind, emb, labels in (("tok_emb", p.tok_emb, [str(s) for s in t.program.vocab.tokens]),
                                  ("pos_emb", p.pos_emb, [str(i) for i in range(p.block_size)])):
            rows = emb[:, a:b]
            if readout._informative(rows):
                out.append((f"{kind}[:, {name}]", rows, [_shown(s) for s in labels]))
    return out


def ring_figure(t: Trace, plt):
    sets = ring_sets(t)
    if not sets:
        return None
    fig, axes = plt.subplots(1, len(sets), figsize=(4.6 * len(sets), 4.8), squeeze=False,
                             layout="constrained")
    th = np.linspace(0, 2 * np.pi, 200)
    for ax, (title, pts, labels) in zip(axes[0], sets):
        xy = np.stack([pts @ U, pts @ W], axis=1)                   # (k, 2) in the plane
        off = np.abs(pts.sum(axis=1)).max() / np.sqrt(3)             # largest distance off the plane
        r = np.linalg.norm(xy, axis=1)
        scale = np.sqrt(3) / np.median(r[r > 0]) if np.any(r > 0) else 1.0
        note = ""
        if abs(np.log10(scale)) > 0.3:         # far off the ring, e.g. HELLO: pos_emb = 1e6 * tokens
            xy, off = xy * scale, off * scale
            note = f", shown x{scale:.3g}"
        ax.plot(np.sqrt(3) * np.cos(th), np.sqrt(3) * np.sin(th), color="0.8", lw=1, ls="--")
        ax.scatter(xy[:, 0], xy[:, 1], c=np.arange(len(xy)), cmap="viridis", s=18, zorder=3)
        step = max(1, int(np.ceil(len(xy) / MAX_TICKS)))
        r = np.linalg.norm(xy, axis=1, keepdims=True)
        lab = xy * (1 + 0.12 / np.maximum(r, 1e-9))
        groups: dict[tuple, list[str]] = {}                         # coincident points share a label
        for i in range(0, len(xy), step):
            groups.setdefault(tuple(np.round(xy[i], 6)), []).append(i)
        for idx in groups.values():
            i = idx[0]
            text = ",".join(labels[j] for j in idx[:4]) + (",…" if len(idx) > 4 else "")
            ax.annotate(text, (lab[i, 0], lab[i, 1]), fontsize=7, ha="center", va="center")
        lim = max(2.1, float(np.abs(xy).max()) * 1.2)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(f"{title}{note}\nprojected on the plane perp. to (1,1,1); off-plane {off:.1e}",
                     fontsize=8)
        ax.axhline(0, color="0.9", lw=0.5, zorder=0)
        ax.axvline(0, color="0.9", lw=0.5, zorder=0)
    return ("rings", "3-D ring encodings (book fig. 2.7): dashed circle radius sqrt(3)", fig)


def figures(t: Trace) -> list[tuple[str, str, object]]:
    """(file stem, caption, matplotlib Figure) of every picture of the trace."""
    plt = require_matplotlib()
    figs = attention_figures(t, plt)
    figs.append(residual_figure(t, plt))
    ring = ring_figure(t, plt)
    if ring is not None:
        figs.append(ring)
    return figs


def png_bytes(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def rendered(t: Trace) -> list[tuple[str, str, bytes]]:
    """(file stem, caption, PNG bytes) of every picture."""
    return [(stem, cap, png_bytes(fig)) for stem, cap, fig in figures(t)]


def save_pngs(t: Trace, directory, pics=None) -> list[Path]:
    """Write every picture (or the already `rendered` pics) as DIR/<stem>.png; return the paths."""
    return write_pngs(directory, rendered(t) if pics is None else pics)


def write_pngs(directory, pics: list[tuple[str, str, bytes]]) -> list[Path]:
    """Write (stem, caption, PNG bytes) pictures as DIR/<stem>.png; return the paths."""
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
        paths = []
        for stem, _, data in pics:
            path = d / f"{stem}.png"
            path.write_bytes(data)
            paths.append(path)
    except OSError as e:
        raise UsageError(f"cannot write pictures to {str(d)!r}: {e.strerror or e}") from None
    return paths
