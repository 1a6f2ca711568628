"""The terminal view of a program's circuits, readable at 80 columns.

First a summary (one line per head and per MLP, in words), then per head its
tables as the best column of each row ("3→4": query token 3 attends most to key
token 4), bounded: long tables show their first and last rows and the rows that
break the rule the summary states. Then the MLPs (a bounded list of spikes or
neurons), and the direct path. Lines are trace.render_text's styled segments.
"""

from __future__ import annotations

import numpy as np

from ..trace.render_text import WIDTH, Line, _num, _plural, _q, _tok, plain_text, print_lines, wrap
from ..trace.readout import slot_layout
from .neurons import MLPReading
from .report import Circuits, HeadReading
from .rules import Rule
from .tables import Table

HEAD_ROWS, TAIL_ROWS = 12, 4       # rows of a long table shown before and after the "…"
EXCEPTIONS = 8                      # rows breaking the rule shown
UNITS = 12                          # spikes / neurons listed per MLP
ARROW = "→"

TITLES = {"qk_tokens": "QK tokens", "qk_positions": "QK positions", "ov": "OV tokens",
          "direct_tokens": "tokens", "direct_positions": "positions"}
WHAT = {"qk_tokens": "query token → key it attends to most",
        "qk_positions": "query position → key position",
        "ov": "attended token → token it writes most",
        "direct_tokens": "token → token it decodes to",
        "direct_positions": "position → token it decodes to"}


def label(s: str, n: int = 8) -> str:
    """A token as shown in a pair: quoted when blank or padded, so ' ' stays visible."""
    return repr(s) if not s.strip() or s.strip() != s else _tok(s, n)


def pair_text(t: Table, r: int) -> str:
    return f"{label(t.rows[r])}{ARROW}{label(t.cols[t.best[r]])}"


def shown_rows(t: Table, rule: Rule | None) -> tuple[list[int], list[int]]:
    """(rows listed in order, with -1 standing for "…"; exception rows listed apart)."""
    rows = [int(r) for r in np.flatnonzero(t.decided)]
    if len(rows) > HEAD_ROWS + TAIL_ROWS:
        rows = rows[:HEAD_ROWS] + [-1] + rows[-TAIL_ROWS:]
    exc = [int(r) for r in (rule.exceptions if rule else []) if r not in rows and t.best[r] >= 0]
    return rows, exc[:EXCEPTIONS]


def table_lines(t: Table, rule: Rule | None, label: str | None = None) -> list[Line]:
    head: Line = [(f"  {label or TITLES[t.kind]:<14}", "cyan")]
    if t.flat:
        what = "no row prefers anything" if t.known.any() else "no rows (nothing sampled)"
        return [head + _split([(f"flat: {what} (spread {t.spread:.1e})", "dim")])]
    known, n = int(t.known.sum()), t.values.shape[0]
    seen = f", {known} of {n} rows sampled" if known < n else ""
    lines = [head + _split([(f"spread {t.spread:.2g}{seen}; {WHAT[t.kind]}", "dim")])]
    if rule is not None and rule.kind == "alike" and rule.holds == rule.of:
        return lines
    rows, exc = shown_rows(t, rule)
    segs: Line = [("     ", "")]
    for r in rows:
        segs.append((" …" if r < 0 else " " + pair_text(t, r), "dim" if r < 0 else ""))
    lines.append(segs)
    if exc:
        lines.append([("      not following the rule:", "yellow")] + [(" " + pair_text(t, r), "") for r in exc])
    return lines


def layer_shape(n_heads: int, d_head: int, d_ff: int) -> str:
    """'2 heads of 4, d_ff 8'; a layer without heads says so (its d_head means nothing)."""
    attention = f"{_plural(n_heads, 'head')} of {d_head}" if n_heads else "no attention"
    return f"{attention}, d_ff {d_ff}"


