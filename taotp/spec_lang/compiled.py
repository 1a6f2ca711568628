"""A spec function's body compiled once into Python closures, for millions of calls.

The tree-walking interpreter (lang/expressions.py, lang/statements.py) dispatches on
every node by name, counts it and wraps it for errors; for `check --exhaustive` over
10^6 inputs that costs more than the transformer. Here each node becomes a closure
once, doing what the interpreter's handler does with the same helpers (operators.py,
the builtins, Env scopes), and nothing else:

- no error is located here: anything that goes wrong raises, and the runtime runs the
  same call again in the interpreter, whose message points at the line;
- statements it does not need to be fast for (print, nested def, augmented or indexed
  assignment, anything building the machine) run through the interpreter itself, on
  the same Env;
- loops and calls count against the runtime's per-call step limit.

Semantics are the interpreter's by construction where it is called, and by a test
(tests/test_spec_compiled.py) that runs both on the same functions and inputs.
"""

from __future__ import annotations

from ..lang.expressions import MAX_CALL_DEPTH
from ..lang.scope import Env, MachinePart, ReturnSignal, UserFunction
from .compiled_expressions import Bail, ExpressionCompiler, items, truth
from .names import own_names

_NEXT = object()       # a statement fell through to the next one


class Counter:
    """Loop iterations and calls of one top-level call (the runtime resets it)."""

    def __init__(self, limit: int):
        self.n = 0
        self.depth = 0
        self.limit = limit

    def tick(self):
        self.n += 1
        if self.n > self.limit:
            raise Bail


class FunctionCompiler(ExpressionCompiler):
    """Compiles `def` bodies of one runtime, each once (keyed by its syntax node)."""

    def __init__(self, interp, counter: Counter, base: Env):
        self.interp = interp          # for the statements left to it
        self.counter = counter
        self.base = base              # the runtime's builtins: never rebound during a check
        self.fixed: set = set()       # names of the function being compiled that are fixed (see ex_name)
        self.closure: Env | None = None
        self.bodies: dict[int, tuple] = {}
        self.constants: dict = {}      # closures of literals -> their value (folded into -1, 2 ** 8...)

    def call(self, fn: UserFunction, args: list, kwargs: dict | None = None):
        """fn(*args, **kwargs), compiled; Bail (or any exception) if it fails."""
        entry = self.bodies.get(id(fn.node))
        if entry is None or entry[0] is not fn.node:
            try:
                self.fixed, self.closure = set(), fn.closure
                if fn.closure.parent is self.base:   # a spec's own function (capture.py): its outside is fixed
                    own, seen = own_names(fn.node)
                    self.fixed = set(seen) - own
                body = self.suite(fn.body)
            except Exception:           # e.g. a bad escape in a string: the interpreter says where
                body = None
            entry = self.bodies[id(fn.node)] = (fn.node, body)
        if entry[1] is None:
            raise Bail
        params = fn.params
        if len(args) > len(params):
            raise Bail
        scope = Env(fn.closure)
        scope.vars.update(zip(params, args))
        if kwargs:
            for k, v in kwargs.items():
                if k not in params or k in scope.vars:
                    raise Bail
                scope.vars[k] = v
        if len(scope.vars) != len(params):
            raise Bail
        c = self.counter
        if c.depth >= MAX_CALL_DEPTH:
            raise Bail
        c.tick()
        c.depth += 1
        try:
            r = entry[1](scope)
        finally:
            c.depth -= 1
        return None if r is _NEXT else r

    # -- statements: env -> _NEXT, or the value returned ---------------------------------------
    def suite(self, suite):
        stmts = [self.statement(s) for s in suite.children]
        if len(stmts) == 1:
            return stmts[0]

        def run(env):
            for s in stmts:
                r = s(env)
                if r is not _NEXT:
                    return r
            return _NEXT
        return run

    def statement(self, node):
        handler = getattr(self, "st_" + node.data, None)
        return handler(node) if handler is not None else self.interpreted(node)

    def interpreted(self, node):
        interp = self.interp

        def run(env):
            try:
                interp.exec(node, env)
            except ReturnSignal as r:
                return r.value
            return _NEXT
        return run

    def st_let_stmt(self, node):
        name, e = str(node.children[0]), self.expr(node.children[1])

        def run(env):
            env.vars[name] = e(env)
            return _NEXT
        return run

    def st_assign_stmt(self, node):
        target, op, expr = node.children
        if target.data != "name" or str(op) != "=":
            return self.interpreted(node)     # indexed and augmented writes copy arrays: the interpreter's rules
        name, e = str(target.children[0]), self.expr(expr)

        def run(env):
            value = e(env)
            scope = env.find(name)
            if scope is None or scope.parent is None or isinstance(scope.vars[name], MachinePart):
                raise Bail
            scope.vars[name] = value
            return _NEXT
        return run

    def st_return_stmt(self, node):
        e = self.expr(node.children[0])
        return lambda env: e(env)

    def st_expr_stmt(self, node):
        e = self.expr(node.children[0])

        def run(env):
            e(env)
            return _NEXT
        return run

    def st_assert_stmt(self, node):
        c = self.expr(node.children[0])

        def run(env):
            if not truth(c(env)):
                raise Bail
            return _NEXT
        return run

    def st_if_block(self, node):
        cond, suite, *rest = node.children
        branches = [(self.expr(cond), self.suite(suite))]
        otherwise = None
        for clause in rest:
            if clause is None:
                continue
            if clause.data == "elif_clause":
                branches.append((self.expr(clause.children[0]), self.suite(clause.children[1])))
            else:
                otherwise = self.suite(clause.children[0])

        def run(env):
            for c, s in branches:
                if truth(c(env)):
                    return s(env)
            return otherwise(env) if otherwise is not None else _NEXT
        return run

    def st_for_block(self, node):
        name, iterable, suite = str(node.children[0]), self.expr(node.children[1]), self.suite(node.children[2])
        c = self.counter

        def run(env):
            for item in items(iterable(env)):
                c.n += 1
                if c.n > c.limit:
                    raise Bail
                env.vars[name] = item
                r = suite(env)
                if r is not _NEXT:
                    return r
            return _NEXT
        return run
