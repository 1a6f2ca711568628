"""The static pass: one walk over a file's syntax tree, before anything runs, that
collects every structural problem and reports them all at once (ErrorList).

What it refuses (each with the file, line and column of the statement):
- declarations (`param vocab model stream decode spec input`) anywhere but the top level;
- `exact in` anywhere but the top level or a top-level `if` (the precision a program
  needs may depend on its parameters), and in a library file;
- `import` / `from` anywhere but the top level;
- `return` outside a `def`;
- `spec NAME` naming no registered spec (taotp.specs), a `spec expected=F, inputs=D`
  with a key missing, unknown or twice, and a second `spec`;
- `let`, `def` and `stream` names that are builtins, weights, or the machine's own
  names (`vocab`, `model`, `token`, `tokens`, `input_len`);
- a `def` with a parameter named twice;
- in a library file (a module another file imports): declarations, `layer` / `head`
  blocks and weight writes outside functions. A library gives functions and
  constants; the program that imports it declares and builds the machine.
"""

from __future__ import annotations

from pathlib import Path

from lark import Tree

from ..errors import CompileError, ErrorList, did_you_mean
from .machine import EMBEDDINGS, LAYER_WEIGHTS
from .source import SourceFile

DECLARATIONS = {"param_stmt": "param", "vocab_stmt": "vocab", "model_stmt": "model", "stream_stmt": "stream",
                "decode_stmt": "decode", "spec_stmt": "spec", "input_stmt": "input"}
MACHINE_NAMES = ("vocab", "model", "token", "tokens", "input_len", "new_head", "new_neurons", "new_slot",
                 "release_slot")
IMPORTS = ("import_stmt", "from_stmt")
LIBRARY_TOP = "let, def, import, from, assert, print"


def check_file(tree: Tree, source: SourceFile, library: bool = False) -> None:
    """Raise an ErrorList naming every problem of the file, or return if there is none."""
    checker = _Checker(source, library)
    checker.suite(tree.children, top=True, in_def=False)
    if checker.problems:
        raise ErrorList(checker.problems)


