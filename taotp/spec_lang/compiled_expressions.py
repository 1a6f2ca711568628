"""Expressions of a spec's function compiled to closures env -> value (see compiled.py):
one `ex_<rule>` per expression rule, as lang/expressions.py has, each doing what the
interpreter's handler does and raising (Bail, or the error itself) where it would report."""

from __future__ import annotations

import numpy as np
from lark import Tree

from ..builtins import Builtin
from ..lang.operators import COMPARE, as_number, binary, comparable, contains, is_int
from ..lang.scope import Env, MachinePart, Module, Unavailable, UserFunction
from ..values import Record, Slot
from ..vocab import Vocab

_MISSING = object()


class Bail(Exception):
    """Compiled code met something it leaves to the interpreter (an error, a limit)."""

def truth(v) -> bool:
    if isinstance(v, np.ndarray) and v.size != 1:
        raise Bail
    return bool(v)

class ExpressionCompiler:
    """A mixin of FunctionCompiler: uses self.interp, self.counter, self.fixed, self.constants, self.call."""

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
        refuses rebinding them): found now, a constant (or, if it is not there, looked up
        when run, to fail as the interpreter does)."""
        env = self.closure
        while env is not None:
            v = env.vars.get(name, _MISSING)
            if v is not _MISSING:
                if not isinstance(v, (MachinePart, Unavailable)):
                    return self.const(v)
                break
            env = env.parent
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
        elem_node, name, iterable, cond = node.children
        elem, name, iterable = self.expr(elem_node), str(name), self.expr(iterable)
        cond = self.expr(cond) if cond is not None else None
        c = self.counter
        bfn = self.builtin_of_item(elem_node, name) if cond is None else None
        if bfn is not None:                      # [int(t) for t in toks]: the specs' own idiom

            def mapped(env):
                seq = list(items(iterable(env)))
                c.n += len(seq)
                if c.n > c.limit:
                    raise Bail
                return [bfn(x) for x in seq]
            return mapped

        def run(env):
            scope = Env(env)
            out = []
            for item in items(iterable(env)):
                c.n += 1
                if c.n > c.limit:
                    raise Bail
                scope.vars[name] = item
                if cond is None or truth(cond(scope)):
                    out.append(elem(scope))
            return out
        return run

    def builtin_of_item(self, elem, name: str):
        """The builtin's function when elem is `B(name)`, B a builtin the function cannot rebind."""
        if elem.data != "call" or elem.children[1] is None or len(elem.children[1].children) != 1:
            return None
        arg = elem.children[1].children[0]
        if not (isinstance(arg, Tree) and arg.data == "name" and str(arg.children[0]) == name):
            return None
        fn_node = elem.children[0]
        if fn_node.data != "name" or str(fn_node.children[0]) not in self.fixed:
            return None
        known = self.constants.get(self.fixed_name(str(fn_node.children[0])))
        return known.fn if type(known) is Builtin and not known.context else None

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
        known = self.constants.get(fn)
        if type(known) is Builtin and not known.context:    # a builtin the function cannot rebind
            bfn = known.fn
            if not named and len(positional) == 1:
                arg = positional[0]
                return lambda env: bfn(arg(env))
            return lambda env: bfn(*[p(env) for p in positional], **{k: e(env) for k, e in named})
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
