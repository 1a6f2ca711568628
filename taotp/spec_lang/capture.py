"""A spec as the language's own text: what a compiled file (`taotp compile`) keeps so
that it stays checkable, and what every in-language spec is rebuilt from.

`capture(fn, domain, ...)` walks the spec's functions and the names they read, and
writes a plain dict (JSON in .npz/.json files):

    {"format": 1,
     "spec": {"file": "reverse.taotp", "line": 14, "column": 1, "text": "spec expected=..."},
     "bindings": [
        {"name": "letters", "value": "[\"a\", \"b\"]"},                      # a value, as a literal
        {"name": "expected", "def": "def expected(toks):\n  ...",            # a function, its text
         "file": "reverse.taotp", "line": 3, "free": {"letters": "letters"}},
        {"name": "codes", "module": {"onehot": "onehot"}}],                  # a module's names used
     "expected": "expected",
     "inputs": "seq(lists(one_of(letters), 1, 20), fixed([\"=\"]))"}

Each function keeps its own text, file and line (errors found when checking a compiled
file still point at the program's line) and maps each free name it reads to a binding.
Values are written as literals the language parses back (never pickle, never eval):
numbers, strings, lists, tuples, ranges, arrays (their dtype kept), the program's
`vocab`, builtins by name, domains as their builder calls. `rebuild(data, rt)` reads it
back into functions over the spec runtime's builtins.
"""

from __future__ import annotations

import math

import numpy as np
from lark import Token

from ..builtins import Builtin
from ..errors import CompileError, Span, did_you_mean
from ..lang.scope import MachinePart, Module, UserFunction
from ..lang.source import SourceFile
from ..vocab import Vocab
from .domain import Domain
from .names import machine_statements, own_names, read_names, rebound_outside
from .restore import FORMAT

RUNTIME_NAMES = ("vocab", "token", "tokens")   # machine names a spec's runtime provides


