"""`taotp circuits --json`: the same numbers as the text view, and more of them.

Tables carry, per row, the best column, its score and the gap to the runner-up
("best": null for an unsampled or flat row), the rule found and its exceptions,
and the whole matrix when it has at most tables.FULL_JSON entries (null where a
key is masked or a row unsampled). MLPs list every spike and neuron, up to
MAX_UNITS of each. Token and position rows are indices into "vocab" and 0..block-1.
"""

from __future__ import annotations

import numpy as np

from .neurons import MLPReading
from .report import Circuits, HeadReading
from .rules import Rule
from .tables import Table

MAX_UNITS = 20_000


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def table_json(t: Table, rule: Rule | None) -> dict:
    return {**t.to_json(), "rule": rule.to_json() if rule else None}


def head_json(h: HeadReading) -> dict:
    return {
        "layer": h.layer, "head": h.head, "basis": h.basis.kind, "summary": h.summary,
        "slots": h.slots, "writes": [w.to_json() for w in h.writes],
        "tables": {k: table_json(t, h.rules[k]) for k, t in h.tables.items()},
    }


def _ints(a) -> list[int]:
    return [int(x) for x in np.asarray(a)[:MAX_UNITS]]


def _floats(a) -> list:
    return [_num(x) for x in np.asarray(a, dtype=np.float64)[:MAX_UNITS]]


def mlp_json(c: Circuits, m: MLPReading) -> dict:
    out = {"layer": m.layer, "basis": m.basis.kind, "d_ff": m.d_ff, "summary": c.mlp_summaries[m.layer],
           "spikes": None, "neurons": None}
    if m.spikes is not None:
        s, f = m.spikes, m.spikes.found
        first = []
        for o in np.asarray(s.first)[:MAX_UNITS]:
            if o < 0:
                first.append(None)
            elif s.on == "tokens":
                first.append({"token": int(o)})
            else:
                first.append({"sample": int(c.samples.seq[o]), "position": int(c.samples.pos[o])})
        out["spikes"] = {
            "count": int(f.triples.size), "truncated": bool(f.triples.size > MAX_UNITS), "fired_on": s.on,
            "first_unit": _ints(3 * f.triples), "dim": _ints(f.rows), "centre": _floats(f.centres),
            "delta": _floats(f.delta), "writes": _ints(s.writes), "write_score": _floats(s.write_score),
            "fired": _ints(s.fired), "fired_at_output": _ints(s.at_output), "first_fired": first,
            "reads": _ints(s.reads),
        }
    if m.neurons is not None:
        n = m.neurons
        out["neurons"] = {
            "count": int(n.units.size), "truncated": bool(n.units.size > MAX_UNITS),
            "units": _ints(n.units), "reads": _ints(n.reads), "read_score": _floats(n.read_score),
            "writes": _ints(n.writes), "write_score": _floats(n.write_score), "out_norm": _floats(n.out_norm),
        }
    return out


def to_json(c: Circuits) -> dict:
    p = c.program.params
    smp = c.samples
    return {
        "program": c.program.name,
        "settings": {k: v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
                     for k, v in (c.program.settings or {}).items()},
        "vocab": c.tokens, "block": p.block_size, "d_model": p.d_model,
        "samples": None if smp is None else {
            "note": c.sample_note, "mode": smp.mode, "inputs": smp.texts,
            "sequences": [[int(i) for i in s] for s in smp.seqs]},
        "samples_note": c.sample_note,
        "position_labels": {str(k): v for k, v in c.position_labels.items()},
        "direct": None if not c.direct else {
            "summary": c.direct_summary,
            "tables": {k: table_json(t, c.direct_rules[k]) for k, t in c.direct.items()}},
        "heads": [head_json(h) for h in c.heads],
        "mlps": [mlp_json(c, m) for m in c.mlps],
        "idle": [{"layer": l, "head": h} if h is not None else {"layer": l, "mlp": True} for l, h in c.idle],
    }
