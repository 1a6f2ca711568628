"""Which slots of the stream a head reads and writes, and what it writes there.

The slots are the program's named ones (trace.readout.slot_layout; SEARCH's
memory slot read in parts as trace reads it). A head reads its query, key and
value from the slots where Q, K, V have non-zero rows, and writes where P does.
What it writes into a slot is read, per attended token (or position), through
the slot's own dictionaries (trace.readout.readers): a head *copies* when the
slot then reads as the attended token (or position) itself, *erases* when it
writes minus what the attended input holds there (the book's cleanup, §3.4), and
writes a *number* when its writes differ along one direction only (a slot one
dimension wide always holds a number: ADD's digit values, §6.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import Layer
from ..trace.render_text import _q
from ..trace import readout
from .basis import Basis
from .tables import head_output

SHARE = 0.9       # a slot copies / erases when this share of the rows does
NOISE = 1e-9      # differences between rows below this share of their size are rounding


@dataclass
class SlotWrite:
    slot: str          # the reader's label (a slot, or part of one)
    what: str          # "copies" | "erases" | "number" | "writes"
    axis: str          # "tokens" | "positions": which inputs it depends on most
    holds: int = 0     # rows where `what` holds (copies / erases)
    of: int = 0
    low: int = -1      # number: the row (token or position) writing the lowest value, and the highest
    high: int = -1

    def to_json(self) -> dict:
        return {"slot": self.slot, "what": self.what, "axis": self.axis, "holds": self.holds, "of": self.of,
                **({"lowest": self.low, "highest": self.high} if self.what == "number" else {})}


def slots_of(rows: np.ndarray, layout: dict[str, tuple[int, int]]) -> list[str]:
    """The slots holding any of the stream dimensions `rows` (a boolean mask over d_model)."""
    return [name for name, (a, b) in layout.items() if rows[a:b].any()]


def head_slots(layer: Layer, h: int, layout) -> dict[str, list[str]]:
    used = lambda M: np.any(M[h] != 0, axis=1)
    return {"q": slots_of(used(layer.Q), layout), "k": slots_of(used(layer.K), layout),
            "v": slots_of(used(layer.V), layout), "writes": slots_of(used(layer.P), layout)}


def _size(o: np.ndarray) -> tuple[float, float]:
    """(how much the rows of o differ, how large they are): the mean distance to their
    mean and the mean norm, over the finite rows. Differences at rounding level
    (NOISE of the size) count as none, so a constant write is compared by its size."""
    o = o[np.all(np.isfinite(o), axis=1)]
    if not o.size:
        return (-1.0, -1.0)
    spread, size = float(np.linalg.norm(o - o.mean(axis=0), axis=1).mean()), float(np.linalg.norm(o, axis=1).mean())
    return (spread if spread > NOISE * size else 0.0, size)


def _number(o: np.ndarray, rows: np.ndarray) -> tuple[int, int] | None:
    """When the writes of `rows` differ along one direction only (a number written along
    it, as ADD's digit values, §6.7): the row writing the lowest value and the highest.
    The direction is signed so that its largest component is positive."""
    idx = np.flatnonzero(rows)
    if idx.size < 2:
        return None
    c = o[idx] - o[idx].mean(axis=0)
    _, sv, vt = np.linalg.svd(c, full_matrices=False)
    if not sv[0] > 0 or np.sum(sv[1:] ** 2) > 1e-12 * sv[0] ** 2:
        return None
    d = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])
    proj = c @ d
    return int(idx[np.argmin(proj)]), int(idx[np.argmax(proj)])


def slot_readers(program) -> list[readout.Reader]:
    """trace's readers, except that a slot trace reads in parts one dimension wide
    (add_unpadded's kslot against its 1-wide token slots) is read whole."""
    out: list[readout.Reader] = []
    layout = readout.slot_layout(program)
    for rd in readout.readers(program):
        base = rd.label.rsplit(".", 1)[0]
        if rd.stop - rd.start == 1 and base != rd.label and base in layout:
            if not out or out[-1].label != base:
                out.append(readout.Reader(base, *layout[base], []))
        else:
            out.append(rd)
    return out


def _share(ok: np.ndarray, rows: np.ndarray) -> tuple[int, int]:
    return int(ok[rows].sum()), int(rows.sum())


def slot_writes(program, layer: Layer, h: int, basis: Basis, readers: list[readout.Reader]) -> list[SlotWrite]:
    """What head h writes into each slot (part) it writes, read per attended input."""
    by_axis = {"tokens": (basis.tokens, head_output(layer, h, basis.tokens)),
               "positions": (basis.positions, head_output(layer, h, basis.positions))}
    written = np.any(layer.P[h] != 0, axis=1)
    out = []
    for rd in readers:
        a, b = rd.start, rd.stop
        if not written[a:b].any():
            continue
        size = {ax: _size(o[:, a:b]) for ax, (_, o) in by_axis.items()}
        axis = max(size, key=lambda ax: size[ax])       # the axis the write varies with most
        varies = size[axis][0] > 0                       # beyond rounding (_size)
        x, o = (m[:, a:b] for m in by_axis[axis])
        if not size[axis][1] > 0:
            out.append(SlotWrite(rd.label, "writes", axis))
            continue
        rows = np.all(np.isfinite(o), axis=1) & np.any(o != 0, axis=1)       # rows that write here
        number = _number(o, np.all(np.isfinite(o), axis=1)) if varies else None
        if b - a == 1 or number is not None:
            out.append(SlotWrite(rd.label, "number", axis, low=number[0], high=number[1])
                       if number is not None else SlotWrite(rd.label, "writes", axis))
            continue
        # erases: writes minus what the attended input holds in the slot (cos = -1 with it)
        u_o, _ = readout.unit_rows(np.where(rows[:, None], o, 0))
        u_x, _ = readout.unit_rows(np.where(rows[:, None], -x, 0))
        erased = _share(0.5 * np.sum((u_o - u_x) ** 2, axis=1) < 1e-6, rows)
        if erased[1] and erased[0] >= SHARE * erased[1]:
            out.append(SlotWrite(rd.label, "erases", axis, *erased))
            continue
        kind = "tok" if axis == "tokens" else "pos"
        dicts = [d for d in rd.dicts if d.kind.split("@")[0] == kind]
        if dicts and dicts[0].rows.shape[0] == o.shape[0]:
            best = np.argmax(readout.cosine_matrix(o, dicts[0].rows), axis=1)
            same = _share(best == np.arange(o.shape[0]), rows)
            if same[1] and same[0] >= SHARE * same[1]:
                out.append(SlotWrite(rd.label, "copies", axis, *same))
                continue
        out.append(SlotWrite(rd.label, "writes", axis))
    return out


def describe_writes(ws: list[SlotWrite], labels: dict[str, list[str]]) -> str:
    """'copies the attended token into mem.2; erases mem.0, pos' in words; labels:
    axis -> row labels (tokens, positions)."""
    groups: dict[tuple, list[str]] = {}
    for w in ws:
        key = (w.what, w.axis if w.what in ("copies", "number") else "", w.low, w.high)
        groups.setdefault(key, []).append(w.slot)
    parts = []
    for (what, axis, low, high), slots in groups.items():
        names = _names(slots)
        if what == "copies":
            parts.append(f"copies the attended {axis[:-1]} into {names}")
        elif what == "number":
            name = (lambda i: _q(labels[axis][i])) if axis == "tokens" else (lambda i: f"position {i}")
            parts.append(f"writes a number into {names} (lowest for {name(low)}, highest for {name(high)})")
        else:
            parts.append(f"{what} {names}")
    return "; ".join(parts)


def _names(slots: list[str]) -> str:
    """Slot names, with runs of parts of one slot (mem.0, ..., mem.8) run together."""
    out: list[list[str]] = []
    for s in slots:
        base = s.rsplit(".", 1)[0] if "." in s else None
        if out and base is not None and out[-1][0].rsplit(".", 1)[0] == base and "." in out[-1][0]:
            out[-1].append(s)
        else:
            out.append([s])
    return ", ".join(g[0] if len(g) < 3 else f"{g[0]}..{g[-1]}" for g in out)
