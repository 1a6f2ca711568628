"""The plain-words summaries, derived from the tables and rules (nothing is written
per program): one line per head, per MLP, and for the direct path.

A head is summed up by what steers its attention and what it writes. Of its two QK
tables, the ones whose spread is at least DRIVES of the larger one steer it (a
table 1e-3 as wide cannot move a softmax the other one has made hard); each is
said by its rule ("each position to the one 3 back") or "no simple rule". Then
what it writes: the slots it copies into, erases or writes a number into
(writes.py), and the OV rule through the unembedding when that says more.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..trace.render_text import _plural, _q
from . import rules as R
from .neurons import MLPReading
from .tables import Table
from .writes import SlotWrite, describe_writes

DRIVES = 1e-3     # a QK table whose spread is below this share of the other's does not steer attention


def _with_count(words: str, rule: R.Rule, t: Table) -> str:
    """The rule's words, with how many rows it holds for when it fails on some, or
    applies to fewer than half the rows ("(all 2 positions)": the others cannot see 4 back)."""
    if rule.holds == rule.of and 2 * rule.of >= int(t.decided.sum()):
        return words
    count = rule.count("token" if t.row_axis == "tokens" else "position")
    return words[:-1] + f"; {count})" if words.endswith(")") else words + f" ({count})"


def attention_words(tables: dict[str, Table], rules: dict, position_labels: dict[int, str]) -> str:
    tok, pos = tables["qk_tokens"], tables["qk_positions"]
    big = max(tok.spread, pos.spread)
    drivers = sorted((t for t in (pos, tok) if not t.flat and t.spread >= DRIVES * big), key=lambda t: -t.spread)
    if not drivers:
        return "attends evenly: its scores depend on neither token nor position"
    words = []
    for t in drivers:
        rule = rules[t.kind]
        w = _with_count(R.describe(rule, t, position_labels), rule, t) if rule else "no simple rule"
        by = "by position: " if t.kind == "qk_positions" else "by token: "
        words.append(by + w if len(drivers) > 1 else w)
    return "; ".join(words)


def write_words(table: Table, rule: R.Rule | None, writes: list[SlotWrite], labels: dict[str, list[str]]) -> str:
    """What the head writes: slot by slot, and through the unembedding unless the slots
    already say it (it copies or erases the token, or writes a number)."""
    where = describe_writes(writes, labels)
    said = rule is not None and (
        (rule.kind == "same" and "copies the attended token" in where)
        or (rule.kind == "minus" and "erases" in where)
        or (rule.kind in ("fixed", "alike") and any(w.what == "number" for w in writes)))
    parts = [_with_count(R.describe(rule, table), rule, table)] if rule is not None and not said else []
    if where:
        parts.append(where)
    return "; ".join(parts) if parts else "writes nothing"


def direct_words(direct: dict[str, Table], rules: dict, vocab_mode: str, shown: int = 40) -> str:
    """The embeddings alone: how tokens and positions decode (HELLO: its message)."""
    parts = []
    for kind in ("direct_tokens", "direct_positions"):
        t, rule = direct[kind], rules[kind]
        if rule is not None:
            parts.append(_with_count(R.describe(rule, t), rule, t))
        elif kind == "direct_positions" and not t.flat:
            seq = [t.cols[b] for b in t.best[:shown] if b >= 0]
            joined = "".join(seq) if vocab_mode == "chars" else " ".join(seq)
            parts.append(f"positions 0, 1, ... decode to {joined!r}" + ("..." if t.values.shape[0] > shown else ""))
    return "; ".join(parts) or "decode to nothing in particular"


def mlp_words(m: MLPReading, tokens: list[str]) -> str:
    parts = []
    if m.spikes is not None:
        s, f = m.spikes, m.spikes.found
        dims = sorted({int(r) for r in f.rows})
        where = f"LN'd dim {dims[0]}" if len(dims) == 1 and dims[0] >= 0 else "several dims"
        cen = f.centres[np.isfinite(f.centres)]
        span = f" at {cen.min():.4g} to {cen.max():.4g}" if cen.size else ""
        counts = Counter(int(w) for w in s.writes if w >= 0)
        writes = ", ".join(f"{_q(tokens[w])} x{n}" for w, n in counts.most_common(4))
        fired = int((s.fired > 0).sum())
        on = (f"on the samples, {int((s.at_output > 0).sum())} where an output is read" if s.on == "samples"
              else "on some token's mean input")
        parts.append(f"{f.triples.size} spikes (§6.3) reading {where}{span}; they write {writes}"
                     f"{', ...' if len(counts) > 4 else ''}; {fired} fired {on}")
    if m.neurons is not None:
        n = m.neurons
        parts.append(f"{_plural(n.units.size, 'neuron')}: read {_most_common(n.reads, tokens)}; "
                     f"write {_most_common(n.writes, tokens)}")
    return "; ".join(parts) or "no hidden unit does anything"


def _most_common(ids, tokens: list[str], shown: int = 3) -> str:
    """The tokens most often in `ids` (-1: none), with counts; ", ..." when there are more."""
    counts = Counter(int(x) for x in ids if x >= 0)
    text = ", ".join(f"{_q(tokens[t])} x{k}" for t, k in counts.most_common(shown))
    return (text + (", ..." if len(counts) > shown else "")) or "nothing"