def header(c: Circuits) -> list[Line]:
    prog, p = c.program, c.program.params
    each = [layer_shape(L.n_heads, L.d_head, L.d_ff) for L in p.layers]
    shape = f", {each[0]}" if len(set(each)) == 1 else ""
    slots = "  ".join(f"{k}:{a}-{b}" for k, (a, b) in slot_layout(prog).items())
    sets = ", ".join(f"{k}={v}" for k, v in (prog.settings or {}).items())
    lines = [[(f"circuits {prog.name}", "bold"),
              (f"  {_plural(len(p.layers), 'layer')}{shape}, d_model {p.d_model}, vocab {p.vocab_size}, "
               f"block {p.block_size}", "dim")]]
    if len(set(each)) > 1:                      # layers of their own shapes
        lines.append([("layers  ", "dim"), ("; ".join(f"{l}: {e}" for l, e in enumerate(each)), "")])
    if sets:
        lines.append([("params  ", "dim"), (sets, "")])
    lines.append([("slots   ", "dim"), (slots, "")])
    first = True
    for kind, where in bases_used(c).items():
        lines.append([("read on " if first else "        ", "dim"), (f"{', '.join(where)}: {BASIS_WORDS[kind]}", "")])
        first = False
        if kind != "embeddings":
            lines.append([("        ", ""), (f"({c.sample_note})", "dim")])
    return [piece for line in lines for piece in wrap(_split(line), indent=10)]


BASIS_WORDS = {
    "embeddings": "LN(tok_emb[a] + pos_emb[i]) averaged over i per token, over a per position "
                  "(exact expectations)",
    "samples": "the residual stream measured on spec inputs, averaged per token and per position",
    "direct": "the embeddings as if earlier sub-layers wrote nothing (direct path)",
}


def bases_used(c: Circuits) -> dict[str, list[str]]:
    """Basis kind -> the sub-layers read on it ("L0 attn", "L1 mlp")."""
    used: dict[str, list[str]] = {}
    for l, part, basis in sorted({(h.layer, "attn", h.basis.kind) for h in c.heads}
                                 | {(m.layer, "mlp", m.basis.kind) for m in c.mlps}):
        used.setdefault(basis, []).append(f"L{l} {part}")
    return used


def _split(line: Line) -> Line:
    """A line as one segment per word, so that wrap() can break it anywhere."""
    out: Line = []
    for text, style in line:
        words = text.split(" ")
        out += [((" " if i else "") + w, style) for i, w in enumerate(words)]
    return out


def summary_lines(c: Circuits) -> list[Line]:
    lines: list[Line] = [[("summary", "underline")]]
    if c.direct:
        lines.append([("  embeddings: ", "cyan")] + _split([(c.direct_summary, "")]))
    for h in c.heads:
        lines.append([(f"  head {h.name}: ", "cyan")] + _split([(h.summary, "")]))
    for m in c.mlps:
        lines.append([(f"  mlp {m.layer}: ", "cyan")] + _split([(c.mlp_summaries[m.layer], "")]))
    if c.idle:
        lines.append([("  idle: ", "cyan")] + _split([(f"{idle_names(c.idle)} (all weights zero)", "dim")]))
    return lines


def idle_names(idle: list[tuple[int, int | None]]) -> str:
    """'heads 1.3-1.10, 2.0; mlp 0' for runs of idle heads and idle MLPs."""
    runs: list[list[tuple[int, int]]] = []
    for l, h in (x for x in idle if x[1] is not None):
        if runs and runs[-1][-1] == (l, h - 1):
            runs[-1].append((l, h))
        else:
            runs.append([(l, h)])
    name = lambda r: f"{r[0][0]}.{r[0][1]}" + (f"-{r[-1][0]}.{r[-1][1]}" if len(r) > 1 else "")
    n_heads = sum(len(r) for r in runs)
    parts = [("heads " if n_heads > 1 else "head ") + ", ".join(name(r) for r in runs)] if runs else []
    mlps = [str(l) for l, h in idle if h is None]
    if mlps:
        parts.append(("mlps " if len(mlps) > 1 else "mlp ") + ", ".join(mlps))
    return "; ".join(parts)


def head_lines(h: HeadReading) -> list[Line]:
    slots = lambda k: " ".join(h.slots[k]) or "-"
    lines: list[Line] = [[(f"layer {h.layer} head {h.head}", "bold magenta"),
                          (f"  Q<-{slots('q')} K<-{slots('k')} V<-{slots('v')} writes {slots('writes')}", ""),
                          (f"  [{h.basis.describe()}]", "dim")]]
    for kind, t in h.tables.items():
        lines += table_lines(t, h.rules[kind])
    return lines


