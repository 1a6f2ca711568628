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

import numpy as np

from ..builtins import Builtin
from ..lang.expressions import MAX_CALL_DEPTH
from ..lang.operators import COMPARE, as_number, binary, comparable, contains, is_int
from ..lang.scope import Env, MachinePart, Module, ReturnSignal, Unavailable, UserFunction
from .capture import own_names
from ..values import Record, Slot
from ..vocab import Vocab

_NEXT = object()       # a statement fell through to the next one
_MISSING = object()


class Bail(Exception):
    """Compiled code met something it leaves to the interpreter (an error, a limit)."""


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


def truth(v) -> bool:
    if isinstance(v, np.ndarray) and v.size != 1:
        raise Bail
    return bool(v)


class FunctionCompiler:
    """Compiles `def` bodies of one runtime, each once (keyed by its syntax node)."""

    def __init__(self, interp, counter: Counter, base: Env):
        self.interp = interp          # for the statements left to it
        self.counter = counter
        self.base = base              # the runtime's builtins: never rebound during a check
        self.fixed: set = set()       # names of the function being compiled that are fixed (see ex_name)
        self.bodies: dict[int, tuple] = {}
        self.constants: dict = {}      # closures of literals -> their value (folded into -1, 2 ** 8...)

    def call(self, fn: UserFunction, args: list, kwargs: dict | None = None):
        """fn(*args, **kwargs), compiled; Bail (or any exception) if it fails."""
        entry = self.bodies.get(id(fn.node))
        if entry is None or entry[0] is not fn.node:
            try:
                self.fixed = set()
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
        tick = self.counter.tick

        def run(env):
            for item in items(iterable(env)):
                tick()
                env.vars[name] = item
                r = suite(env)
                if r is not _NEXT:
                    return r
            return _NEXT
        return run

    # -- expressions: env -> value -------------------------------------------------------------
    def expr(self, node):
        return getattr(self, "ex_" + node.data)(node)

    def constant(self, node):
        value = self.interp.eval(node, None)     # a literal needs no scope
        return self.const(value)

    def const(self, value):
        run = lambda env: value
        self.constants[run] = value
        return run

    ex_number = ex_string = ex_true = ex_false = constant

    def ex_name(self, node):
        name = str(node.children[0])
        if name in self.fixed:
            return self.fixed_name(name)

        def get(env):
            while env is not None:
                v = env.vars.get(name, _MISSING)
                if v is not _MISSING:
                    if isinstance(v, (MachinePart, Unavailable)):
                        raise Bail
                    return v
                env = env.parent
            raise Bail
        return get

    def fixed_name(self, name):
        """A name a function reads but never binds, whose closure and base are fixed (capture.py
        refuses rebinding them): found once, then read from here."""
        cell = []

        def get(env):
            if cell:
                return cell[0]
            while env is not None:
                v = env.vars.get(name, _MISSING)
                if v is not _MISSING:
                    if isinstance(v, (MachinePart, Unavailable)):
                        raise Bail
                    cell.append(v)
                    return v
                env = env.parent
            raise Bail
        return get

    def ex_tuple(self, node):
        parts = [self.expr(c) for c in node.children if c is not None]
        return lambda env: tuple(p(env) for p in parts)

    def ex_list(self, node):
        parts = [self.expr(c) for c in node.children if c is not None]
        return lambda env: [p(env) for p in parts]

    def ex_listcomp(self, node):
        elem, name, iterable, cond = node.children
        elem, name, iterable = self.expr(elem), str(name), self.expr(iterable)
        cond = self.expr(cond) if cond is not None else None
        tick = self.counter.tick

        def run(env):
            scope = Env(env)
            out = []
            for item in items(iterable(env)):
                tick()
                scope.vars[name] = item
                if cond is None or truth(cond(scope)):
                    out.append(elem(scope))
            return out
        return run

    def ex_ternary(self, node):
        a, c, b = (self.expr(x) for x in node.children)
        return lambda env: a(env) if truth(c(env)) else b(env)

    def ex_or_(self, node):
        a, b = (self.expr(x) for x in node.children)

        def run(env):
            left = a(env)
            return left if truth(left) else b(env)
        return run

    def ex_and_(self, node):
        a, b = (self.expr(x) for x in node.children)

        def run(env):
            left = a(env)
            return b(env) if truth(left) else left
        return run

    def ex_not_(self, node):
        a = self.expr(node.children[0])
        return lambda env: not truth(a(env))

    def ex_neg(self, node):
        a = self.expr(node.children[0])
        if a in self.constants:
            return self.const(-as_number(self.constants[a]))
        return lambda env: -as_number(a(env))

    def ex_pos(self, node):
        a = self.expr(node.children[0])
        return lambda env: +as_number(a(env))

    def ex_pow_(self, node):
        a, _, b = node.children
        a, b = self.expr(a), self.expr(b)

        def run(env):
            base, exponent = as_number(a(env)), as_number(b(env))
            if isinstance(base, np.ndarray) or isinstance(exponent, np.ndarray):
                with np.errstate(all="ignore"):
                    return np.power(base, exponent)
            if isinstance(base, (int, np.integer)) and isinstance(exponent, (int, np.integer)) and abs(exponent) > 1024:
                return float(base) ** float(exponent)
            return base ** exponent
        return run

    def ex_binop(self, node):
        a, op, b = node.children
        a, op, b = self.expr(a), str(op), self.expr(b)
        if a in self.constants and b in self.constants:
            return self.const(binary(op, self.constants[a], self.constants[b]))
        return lambda env: binary(op, a(env), b(env))

    def ex_compare(self, node):
        kids = node.children
        first = self.expr(kids[0])
        rest = [(" ".join(str(t) for t in kids[i].children), self.expr(kids[i + 1])) for i in range(1, len(kids), 2)]

        def run(env):
            left = first(env)
            result = True
            for op, e in rest:
                right = e(env)
                if op in ("in", "not in"):
                    r = contains(right, left) != (op == "not in")
                else:
                    r = COMPARE[op](comparable(left), comparable(right))
                result = r if result is True else np.logical_and(result, r)
                left = right
            return bool(result) if isinstance(result, (bool, np.bool_)) else result
        return run

    def ex_attr(self, node):
        obj, name = self.expr(node.children[0]), str(node.children[1])
        return lambda env: attribute(obj(env), name)

    def ex_index(self, node):
        obj, subs = self.expr(node.children[0]), self.subscripts(node.children[1])
        return lambda env: index(obj(env), subs(env))

    def subscripts(self, subs):
        parts = []
        for c in subs.children:
            if c is None:
                continue
            if c.data == "slice":
                bounds = [None if b is None else self.expr(b) for b in c.children]
                parts.append(lambda env, bs=bounds: slice(*[None if b is None else int_index(b(env)) for b in bs]))
            else:
                e = self.expr(c)
                parts.append(lambda env, e=e: subscript(e(env)))
        if len(parts) == 1:
            return parts[0]
        return lambda env: tuple(p(env) for p in parts)

    def ex_call(self, node):
        fn_node, args_node = node.children
        fn = self.expr(fn_node)
        positional, named = [], []
        for a in (args_node.children if args_node is not None else []):
            if a.data == "kwarg":
                named.append((str(a.children[0]), self.expr(a.children[1])))
            else:
                positional.append(self.expr(a))
        ctx, call = self.interp.ctx, self.call
        if not named and len(positional) == 1:
            arg = positional[0]

            def run1(env):
                f = fn(env)
                if type(f) is Builtin:
                    return f.fn(ctx, arg(env)) if f.context else f.fn(arg(env))
                if isinstance(f, UserFunction):
                    return call(f, [arg(env)])
                raise Bail
            return run1

        def run(env):
            f = fn(env)
            args = [p(env) for p in positional]
            kwargs = {k: e(env) for k, e in named}
            if isinstance(f, Builtin):
                return f.fn(ctx, *args, **kwargs) if f.context else f.fn(*args, **kwargs)
            if isinstance(f, UserFunction):
                return call(f, args, kwargs)
            raise Bail
        return run


