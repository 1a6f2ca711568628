"""The machine a program builds: what it declares, its weights, and how they grow.

`MachineBuilder` owns everything the statements of a program say about the
transformer (DESIGN.md §1): the vocabulary, the model's shape (`ModelConfig`,
whose heads / d_head / d_ff are defaults that a `layer i heads=...:` block may
override for one layer), the stream's named slots, the weights, the layer and
head a block is writing, and the decoding rule. `finish()` turns it into a
validated Program. It raises CompileErrors without a place; the evaluator adds
the place of the statement that failed.

Weights are allocated, all zero, at the first write. A layer is allocated when a
`layer i:` block first enters it (or, if never entered, at `finish`), so its
shape can still be chosen by that block. `new_head()`, `new_neurons(k)` and
`new_slot(name, size)` grow arrays already allocated (allocation.py).

Every allocation is charged to the compilation's budget (budget.py) before it
happens: the model's size against MAX_LAYERS and MAX_MODEL_PARAMS, its bytes
against the memory budget shared with every other value of the compilation.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..builtins import Builtin
from ..decoding import DecodeRule
from ..errors import CompileError
from ..params import Layer, Params
from ..program import Program
from ..values import Record, Slot
from ..vocab import Vocab
from .allocation import Allocation
from .budget import Budget
from .operators import is_int, show
from .writes import StreamLog

MAX_MODEL_PARAMS = 100_000_000
MAX_LAYERS = 4096
LAYER_BYTES = 2048           # a layer's objects besides its numbers (8 arrays, 2 layer norms)
LAYER_WEIGHTS = ("Q", "K", "V", "P", "M1", "b1", "M2", "b2")
HEAD_WEIGHTS = ("Q", "K", "V", "P")
EMBEDDINGS = ("tok_emb", "pos_emb", "out_emb")
MODEL_KEYS = ("block", "heads", "d_head", "d_ff", "d_model", "layers")
LAYER_KEYS = ("heads", "d_head", "d_ff")
DECODE_KEYS = ("steps", "stop", "prefix")


@dataclass
class ModelConfig:
    """The `model` statement. heads, d_head and d_ff are every layer's defaults."""

    block: int
    heads: int = 1
    d_head: int | None = None    # None: d_model (fixed when the weights are allocated)
    d_ff: int = 0
    d_model: int | None = None   # None: the stream's width, growing with new_slot
    layers: int | None = None    # None: as many as the highest `layer i:` needs


def _layer_size(d: int, heads: int, d_head: int, d_ff: int) -> int:
    """A layer's parameters, as the book counts them (fig. 1.4): Q, K, V, P, M1, b1, M2, b2."""
    return 4 * heads * d * d_head + 2 * d * d_ff + d_ff + d


def check_shape(heads: int, d_head: int | None, where: str) -> None:
    if heads > 0 and d_head == 0:
        raise CompileError(f"{where}: d_head=0 with {heads} head(s) would divide attention scores by "
                           f"sqrt(0); give d_head >= 1, or heads=0 for a layer without attention")