class Capture:
    def __init__(self, vocab: Vocab):
        self.vocab = vocab
        self.bindings: list[dict] = []
        self.taken: set[str] = set()
        self.done: dict[int, str] = {}     # id(function or module) -> binding name
        self.keep: list = []               # keeps captured objects alive while ids are in use

    def fresh(self, name: str) -> str:
        out, i = name, 2
        while out in self.taken:
            out, i = f"{name}_{i}", i + 1
        self.taken.add(out)
        return out

    def function(self, fn) -> str:
        """The binding name of a function (a builtin is its own name)."""
        if isinstance(fn, Builtin):
            return fn.name
        if id(fn) in self.done:
            return self.done[id(fn)]
        name = self.done[id(fn)] = self.fresh(fn.name)
        self.keep.append(fn)
        entry = {"name": name, "def": def_text(fn), "file": fn.source.name, "line": fn.node.meta.line}
        self.bindings.append(entry)
        entry["free"] = self.free_names(fn)
        return name

    def free_names(self, fn: UserFunction) -> dict:
        free = {}
        for node, what in machine_statements(fn.node):
            raise fn.source.error(node, f"a spec's function cannot {what}: the spec runs without the machine")
        for node, name in rebound_outside(fn.node):
            raise fn.source.error(node, f"a spec's function cannot rebind '{name}', a name from outside it "
                                        f"(bind a new one with `let`)")
        for name, node, attrs in read_names(fn.node):
            scope = fn.closure.find(name)
            if scope is None:
                # the spec runs over the same builtins and these bindings, as they are now:
                # a name unknown at the end of compilation stays unknown when checking
                raise fn.source.error(node, f"unknown name '{name}' in {fn.name}(), a function of the spec",
                                      hint=did_you_mean(name, fn.closure.names() | own_names(fn.node)[0]))
            value = scope.vars[name]
            if scope.parent is None:           # the base environment: builtins, constants, the machine
                if isinstance(value, MachinePart) and name not in RUNTIME_NAMES:
                    raise fn.source.error(node, f"a spec's function cannot read '{name}': the spec runs "
                                                f"without the machine (give it a `param` or a `let` value)")
                if isinstance(value, Builtin) and name in ("new_head", "new_neurons", "new_slot"):
                    raise fn.source.error(node, f"a spec's function cannot call {name}(): it runs without the machine")
                continue
            if isinstance(value, Module):
                free[name] = self.module(value, attrs, fn, node)
            elif isinstance(value, (UserFunction, Builtin)):
                free[name] = self.function(value)
            else:
                free[name] = self.value(name, value, fn.source, node)
        return free

    def module(self, module: Module, attrs, fn, node) -> str:
        if attrs is None:
            raise fn.source.error(node, f"a spec's function may use a module's names (`{module.name}.f`), "
                                        f"not the module itself as a value")
        name = self.done.get(id(module))
        if name is None:
            name = self.done[id(module)] = self.fresh(module.name)
            self.keep.append(module)
            self.bindings.append({"name": name, "module": {}})
        entry = next(b for b in self.bindings if b["name"] == name)
        for attr in attrs:
            if not module.has(attr):
                raise fn.source.error(node, f"module '{module.name}' has no '{attr}' (read in {fn.name}(), "
                                            f"a function of the spec)", hint=did_you_mean(attr, module.names()))
            if attr in entry["module"]:
                continue
            value = module.get(attr)
            if isinstance(value, (UserFunction, Builtin)):
                entry["module"][attr] = self.function(value)
            else:
                entry["module"][attr] = self.value(attr, value, fn.source, node)
        return name

    def value(self, name: str, value, source: SourceFile, node) -> str:
        try:
            text = self.literal(value)
        except CompileError as e:
            raise source.error(node, f"a spec's function reads '{name}', {e.message}") from None
        binding = self.fresh(name)
        self.bindings.append({"name": binding, "value": text})
        return binding

    def literal(self, v) -> str:
        """v as language text that evaluates back to v."""
        if isinstance(v, (bool, np.bool_)):
            return "True" if v else "False"
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if isinstance(v, (float, np.floating)):
            return _float(float(v))
        if isinstance(v, str):
            return _string(v)
        if isinstance(v, list):
            return "[" + ", ".join(self.literal(x) for x in v) + "]"
        if isinstance(v, tuple):
            if not v:
                raise CompileError("an empty tuple, which a spec cannot keep")
            return "(" + ", ".join(self.literal(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        if isinstance(v, range):
            return f"range({v.start}, {v.stop}, {v.step})"
        if isinstance(v, np.ndarray):
            return _array(v, self.literal)
        if isinstance(v, Vocab) and v is self.vocab:
            return "vocab"
        if isinstance(v, Domain):
            return v.text(self.render)
        if isinstance(v, (UserFunction, Builtin)):
            return self.function(v)
        from ..lang.operators import kind

        raise CompileError(f"which holds {kind(v) if v is not None else 'no value'}; a spec keeps numbers, "
                           f"strings, lists, tuples, arrays, domains and functions")

    def render(self, v) -> str:   # a domain's arguments
        return self.literal(v)


def _float(x: float) -> str:
    if math.isnan(x):
        return "(inf - inf)"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def _string(s: str) -> str:
    table = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\0": "\\0"}
    return '"' + "".join(table.get(c, c) for c in s) + '"'


def _array(a: np.ndarray, literal) -> str:
    shape = "[" + ", ".join(str(s) for s in a.shape) + "]"
    if a.dtype.kind == "f":
        return f"reshape(array({literal([float(x) for x in a.ravel().tolist()])}), {shape})"
    if a.dtype.kind == "b":
        return f"(reshape(array({literal([int(x) for x in a.ravel().tolist()])}), {shape}) == 1)"
    if a.dtype.kind in "iu":
        flat = [int(x) for x in a.ravel().tolist()]
        lo = min(flat, default=0)
        hi = max(flat, default=-1)
        # arange keeps integers as integers (array() gives floats): pick them out of a range
        return f"reshape(arange({lo}, {hi + 1})[{literal([x - lo for x in flat])}], {shape})"
    raise CompileError(f"which is an array of {a.dtype}")


def def_text(fn: UserFunction) -> str:
    """A function's `def` as written, dedented to column 1."""
    meta = fn.node.meta
    indent = meta.column - 1
    # lark ends the def where the next statement begins (its dedent): end at the last token,
    # plus lines of closing brackets after it
    last = max((t.end_line for t in fn.node.scan_values(lambda v: isinstance(v, Token)) if t.end_line),
               default=meta.line)
    all_lines = fn.source.lines
    while last < min(meta.end_line, len(all_lines)):
        nxt = all_lines[last]
        body = nxt.strip()
        if body and not body.startswith("#") and len(nxt) - len(nxt.lstrip()) <= indent and body[0] not in ")]}":
            break
        last += 1
    lines = all_lines[meta.line - 1:last]
    while lines and (not lines[-1].strip() or lines[-1].strip().startswith("#")):
        lines.pop()
    out = []
    for line in lines:
        out.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
    return "\n".join(out)


def capture(fn, domain: Domain, vocab: Vocab, spec_span: Span | None) -> dict:
    cap = Capture(vocab)
    expected = cap.function(fn)
    inputs = domain.text(cap.render)
    where = None
    if spec_span is not None:
        where = {"file": spec_span.file, "line": spec_span.line, "column": spec_span.column,
                 "text": spec_span.source_line}
    return {"format": FORMAT, "spec": where, "bindings": cap.bindings, "expected": expected, "inputs": inputs}
