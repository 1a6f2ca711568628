"""Statements: one `stmt_<rule>` method per statement rule of grammar/taotp.lark.

A mixin of the Interpreter (evaluator.py). Declarations (`vocab`, `model`,
`stream`, `decode`, ...) and weight writes go to `self.machine`; bindings go to
the scope. Where a statement may stand (top level only, inside a `def`, in a
library file) was checked before running, by checks.py.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
from lark import Tree

from ..errors import ShapeError, did_you_mean
from ..vocab import Vocab
from .machine import DECODE_KEYS, EMBEDDINGS, LAYER_KEYS, LAYER_WEIGHTS, MODEL_KEYS, ModelConfig
from .operators import convert_override, index_message, is_int, kind, shape_text, show
from .precision import declare_exact
from .scope import Env, MachinePart, ReturnSignal, UserFunction


class Statements:
    def exec(self, node, env: Env):
        self.tick(node)
        self.machine.here = (self.source, node)
        handler = getattr(self, "stmt_" + node.data, None)
        if handler is None:
            raise self.error(node, f"unsupported statement {node.data}")
        try:
            handler(node, env)
        except Exception as e:
            raise self.located(node, e) from None

    def exec_suite(self, suite, env: Env):
        for stmt in suite.children:
            self.exec(stmt, env)

    # -- declarations ---------------------------------------------------------------------
    def stmt_param_stmt(self, node, env):
        name_tok, expr = node.children
        name = str(name_tok)
        if name in self.settings:
            raise self.error(node, f"parameter '{name}' is declared twice")
        value = default = self.eval(expr, env)
        if name in self.overrides:
            self.used_overrides.add(name)
            value = convert_override(name, self.overrides[name], default, program=Path(self.source.name).stem)
        self.settings[name] = value
        env.vars[name] = value

    def stmt_vocab_stmt(self, node, env):
        if self.machine.vocab is not None:
            raise self.error(node, "the vocabulary is declared twice")
        value = self.eval(node.children[0], env)
        if isinstance(value, (list, tuple)):
            value = Vocab(tuple(str(v) for v in value), mode="words")
        if not isinstance(value, Vocab):
            raise self.error(node, "vocab needs a vocabulary: ints(n), chars(\"...\") or words([...])")
        self.machine.declare_vocab(value)

    def shape_kwargs(self, kwargs, env, keys, what: str) -> dict:
        """`key=value` settings of `model` / `layer`: known keys, non-negative integers."""
        out = {}
        for kw in kwargs:
            key, value = self.eval_kwarg(kw, env)
            if key not in keys:
                raise self.error(kw, f"{what} has no setting '{key}' (settings: {', '.join(keys)})",
                                 hint=did_you_mean(key, keys))
            if key in out:
                raise self.error(kw, f"{what} {key} is given twice")
            if not is_int(value) or int(value) < 0:
                raise self.error(kw, f"{what} {key} must be a non-negative integer, got {show(value)}")
            out[key] = int(value)
        return out

    def stmt_model_stmt(self, node, env):
        if self.machine.config is not None:
            raise self.error(node, "the model is declared twice")
        cfg = self.shape_kwargs(node.children, env, MODEL_KEYS, "model")
        if "block" not in cfg:
            raise self.error(node, "model needs a block size: `model block=...`")
        self.machine.declare_model(ModelConfig(**cfg))

    def stmt_stream_stmt(self, node, env):
        if self.machine.params is not None:
            raise self.error(node, "declare the stream before writing weights")
        for decl in node.children:
            name, size_expr = decl.children
            name = str(name)
            size = self.eval(size_expr, env)
            if not is_int(size) or int(size) < 1:
                raise self.error(decl, f"slot '{name}' needs a positive integer size, got {show(size)}")
            if name in self.machine.slots or env.find(name):
                raise self.error(decl, f"'{name}' is already defined")
            env.vars[name] = self.machine.declare_slot(name, int(size))

    def stmt_decode_stmt(self, node, env):
        for kw in node.children:
            key = str(kw.children[0])
            if key not in DECODE_KEYS:
                raise self.error(kw, f"decode has no setting '{key}' (settings: {', '.join(DECODE_KEYS)})",
                                 hint=did_you_mean(key, DECODE_KEYS))
            if key == "steps":  # evaluated per input length, by the decoding rule (evaluator.py)
                self.machine.decode["steps"] = (kw.children[1], env, self.source)
            else:
                self.machine.decode[key] = (self.span(kw), self.eval(kw.children[1], env))

    def stmt_spec_stmt(self, node, env):
        """`spec NAME` (checks.py knows the name is registered) or `spec expected=F, inputs=D`,
        whose values spec_lang captures when the program is finished (evaluator.py)."""
        if isinstance(node.children[0], Tree):
            from ..spec_lang.spec import spec_arguments

            given = {str(kw.children[0]): (kw, self.eval(kw.children[1], env)) for kw in node.children}
            fn, domain = spec_arguments(given, lambda kw, msg: self.error(kw, msg))
            self.machine.spec = f"expected={getattr(fn, 'name', '?')}"
            self.machine.spec_decl = (fn, domain, self.span(node))
        else:
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

    stmt_exact_stmt = declare_exact  # `exact in float64` (precision.py)

    # -- modules (modules.py finds and runs them) --------------------------------------------
    def stmt_import_stmt(self, node, env):
        ref, alias = node.children
        module = self.modules.load(self, ref, node)
        env.vars[str(alias) if alias is not None else module.name] = module

    def stmt_from_stmt(self, node, env):
        ref, *names = node.children
        module = self.modules.load(self, ref, node)
        for tok in names:
            if tok is None:
                continue
            if not module.has(str(tok)):
                raise self.error(tok, f"module '{module.name}' has no '{tok}'", hint=did_you_mean(str(tok), module.names()))
            env.vars[str(tok)] = module.get(str(tok))

    def run_module(self, tree, source) -> Env:
        """A library file's top level, in globals of its own over the base environment."""
        env = Env(self.base)
        caller, self.source = self.source, source
        try:
            for stmt in tree.children:
                self.exec(stmt, env)
        finally:
            self.source = caller
        return env

    # -- bindings and simple statements -------------------------------------------------------
    def stmt_let_stmt(self, node, env):
        name, expr = node.children
        env.vars[str(name)] = self.eval(expr, env)

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
        raise ReturnSignal(self.eval(node.children[0], env))

    def stmt_print_stmt(self, node, env):
        print(*(show(self.eval(c, env)) for c in node.children), file=sys.stderr)

    def stmt_expr_stmt(self, node, env):
        self.eval(node.children[0], env)  # a call (checks.py), run for what it does

    def stmt_assign_stmt(self, node, env):
        target, op_tok, expr = node.children  # target: name, or index(name, subscripts) (checks.py)
        name_node, subs = (target, None) if target.data == "name" else target.children
        name = str(name_node.children[0])
        op = str(op_tok)
        value = self.eval(expr, env)
        scope = env.find(name)
        bound = scope.vars[name] if scope is not None else None
        if isinstance(bound, MachinePart) and bound.name in EMBEDDINGS + LAYER_WEIGHTS:
            index = self.eval_subscripts(subs, env) if subs is not None else ...
            # the array is fetched after the index: new_head() or new_slot() in it may grow it
            self.write(target, self.machine.weight(name), index, op, value)
            self.machine.record_write(name, index)
            return
        if scope is None:
            raise self.error(target, f"'{name}' is not defined; bind it first with `let {name} = ...`",
                             hint=did_you_mean(name, env.names()))
        if scope.parent is None:  # the base environment: builtins, constants, `vocab`, `model`
            raise self.error(target, f"'{name}' is predefined; bind a name of your own with `let`")
        if subs is None and op == "=":
            scope.vars[name] = value
            return
        self.budget.reserve(8 * np.size(bound), f"a copy of '{name}'")
        arr = self.budget.hold(np.array(bound, dtype=np.float64, copy=True))  # values are immutable: copy on write
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

    # -- blocks ---------------------------------------------------------------------------------
    def stmt_layer_block(self, node, env):
        index_expr, *kwargs, suite = node.children
        index = self.eval(index_expr, env)
        if not is_int(index):
            raise self.error(index_expr, f"layer index must be an integer, got {show(index)}")
        if self.machine.layer_stack:
            raise self.error(node, "layer blocks cannot be nested")
        shape = self.shape_kwargs([k for k in kwargs if k is not None], env, LAYER_KEYS, "layer")
        with self.machine.layer_block(int(index), shape):
            self.exec_suite(suite, env)

    def stmt_head_block(self, node, env):
        index_expr, suite = node.children
        _, layer = self.machine.current_layer("a head block")
        if self.machine.head_stack:
            raise self.error(node, "head blocks cannot be nested")
        h = self.eval(index_expr, env)  # may be new_head(), which grows the layer
        if not is_int(h) or not 0 <= int(h) < layer.n_heads:
            raise self.error(index_expr, f"head index must be an integer in [0, {layer.n_heads}), got {show(h)}")
        with self.machine.head_block(int(h)):
            self.exec_suite(suite, env)

    def stmt_for_block(self, node, env):
        name, iterable_expr, suite = node.children
        for item in self.iterate(iterable_expr, self.eval(iterable_expr, env)):
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
        env.vars[str(name)] = UserFunction(str(name), params, body, env, self.source, node)
