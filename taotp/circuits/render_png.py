"""Heatmaps of a program's circuits (matplotlib, the optional `plot` extra).

- one figure per head: QK over tokens, QK over positions (masked above the
  diagonal), OV read through the unembedding. Each entry is coloured by its rank
  within its row (0: the row's lowest, 1: its highest): scores range from 1e-3 to
  1e20 between programs and between neighbours of one row (SORT's powerpoints),
  and what a row prefers is its order; the title gives the spread (mean row range)
  in score units. Rows that prefer nothing are drawn 0;
- the embeddings alone (direct path): tokens and positions -> the token they decode to;
- per spike MLP (§6.3): each spike's centre on the dimension it reads against the
  token it writes, spikes that fired on the samples marked.
Tick labels, the PNG encoding and the files are trace's (trace/render_png.py).
"""

from __future__ import annotations

import numpy as np

from ..trace.render_png import _shown, _ticks, png_bytes, require_matplotlib
from .neurons import MLPReading
from .report import Circuits, HeadReading
from .tables import Table

TICKS = 30          # labels per axis at most (text layout is most of a figure's time)
AXES = {"qk_tokens": ("key token", "query token"), "qk_positions": ("key position", "query position"),
        "ov": ("token written", "attended token"), "direct_tokens": ("token decoded", "input token"),
        "direct_positions": ("token decoded", "position")}
TITLES = {"qk_tokens": "QK: query token (row) → key token",
          "qk_positions": "QK: query position → key position",
          "ov": "OV: attended token → token written",
          "direct_tokens": "token → token it decodes to",
          "direct_positions": "position → token it decodes to"}


def row_ranks(t: Table) -> np.ndarray:
    """Each row's entries as their rank in the row, scaled to [0, 1] (1: the row's
    highest; equal entries share a rank); rows that prefer nothing (flat, at rounding
    level) are 0; NaN stays NaN (masked key, unsampled row)."""
    v = t.values
    out = np.where(np.isfinite(v), 0.0, np.nan)
    for r in np.flatnonzero(t.decided):
        fin = np.isfinite(v[r])
        levels, rank = np.unique(v[r, fin], return_inverse=True)
        out[r, fin] = rank / max(1, levels.size - 1)
    return out


def _panel(ax, t: Table, cmap) -> object:
    im = ax.imshow(row_ranks(t), cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_title(f"{TITLES[t.kind]}\nspread {t.spread:.2g}" + (" (flat)" if t.flat else ""), fontsize=8)
    _ticks(ax, [_shown(s) for s in t.cols], "x", TICKS)
    _ticks(ax, [_shown(s) for s in t.rows], "y", TICKS)
    ax.set_xlabel(AXES[t.kind][0], fontsize=8)
    ax.set_ylabel(AXES[t.kind][1], fontsize=8)
    return im


def _cmap(plt):
    return plt.get_cmap("viridis").with_extremes(bad="0.85")     # grey: masked keys, unsampled rows


def _grid(plt, n: int, title: str, what: str):
    """A row of n square-ish panels, with the colour bar in its own axis at the right
    (a fixed layout: matplotlib's constrained layout took ~1 s a figure)."""
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n + 1.0, 5.2))
    fig.subplots_adjust(left=0.06, right=0.9, bottom=0.14, top=0.84, wspace=0.3)
    fig.suptitle(title, fontsize=10)
    return fig, axes, lambda im: fig.colorbar(im, cax=fig.add_axes([0.92, 0.15, 0.012, 0.65]),
                                              label=f"rank within the row (1: highest {what})")


def head_figure(h: HeadReading, plt) -> tuple[str, str, object]:
    fig, axes, bar = _grid(plt, 3, f"layer {h.layer} head {h.head} [{h.basis.describe()}]", "score")
    cmap = _cmap(plt)
    for ax, kind in zip(axes, ("qk_tokens", "qk_positions", "ov")):
        im = _panel(ax, h.tables[kind], cmap)
    bar(im)
    return (f"head_L{h.layer}_H{h.head}", f"head {h.name}: {h.summary}", fig)


def direct_figure(c: Circuits, plt) -> tuple[str, str, object]:
    fig, axes, bar = _grid(plt, 2, "embeddings alone: LN_f, then the unembedding", "logit")
    cmap = _cmap(plt)
    for ax, kind in zip(axes, ("direct_tokens", "direct_positions")):
        im = _panel(ax, c.direct[kind], cmap)
    bar(im)
    return ("embeddings", f"embeddings: {c.direct_summary}", fig)


def spike_figure(c: Circuits, m: MLPReading, plt) -> tuple[str, str, object] | None:
    s = m.spikes
    if s is None or not np.isfinite(s.found.centres).any():
        return None
    f = s.found
    ok = np.isfinite(f.centres) & (s.writes >= 0)
    fig, ax = plt.subplots(figsize=(9, 4.2))
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.13, top=0.9)
    fired = ok & (s.fired > 0)
    ax.scatter(f.centres[ok & ~fired], s.writes[ok & ~fired], s=6, color="0.6", label="not fired on the samples")
    ax.scatter(f.centres[fired], s.writes[fired], s=14, color="C3", label="fired on the samples")
    ax.set_yticks(range(len(c.tokens)), [_shown(t) for t in c.tokens], fontsize=7)
    dims = sorted({int(r) for r in f.rows})
    ax.set_xlabel(f"spike centre: value of LN'd dim {dims[0]}" if len(dims) == 1 else "spike centre", fontsize=8)
    ax.set_ylabel("token it writes", fontsize=8)
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"layer {m.layer} MLP: {f.triples.size} spikes (§6.3)", fontsize=9)
    return (f"spikes_L{m.layer}", f"mlp {m.layer}: {c.mlp_summaries[m.layer]}", fig)


def figures(c: Circuits) -> list[tuple[str, str, object]]:
    plt = require_matplotlib()
    figs = [direct_figure(c, plt)] if c.direct else []
    for l in sorted({h.layer for h in c.heads} | {m.layer for m in c.mlps}):
        figs += [head_figure(h, plt) for h in c.heads if h.layer == l]
        figs += [f for f in (spike_figure(c, m, plt) for m in c.mlps if m.layer == l) if f is not None]
    return figs


def rendered(c: Circuits) -> list[tuple[str, str, bytes]]:
    """(file stem, caption, PNG bytes) of every picture."""
    return [(stem, cap, png_bytes(fig)) for stem, cap, fig in figures(c)]
