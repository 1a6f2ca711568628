"""Which sublayer writes which part of the residual stream, and the stream model's rules.

A mixin of MachineBuilder (machine.py). A *writer* is a head of a layer (its P) or a
layer's MLP (its M2 and b2): every weight write into P, M2 or b2 is recorded, with the
stream dimensions it leaves non-zero and the place in the program that wrote it.

- A slot made by `new_slot` (a library slot) is born holding its padding block and is
  written by one sublayer, which replaces the padding by a value (the standard
  library's stream model, docs/library.md). A second writer is an error naming the
  first write's line, unless `release_slot(slot)` in between returned the slot to its
  padding (a cleanup, or the MLP that turns an attention's scratch scalar into a code).
- For every other slot, a writer that adds into what an earlier sublayer wrote is
  noted (`taotp params`, `taotp check`): a value read after such an add is the sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

from ..errors import CompileError, Span

OUTPUT_WEIGHTS = ("P", "M2", "b2")   # the weights through which a sublayer writes the stream


@dataclass(frozen=True)
class Site:
    """Where a write happened: the program's own line, and the library's line if a library
    function (called from that program line) made it."""

    program: Span | None
    inner: Span | None = None

    def __str__(self) -> str:
        def at(s):
            return f"{PurePath(s.file).name}:{s.line}"
        if self.program is None:
            return "?" if self.inner is None else at(self.inner)
        return at(self.program) if self.inner is None or self.inner == self.program else \
            f"{at(self.program)} (in {at(self.inner)})"


def describe(writer: tuple) -> str:
    return f"layer {writer[1]} head {writer[2]}" if writer[0] == "head" else f"layer {writer[1]}'s MLP"


def order(writer: tuple) -> tuple:
    """Sublayers in the order the machine runs them: a layer's heads (together), then its MLP."""
    return (writer[1], 0 if writer[0] == "head" else 1)


