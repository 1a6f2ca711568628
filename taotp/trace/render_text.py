"""The terminal view of a trace, readable at 80 columns.

For each generated token: which positions each head attended to; the residual
stream read slot by slot after the embedding and after each layer's attention
and MLP (readout.py); the logit lens at the same points; the spikes that fired
in spike MLPs (§6.3). The view is built as lines of styled segments, printed
with rich (the optional `pretty` extra) when it is installed, plain otherwise.
"""

from __future__ import annotations

import sys

import numpy as np

from . import readout
from .cache import Trace

WIDTH = 80
QUIET = 1e-6   # a slot this small next to its whole residual vector reads as cleaned up
Seg = tuple[str, str]          # (text, rich style or "")
Line = list[Seg]


def _tok(s: str, n: int = 8) -> str:
    s = repr(s)[1:-1] if s.strip() != s or not s else s
    return s if len(s) <= n else s[: n - 1] + "…"


def _q(s: str, n: int = 8) -> str:
    return "'" + _tok(s, n) + "'"


def _num(x: float) -> str:
    return f"{x:.2f}" if abs(x) < 1e4 else f"{x:.1e}"


def _words(text: str, style: str) -> Line:
    """A text as one segment per word (so that a long line can wrap between words)."""
    words = text.split(" ")
    return [((" " if i else "") + w, style) for i, w in enumerate(words)]


def wrap(line: Line, width: int = WIDTH, indent: int = 8) -> list[Line]:
    """Break a line between segments so that no piece is wider than `width`;
    continuation lines are indented."""
    out: list[Line] = [[]]
    used = 0
    for text, style in line:
        if used + len(text) > width and used > indent:
            out.append([(" " * indent, "")])
            used = indent
            text = text.lstrip(" ")
        if used + len(text) > width:                 # one segment too long on its own
            text = text[: max(1, width - used - 1)] + "…"
        out[-1].append((text, style))
        used += len(text)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def checkpoints(t: Trace) -> list[tuple[str, np.ndarray]]:
    """(label, residual stream (n, d)) after the embedding and each attention/MLP
    sub-layer; a sub-layer that left the stream unchanged is not repeated."""
    pts = [("embed", t.cache["hook_embed"] + t.cache["hook_pos_embed"])]
    for l in range(len(t.params.layers)):
        for label, key in ((f"L{l} attn", f"blocks.{l}.hook_resid_mid"),
                           (f"L{l} mlp", f"blocks.{l}.hook_resid_post")):
            if not np.array_equal(t.cache[key], pts[-1][1]):
                pts.append((label, t.cache[key]))
    return pts


def _cut(text: str, n: int) -> str:
    """text in a column of width n, with at least one space after it."""
    return (text if len(text) < n else text[: n - 2] + "…").ljust(n)


