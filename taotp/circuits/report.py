"""Every circuit of a program, read and summed up in words: `circuits(program)`.

Per head (each layer's own shape: heads, d_head): the QK tables over tokens and over
positions, the OV table, the rules they follow (rules.py), the slots it reads and
writes (writes.py), and a one-line summary derived from those. Per MLP: its neurons
and spikes (neurons.py). And the direct path: the embeddings alone read through
the unembedding. `to_json` holds the same numbers as the text view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UsageError
from ..trace.render_text import _q
from ..trace import readout
from . import rules as R
from .basis import MIN_COUNT, Basis, Bases, Samples, gather_samples
from .neurons import MLPReading, read_mlp
from .tables import Table, direct_tables, ov_table, qk_tables
from . import summary as W
from .writes import SlotWrite, head_slots, slot_readers, slot_writes


@dataclass
class HeadReading:
    layer: int
    head: int
    basis: Basis
    tables: dict[str, Table]              # qk_tokens, qk_positions, ov
    rules: dict[str, R.Rule | None]
    slots: dict[str, list[str]]           # q, k, v, writes
    writes: list[SlotWrite]
    summary: str

    @property
    def name(self) -> str:
        return f"{self.layer}.{self.head}"


@dataclass
class Circuits:
    program: object
    samples: Samples | None
    sample_note: str
    position_labels: dict[int, str]
    direct: dict[str, Table] = field(default_factory=dict)
    direct_rules: dict[str, R.Rule | None] = field(default_factory=dict)
    heads: list[HeadReading] = field(default_factory=list)
    mlps: list[MLPReading] = field(default_factory=list)
    direct_summary: str = ""
    mlp_summaries: dict[int, str] = field(default_factory=dict)
    idle: list[tuple[int, int | None]] = field(default_factory=list)   # all-zero heads; (l, None): MLP

    @property
    def tokens(self) -> list[str]:
        return [str(t) for t in self.program.vocab.tokens]


def position_labels(samples: Samples | None, block: int, tokens: list[str]) -> dict[int, str]:
    """Position -> what the samples hold there (seen at least MIN_COUNT times): "always
    '='" for one token, "holds '0'..'9'" for a run of three or more of the vocabulary."""
    if samples is None:
        return {}
    counts = np.bincount(samples.pos, minlength=block)
    out = {}
    for i, seen in enumerate(samples.position_tokens(block)):
        if counts[i] < MIN_COUNT or not seen:
            continue
        lo, hi = min(seen), max(seen)
        if len(seen) == 1:
            out[i] = f"always {_q(tokens[lo])}"
        elif len(seen) >= 3 and hi - lo + 1 == len(seen):
            out[i] = f"holds {_q(tokens[lo])}..{_q(tokens[hi])}"
    return out


def read_head(c: Circuits, bases: Bases, l: int, h: int, readers) -> HeadReading:
    p = c.program.params
    L = p.layers[l]
    basis = bases.get(l)
    tok, pos = qk_tables(L, h, basis, c.tokens)
    tables = {"qk_tokens": tok, "qk_positions": pos,
              "ov": ov_table(L, h, basis, p.unembedding, c.tokens)}
    rules = {k: R.find_rule(t) for k, t in tables.items()}
    slots = head_slots(L, h, readout.slot_layout(c.program))
    writes = slot_writes(c.program, L, h, basis, readers)
    if not (np.any(L.V[h]) and np.any(L.P[h])):
        summary = "writes nothing (V or P is zero)"
    else:
        labels = {"tokens": c.tokens, "positions": [str(i) for i in range(p.block_size)]}
        summary = (W.attention_words(tables, rules, c.position_labels) + "; "
                   + W.write_words(tables["ov"], rules["ov"], writes, labels))
    return HeadReading(l, h, basis, tables, rules, slots, writes, summary)


def select(params, layer: int | None, head: int | None) -> list[tuple[int, int | None]]:
    """(layer, head) pairs to read, head None meaning the layer's MLP; refuses a
    layer or head the program does not have, naming what it has."""
    n = len(params.layers)
    if layer is not None and not 0 <= layer < n:
        has = f"layers 0-{n - 1}" if n > 1 else ("only layer 0" if n else "no layers")
        raise UsageError(f"--layer {layer}: the program has {has}")
    layers = [layer] if layer is not None else list(range(n))
    if head is not None:
        having = [l for l in layers if 0 <= head < params.layers[l].n_heads]
        if not having:
            counts = ", ".join(f"layer {l}: {params.layers[l].n_heads}" for l in layers) or "no layers"
            raise UsageError(f"--head {head}: no such head (heads per layer: {counts})")
        return [(l, head) for l in having]
    return [(l, h) for l in layers for h in list(range(params.layers[l].n_heads)) + [None]]


def circuits(program, layer: int | None = None, head: int | None = None,
             samples: int = 32, seed: int = 0) -> Circuits:
    """Read the program's circuits (every layer and head, or the ones selected)."""
    p = program.params
    chosen = select(p, layer, head)
    got, note = gather_samples(program, samples, seed)
    tokens = [str(t) for t in program.vocab.tokens]
    c = Circuits(program, got, note, position_labels(got, p.block_size, tokens))
    bases = Bases(program, got)
    if layer is None and head is None:
        tok, pos = direct_tables(bases.final(), p.unembedding, tokens)
        c.direct = {"direct_tokens": tok, "direct_positions": pos}
        c.direct_rules = {k: R.find_rule(t) for k, t in c.direct.items()}
        c.direct_summary = W.direct_words(c.direct, c.direct_rules, program.vocab.mode)
    readers = slot_readers(program)
    for l, h in chosen:
        if h is not None and not any(np.any(getattr(p.layers[l], k)[h]) for k in "QKVP"):
            c.idle.append((l, h))
        elif h is not None:
            c.heads.append(read_head(c, bases, l, h, readers))
        elif not any(np.any(getattr(p.layers[l], k)) for k in ("M1", "b1", "M2", "b2")):
            if p.layers[l].d_ff:
                c.idle.append((l, None))
        else:
            m = read_mlp(p.layers[l], l, bases.get(l, mlp=True), p.unembedding, got)
            if m is not None:
                c.mlps.append(m)
                c.mlp_summaries[l] = W.mlp_words(m, tokens)
    return c