# -- the interpreter's value rules, without its error messages ------------------------------

def items(value):
    return iter(value if not isinstance(value, np.ndarray) else list(value))


def attribute(obj, name: str):
    if isinstance(obj, (Module, Record)):
        if obj.has(name):
            return obj.get(name)
        raise Bail
    if isinstance(obj, Slot) and name in ("start", "stop", "size"):
        return getattr(obj, name)
    if isinstance(obj, np.ndarray) and name in ("T", "shape", "size", "ndim"):
        v = getattr(obj, name)
        return list(v) if name == "shape" else v
    if isinstance(obj, Vocab) and name in ("size", "tokens"):
        return len(obj) if name == "size" else list(obj.tokens)
    raise Bail


def int_index(v) -> int:
    if isinstance(v, Slot) or not is_int(v):
        raise Bail
    return int(v)


def subscript(v):
    if isinstance(v, Slot):
        return v.as_slice()
    if isinstance(v, (list, tuple, np.ndarray, range)):
        arr = np.asarray(list(v) if isinstance(v, range) else v)
        if arr.dtype == bool:
            return arr
        if arr.size and not np.all(np.mod(arr, 1) == 0):
            raise Bail
        return arr.astype(np.int64)
    return int_index(v)


def index(obj, index):
    if isinstance(obj, (list, tuple, str, range)):
        if isinstance(index, tuple):
            if len(index) != 1:
                raise Bail
            index = index[0]
        if isinstance(index, (slice, int, np.integer)):
            return obj[index]
        obj = np.asarray(obj)
    if not isinstance(obj, np.ndarray):
        raise Bail
    return obj[index]
