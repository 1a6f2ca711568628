"""Expressions: one `ex_<rule>` method per expression rule of grammar/taotp.lark.

A mixin of the Interpreter (evaluator.py): it uses `self.source` (the file being
run), `self.machine` and `self.ctx`. Values are Python numbers, strings, lists,
tuples, numpy arrays and the language's own values (Slot, Record, Vocab,
UserFunction, Module); nothing reaches Python's own evaluation. What a value
costs is charged to the compilation's budget (`self.budget`, budget.py) before
it is made: list and tuple displays, comprehensions, indexing, `**`, builtin calls
(binary operators charge it in operators.binary).
"""

from __future__ import annotations

import inspect

import numpy as np
from lark import Token, Tree

from ..builtins import Builtin
from ..errors import ShapeError, TaotpError, did_you_mean
from ..values import Record, Slot
from ..vocab import Vocab
from .operators import (COMPARE, as_number, binary, comparable, contains, describe, index_message, is_int, kind,
                        show, unescape)
from .scope import Env, MachinePart, Module, ReturnSignal, Unavailable, UserFunction

MAX_CALL_DEPTH = 40  # language calls; each takes ~20 Python frames of the default 1,000


class Expressions:
    def eval(self, node, env: Env):
        if isinstance(node, Token):  # a bare NAME in kwargs etc.
            return self.lookup(node, str(node), env)
        self.tick(node)
        handler = getattr(self, "ex_" + node.data)
        try:
            return handler(node, env)
        except Exception as e:
            raise self.located(node, e) from None

    # -- atoms --------------------------------------------------------------------------
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
        if scope is None:
            raise self.error(node, f"unknown name '{name}'", hint=did_you_mean(name, env.names()))
        value = scope.vars[name]
        if isinstance(value, MachinePart):
            return self.machine.read(value.name)
        if isinstance(value, Unavailable):
            raise self.error(node, value.why)
        return value

    def ex_tuple(self, node, env):
        return self.budget.hold(tuple(self.eval(c, env) for c in node.children if c is not None))

    def ex_list(self, node, env):
        return self.budget.hold([self.eval(c, env) for c in node.children if c is not None])

    def iterate(self, node, iterable):
        """The items a `for` (or a comprehension) walks: a list's, an array's first axis."""
        try:
            return iter(iterable if not isinstance(iterable, np.ndarray) else list(iterable))
        except TypeError:
            raise self.error(node, f"cannot loop over {kind(iterable)}") from None

    def ex_listcomp(self, node, env):
        elem, name, iterable_expr, cond = node.children
        items = self.iterate(iterable_expr, self.eval(iterable_expr, env))
        scope = Env(env)
        out = []
        for item in items:
            scope.vars[str(name)] = item
            if cond is None or self.truth(cond, self.eval(cond, scope)):
                out.append(self.eval(elem, scope))
        return self.budget.hold(out)

    # -- operators ----------------------------------------------------------------------
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
            op = " ".join(str(t) for t in kids[i].children)
            if op in ("in", "not in"):
                r = contains(right, left) != (op == "not in")
            else:
                r = COMPARE[op](comparable(left), comparable(right))
            result = r if result is True else np.logical_and(result, r)
            left = right
        return bool(result) if isinstance(result, (bool, np.bool_)) else result

    def truth(self, node, value) -> bool:
        if isinstance(value, np.ndarray) and value.size != 1:
            raise self.error(node, "the truth of an array with several elements is ambiguous; use all() or any()")
        return bool(value)

    # -- attributes and indexing ----------------------------------------------------------
    def ex_attr(self, node, env):
        obj_node, name = node.children
        obj, name = self.eval(obj_node, env), str(name)
        if isinstance(obj, Module):
            if obj.has(name):
                return obj.get(name)
            raise self.error(node, f"module '{obj.name}' has no '{name}'",
                             hint=did_you_mean(name, obj.names()))
        if isinstance(obj, Record):
            if obj.has(name):
                return obj.get(name)
            raise self.error(node, f"{obj.kind} has no field '{name}' (fields: {', '.join(obj.field_names())})",
                             hint=did_you_mean(name, obj.field_names()))
        if isinstance(obj, Slot) and name in ("start", "stop", "size", "name"):
            return getattr(obj, name)
        if isinstance(obj, np.ndarray) and name in ("T", "shape", "size", "ndim"):
            v = getattr(obj, name)
            return list(v) if name == "shape" else v
        if isinstance(obj, Vocab) and name in ("size", "tokens"):
            return len(obj) if name == "size" else list(obj.tokens)
        if isinstance(obj, Slot):
            raise self.error(node, f"a slot has no attribute '{name}' (it has start, stop, size, name)",
                             hint="the standard library's functions take codes (records such as codes.token_code() "
                                  "returns), whose .slot is the slot")
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
                parts.append(slice(*[None if b is None else self.int_index(b, self.eval(b, env)) for b in c.children]))
                continue
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
                parts.append(self.int_index(c, v))
        return parts[0] if len(parts) == 1 else tuple(parts)

    def int_index(self, node, v) -> int:
        if isinstance(v, Slot):
            raise self.error(node, f"slot '{v.name}' is a range; use it alone as an index, not inside a slice")
        if not is_int(v):
            raise self.error(node, f"an index must be an integer, got {show(v)}")
        return int(v)

    # -- calls --------------------------------------------------------------------------
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
        raise self.error(fn_node, f"{kind(fn)} is not a function")

    def call_builtin(self, node, fn: Builtin, args, kwargs):
        try:
            self.budget.before_builtin(fn.name, args, kwargs)  # budget.py
            result = fn.fn(self.ctx, *args, **kwargs) if fn.context else fn.fn(*args, **kwargs)
            return self.budget.hold(result)
        except TaotpError as e:
            if e.span is None:
                e.span = self.span(node)
            raise
        except TypeError as e:
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
        """Run fn's body in a scope over its closure, with fn's own source file; an error
        inside gains the call's place as a "called from" line."""
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
        caller = self.source
        self.call_depth += 1
        self.source = fn.source
        self.machine.calls.append((caller, node))
        try:
            self.exec_suite(fn.body, scope)
        except ReturnSignal as r:
            return r.value
        except TaotpError as e:
            e.add_frame("called from", caller.span(node))
            raise
        finally:
            self.source = caller
            self.call_depth -= 1
            self.machine.calls.pop()
        return None
