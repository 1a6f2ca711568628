"""Syntax tree -> Program: runs the statements of a .taotp file against a machine.

The work is split by concept: statements.py and expressions.py hold the
handlers (one per grammar rule, as lark's calc example dispatches), machine.py
the machine being built, scope.py the scopes and values, source.py the source
files errors point into, checks.py the static pass run before this one. This
module is the front: the Interpreter that ties the handlers to one source file
and one machine, and the Evaluator that runs a whole program.
"""

from __future__ import annotations

from pathlib import Path

from lark import Tree

from ..builtins import BuiltinContext, load_all
from ..errors import CompileError, TaotpError, did_you_mean
from ..program import Program
from .expressions import Expressions
from .machine import EMBEDDINGS, LAYER_WEIGHTS, MachineBuilder
from .modules import ModuleLoader
from .operators import describe, is_int, show
from .scope import Env, MachinePart, ReturnSignal, base_env
from .source import SourceFile
from .statements import Statements

MAX_STEPS = 20_000_000      # statements + expression nodes, against runaway loops


class Interpreter(Statements, Expressions):
    """Runs statements and expressions of `source` against `machine`."""

    def __init__(self, machine: MachineBuilder, ctx: BuiltinContext, source: SourceFile):
        self.machine = machine
        self.ctx = ctx
        self.source = source        # the file whose nodes run now (a called function's own)
        self.call_depth = 0
        self.steps = 0
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
            if e.span is None:
                e.span = self.span(node)
            return e
        if isinstance(e, RecursionError):
            return self.error(node, "too deeply nested")
        return self.error(node, describe(e))

    def tick(self, node):
        """Called once per statement and expression node: the one place to count work."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise self.error(node, f"the program ran more than {MAX_STEPS:,} steps; is a loop too long?")


class Evaluator(Interpreter):
    """One compilation: a program's source, its --set overrides, the machine it builds."""

    def __init__(self, source: str, filename: str, overrides: dict | None = None,
                 base_dir: Path | None = None, progress: bool = True):
        machine = MachineBuilder()
        folder = base_dir or Path.cwd()
        path = Path(filename).resolve() if Path(filename).is_file() else None
        super().__init__(machine, BuiltinContext(folder, progress_enabled=progress),
                         SourceFile(filename, source, folder, path))
        self.overrides = dict(overrides or {})
        self.modules = ModuleLoader(self.source)
        parts = {name: MachinePart(name) for name in EMBEDDINGS + LAYER_WEIGHTS + ("vocab", "model")}
        self.base = base_env(load_all(), {**parts, **machine.functions()})
        self.globals = Env(self.base)

    def run(self, tree: Tree, name: str) -> Program:
        for stmt in tree.children:
            self.exec(stmt, self.globals)
        unused = set(self.overrides) - self.used_overrides
        if unused:
            key = sorted(unused)[0]
            known = ", ".join(sorted(self.settings)) or "none"
            raise CompileError(f"--set {key}: the program has no parameter '{key}' (its parameters: {known})",
                               hint=did_you_mean(key, self.settings))
        steps, steps_text = None, ""
        if "steps" in self.machine.decode:
            expr, env, source = self.machine.decode["steps"]
            steps, steps_text = decode_steps(expr, env, source, self.machine, self.ctx), source.text_of(expr)
        program = self.machine.finish(name, self.source.name, self.settings, self.ctx.notes, steps, steps_text)
        if self.machine.spec_decl is not None:
            from ..spec_lang.spec import declare

            program.own_spec = declare(*self.machine.spec_decl, program)
        return program


def decode_steps(expr, env: Env, source: SourceFile, machine: MachineBuilder, ctx: BuiltinContext):
    """`decode steps=EXPR` as a function of the input length. It keeps the expression and
    its scope, not the evaluator: each call runs EXPR in a fresh Interpreter."""

    def steps(input_len: int) -> int:
        scope = Env(env)
        scope.vars["input_len"] = input_len
        value = Interpreter(machine, ctx, source).eval(expr, scope)
        if not is_int(value):
            raise source.error(expr, f"decode steps must be an integer, got {show(value)}")
        return int(value)

    return steps
