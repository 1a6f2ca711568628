"""Reading a spec back from capture.py's dict (a compiled file's meta 'spec_source', or
the dict just captured): functions parsed from their text, at their own file and line,
values evaluated from their literals, over a spec runtime's builtins."""

from __future__ import annotations

from lark import Tree

from ..errors import Span, UsageError
from ..lang.parser import parse
from ..lang.scope import Env, Module, UserFunction
from ..lang.source import SourceFile
from .domain import Domain

FORMAT = 1


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