class StreamLog:
    def init_stream_log(self) -> None:
        self.here = None                                     # (SourceFile, node) of the running statement
        self.calls: list = []                                # (SourceFile, node) of each call being run
        self.writers: dict[int, dict[tuple, Site]] = {}     # stream dimension -> writer -> first site
        self.library_slots: set[str] = set()                # slots made by new_slot
        self.events: dict[str, list[tuple[str, tuple, Site]]] = {}  # library slot -> ("write"|"release", writer, site)

    def site(self) -> Site:
        """The place of the statement running now, as the program's line (and the library's)."""
        inner = self.here[0].span(self.here[1]) if self.here is not None else None
        if not self.calls:
            return Site(inner)
        return Site(self.calls[0][0].span(self.calls[0][1]), inner)

    def _writer_here(self, name: str) -> tuple:
        layer = self.layer_stack[-1]
        if name == "P":
            return ("head", layer, self.head_stack[-1]) if self.head_stack else ("head", layer, None)
        return ("mlp", layer)

    def record_write(self, name: str, index) -> None:
        """After a write `name[index] op= value`: note which stream dimensions it filled."""
        if name not in OUTPUT_WEIGHTS or not self.layer_stack:
            return
        arr = self.weight(name)
        axis = {"P": arr.ndim - 2, "M2": 1, "b2": 0}[name]
        shape = [1] * arr.ndim
        shape[axis] = arr.shape[axis]
        dims = np.broadcast_to(np.arange(arr.shape[axis]).reshape(shape), arr.shape)[index]
        live = np.asarray(arr[index] != 0)
        writer, site = self._writer_here(name), self.site()
        if writer[0] == "head" and writer[2] is None:        # P of every head at once
            heads = np.broadcast_to(np.arange(arr.shape[0]).reshape([-1, 1, 1]), arr.shape)[index]
            pairs = {(int(h), int(d)) for h, d in zip(np.ravel(heads[live]), np.ravel(dims[live]))}
            for h, d in sorted(pairs):
                self._note(("head", writer[1], h), d, site)
        else:
            for d in sorted({int(d) for d in np.ravel(dims[live])}):
                self._note(writer, d, site)

    def _note(self, writer: tuple, dim: int, site: Site) -> None:
        self.writers.setdefault(dim, {}).setdefault(writer, site)
        slot = self.slot_at(dim)
        if slot is None or slot.name not in self.library_slots:
            return
        events = self.events.setdefault(slot.name, [])
        if events and events[-1][1] == writer:
            return                                           # the same sublayer, writing on
        if events and events[-1][0] == "write":
            _, first, where = events[-1]
            raise CompileError(
                f"slot '{slot.name}' already holds the value {describe(first)} wrote ({where}); "
                f"{describe(writer)} writes it again. A library slot is written once: put the new "
                f"value in a new slot (new_slot), or free this one first (release_slot)")
        if events and order(writer) <= order(events[-1][1]):
            raise CompileError(f"slot '{slot.name}' is released by {describe(events[-1][1])} "
                               f"({events[-1][2]}); only a later sublayer can write it again")
        events.append(("write", writer, site))

    def release_slot(self, slot, site: Site) -> None:
        """The sublayer being written (a head inside `head h:`, else the layer's MLP) returns
        `slot` to its padding: its writes there remove the value, and a later sublayer may
        write the slot again."""
        if not self.layer_stack:
            raise CompileError("release_slot(slot) goes inside a `layer i:` block (in `head h:` for a head)")
        if slot.name not in self.library_slots:
            raise CompileError(f"release_slot: '{slot.name}' is not a slot made by new_slot")
        writer = ("head", self.layer_stack[-1], self.head_stack[-1]) if self.head_stack else ("mlp", self.layer_stack[-1])
        events = self.events.setdefault(slot.name, [])
        if events and events[-1][1] == writer and events[-1][0] == "write":
            raise CompileError(f"release_slot: {describe(writer)} both writes and releases slot '{slot.name}'; "
                               f"call release_slot before the writes that remove the value")
        if events and order(writer) <= order(events[-1][1]):
            raise CompileError(f"release_slot: slot '{slot.name}' is written by {describe(events[-1][1])} "
                               f"({events[-1][2]}); only a later sublayer can release it")
        events.append(("release", writer, site))

    def slot_at(self, dim: int):
        for s in self.slots.values():
            if s.start <= dim < s.stop:
                return s
        return None

    # -- at finish ---------------------------------------------------------------------------
    def stream_notes(self) -> dict:
        """What `params` and `check` report about the stream: later sublayers that add into
        a (non-library) slot an earlier one wrote, and whether every dimension is in a
        library slot (then layer norm should be the identity before every sublayer)."""
        adds, seen = [], set()
        for dim in sorted(self.writers):
            slot = self.slot_at(dim)
            if slot is not None and slot.name in self.library_slots:
                continue
            ws = sorted(self.writers[dim].items(), key=lambda kv: order(kv[0]))
            first, where = ws[0]
            label = f"slot '{slot.name}'" if slot is not None else f"dimension {dim}"
            for w, site in ws[1:]:
                key = (label, w)
                if order(w) > order(first) and key not in seen:
                    seen.add(key)
                    adds.append(f"{describe(w)} ({site}) adds into {label}, written by {describe(first)} ({where})")
        d = self.params.d_model if self.params is not None else 0
        covered = sum(self.slots[n].size for n in self.library_slots if n in self.slots)
        # a head's scratch scalar, cleared by the same layer's MLP: that MLP's layer norm
        # sees it (attend.count, attend.average), so its scale is not 1 there, by design
        scratch = sorted({f"layer {w[1]} MLP" for events in self.events.values()
                          for (kind, w, _), (_, before, _) in zip(events[1:], events)
                          if kind == "release" and w[0] == "mlp" and before[0] == "head" and before[1] == w[1]})
        return {"adds": adds, "library": d > 0 and covered == d, "scratch": scratch}