class _Checker:
    def __init__(self, source: SourceFile, library: bool):
        self.source = source
        self.library = library
        self.problems: list[CompileError] = []
        self.specs = 0

    def problem(self, node, message: str, hint: str | None = None) -> None:
        self.problems.append(self.source.error(node, message, hint=hint))

    def reserved(self, node, name: str) -> None:
        # A program's own names may shadow builtins (as in Python): a builtin added to a later
        # version of taotp never breaks a program that already used its name.
        if name in EMBEDDINGS or name in LAYER_WEIGHTS:
            self.problem(node, f"'{name}' names a weight; choose another name")
        elif name in MACHINE_NAMES:
            self.problem(node, f"'{name}' is one of the machine's own names; choose another name")

    def suite(self, stmts, top: bool, in_def: bool, top_if: bool = False) -> None:
        for stmt in stmts:
            if isinstance(stmt, Tree):
                self.statement(stmt, top, in_def, top_if)

    def statement(self, node: Tree, top: bool, in_def: bool, top_if: bool = False) -> None:
        """top: at the file's top level; top_if: inside `if`/`elif`/`else` blocks only."""
        kind = node.data
        library_top = self.library and not in_def
        if kind == "exact_stmt":
            if self.library:
                self.problem(node, f"a library file cannot declare `exact in`: its top level holds only "
                                   f"{LIBRARY_TOP}; the program that imports it states its precision")
            elif not (top or top_if):
                self.problem(node, "`exact in` states the program's precision: write it at the top level "
                                   "(or in a top-level `if`, when it depends on a parameter), not in a block "
                                   "or a function")
        elif kind in DECLARATIONS:
            word = DECLARATIONS[kind]
            if not top:
                self.problem(node, f"`{word}` declares the program; write it at the top level, not inside a block")
            elif self.library:
                self.problem(node, f"a library file cannot declare `{word}`: its top level holds only "
                                   f"{LIBRARY_TOP}; `{word}` belongs in the program that imports it")
        elif kind in IMPORTS and not top:
            self.problem(node, "imports go at the top level of a file, not inside a block")
        elif kind == "return_stmt" and not in_def:
            self.problem(node, "return outside a function")
        elif kind in ("layer_block", "head_block") and library_top:
            word = kind.split("_")[0]
            self.problem(node, f"a library file cannot build `{word}` blocks at its top level (only "
                               f"{LIBRARY_TOP}); put them in a function the program calls")
        elif kind == "assign_stmt":
            name = self.target_name(node)
            if name is None:
                self.problem(node.children[0], "can only assign to a name or an indexed name (x = ..., W[i, j] = ...)")
            elif library_top and name in EMBEDDINGS + LAYER_WEIGHTS:
                self.problem(node, "a library file cannot write weights at its top level; "
                                   "write them in a function the program calls")
        elif kind == "expr_stmt" and node.children[0].data != "call":
            self.dropped_value(node.children[0])
        if kind == "spec_stmt" and top and not self.library:
            self.spec(node)
        if kind == "let_stmt":
            self.reserved(node, str(node.children[0]))
        elif kind == "import_stmt":
            ref, alias = node.children
            if alias is not None:
                self.reserved(alias, str(alias))
            elif ref.data == "file_module" and not Path(str(ref.children[0])[1:-1]).stem.isidentifier():
                self.problem(ref, f"name the module: import {ref.children[0]} as NAME")
            else:
                self.reserved(ref, Path(str(ref.children[0]).strip("\"'")).stem)
        elif kind == "from_stmt":
            for tok in node.children[1:]:
                if tok is not None:
                    self.reserved(tok, str(tok))
        elif kind == "stream_stmt":
            for decl in node.children:
                self.reserved(decl, str(decl.children[0]))
        elif kind == "def_block":
            name, *params, body = node.children
            self.reserved(node, str(name))
            seen = set()
            for p in params:
                if p is not None and str(p) in seen:
                    self.problem(p, f"{name}() names its parameter '{p}' twice")
                seen.add(str(p))
            self.suite(body.children, top=False, in_def=True)
        elif kind in ("layer_block", "head_block", "for_block", "if_block", "elif_clause", "else_clause"):
            conditional = kind in ("if_block", "elif_clause", "else_clause") and (top or top_if) and not in_def
            for child in node.children:
                if isinstance(child, Tree) and child.data == "suite":
                    self.suite(child.children, top=False, in_def=in_def, top_if=conditional)
                elif isinstance(child, Tree) and child.data in ("elif_clause", "else_clause"):
                    self.statement(child, top=False, in_def=in_def, top_if=conditional)

    def spec(self, node: Tree) -> None:
        """`spec NAME` names a registered spec; `spec expected=F, inputs=D` gives both keys once."""
        self.specs += 1
        if self.specs == 2:
            self.problem(node, "the program declares its spec twice")
        first = node.children[0]
        if not isinstance(first, Tree):
            from .. import specs

            if str(first) not in specs.REGISTRY:
                self.problem(first, f"unknown spec '{first}' (registered: {', '.join(specs.names())}; or write "
                                    f"`spec expected=F, inputs=D` in the program)",
                             hint=did_you_mean(str(first), specs.REGISTRY))
            return
        from ..spec_lang.spec import SPEC_KEYS

        seen, meant = set(), set()
        for kw in node.children:
            key = str(kw.children[0])
            if key not in SPEC_KEYS:
                hint = did_you_mean(key, SPEC_KEYS)
                self.problem(kw, f"spec has no setting '{key}' (a spec gives expected=F, inputs=D)", hint=hint)
                meant.update(k for k in SPEC_KEYS if hint and f"'{k}'" in hint)
            elif key in seen:
                self.problem(kw, f"spec gives {key}= twice")
            seen.add(key)
        for key in SPEC_KEYS:
            if key not in seen and key not in meant:
                self.problem(node, f"spec needs {key}= (spec expected=F, inputs=D: F maps the input's tokens "
                                   f"to the output's, D describes the inputs)")

    def dropped_value(self, expr: Tree) -> None:
        hint = None
        if expr.data == "compare" and any(str(op.children[0]) == "==" for op in expr.children[1::2]):
            hint = "to assign, write `=` (or `let NAME = ...` for a new name)"
        self.problems.append(self.source.error(
            expr, f"`{self.source.text_of(expr)}` computes a value and drops it; a statement is a call, "
                  f"an assignment or a keyword statement", hint=hint))

    @staticmethod
    def target_name(node: Tree) -> str | None:
        """The name an assignment writes (NAME or NAME[...]), or None for any other target."""
        target = node.children[0]
        if target.data == "index":
            target = target.children[0]
        return str(target.children[0]) if target.data == "name" else None