def mlp_lines(c: Circuits, m: MLPReading) -> list[Line]:
    tokens = c.tokens
    lines: list[Line] = [[(f"layer {m.layer} MLP", "bold magenta"), (f"  d_ff {m.d_ff}", ""),
                          (f"  [{m.basis.describe()}]", "dim")]]
    if m.spikes is not None:
        s, f = m.spikes, m.spikes.found
        order = sorted(range(f.triples.size), key=lambda j: (s.at_output[j] == 0, s.fired[j] == 0, j))[:UNITS]
        lines.append([("  spike  units      reads              writes  fired  (out)  first fired on", "dim")])
        for j in order:
            t = int(f.triples[j])
            reads = (f"dim {f.rows[j]} = {f.centres[j]:.6g}" if f.rows[j] >= 0 else "several dims")
            row: Line = [(f"  #{j:<5} {f'{3 * t}-{3 * t + 2}':<10} {reads:<18}", ""),
                         (f" {_q(tokens[s.writes[j]], 5) if s.writes[j] >= 0 else '-':<7}", "bold"),
                         (f" {s.fired[j]:<6} {f'({s.at_output[j]})':<6}", "")]
            room = WIDTH - 1 - sum(len(x) for x, _ in row)
            lines.append(row + [(f" {_first_fired(c, s, j, room)}", "dim")])
        if f.triples.size > len(order):
            lines.append([(f"  ... {f.triples.size - len(order)} more spikes (--json lists them all)", "dim")])
    if m.neurons is not None:
        n = m.neurons
        order = np.argsort(-n.out_norm, kind="stable")[:UNITS]
        lines.append([("  neuron  reads     writes    |M2 row|", "dim")])
        for i in order:
            r, w = int(n.reads[i]), int(n.writes[i])
            lines.append([(f"  {int(n.units[i]):<7} {_q(tokens[r], 6) if r >= 0 else '-':<9} "
                           f"{_q(tokens[w], 6) if w >= 0 else '-':<9} {_num(float(n.out_norm[i]))}", "")])
        if n.units.size > len(order):
            lines.append([(f"  ... {n.units.size - len(order)} more neurons (--json lists them all)", "dim")])
    return lines


def _first_fired(c: Circuits, s, j: int, room: int = WIDTH) -> str:
    """Where spike j first fired: the sample's sequence (cut to `room` with what
    follows), the position and its token; or the token whose mean input fired it."""
    o = int(s.first[j])
    if o < 0:
        return "-"
    if s.on == "tokens":
        return f"token {_q(c.tokens[o])}"
    smp = c.samples
    seq = smp.seqs[int(smp.seq[o])]
    toks = [c.tokens[i] for i in seq]
    text = "".join(toks) if c.program.vocab.mode == "chars" else " ".join(toks)
    where = f" @{int(smp.pos[o])} {_q(c.tokens[int(smp.ids[o])], 5)}"
    return _tok(text, max(6, room - len(where))) + where


def lines(c: Circuits) -> list[Line]:
    out = header(c) + [[]] + summary_lines(c)
    if c.direct:
        out += [[], [("embeddings alone", "bold magenta")]
                + _split([("  LN_f, then the unembedding (all there is in a program without layers)", "dim")])]
        for kind, t in c.direct.items():
            out += table_lines(t, c.direct_rules[kind])
    for l in sorted({h.layer for h in c.heads} | {m.layer for m in c.mlps}):
        for h in (h for h in c.heads if h.layer == l):
            out += [[]] + head_lines(h)
        for m in (m for m in c.mlps if m.layer == l):
            out += [[]] + mlp_lines(c, m)
    return [piece for line in out for piece in wrap(line)]


def render_plain(c: Circuits) -> str:
    return plain_text(lines(c))


def print_circuits(c: Circuits, file=None, color: bool | None = None) -> None:
    print_lines(lines(c), file, color)
