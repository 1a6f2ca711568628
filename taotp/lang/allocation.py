"""Allocation from inside a program: the machine grows while it is being built.

    let h = new_head()          # inside `layer i:`: a fresh head of that layer
    let u = new_neurons(4)      # inside `layer i:`: 4 fresh MLP hidden units
    let s = new_slot("acc", 3)  # 3 fresh stream dimensions, at the end of the stream

A mixin of MachineBuilder (machine.py). Arrays already allocated grow with zeros,
so what was written stays as it was. A new slot starts holding, in pos_emb at every
position, the padding block of its size (book §4.1: mean 0, sum of squares = size),
so a stream whose every slot holds such a code keeps layer norm the identity.

Growing copies: the grown arrays are reserved in the compilation's memory budget
(whole, since the old ones live until the copy is made) and held there.
"""

from __future__ import annotations

import math

import numpy as np

from ..builtins import Builtin
from ..builtins.encodings import padding_block
from ..errors import CompileError
from ..values import Slot
from .operators import is_int, show

HEAD_WEIGHTS = ("Q", "K", "V", "P")


class Allocation:
    def new_head(self, k=None) -> int:
        """A fresh (all-zero) head of the current layer: its index. With k, the head needs
        k dimensions: a layer whose d_head the program did not give widens to k (every
        head gains zero columns; queries are scaled so that no score changes)."""
        i, L = self.current_layer("new_head()")
        h, d, width = L.Q.shape
        if k is not None:
            if not is_int(k) or int(k) < 1:
                raise CompileError(f"new_head(k) needs a positive integer, got {show(k)}")
            k = int(k)
            if k > width or (h == 0 and k != width and i not in self.fixed_d_head):
                if i in self.fixed_d_head:
                    raise CompileError(f"new_head({k}): layer {i} has d_head={width}, given by the program; "
                                       f"give it d_head >= {k}, or leave d_head out so the layer can widen")
                self._set_d_head(L, k)
                width = L.d_head
        if width == 0:
            raise CompileError(f"new_head(): layer {i} has d_head=0; give it d_head >= 1 (`layer {i} d_head=K:`)")
        self.check_size(d, self.planned_shapes({i: {"heads": h + 1, "d_head": width, "d_ff": L.d_ff}}))
        self.budget.reserve(8 * 4 * (h + 1) * d * width, f"new_head() in layer {i}")
        for name in HEAD_WEIGHTS:
            setattr(L, name, self.budget.hold(np.concatenate([getattr(L, name), np.zeros((1, d, width))], axis=0)))
        return h

    def _set_d_head(self, L, k: int) -> None:
        """d_head -> k (a layer without heads yet takes any k; one with heads only widens):
        zero columns for every head; Q times sqrt(k / old) keeps every score q.k / sqrt(d_head)."""
        h, d, old = L.Q.shape
        self.budget.reserve(8 * 4 * max(h, 1) * d * k, f"widening layer heads to d_head={k}")
        if h == 0:
            for name in HEAD_WEIGHTS:
                setattr(L, name, np.zeros((0, d, k)))   # (empty: nothing to hold)
            return
        for name in HEAD_WEIGHTS:
            setattr(L, name, self.budget.hold(np.concatenate([getattr(L, name), np.zeros((h, d, k - old))], axis=2)))
        if old:
            L.Q *= np.sqrt(k / old)

    def new_neurons(self, k) -> Slot:
        """k fresh MLP hidden units of the current layer: a range of M1's columns, b1, M2's rows."""
        i, L = self.current_layer("new_neurons(k)")
        if not is_int(k) or int(k) < 0:
            raise CompileError(f"new_neurons(k) needs a non-negative integer, got {show(k)}")
        k, f, d = int(k), L.d_ff, L.M1.shape[0]
        self.check_size(d, self.planned_shapes({i: {"heads": L.n_heads, "d_head": L.d_head, "d_ff": f + k}}))
        self.budget.reserve(8 * (2 * d + 1) * (f + k), f"new_neurons({k}) in layer {i}")
        hold = self.budget.hold
        L.M1 = hold(np.concatenate([L.M1, np.zeros((d, k))], axis=1))
        L.b1 = hold(np.concatenate([L.b1, np.zeros(k)]))
        L.M2 = hold(np.concatenate([L.M2, np.zeros((k, d))], axis=0))
        return Slot(f"neurons of layer {i}", f, f + k)

    def new_slot(self, name, size) -> Slot:
        """`size` fresh stream dimensions after the last slot, holding padding_block(size)
        in pos_emb (book §4.1: mean 0, sum of squares = size). Grows d_model unless the
        model fixed it."""
        if not isinstance(name, str) or not name:
            raise CompileError(f"new_slot(name, size) needs a name (a string), got {show(name)}")
        if not is_int(size) or int(size) < 2:
            raise CompileError(f"new_slot('{name}', size): size must be an integer >= 2 (a new slot starts "
                               f"as a layer-norm-fixed padding block, §4.1), got {show(size)}")
        size, base, n = int(size), name, 2
        while name in self.slots:
            name, n = f"{base}_{n}", n + 1
        start = self.slot_end()
        slot = Slot(name, start, start + size)
        fixed = self.config.d_model if self.config is not None else None
        if fixed is not None and slot.stop > fixed:
            raise CompileError(f"new_slot('{base}', {size}) needs dimensions {slot.start}:{slot.stop}, past the "
                               f"model's d_model={fixed}; raise d_model, or leave it out so the stream can grow")
        if self.params is None:
            self.padded.append(slot)
        else:
            d = self.params.d_model
            if slot.stop > d:
                self.check_size(slot.stop, self.planned_shapes())
                self._grow(slot.stop - d)
            elif self._written(slot):
                raise CompileError(f"new_slot('{base}', {size}): dimensions {slot.start}:{slot.stop} already "
                                   f"hold weights written without a slot; declare them with `stream`")
            self.params.pos_emb[:, slot.as_slice()] = padding_block(size)
        self.slots[name] = slot
        self.library_slots.add(name)
        return slot

    def _arrays_by_width_axis(self):
        """(array holder, attribute, axis of d_model) for every allocated array."""
        p = self.params
        out = [(p, "tok_emb", 1), (p, "pos_emb", 1)] + ([(p, "out_emb", 1)] if p.out_emb is not None else [])
        for L in self.layers.values():
            out += [(L, n, 1) for n in HEAD_WEIGHTS] + [(L, "M1", 0), (L, "M2", 1), (L, "b2", 0)]
        return out

    def _grow(self, extra: int) -> None:
        arrays = self._arrays_by_width_axis()
        wider = lambda shape, axis: math.prod(shape[:axis]) * (shape[axis] + extra) * math.prod(shape[axis + 1:])
        grown = sum(wider(getattr(h, n).shape, a) for h, n, a in arrays)
        self.budget.reserve(8 * grown, f"widening the stream by {extra}")
        for holder, name, axis in arrays:
            arr = getattr(holder, name)
            shape = list(arr.shape)
            shape[axis] = extra
            setattr(holder, name, self.budget.hold(np.concatenate([arr, np.zeros(shape)], axis=axis)))

    def _written(self, slot: Slot) -> bool:
        return any(np.any(np.take(getattr(h, n), range(slot.start, slot.stop), axis=a))
                   for h, n, a in self._arrays_by_width_axis())

    def allocation_functions(self) -> dict[str, Builtin]:
        """new_head, new_neurons, new_slot: builtins bound to this machine."""
        def new_head(k=None):
            """A fresh head of the current layer (inside `layer i:`): its index. `head new_head():` works.
            new_head(k): a head that needs k dimensions (a layer whose d_head the program left out widens)."""
            return self.new_head(k)

        def new_neurons(k):
            """k fresh MLP hidden units of the current layer: a range to index M1's columns, b1, M2's rows."""
            return self.new_neurons(k)

        def new_slot(name, size):
            """size fresh stream dimensions (a slot), filled with padding_block(size) in pos_emb (§4.1)."""
            return self.new_slot(name, size)

        def release_slot(slot):
            """Inside `head h:` (or a layer's MLP): this sublayer returns a new_slot slot to its
            padding, so a later sublayer may write it again (docs/library.md, the stream model)."""
            if not isinstance(slot, Slot):
                raise CompileError(f"release_slot(slot) needs a slot, got {show(slot)}")
            return self.release_slot(slot, self.site())

        fns = (new_head, new_neurons, new_slot, release_slot)
        return {f.__name__: Builtin(f.__name__, f, False, f.__doc__) for f in fns}

    def fill_padding(self) -> None:
        """At allocation: the padding blocks of slots made before the weights existed."""
        for slot in self.padded:
            self.params.pos_emb[:, slot.as_slice()] = padding_block(slot.size)