class MachineBuilder(Allocation, StreamLog):
    def __init__(self, budget: Budget | None = None):
        self.budget = budget if budget is not None else Budget()
        self.vocab: Vocab | None = None
        self.config: ModelConfig | None = None
        self.slots: dict[str, Slot] = {}
        self.params: Params | None = None          # embeddings, once allocated
        self.layers: dict[int, Layer] = {}          # allocated layers, by index
        self.padded: list[Slot] = []                # new_slot's slots, filled at allocation
        self.decode: dict = {}                      # key -> (Span, value); "steps" -> (expr, env, source)
        self.spec: str | None = None
        self.spec_decl: tuple | None = None         # (expected, inputs, span) of `spec expected=F, inputs=D`
        self.input_patterns: list = []
        self.exact_in: tuple = ()                   # `exact in ...` (precision.py)
        self.exact_where: str = ""
        self.layer_stack: list[int] = []
        self.head_stack: list[int] = []
        self.fixed_d_head: set[int] = set()         # layers whose d_head the program gave
        self.model_d_head = False                   # the model statement gave d_head
        self.init_stream_log()

    # -- declarations -------------------------------------------------------------------
    def declare_vocab(self, vocab: Vocab) -> None:
        if self.vocab is not None:
            raise CompileError("the vocabulary is declared twice")
        self.vocab = vocab

    def declare_model(self, config: ModelConfig) -> None:
        if self.config is not None:
            raise CompileError("the model is declared twice")
        check_shape(config.heads, config.d_head, "model")
        self.config = config
        self.model_d_head = config.d_head is not None

    def slot_end(self) -> int:
        return max((s.stop for s in self.slots.values()), default=0)

    def declare_slot(self, name: str, size: int) -> Slot:
        """A `stream` slot: the next `size` dimensions, before any weight is written."""
        if self.params is not None:
            raise CompileError("declare the stream before writing weights")
        start = self.slot_end()
        slot = Slot(name, start, start + size)
        self.slots[name] = slot
        return slot

    def width(self) -> int | None:
        """d_model as far as it is known: the weights' width, the model's, or the stream's."""
        if self.params is not None:
            return self.params.d_model
        if self.config is not None and self.config.d_model is not None:
            return self.config.d_model
        return self.slot_end() or None

    def model_record(self) -> Record:
        c = self.config
        d = self.width()
        return Record("model", block=c.block, heads=c.heads, d_head=c.d_head if c.d_head is not None else d,
                      d_ff=c.d_ff, d_model=d, layers=c.layers)

    # -- names the program reads (scope.MachinePart) -------------------------------------
    def read(self, name: str):
        if name == "vocab":
            if self.vocab is None:
                raise CompileError("the vocabulary is not declared yet (`vocab ...`)")
            return self.vocab
        if name == "model":
            if self.config is None:
                raise CompileError("the model is not declared yet (`model block=...`)")
            return self.model_record()
        if name in LAYER_WEIGHTS and not self.layer_stack:
            raise CompileError(f"{name} is a layer weight: use it inside a `layer i:` block")
        view = self.weight(name).view()
        view.flags.writeable = False
        return view

    # -- allocation ---------------------------------------------------------------------
    def ensure_params(self) -> Params:
        if self.params is not None:
            return self.params
        if self.vocab is None:
            raise CompileError("declare the vocabulary (`vocab ...`) before writing weights")
        if self.config is None:
            raise CompileError("declare the model (`model block=...`) before writing weights")
        c, slot_total = self.config, self.slot_end()
        d = c.d_model
        if d is None:
            d = slot_total    # 0 when the slots come later (new_slot grows it); finish refuses 0
        elif slot_total > d:
            raise CompileError(f"the stream's slots need {slot_total} dimensions but model d_model={d}")
        if c.d_head is None:
            c.d_head = d
        self.check_size(d, self.planned_shapes())
        self.params = Params(tok_emb=np.zeros((len(self.vocab), d)), pos_emb=np.zeros((c.block, d)))
        self.budget.hold([self.params.tok_emb, self.params.pos_emb])
        self.fill_padding()
        return self.params

    def default_shape(self) -> dict:
        c = self.config
        return {"heads": c.heads, "d_head": c.d_head, "d_ff": c.d_ff}

    def planned_shapes(self, extra: dict | None = None) -> list[dict]:
        """Every layer's shape as things stand, `extra` ({index: shape}) overriding."""
        extra = extra or {}
        n = max([self.config.layers or 0] + [i + 1 for i in list(self.layers) + list(extra)])
        if n > MAX_LAYERS:   # before listing them
            raise CompileError(f"the model would have {n:,} layers, more than the limit of {MAX_LAYERS:,}")
        shape = lambda L: {"heads": L.n_heads, "d_head": L.d_head, "d_ff": L.d_ff}
        return [extra[i] if i in extra else shape(self.layers[i]) if i in self.layers else self.default_shape()
                for i in range(n)]

    def check_size(self, d: int, shapes: list[dict]) -> None:
        """Refuse, before allocating, a model with more parameters than MAX_MODEL_PARAMS, or
        whose weights would not fit the compilation's memory budget with everything else."""
        total = (2 * len(self.vocab) + self.config.block) * d + sum(_layer_size(d, **s) for s in shapes)
        if total > MAX_MODEL_PARAMS:
            raise CompileError(f"the model would have {total:,} parameters ({len(shapes)} layer(s)), "
                               f"more than the limit of {MAX_MODEL_PARAMS:,}")
        new_layers = max(0, len(shapes) - len(self.layers))
        self.budget.reserve(8 * max(0, total - self.allocated_params()) + LAYER_BYTES * new_layers,
                            f"the model's weights ({total:,} parameters)")

    def allocated_params(self) -> int:
        """Numbers in the weights allocated so far."""
        p = self.params
        if p is None:
            return 0
        own = p.tok_emb.size + p.pos_emb.size + (p.out_emb.size if p.out_emb is not None else 0)
        return own + sum(a.size for L in self.layers.values() for a in L.matrices().values())

    def weight(self, name: str) -> np.ndarray:
        """The array a weight name refers to here (a head's own view inside `head h:`)."""
        params = self.ensure_params()
        if params.d_model == 0:
            raise CompileError("the model has no width yet: give `model d_model=...` or a `stream` of slots, "
                               "or make a slot first (new_slot, or a library code such as codes.token_code())")
        if name in EMBEDDINGS:
            if name == "out_emb" and params.out_emb is None:
                self.budget.reserve(params.tok_emb.nbytes, "out_emb")
                params.out_emb = self.budget.hold(np.zeros_like(params.tok_emb))
            return getattr(params, name)
        if not self.layer_stack:
            raise CompileError(f"{name} is a layer weight: write it inside a `layer i:` block")
        arr = getattr(self.layers[self.layer_stack[-1]], name)
        if self.head_stack and name in HEAD_WEIGHTS:
            return arr[self.head_stack[-1]]
        return arr

    # -- layers and heads ---------------------------------------------------------------
    @contextmanager
    def layer_block(self, index: int, shape: dict):
        """Inside `layer index key=value...:`; allocates the layer on first entry."""
        params = self.ensure_params()
        c = self.config
        if index < 0:
            raise CompileError(f"layer index must be >= 0, got {index}")
        if c.layers is not None and index >= c.layers:
            raise CompileError(f"layer {index} is past the model's layers={c.layers}")
        L = self.layers.get(index)
        if L is None:
            full = {**self.default_shape(), **shape}
            if full["heads"] and not full["d_head"] and "d_head" not in shape and not self.model_d_head:
                raise CompileError(f"layer {index} has {full['heads']} head(s) of d_head = d_model, which is 0 here "
                                   f"(the slots come later); declare `model ..., heads=0` (library heads come "
                                   f"from new_head(k)) or give d_head")
            check_shape(full["heads"], full["d_head"], f"layer {index}")
            self.check_size(params.d_model, self.planned_shapes({index: full}))
            self.layers[index] = self.new_layer(full, params.d_model)
            if "d_head" in shape or self.model_d_head:
                self.fixed_d_head.add(index)
        else:
            have = {"heads": L.n_heads, "d_head": L.d_head, "d_ff": L.d_ff}
            for key, value in shape.items():
                if have[key] != value:
                    raise CompileError(f"layer {index} already has {key}={have[key]}; give a layer's shape "
                                       f"at its first `layer {index} ...:` block")
        self.layer_stack.append(index)
        try:
            yield
        finally:
            self.layer_stack.pop()

    def new_layer(self, shape: dict, d: int) -> Layer:
        """A zero layer of `shape` (checked by check_size), held in the budget."""
        L = Layer.zeros(shape["heads"], d, shape["d_head"], shape["d_ff"])
        self.budget.hold(list(L.matrices().values()))
        return L

    def current_layer(self, what: str) -> tuple[int, Layer]:
        if not self.layer_stack:
            raise CompileError(f"{what} goes inside a `layer i:` block")
        i = self.layer_stack[-1]
        return i, self.layers[i]

    @contextmanager
    def head_block(self, h: int):
        """Inside `head h:` (statements.py checks h against the layer's heads first)."""
        self.head_stack.append(h)
        try:
            yield
        finally:
            self.head_stack.pop()

    # -- functions a program calls (bound in the base environment) ----------------------
    def functions(self) -> dict[str, Builtin]:
        def token(name):
            """The id of a token of the vocabulary: token("<eos>")."""
            return self._token_ids("token", [name])[0]

        def tokens(names):
            """The ids of a list of tokens, as an array: tokens(["a", "b"])."""
            return np.array(self._token_ids("tokens", list(names)), dtype=np.int64)

        fns = (token, tokens)
        return {**{f.__name__: Builtin(f.__name__, f, False, f.__doc__) for f in fns}, **self.allocation_functions()}

    def _token_ids(self, fn: str, names: list) -> list[int]:
        if self.vocab is None:
            raise CompileError(f"{fn}() needs the vocabulary: declare `vocab ...` first")
        out = []
        for t in names:
            if not isinstance(t, str) or t not in self.vocab.index:
                raise CompileError(f"{show(t)} is not a token of the vocabulary {self.vocab.describe()}")
            out.append(self.vocab.index[t])
        return out

    # -- the end ------------------------------------------------------------------------
    def decode_rule(self, steps=None, steps_text: str = "") -> DecodeRule:
        def ids_of(key):
            if key not in self.decode:
                return []
            span, value = self.decode[key]
            out = []
            for t in value if isinstance(value, (list, tuple)) else [value]:
                if is_int(t) and not isinstance(t, str):
                    out.append(int(t))
                elif isinstance(t, str) and t in self.vocab.index:
                    out.append(self.vocab.index[t])
                else:
                    raise CompileError(f"decode {key}: {show(t)} is not a token of the vocabulary "
                                       f"{self.vocab.describe()}", span)
            return out

        stop = ids_of("stop")
        return DecodeRule(steps=steps, stop=stop[0] if stop else None, prefix=tuple(ids_of("prefix")),
                          steps_text=steps_text)

    def finish(self, name: str, filename: str, settings: dict, notes: dict, steps=None,
               steps_text: str = "") -> Program:
        """The Program. Its errors have no place: the evaluator points them at the file's end."""
        if self.vocab is None:
            raise CompileError("the program ends without declaring its vocabulary (`vocab ...`)")
        if self.config is None:
            raise CompileError("the program ends without declaring its model (`model block=...`)")
        if self.params is None and self.config.d_model is None and not self.slots:
            raise CompileError("the program ends without giving the model's width: `model d_model=...` "
                               "or a `stream` of slots")
        params = self.ensure_params()
        if params.d_model == 0:
            raise CompileError(f"the model has no width: give `model d_model=...`, a `stream` of "
                               f"slots, or make slots with new_slot (a library code such as codes.token_code())")
        shapes = self.planned_shapes()
        self.check_size(params.d_model, shapes)
        params.layers = [self.layers[i] if i in self.layers else self.new_layer(s, params.d_model)
                         for i, s in enumerate(shapes)]
        for label, arr in params.to_flat().items():
            if not np.all(np.isfinite(arr)):
                raise CompileError(f"{label} holds NaN or infinity after compilation")
        params.validate()
        notes = {**notes, "stream": self.stream_notes()}
        return Program(
            name=name, params=params, vocab=self.vocab, rule=self.decode_rule(steps, steps_text),
            slots={s.name: (s.start, s.stop) for s in self.slots.values()},
            spec=self.spec, settings=dict(settings), source_path=filename,
            notes=notes, input_patterns=list(self.input_patterns),
            exact_in=self.exact_in, exact_where=self.exact_where,
        )
