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
from lark import Token, Tree

from ..builtins import Builtin
from ..errors import CompileError, Span, UsageError
from ..lang.parser import parse
from ..lang.scope import Env, MachinePart, Module, Unavailable, UserFunction
from ..lang.source import SourceFile
from ..vocab import Vocab
from .domain import Domain

FORMAT = 1
RUNTIME_NAMES = ("vocab", "token", "tokens")   # machine names a spec's runtime provides
WEIGHTS = ("tok_emb", "pos_emb", "out_emb", "Q", "K", "V", "P", "M1", "b1", "M2", "b2")


# -- writing -------------------------------------------------------------------------------

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
                continue                       # unknown here: the call fails with its line, as when compiling
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
            if attr in entry["module"] or not module.has(attr):
                continue                       # an unknown attribute fails with its line when called
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


def read_names(node: Tree):
    """(name, first node, attributes read as name.attr or None) for every name a function
    reads that it does not bind itself (parameters, let, for, comprehension variables,
    nested defs are its own)."""
    own, seen = own_names(node)
    for name, (first, attrs, plain) in seen.items():
        if name not in own:
            yield name, first, (None if plain else sorted(attrs))


def own_names(node: Tree) -> tuple[set, dict]:
    """(the names a function binds itself, {name read: [first node, attributes, read plainly]})."""
    own: set = set()
    seen: dict[str, list] = {}
    _collect(node, own, seen, top=True)
    return own, seen


def rebound_outside(node: Tree):
    """Assignments (`x = ...`) to names the function does not bind itself: a spec's
    function may not change what it sees from outside (checks would depend on order)."""
    own, _ = own_names(node)
    for sub in node.iter_subtrees_topdown():
        if sub.data == "assign_stmt" and sub.children[0].data == "name" and str(sub.children[0].children[0]) not in own \
                and str(sub.children[0].children[0]) not in WEIGHTS:
            yield sub.children[0], str(sub.children[0].children[0])


def machine_statements(node: Tree):
    """(node, what it does) for each statement of a function that builds the machine."""
    for sub in node.iter_subtrees_topdown():
        if sub.data in ("layer_block", "head_block"):
            yield sub, f"open a `{sub.data.split('_')[0]}` block"
        elif sub.data == "assign_stmt":
            target = sub.children[0]
            base = target.children[0] if target.data == "index" else target
            if isinstance(base, Tree) and base.data == "name" and str(base.children[0]) in WEIGHTS:
                yield sub, f"write the weight {base.children[0]}"


def _collect(node, own: set, seen: dict, top: bool = False):
    if isinstance(node, Token) or node is None:
        return
    kind = node.data
    if kind == "def_block":
        name, *params, body = node.children
        if not top:
            own.add(str(name))
        own.update(str(p) for p in params if p is not None)
        _collect(body, own, seen)
        return
    if kind in ("let_stmt", "for_block"):
        own.add(str(node.children[0]))
    elif kind == "listcomp":
        own.add(str(node.children[1]))
    elif kind == "attr" and isinstance(node.children[0], Tree) and node.children[0].data == "name":
        _note(seen, node.children[0], attr=str(node.children[1]))
        return
    elif kind == "name":
        _note(seen, node)
        return
    elif kind == "kwarg":
        _collect(node.children[1], own, seen)
        return
    for child in node.children:
        if isinstance(child, Tree):
            _collect(child, own, seen)


def _note(seen: dict, name_node: Tree, attr: str | None = None):
    name = str(name_node.children[0])
    entry = seen.setdefault(name, [name_node, set(), False])
    if attr is None:
        entry[2] = True
    else:
        entry[1].add(attr)


def capture(fn, domain: Domain, vocab: Vocab, spec_span: Span | None) -> dict:
    cap = Capture(vocab)
    expected = cap.function(fn)
    inputs = domain.text(cap.render)
    where = None
    if spec_span is not None:
        where = {"file": spec_span.file, "line": spec_span.line, "column": spec_span.column,
                 "text": spec_span.source_line}
    return {"format": FORMAT, "spec": where, "bindings": cap.bindings, "expected": expected, "inputs": inputs}


# -- reading back ----------------------------------------------------------------------------

def spec_span(data: dict) -> Span | None:
    w = data.get("spec")
    if not w:
        return None
    return Span(str(w["file"]), int(w["line"]), int(w["column"]), str(w.get("text", "")),
                max(1, len(str(w.get("text", "")).rstrip()) - int(w["column"]) + 1))


