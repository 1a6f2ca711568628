"""Syntax tree -> Program: runs the statements of a .taotp file against a machine.

The work is split by concept: statements.py and expressions.py hold the
handlers (one per grammar rule, as lark's calc example dispatches), machine.py
the machine being built, scope.py the scopes and values, source.py the source
files errors point into, checks.py the static pass run before this one. This
module is the front: the Interpreter that ties the handlers to one source file
and one machine, and the Evaluator that runs a whole program.
"""

from __future__ import annotations

import functools
from pathlib import Path

from lark import Tree

from ..builtins import BuiltinContext, load_all
from ..errors import CompileError, TaotpError, UsageError, did_you_mean
from ..program import Program
from .budget import Budget, active
from .expressions import Expressions
from .machine import EMBEDDINGS, LAYER_WEIGHTS, MachineBuilder
from .modules import ModuleLoader
from .operators import describe, is_int, show
from .scope import Env, MachinePart, ReturnSignal, base_env
from .source import SourceFile
from .statements import Statements


class Interpreter(Statements, Expressions):
    """Runs statements and expressions of `source` against `machine`."""

    def __init__(self, machine: MachineBuilder, ctx: BuiltinContext, source: SourceFile):
        self.machine = machine
        self.ctx = ctx
        self.source = source        # the file whose nodes run now (a called function's own)
        self.budget = ctx.budget     # steps, work and memory of the compilation (budget.py)
        self.call_depth = 0
        self.settings: dict = {}
        self.overrides: dict = {}
        self.used_overrides: set[str] = set()
        self.modules: ModuleLoader | None = None  # imports run only in a whole compilation
        self.base: Env | None = None

    # -- places and errors --------------------------------------------------------------
    def span(self, node):
        return self.source.span(node)

    def text_of(self, node) -> str:
        return self.source.text_of(node)

    def error(self, node, message: str, cls=CompileError, hint: str | None = None):
        return self.source.error(node, message, cls, hint)

    def located(self, node, e: Exception) -> Exception:
        """The error to raise for `e` escaping `node`: taotp's own errors gain the node's
        place if they have none; numpy's and Python's become a CompileError there.
        A function's `return` passes through untouched."""
        if isinstance(e, ReturnSignal):
            return e
        if isinstance(e, TaotpError):
            if e.span is None and getattr(e, "locate", True):  # a --set error is the command line's
                e.span = self.span(node)
            return e
        if isinstance(e, RecursionError):
            return self.error(node, "too deeply nested")
        return self.error(node, describe(e))

    def tick(self, node):
        """Called once per statement and expression node: the one place to count steps."""
        try:
            self.budget.step()      # a BudgetError past the compilation's step limit
        except TaotpError as e:
            raise self.located(node, e) from None


class Evaluator(Interpreter):
    """One compilation: a program's source, its --set overrides, the machine it builds."""

    def __init__(self, source: str, filename: str, overrides: dict | None = None,
                 base_dir: Path | None = None, progress: bool = True):
        overrides = dict(overrides or {})
        budget = Budget()   # one for the whole compilation: its modules, functions and decode steps
        machine = MachineBuilder(budget)
        folder = base_dir or Path.cwd()
        path = Path(filename).resolve() if Path(filename).is_file() else None
        ctx = BuiltinContext(folder, progress_enabled=progress, budget=budget,
                             given_paths=frozenset(v for v in overrides.values() if isinstance(v, str)))
        super().__init__(machine, ctx, SourceFile(filename, source, folder, path))
        self.overrides = overrides
        self.modules = ModuleLoader(self.source)
        parts = {name: MachinePart(name) for name in EMBEDDINGS + LAYER_WEIGHTS + ("vocab", "model")}
        self.base = base_env(load_all(), {**parts, **machine.functions()})
        self.globals = Env(self.base)

    def run(self, tree: Tree, name: str) -> Program:
        declared = [str(st.children[0]) for st in tree.children if isinstance(st, Tree) and st.data == "param_stmt"]
        unknown = sorted(set(self.overrides) - set(declared))
        if unknown:  # before running: a typo in --set should not wait for a long compilation
            known = ", ".join(sorted(declared)) or "none"
            raise UsageError(f"--set {unknown[0]}: {name} has no parameter '{unknown[0]}' (its parameters: {known})",
                             hint=did_you_mean(unknown[0], declared))
        for stmt in tree.children:
            self.exec(stmt, self.globals)
        steps, steps_text = None, ""
        if "steps" in self.machine.decode:
            expr, env, source = self.machine.decode["steps"]
            steps, steps_text = decode_steps(expr, env, source, self.machine, self.ctx), source.text_of(expr)
        try:
            program = self.machine.finish(name, self.source.name, self.settings, self.ctx.notes, steps, steps_text)
        except TaotpError as e:     # whole-program errors point at the end of the file
            if e.span is None:
                e.span = self.source.end_span()
            raise
        if self.machine.spec_decl is not None:
            from ..spec_lang.spec import declare

            program.own_spec = declare(*self.machine.spec_decl, program)
        return program


def decode_steps(expr, env: Env, source: SourceFile, machine: MachineBuilder, ctx: BuiltinContext):
    """`decode steps=EXPR` as a function of the input length. It keeps the expression and
    its scope, not the evaluator: each call runs EXPR in a fresh Interpreter, charged to
    the compilation's budget (ctx.budget), once per input length."""

    @functools.lru_cache(maxsize=None)
    def steps(input_len: int) -> int:
        scope = Env(env)
        scope.vars["input_len"] = input_len
        with active(ctx.budget):
            value = Interpreter(machine, ctx, source).eval(expr, scope)
        if not is_int(value):
            raise source.error(expr, f"decode steps must be an integer, got {show(value)}")
        return int(value)

    return steps
