"""Syntax tree -> Program: runs the statements of a .taotp file against a machine.

The evaluator walks lark's tree directly. Statements declare the machine
(`vocab`, `model`, `stream`), write into its weights (slice assignments),
and say how it decodes (`decode`, `spec`, `input matches`). Expressions are
a small array language over the builtins registry; nothing reaches Python.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from lark import Token, Tree

from ..builtins import Builtin, BuiltinContext, load_all
from ..decoding import DecodeRule
from ..errors import CompileError, ShapeError, Span, TaotpError, UsageError, did_you_mean
from ..params import Layer, Params
from ..program import Program
from ..values import Record, Slot
from ..vocab import Vocab
from .operators import (COMPARE, as_number, binary, comparable, convert_override, describe, index_message, is_int,
                        kind, shape_text, show, unescape)
from .budget import Budget
from .precision import declare_exact

MAX_CALL_DEPTH = 40  # language calls; each takes ~20 Python frames of the default 1,000
MAX_MODEL_PARAMS = 100_000_000
MAX_LAYERS = 4096
LAYER_BYTES = 2048           # a layer's objects besides its numbers (8 arrays, 2 layer norms)
LAYER_WEIGHTS = ("Q", "K", "V", "P", "M1", "b1", "M2", "b2")
HEAD_WEIGHTS = ("Q", "K", "V", "P")
EMBEDDINGS = ("tok_emb", "pos_emb", "out_emb")
MODEL_KEYS = ("block", "heads", "d_head", "d_ff", "d_model", "layers")
DECODE_KEYS = ("steps", "stop", "prefix")
CONSTANTS = {"pi": np.pi, "inf": np.inf}


class _Return(Exception):
    def __init__(self, value):
        self.value = value


@dataclass
class UserFunction:
    name: str
    params: list[str]
    body: Tree
    closure: "Env"


class Env:
    """A scope: names bound by let/param/def/for, chained to the enclosing scope."""

    def __init__(self, parent: "Env | None" = None):
        self.vars: dict = {}
        self.parent = parent

    def find(self, name: str) -> "Env | None":
        env = self
        while env is not None:
            if name in env.vars:
                return env
            env = env.parent
        return None

    def names(self) -> set[str]:
        out, env = set(), self
        while env is not None:
            out |= set(env.vars)
            env = env.parent
        return out


@dataclass
class Machine:
    """What the program has declared so far, and the weights once allocated."""

    vocab: Vocab | None = None
    model: dict | None = None
    slots: dict[str, Slot] = field(default_factory=dict)
    params: Params | None = None
    decode: dict = field(default_factory=dict)
    spec: str | None = None
    input_patterns: list = field(default_factory=list)
    exact_in: tuple = ()   # `exact in ...` (lang/precision.py)
    exact_where: str = ""


class Evaluator:
    def __init__(self, source: str, filename: str, overrides: dict | None = None,
                 base_dir: Path | None = None, progress: bool = True):
        self.source = source
        self.lines = source.splitlines()
        self.filename = filename
        self.overrides = dict(overrides or {})
        self.used_overrides: set[str] = set()
        self.settings: dict = {}
        self.machine = Machine()
        self.budget = Budget()  # steps, work and memory of the whole compilation (lang/budget.py)
        self.ctx = BuiltinContext(base_dir or Path.cwd(), progress_enabled=progress, budget=self.budget,
                                  given_paths=frozenset(v for v in self.overrides.values() if isinstance(v, str)))
        self.builtins = load_all()
        self.globals = Env()
        self.globals.vars.update(CONSTANTS)
        self.layer_stack: list[int] = []
        self.head_stack: list[int] = []
        self.call_depth = 0

    # -- spans and errors ------------------------------------------------------------
    def span(self, node) -> Span | None:
        meta = getattr(node, "meta", None)
        if isinstance(node, Token):
            line, col, end = node.line, node.column, node.end_column
        elif meta is not None and not getattr(meta, "empty", True):
            line, col = meta.line, meta.column
            end = meta.end_column if meta.end_line == meta.line else None
        else:
            return None
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        width = (end - col) if end else max(1, len(text) - col + 1)
        return Span(self.filename, line, col, text, max(1, width))

    def end_span(self) -> Span:
        last = max(1, len(self.lines))
        return Span(self.filename, last, 1, self.lines[last - 1] if self.lines else "", 1)

    def text_of(self, node) -> str:
        meta = node.meta
        if meta.line != meta.end_line:
            return self.lines[meta.line - 1][meta.column - 1:].strip()
        return self.lines[meta.line - 1][meta.column - 1:meta.end_column - 1]

    def error(self, node, message: str, cls=CompileError, hint: str | None = None):
        return cls(message, self.span(node), hint)

    def located(self, node, e: Exception) -> Exception:
        """The error to raise for `e` escaping `node`: taotp's own errors gain the node's
        place if they have none; numpy's and Python's become a CompileError there.
        A function's `return` passes through untouched."""
        if isinstance(e, _Return):
            return e
        if isinstance(e, TaotpError):
            if e.span is None and getattr(e, "locate", True):  # a --set error is the command line's, not a line's
                e.span = self.span(node)
            return e
        if isinstance(e, RecursionError):
            return self.error(node, "too deeply nested")
        return self.error(node, describe(e))

    def tick(self, node):
        try:
            self.budget.step()  # lang/budget.py: a BudgetError past the step limit
        except TaotpError as e:
            raise self.located(node, e) from None

    # -- entry point ---------------------------------------------------------------------
    def run(self, tree: Tree, name: str) -> Program:
        declared = [str(st.children[0]) for st in tree.children if isinstance(st, Tree) and st.data == "param_stmt"]
        unknown = sorted(set(self.overrides) - set(declared))
        if unknown:  # before running: a typo in --set should not wait for a long compilation
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(f"--set {unknown[0]}: {name} has no parameter '{unknown[0]}' (its parameters: {known})",
                             hint=did_you_mean(unknown[0], declared))
        for stmt in tree.children:
            self.exec(stmt, self.globals, top=True)
        return self.finish(name)

    def finish(self, name: str) -> Program:
        m = self.machine
        end = self.end_span()  # whole-program errors point at the end of the file
        if m.vocab is None:
            raise CompileError("the program ends without declaring its vocabulary (`vocab ...`)", end)
        if m.model is None:
            raise CompileError("the program ends without declaring its model (`model block=...`)", end)
        params = self.ensure_params(None)
        for label, arr in params.to_flat().items():
            if not np.all(np.isfinite(arr)):
                raise CompileError(f"{label} holds NaN or infinity after compilation", end)
        params.validate()
        rule = self.decode_rule()
        return Program(
            name=name, params=params, vocab=m.vocab, rule=rule,
            slots={s.name: (s.start, s.stop) for s in m.slots.values()},
            spec=m.spec, settings=dict(self.settings), source_path=self.filename,
            notes=self.ctx.notes, input_patterns=list(m.input_patterns),
            exact_in=m.exact_in, exact_where=m.exact_where,
        )

    # -- the machine ---------------------------------------------------------------------
    def ensure_params(self, node) -> Params:
        m = self.machine
        if m.params is not None:
            return m.params
        if m.vocab is None:
            raise self.error(node, "declare the vocabulary (`vocab ...`) before writing weights") if node else \
                CompileError("no vocabulary declared", self.end_span())
        if m.model is None:
            raise self.error(node, "declare the model (`model block=...`) before writing weights") if node else \
                CompileError("no model declared", self.end_span())
        cfg = m.model
        d_model = cfg.get("d_model")
        slot_total = max((s.stop for s in m.slots.values()), default=0)
        if d_model is None:
            if not m.slots:
                raise self.error(node, "give the model's width: `model d_model=...` or a `stream` of slots") \
                    if node else CompileError("the program ends without giving the model's width: "
                                              "`model d_model=...` or a `stream` of slots", self.end_span())
            d_model = slot_total
        elif slot_total > d_model:
            raise CompileError(f"the stream's slots need {slot_total} dimensions but model d_model={d_model}",
                               self.span(node) if node is not None else self.end_span())
        heads, d_ff = cfg.get("heads", 1), cfg.get("d_ff", 0)
        d_head = cfg.get("d_head", d_model)
        n_layers = cfg.get("layers", 0)
        V, B = len(m.vocab), cfg["block"]
        cfg.update(d_model=d_model, heads=heads, d_head=d_head, d_ff=d_ff)
        self.check_model_size(node, n_layers)
        m.params = Params(
            tok_emb=np.zeros((V, d_model)), pos_emb=np.zeros((B, d_model)),
            layers=[Layer.zeros(heads, d_model, d_head, d_ff) for _ in range(n_layers)],
        )
        self.budget.hold([m.params.tok_emb, m.params.pos_emb,
                          *(a for L in m.params.layers for a in L.matrices().values())])
        self.globals.vars["model"] = self.model_record()
        return m.params

    def check_model_size(self, node, n_layers: int) -> None:
        """Refuse, before allocating, a model with more than MAX_LAYERS layers or MAX_MODEL_PARAMS
        parameters, or whose weights do not fit the compilation's memory budget."""
        if n_layers > MAX_LAYERS:
            raise self.error(node, f"the model would have {n_layers:,} layers, more than the limit of "
                                   f"{MAX_LAYERS:,}") if node is not None else \
                CompileError(f"the model would have {n_layers:,} layers, more than the limit of {MAX_LAYERS:,}",
                             self.end_span())
        cfg = self.machine.model
        d, h, k, f = cfg["d_model"], cfg["heads"], cfg["d_head"], cfg["d_ff"]
        per_layer = 4 * h * d * k + 2 * d * f + f + d
        total = (2 * len(self.machine.vocab) + cfg["block"]) * d + n_layers * per_layer
        if total <= MAX_MODEL_PARAMS:  # the new weights must fit the memory budget with everything else
            new_layers = n_layers - (len(self.machine.params.layers) if self.machine.params else 0)
            try:
                self.budget.reserve(8 * (total - self.allocated_params()) + LAYER_BYTES * max(0, new_layers),
                                    f"the model's weights ({total:,} parameters)")
            except TaotpError as e:
                raise self.located(node, e) if node is not None else CompileError(e.message, self.end_span(), e.hint) \
                    from None
        if total > MAX_MODEL_PARAMS:
            raise self.error(node, f"the model would have {total:,} parameters ({n_layers} layer(s)), "
                                   f"more than the limit of {MAX_MODEL_PARAMS:,}") if node is not None else \
                CompileError(f"the model would have {total:,} parameters, more than the limit of {MAX_MODEL_PARAMS:,}",
                             self.end_span())

    def allocated_params(self) -> int:
        p = self.machine.params
        if p is None:
            return 0
        return p.tok_emb.size + p.pos_emb.size + sum(a.size for L in p.layers for a in L.matrices().values())

    def model_record(self) -> Record:
        cfg = self.machine.model
        return Record("model", block=cfg["block"], heads=cfg.get("heads", 1), d_head=cfg.get("d_head"),
                      d_ff=cfg.get("d_ff", 0), d_model=cfg.get("d_model"), layers=cfg.get("layers"))

    def layer(self, node, index: int) -> Layer:
        params = self.ensure_params(node)
        cfg = self.machine.model
        if index < 0:
            raise self.error(node, f"layer index must be >= 0, got {index}")
        if "layers" in cfg and cfg["layers"] is not None and cfg.get("layers_fixed") and index >= cfg["layers"]:
            raise self.error(node, f"layer {index} is past the model's layers={cfg['layers']}")
        if index >= len(params.layers):
            self.check_model_size(node, index + 1)
        while len(params.layers) <= index:
            params.layers.append(Layer.zeros(cfg["heads"], cfg["d_model"], cfg["d_head"], cfg["d_ff"]))
            self.budget.hold(list(params.layers[-1].matrices().values()))
        return params.layers[index]

    def weight(self, node, name: str) -> np.ndarray:
        """The array a weight name refers to here (a head's view inside `head h:`)."""
        params = self.ensure_params(node)
        if name in EMBEDDINGS:
            if name == "out_emb":
                if params.out_emb is None:
                    self.budget.reserve(params.tok_emb.nbytes, "out_emb")
                    params.out_emb = self.budget.hold(np.zeros_like(params.tok_emb))
                return params.out_emb
            return getattr(params, name)
        if not self.layer_stack:
            raise self.error(node, f"{name} is a layer weight: write it inside a `layer i:` block")
        L = self.layer(node, self.layer_stack[-1])
        arr = getattr(L, name)
        if self.head_stack and name in HEAD_WEIGHTS:
            h = self.head_stack[-1]
            return arr[h]
        return arr

    def is_weight(self, name: str, env: Env) -> bool:
        if env.find(name) is not None:
            return False
        return name in EMBEDDINGS or (name in LAYER_WEIGHTS and bool(self.layer_stack))

    # -- statements ------------------------------------------------------------------------
    def exec(self, node: Tree, env: Env, top: bool = False):
        self.tick(node)
        handler = getattr(self, "stmt_" + node.data, None)
        if handler is None:
            raise self.error(node, f"unsupported statement {node.data}")
        if node.data in ("param_stmt", "vocab_stmt", "model_stmt", "stream_stmt", "decode_stmt",
                         "spec_stmt", "input_stmt") and not top:
            word = node.data.split("_")[0]
            raise self.error(node, f"`{word}` declares the program; write it at the top level, not inside a block")
        try:
            handler(node, env)
        except Exception as e:
            raise self.located(node, e) from None

    def exec_suite(self, suite: Tree, env: Env):
        for stmt in suite.children:
            self.exec(stmt, env)

    def stmt_param_stmt(self, node, env):
        name_tok, expr = node.children
        name = str(name_tok)
        if name in self.settings:
            raise self.error(node, f"parameter '{name}' is declared twice")
        default = self.eval(expr, env)
        value = default
        if name in self.overrides:
            self.used_overrides.add(name)
            value = convert_override(name, self.overrides[name], default, program=Path(self.filename).stem)
        self.settings[name] = value
        env.vars[name] = value

    def stmt_let_stmt(self, node, env):
        name, expr = node.children
        self.check_not_reserved(node, str(name))
        env.vars[str(name)] = self.eval(expr, env)

    def check_not_reserved(self, node, name):
        if name in self.builtins:
            raise self.error(node, f"'{name}' is a builtin; choose another name")
        if name in EMBEDDINGS or name in LAYER_WEIGHTS:
            raise self.error(node, f"'{name}' names a weight; choose another name")

    def stmt_vocab_stmt(self, node, env):
        if self.machine.vocab is not None:
            raise self.error(node, "the vocabulary is declared twice")
        value = self.eval(node.children[0], env)
        if isinstance(value, (list, tuple)):
            value = Vocab(tuple(str(v) for v in value), mode="words")
        if not isinstance(value, Vocab):
            raise self.error(node, "vocab needs a vocabulary: ints(n), chars(\"...\") or words([...])")
        self.machine.vocab = value
        self.globals.vars["vocab"] = value

    def stmt_model_stmt(self, node, env):
        if self.machine.model is not None:
            raise self.error(node, "the model is declared twice")
        cfg = {}
        for kw in node.children:
            key, value = self.eval_kwarg(kw, env)
            if key not in MODEL_KEYS:
                raise self.error(kw, f"model has no setting '{key}' (settings: {', '.join(MODEL_KEYS)})",
                                 hint=did_you_mean(key, MODEL_KEYS))
            if not is_int(value) or int(value) < 0:
                raise self.error(kw, f"model {key} must be a non-negative integer, got {show(value)}")
            cfg[key] = int(value)
        if "block" not in cfg:
            raise self.error(node, "model needs a block size: `model block=...`")
        if "layers" in cfg:
            cfg["layers_fixed"] = True
        self.machine.model = cfg
        self.globals.vars["model"] = self.model_record()

    def stmt_stream_stmt(self, node, env):
        if self.machine.params is not None:
            raise self.error(node, "declare the stream before writing weights")
        start = max((s.stop for s in self.machine.slots.values()), default=0)
        for decl in node.children:
            name, size_expr = decl.children
            name = str(name)
            size = self.eval(size_expr, env)
            if not is_int(size) or int(size) < 1:
                raise self.error(decl, f"slot '{name}' needs a positive integer size, got {show(size)}")
            if name in self.machine.slots or env.find(name):
                raise self.error(decl, f"'{name}' is already defined")
            self.check_not_reserved(decl, name)
            slot = Slot(name, start, start + int(size))
            self.machine.slots[name] = slot
            self.globals.vars[name] = slot
            start = slot.stop

    def stmt_decode_stmt(self, node, env):
        for kw in node.children:
            key = str(kw.children[0])
            if key not in DECODE_KEYS:
                raise self.error(kw, f"decode has no setting '{key}' (settings: {', '.join(DECODE_KEYS)})",
                                 hint=did_you_mean(key, DECODE_KEYS))
            if key == "steps":
                self.machine.decode["steps"] = (kw.children[1], env)  # evaluated per input
            else:
                self.machine.decode[key] = (kw, self.eval(kw.children[1], env))

    def stmt_spec_stmt(self, node, env):
        self.machine.spec = str(node.children[0])

    def stmt_input_stmt(self, node, env):
        pattern = self.eval(node.children[0], env)
        message = self.eval(node.children[1], env) if len(node.children) > 1 else None  # ("," expr)? may be absent
        if not isinstance(pattern, str):
            raise self.error(node, "input matches needs a regular expression string")
        if message is not None and not isinstance(message, str):
            raise self.error(node.children[1], f"input matches: the message must be a string, got {kind(message)}")
        try:
            re.compile(pattern)
        except re.error as e:
            raise self.error(node, f"bad regular expression: {e}") from None
        self.machine.input_patterns.append((pattern, message or f"the input must match {pattern!r}"))

    stmt_exact_stmt = declare_exact  # `exact in float64` (lang/precision.py)

    def stmt_assert_stmt(self, node, env):
        cond = self.eval(node.children[0], env)
        if not self.truth(node, cond):
            msg = self.eval(node.children[1], env) if len(node.children) > 1 else None
            shown = msg if isinstance(msg, str) else show(msg)
            raise self.error(node, f"assertion failed: {shown}" if msg is not None and shown
                             else f"assertion failed: {self.text_of(node.children[0])}")

    def stmt_return_stmt(self, node, env):
        if self.call_depth == 0:
            raise self.error(node, "return outside a function")
        raise _Return(self.eval(node.children[0], env))

    def stmt_print_stmt(self, node, env):
        print(*(show(self.eval(c, env)) for c in node.children), file=sys.stderr)

    def stmt_assign_stmt(self, node, env):
        target, op_tok, expr = node.children
        name = str(target.children[0])
        subs = target.children[1] if len(target.children) > 1 else None
        op = str(op_tok)
        value = self.eval(expr, env)
        if self.is_weight(name, env):
            arr = self.weight(target, name)
            index = self.eval_subscripts(subs, env) if subs is not None else ...
            self.write(target, arr, index, op, value)
            return
        scope = env.find(name)
        if scope is None:
            if name in LAYER_WEIGHTS:
                raise self.error(target, f"{name} is a layer weight: write it inside a `layer i:` block")
            raise self.error(target, f"'{name}' is not defined; bind it first with `let {name} = ...`",
                             hint=did_you_mean(name, env.names() | set(EMBEDDINGS)))
        if subs is None and op == "=":
            scope.vars[name] = value
            return
        current = scope.vars[name]
        self.budget.reserve(8 * np.size(current), f"a copy of '{name}'")
        arr = self.budget.hold(np.array(current, dtype=np.float64, copy=True))  # values are immutable: copy on write
        self.write(target, arr, self.eval_subscripts(subs, env) if subs is not None else ..., op, value)
        scope.vars[name] = arr

    def write(self, target, arr: np.ndarray, index, op: str, value):
        try:
            view_shape = np.shape(arr[index])
        except (IndexError, TypeError, ValueError) as e:
            raise self.error(target, f"bad index for {self.text_of(target)}: {index_message(e, arr.shape)}",
                             ShapeError) from None
        try:
            val = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.error(target, f"{self.text_of(target)} needs numbers, got {kind(value)}") from None
        try:
            ok = np.broadcast_shapes(val.shape, view_shape) == tuple(view_shape)
        except ValueError:
            ok = False
        if not ok:
            raise self.error(target, f"{self.text_of(target)} needs {shape_text(view_shape)}, got {shape_text(val.shape)}",
                             ShapeError)
        if op == "=":
            arr[index] = val
        elif op == "+=":
            arr[index] += val
        elif op == "-=":
            arr[index] -= val
        elif op == "*=":
            arr[index] *= val
        elif op == "/=":
            arr[index] /= val

    def stmt_layer_block(self, node, env):
        index_expr, suite = node.children
        index = self.eval(index_expr, env)
        if not is_int(index):
            raise self.error(index_expr, f"layer index must be an integer, got {show(index)}")
        if self.layer_stack:
            raise self.error(node, "layer blocks cannot be nested")
        self.layer(node, int(index))
        self.layer_stack.append(int(index))
        try:
            self.exec_suite(suite, env)
        finally:
            self.layer_stack.pop()

    def stmt_head_block(self, node, env):
        index_expr, suite = node.children
        if not self.layer_stack:
            raise self.error(node, "a head block goes inside a `layer i:` block")
        if self.head_stack:
            raise self.error(node, "head blocks cannot be nested")
        h = self.eval(index_expr, env)
        heads = self.machine.model["heads"]
        if not is_int(h) or not 0 <= int(h) < heads:
            raise self.error(index_expr, f"head index must be an integer in [0, {heads}), got {show(h)}")
        self.head_stack.append(int(h))
        try:
            self.exec_suite(suite, env)
        finally:
            self.head_stack.pop()

    def stmt_for_block(self, node, env):
        name, iterable_expr, suite = node.children
        iterable = self.eval(iterable_expr, env)
        try:
            items = iter(iterable if not isinstance(iterable, np.ndarray) else list(iterable))
        except TypeError:
            raise self.error(iterable_expr, f"cannot loop over {kind(iterable)}") from None
        for item in items:
            env.vars[str(name)] = item
            self.exec_suite(suite, env)

    def stmt_if_block(self, node, env):
        cond, suite, *rest = node.children
        if self.truth(cond, self.eval(cond, env)):
            return self.exec_suite(suite, env)
        for clause in rest:
            if clause is None:
                continue
            if clause.data == "elif_clause":
                c, s = clause.children
                if self.truth(c, self.eval(c, env)):
                    return self.exec_suite(s, env)
            else:
                return self.exec_suite(clause.children[0], env)

    def stmt_def_block(self, node, env):
        name, *params, body = node.children
        params = [str(p) for p in params if p is not None]
        self.check_not_reserved(node, str(name))
        env.vars[str(name)] = UserFunction(str(name), params, body, env)

    # -- decoding rule ------------------------------------------------------------------------
    def decode_rule(self) -> DecodeRule:
        d, vocab = self.machine.decode, self.machine.vocab

        def ids_of(key):
            if key not in d:
                return []
            kw, value = d[key]
            toks = value if isinstance(value, (list, tuple)) else [value]
            out = []
            for t in toks:
                if is_int(t) and not isinstance(t, str):
                    out.append(int(t))
                elif isinstance(t, str) and t in vocab.index:
                    out.append(vocab.index[t])
                else:
                    raise self.error(kw, f"decode {key}: {show(t)} is not a token of the vocabulary {vocab.describe()}")
            return out

        stop = ids_of("stop")
        steps_fn, steps_text = None, ""
        if "steps" in d:
            expr, env = d["steps"]
            steps_text = self.text_of(expr)

            def steps_fn(input_len, _expr=expr, _env=env):
                scope = Env(_env)
                scope.vars["input_len"] = input_len
                value = self.eval(_expr, scope)
                if not is_int(value):
                    raise self.error(_expr, f"decode steps must be an integer, got {show(value)}")
                return int(value)
            steps_fn = functools.lru_cache(maxsize=None)(steps_fn)  # one evaluation per input length
        return DecodeRule(steps=steps_fn, stop=stop[0] if stop else None, prefix=tuple(ids_of("prefix")),
                          steps_text=steps_text)

    # -- expressions ---------------------------------------------------------------------------
    def eval(self, node, env: Env):
        if isinstance(node, Token):  # a bare NAME in kwargs etc.
            return self.lookup(node, str(node), env)
        self.tick(node)
        handler = getattr(self, "ex_" + node.data)
        try:
            return handler(node, env)
        except Exception as e:
            raise self.located(node, e) from None

    def ex_number(self, node, env):
        text = str(node.children[0]).replace("_", "")
        return float(text) if any(c in text for c in ".eE") else int(text)

    def ex_string(self, node, env):
        return unescape(str(node.children[0])[1:-1], lambda msg: self.error(node, msg))

    def ex_true(self, node, env):
        return True

    def ex_false(self, node, env):
        return False

    def ex_name(self, node, env):
        return self.lookup(node, str(node.children[0]), env)

    def lookup(self, node, name: str, env: Env):
        scope = env.find(name)
        if scope is not None:
            return scope.vars[name]
        if self.is_weight(name, env):
            view = self.weight(node, name).view()
            view.flags.writeable = False
            return view
        if name in self.builtins:
            return self.builtins[name]
        if name in ("token", "tokens"):
            return name  # evaluator functions, resolved in ex_call
        if name == "input_len":
            raise self.error(node, "input_len is only known when decoding: use it in `decode steps=...`")
        if name in LAYER_WEIGHTS:
            raise self.error(node, f"{name} is a layer weight: use it inside a `layer i:` block")
        candidates = env.names() | set(self.builtins) | set(EMBEDDINGS)
        raise self.error(node, f"unknown name '{name}'", hint=did_you_mean(name, candidates))

    def ex_tuple(self, node, env):
        return self.budget.hold(tuple(self.eval(c, env) for c in node.children if c is not None))

    def ex_list(self, node, env):
        return self.budget.hold([self.eval(c, env) for c in node.children if c is not None])

    def ex_listcomp(self, node, env):
        elem, name, iterable_expr, cond = node.children
        iterable = self.eval(iterable_expr, env)
        scope = Env(env)
        out = []
        try:
            items = iter(iterable if not isinstance(iterable, np.ndarray) else list(iterable))
        except TypeError:
            raise self.error(iterable_expr, f"cannot loop over {kind(iterable)}") from None
        for item in items:
            scope.vars[str(name)] = item
            if cond is None or self.truth(cond, self.eval(cond, scope)):
                out.append(self.eval(elem, scope))
        return self.budget.hold(out)

    def ex_ternary(self, node, env):
        a, cond, b = node.children
        return self.eval(a, env) if self.truth(cond, self.eval(cond, env)) else self.eval(b, env)

    def ex_or_(self, node, env):
        a, b = node.children
        left = self.eval(a, env)
        return left if self.truth(a, left) else self.eval(b, env)

    def ex_and_(self, node, env):
        a, b = node.children
        left = self.eval(a, env)
        return self.eval(b, env) if self.truth(a, left) else left

    def ex_not_(self, node, env):
        return not self.truth(node, self.eval(node.children[0], env))

    def ex_neg(self, node, env):
        return -as_number(self.eval(node.children[0], env))

    def ex_pos(self, node, env):
        return +as_number(self.eval(node.children[0], env))

    def ex_pow_(self, node, env):
        a, _, b = node.children
        base, exponent = as_number(self.eval(a, env)), as_number(self.eval(b, env))
        self.budget.before_binary("**", base, exponent)
        if isinstance(base, np.ndarray) or isinstance(exponent, np.ndarray):
            with np.errstate(all="ignore"):  # overflow shows up as inf, reported after compilation
                return np.power(base, exponent)
        if isinstance(base, (int, np.integer)) and isinstance(exponent, (int, np.integer)) and abs(exponent) > 1024:
            return float(base) ** float(exponent)  # not a Python big integer of unbounded size
        result = base ** exponent
        if isinstance(result, complex):  # (-8) ** 0.5: the language has no complex numbers
            raise self.error(node, f"({show(base)}) ** {show(exponent)} is not a real number")
        return result

    def ex_binop(self, node, env):
        a, op, b = node.children
        return binary(str(op), self.eval(a, env), self.eval(b, env))

    def ex_compare(self, node, env):
        kids = node.children
        left = self.eval(kids[0], env)
        result = True
        for i in range(1, len(kids), 2):
            right = self.eval(kids[i + 1], env)
            r = COMPARE[str(kids[i])](comparable(left), comparable(right))
            result = r if result is True else np.logical_and(result, r)
            left = right
        return bool(result) if isinstance(result, (bool, np.bool_)) else result

    def ex_attr(self, node, env):
        obj_node, name = node.children
        obj, name = self.eval(obj_node, env), str(name)
        if isinstance(obj, Record):
            if obj.has(name):
                return obj.get(name)
            raise self.error(node, f"{obj.kind} has no field '{name}' (fields: {', '.join(obj.field_names())})",
                             hint=did_you_mean(name, obj.field_names()))
        if isinstance(obj, Slot) and name in ("start", "stop", "size"):
            return getattr(obj, name)
        if isinstance(obj, np.ndarray) and name in ("T", "shape", "size", "ndim"):
            v = getattr(obj, name)
            return list(v) if name == "shape" else v
        if isinstance(obj, Vocab) and name in ("size", "tokens"):
            return len(obj) if name == "size" else list(obj.tokens)
        raise self.error(node, f"{kind(obj)} has no attribute '{name}'")

    def ex_index(self, node, env):
        obj_node, subs = node.children
        obj = self.eval(obj_node, env)
        index = self.eval_subscripts(subs, env)
        if isinstance(obj, (list, tuple, str, range)):
            if isinstance(index, tuple):
                if len(index) != 1:
                    raise self.error(node, f"a {kind(obj)} takes one index")
                index = index[0]
            if isinstance(index, (slice, int, np.integer)):
                try:
                    return obj[index]
                except IndexError:
                    raise self.error(node, f"index {index} is out of range for a {kind(obj)} of length {len(obj)}") from None
            obj = np.asarray(obj)
        if not isinstance(obj, np.ndarray):
            raise self.error(node, f"cannot index {kind(obj)}")
        self.budget.before_index(obj.shape, index)
        try:
            return self.budget.hold(obj[index])
        except IndexError as e:
            raise self.error(node, index_message(e, obj.shape), ShapeError) from None

    def eval_subscripts(self, subs: Tree, env):
        parts = []
        for c in subs.children:
            if c is None:
                continue
            if isinstance(c, Tree) and c.data == "slice":
                bounds = [None if b is None else _int_index(self, b, self.eval(b, env)) for b in c.children]
                parts.append(slice(*bounds))
            else:
                v = self.eval(c, env)
                if isinstance(v, Slot):
                    parts.append(v.as_slice())
                elif isinstance(v, (list, tuple, np.ndarray, range)):
                    arr = np.asarray(list(v) if isinstance(v, range) else v)
                    if arr.dtype == bool:
                        parts.append(arr)
                    elif arr.size and not np.all(np.mod(arr, 1) == 0):
                        raise self.error(c, "array indices must be integers")
                    else:
                        parts.append(arr.astype(np.int64))
                else:
                    parts.append(_int_index(self, c, v))
        return parts[0] if len(parts) == 1 else tuple(parts)

    def eval_kwarg(self, kw: Tree, env):
        name, expr = kw.children
        return str(name), self.eval(expr, env)

    def ex_call(self, node, env):
        fn_node, args_node = node.children
        fn = self.eval(fn_node, env)
        args, kwargs = [], {}
        for a in (args_node.children if args_node is not None else []):
            if isinstance(a, Tree) and a.data == "kwarg":
                k, v = self.eval_kwarg(a, env)
                kwargs[k] = v
            else:
                args.append(self.eval(a, env))
        if isinstance(fn, Builtin):
            return self.call_builtin(node, fn, args, kwargs)
        if isinstance(fn, UserFunction):
            return self.call_user(node, fn, args, kwargs)
        if fn in ("token", "tokens"):
            return self.call_token(node, fn, args)
        raise self.error(fn_node, f"{kind(fn)} is not a function")

    def call_token(self, node, fn, args):
        if self.machine.vocab is None:
            raise self.error(node, f"{fn}() needs the vocabulary: declare `vocab ...` first")
        if len(args) != 1:
            raise self.error(node, f"{fn}() takes one argument")
        vocab = self.machine.vocab
        items = [args[0]] if fn == "token" else list(args[0])
        out = []
        for t in items:
            if not isinstance(t, str) or t not in vocab.index:
                raise self.error(node, f"{show(t)} is not a token of the vocabulary {vocab.describe()}")
            out.append(vocab.index[t])
        return out[0] if fn == "token" else np.array(out, dtype=np.int64)

    def call_builtin(self, node, fn: Builtin, args, kwargs):
        try:
            self.budget.before_builtin(fn.name, args, kwargs)  # lang/budget.py
            result = fn.fn(self.ctx, *args, **kwargs) if fn.context else fn.fn(*args, **kwargs)
            return self.budget.hold(result)
        except TaotpError as e:
            if e.span is None:
                e.span = self.span(node)
            raise
        except TypeError as e:
            import inspect
            try:
                sig = str(inspect.signature(fn.fn).replace(return_annotation=inspect.Signature.empty))
                sig = sig.replace("(ctx, ", "(").replace("(ctx)", "()")
            except (TypeError, ValueError):
                sig = "(...)"
            why = describe(e).replace(f"{getattr(fn.fn, '__name__', fn.name)}()", f"{fn.name}()")
            raise self.error(node, f"wrong arguments for {fn.name}{sig}: {why}") from None
        except Exception as e:
            raise self.error(node, f"in {fn.name}(): {describe(e)}") from None

    def call_user(self, node, fn: UserFunction, args, kwargs):
        if len(args) > len(fn.params) or any(k not in fn.params for k in kwargs):
            raise self.error(node, f"{fn.name}() takes ({', '.join(fn.params)})")
        scope = Env(fn.closure)
        for p, a in zip(fn.params, args):
            scope.vars[p] = a
        for k, v in kwargs.items():
            if k in scope.vars:
                raise self.error(node, f"{fn.name}() got '{k}' twice")
            scope.vars[k] = v
        missing = [p for p in fn.params if p not in scope.vars]
        if missing:
            raise self.error(node, f"{fn.name}() is missing argument '{missing[0]}'")
        if self.call_depth >= MAX_CALL_DEPTH:
            raise self.error(node, f"more than {MAX_CALL_DEPTH} nested calls")
        self.call_depth += 1
        try:
            self.exec_suite(fn.body, scope)
        except _Return as r:
            return r.value
        finally:
            self.call_depth -= 1
        return None

    def truth(self, node, value) -> bool:
        if isinstance(value, np.ndarray) and value.size != 1:
            raise self.error(node, "the truth of an array with several elements is ambiguous; use all() or any()")
        return bool(value)

def _int_index(ev: Evaluator, node, v):
    if isinstance(v, Slot):
        raise ev.error(node, f"slot '{v.name}' is a range; use it alone as an index, not inside a slice")
    if not is_int(v):
        raise ev.error(node, f"an index must be an integer, got {show(v)}")
    return int(v)