def _columns(rows: list[list[str]], first: int, col: int, width: int = WIDTH) -> list[list[str]]:
    """Rows of cells (first cell a row label) as text lines; columns beyond the width
    continue in another block below."""
    ncols = len(rows[0]) - 1
    per = max(1, (width - 2 - first) // col)
    out = []
    for c0 in range(0, ncols, per):
        for r in rows:
            cells = r[1 + c0: 1 + c0 + per]
            out.append("  " + _cut(r[0], first) + "".join(_cut(c, col) for c in cells).rstrip())
        out.append("")
    return out[:-1]


class TextView:
    def __init__(self, t: Trace, top_heads: int = 4, min_weight: float = 0.01, lens_k: int = 3):
        self.t, self.top_heads, self.min_weight, self.lens_k = t, top_heads, min_weight, lens_k
        self.slots = readout.slot_layout(t.program)
        self.readers = readout.readers(t.program, self.slots)
        self.points = checkpoints(t)
        self.spikes = [readout.find_spikes(L) for L in t.params.layers]

    def joined(self, toks: list[str]) -> str:
        """Tokens as the user types them: run together for a chars vocabulary."""
        if self.t.program.vocab.mode == "chars":
            return "".join(toks)
        return " ".join(_tok(s, 24) for s in toks)

    # -- pieces ------------------------------------------------------------------------
    def header(self) -> list[Line]:
        t, p = self.t, self.t.params
        counts = sorted({L.n_heads for L in p.layers}) or [0]
        heads = _plural(counts[0], 'head') if len(counts) == 1 else f"{'/'.join(str(L.n_heads) for L in p.layers)} heads"
        slots = "  ".join(f"{k}:{a}-{b}" for k, (a, b) in self.slots.items())
        inp = t.tokens[: t.prompt_len]
        out = [t.token(i) for i in t.generated]
        lines = [
            [(f"trace {t.program.name}", "bold"),
             (f"  {_plural(len(p.layers), 'layer')}, {heads}, d_model {p.d_model}",
              "dim")],
            [("slots   ", "dim")] + _words(slots, ""),
            [("input   ", "dim")] + _words(self.joined(inp), ""),
            [("output  ", "dim")] + _words(self.joined(out) or "(nothing)", "bold green"),
        ]
        if len(t.ids) < t.prompt_len + len(t.generated):
            lines.append([("note    ", "dim"),
                          ("the last output token is past the block size: it was never an input", "dim")])
        return lines

    def attention(self, q: int) -> list[Line]:
        lines: list[Line] = []
        t = self.t
        for l in range(len(t.params.layers)):
            pat = t.cache[f"blocks.{l}.attn.hook_pattern"]          # (h, n, m)
            if not np.any(t.params.layers[l].V) and not np.any(t.params.layers[l].P):
                continue
            for h in range(pat.shape[0]):
                if not (np.any(t.params.layers[l].V[h]) and np.any(t.params.layers[l].P[h])):
                    continue          # a head that writes nothing reads nothing worth showing
                w = pat[h, q]
                top = [m for m in np.argsort(-w, kind="stable")[: self.top_heads] if w[m] > self.min_weight]
                segs: Line = [(f"  L{l} h{h:<3}", "cyan")]
                for m in top:
                    segs += [(f" {m}:", "dim"), (_q(t.token(t.ids[m]), 6), "bold"), (f" {w[m]:.2f}", "")]
                rest = 1 - sum(w[m] for m in top)
                if rest > self.min_weight:
                    segs.append((f"  (+{rest:.2f} elsewhere)", "dim"))
                lines.append(segs)
        return lines

    def stream(self, q: int) -> list[Line]:
        header = ["slot"] + [label for label, _ in self.points]
        rows = []
        for rd in self.readers:
            a, b = rd.start, rd.stop
            dicts = rd.dicts or [None]
            for d in dicts:
                row = [rd.label if d is dicts[0] else ""]
                for _, x in self.points:
                    v = x[q, a:b]
                    if b - a == 1:            # a 1-wide slot holds a number: show it
                        row.append(f"= {_num(float(v[0]))}")
                        continue
                    if not np.any(v):
                        row.append("·")
                        continue
                    size = float(np.linalg.norm(v))
                    if size <= QUIET * np.linalg.norm(x[q]):   # cleaned up (§3.4): rounding is left
                        row.append(f"~0 ({size:.0e})")
                        continue
                    if d is None:
                        row.append(f"|{_num(size)}|")
                        continue
                    r = readout.read_vector(v, [d])[0]
                    if rd.constant is not None and d.kind.startswith("tok@"):
                        c = float(readout.cosine_rows(rd.constant, v[None])[0])
                        if c > max(r.score, 0.999):     # still what the embedding wrote (padding)
                            row.append(f"emb const {c:.2f}")
                            continue
                    row.append(f"{d.kind.split('@')[0]} {_tok(r.label, 5)} {r.score:.2f}")
                rows.append(row)
        return [[(s, "dim" if i % (len(rows) + 2) == 0 else "")] for i, s in
                enumerate(_columns([header] + rows, first=8, col=15))]

    def lens(self, q: int) -> list[Line]:
        lines: list[Line] = []
        t = self.t
        for label, x in self.points:
            logits = readout.logit_lens(t.params, x[q])
            tops = readout.top_tokens(logits, self.lens_k)
            segs: Line = [(f"  {label:<8}", "dim")]
            for j, (i, v) in enumerate(tops):
                # the runners-up as their gap to the top logit: close calls stay visible
                val = _num(v) if j == 0 else f"{v - tops[0][1]:+.2g}"
                segs += [(f" {_q(t.token(i), 6)}", "bold" if j == 0 else ""), (f" {val}", "dim")]
            lines.append(segs)
        return lines

    def spikes_at(self, q: int) -> list[Line]:
        lines: list[Line] = []
        t = self.t
        for l, sp in enumerate(self.spikes):
            if sp is None:
                continue
            fired = readout.fired_spikes(sp, t.cache[f"blocks.{l}.mlp.hook_pre"][q])
            note = readout.spike_notes(t.program, len(sp.triples))
            if not fired:
                lines.append([(f"  L{l} mlp: ", "cyan"), (f"no spike fired (of {len(sp.triples)})", "yellow")])
            if fired:
                sep = f", min_sep {note['min_sep']:.2g}" if note and "min_sep" in note else ""
                row = sp.rows[0]
                reads = f"reads LN'd dim {row}" if row >= 0 and np.all(sp.rows == row) else "reads"
                seen = t.cache[f"blocks.{l}.ln2.hook_normalized"][q, row] if row >= 0 else None
                lines.append([(f"  L{l} mlp: ", "cyan"), (f"{len(sp.triples)} spikes{sep}; {reads}", "dim")]
                             + ([(" = ", ""), (f"{seen:.6g}", "bold")] if seen is not None else []))
            for f in fired[:3]:
                j = int(np.searchsorted(sp.triples, f.spike))
                at = f" at {sp.centres[j]:.6g}" if np.isfinite(sp.centres[j]) else ""
                cos = readout.cosine_rows(f.value, t.params.unembedding)
                best = int(np.argmax(cos))
                lines.append([("    fired ", ""), (f"#{j}", "bold"), (at, ""),
                              (f" (strength {f.strength:.2f})", "dim"),
                              (" -> value ~ ", ""), (_q(t.token(best)), "bold green"),
                              (f" (cos {cos[best]:.2f})", "dim")])
            if len(fired) > 3:
                lines.append([(f"    ... and {len(fired) - 3} more", "dim")])
        return lines

    # -- whole view ------------------------------------------------------------------------
    def lines(self) -> list[Line]:
        t = self.t
        out = self.header()
        steps = t.steps()
        for s, (q, g) in enumerate(steps, 1):
            out.append([])
            if q >= len(t.ids):
                break
            head: Line = [(f"step {s}", "bold magenta"), (f"  position {q} ", ""),
                          (_q(t.token(t.ids[q])), "bold"), ("  ->  ", ""), (_q(t.token(g)), "bold green")]
            used = sum(len(x) for x, _ in head)
            out.append(head + [("  " + "─" * max(0, WIDTH - 3 - used), "dim")] if used < WIDTH - 8 else head)
            att = self.attention(q)
            if att:
                out.append([("attention (position:token weight)", "underline")])
                out += att
            out.append([("residual stream, slot by slot (nearest by cosine)", "underline")])
            out += self.stream(q)
            out.append([("logit lens (top token and logit; runners-up: gap to it)", "underline")])
            out += self.lens(q)
            sp = self.spikes_at(q)
            if sp:
                out.append([("spike MLP", "underline")])
                out += sp
        if not steps:
            out += [[], [("no token was generated", "yellow")]]
        return [piece for line in out for piece in wrap(line)]


def plain_text(lines: list[Line]) -> str:
    return "\n".join("".join(s for s, _ in line) for line in lines) + "\n"


def print_lines(lines: list[Line], file=None, color: bool | None = None) -> None:
    """Print styled lines: with rich when installed (colours on a terminal), else plain."""
    file = file or sys.stdout
    try:
        from rich.console import Console
        from rich.text import Text
    except ImportError:
        file.write(plain_text(lines))
        return
    console = Console(file=file, width=max(WIDTH, 80), highlight=False, soft_wrap=True,
                      force_terminal=color, no_color=color is False)
    for line in lines:
        console.print(Text.assemble(*[(s, st or "") for s, st in line]))


def render_plain(t: Trace, **kw) -> str:
    return plain_text(TextView(t, **kw).lines())


def print_trace(t: Trace, file=None, color: bool | None = None, **kw) -> None:
    """Print the view: with rich when installed (colours on a terminal), else plain."""
    print_lines(TextView(t, **kw).lines(), file, color)