def rebuild(data: dict, rt, origin: str) -> tuple:
    """(expected function, inputs domain) from capture()'s dict, over rt's base environment.
    `origin` names where the dict came from, for messages."""
    check_data(data, origin)
    env = Env(rt.base)
    functions: list[tuple[UserFunction, dict]] = []
    for b in data["bindings"]:
        if "def" in b:
            fn = _function(b, rt, origin)
            env.vars[b["name"]] = fn
            functions.append((fn, b["free"]))
        elif "module" in b:
            env.vars[b["name"]] = Module(b["name"], SourceFile(f"<module {b['name']}>", ""), Env())
    for b in data["bindings"]:
        if "value" in b:
            env.vars[b["name"]] = _evaluate(b["value"], env, rt, origin)
    for b in data["bindings"]:
        if "module" in b:
            module = env.vars[b["name"]]
            for attr, ref in b["module"].items():
                module.env.vars[attr] = _binding(env, ref, origin)
    for fn, free in functions:
        for local, ref in free.items():
            fn.closure.vars[local] = _binding(env, ref, origin)
    expected = _evaluate(data["expected"], env, rt, origin)
    inputs = _evaluate(data["inputs"], env, rt, origin)
    if not isinstance(inputs, Domain):
        raise UsageError(f"{origin}: the saved spec's inputs are not a domain")
    return expected, inputs


def _binding(env: Env, ref: str, origin: str):
    scope = env.find(ref)
    if scope is None:
        raise UsageError(f"{origin}: the saved spec refers to '{ref}', which it does not define")
    return scope.vars[ref]


def _function(b: dict, rt, origin: str) -> UserFunction:
    line = int(b.get("line", 1))
    text = "\n" * (max(1, line) - 1) + b["def"]   # the def at its own line: errors show the program's line
    source = SourceFile(str(b.get("file", origin)), text)
    tree = _parse(text, source.name, origin)
    defs = [s for s in tree.children if isinstance(s, Tree) and s.data == "def_block"]
    if len(defs) != 1 or len(tree.children) != 1:
        raise UsageError(f"{origin}: the saved spec's function {b['name']!r} is not one `def`")
    node = defs[0]
    name, *params, body = node.children
    return UserFunction(str(name), [str(p) for p in params if p is not None], body, Env(rt.base), source, node)


def _evaluate(text: str, env: Env, rt, origin: str):
    tree = _parse(text, origin, origin)
    stmts = [s for s in tree.children if isinstance(s, Tree)]
    if len(stmts) != 1 or stmts[0].data != "expr_stmt":
        raise UsageError(f"{origin}: the saved spec holds {text[:60]!r}, not one expression")
    interp = rt.interp
    interp.steps = 0
    return interp.eval(stmts[0].children[0], env)


def _parse(text: str, name: str, origin: str) -> Tree:
    try:
        return parse(text, name)
    except Exception as e:
        raise UsageError(f"{origin}: the saved spec does not parse: {e}") from None


def check_data(data, origin: str) -> None:
    """The shape of a saved spec, before anything is parsed."""
    def bad(what):
        raise UsageError(f"{origin}: the saved spec (meta 'spec_source') {what}")

    if not isinstance(data, dict):
        bad("should be an object")
    if data.get("format") != FORMAT:
        bad(f"has format {data.get('format')!r}; this taotp reads format {FORMAT}")
    if not isinstance(data.get("expected"), str) or not isinstance(data.get("inputs"), str):
        bad("needs 'expected' and 'inputs' texts")
    bindings = data.get("bindings")
    if not isinstance(bindings, list):
        bad("needs a list of 'bindings'")
    for b in bindings:
        ok = isinstance(b, dict) and isinstance(b.get("name"), str) and b["name"].isidentifier() and (
            (isinstance(b.get("value"), str)) or
            (isinstance(b.get("def"), str) and isinstance(b.get("free"), dict) and isinstance(b.get("line", 1), int)
             and all(isinstance(k, str) and isinstance(v, str) for k, v in b["free"].items())) or
            (isinstance(b.get("module"), dict) and all(isinstance(v, str) for v in b["module"].values())))
        if not ok:
            bad(f"has a malformed binding: {str(b)[:80]}")
    where = data.get("spec")
    if where is not None and not (isinstance(where, dict) and isinstance(where.get("file"), str)
                                  and isinstance(where.get("line"), int) and isinstance(where.get("column"), int)):
        bad("has a malformed 'spec' place")
