"""Modules: finding an imported file, running it once, refusing import cycles.

    import codes                        # the standard library: taotp/stdlib/codes.taotp
    import "lib/util.taotp" as util     # a file, relative to the importing file
    from codes import onehot_code       # names bound directly

A module is a library file: checked by checks.py with the library rules (no
declarations, blocks or weight writes at its top level), then run once per
compilation in its own globals, chained to the shared base environment. Its
functions keep its globals and its SourceFile (errors point into the module)
but run against the importing program's machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from lark import Tree

from ..errors import CompileError, TaotpError, did_you_mean
from ..resources import stdlib_dir, stdlib_modules
from .checks import check_file
from .parser import parse
from .scope import Module
from .source import SourceFile


class ModuleLoader:
    """The modules of one compilation, by resolved path, and the chain being imported."""

    def __init__(self, main: SourceFile):
        self.cache: dict[Path, Module] = {}
        self.chain: list[tuple[Path | None, str]] = [(main.path, main.name)]

    def load(self, interp, ref: Tree, stmt: Tree) -> Module:
        """The module `ref` names, run now if this compilation has not run it yet."""
        importer = interp.source
        path, display, name = self.resolve(ref, importer)
        if path in self.cache:
            return self.cache[path]
        if any(p == path for p, _ in self.chain):
            names = [d for _, d in self.chain] + [display]
            raise importer.error(stmt, "import cycle: " + " -> ".join(names))
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise importer.error(ref, f"{display} is not a text file (a .taotp module is UTF-8 text)") from None
        except OSError as e:
            raise importer.error(ref, f"cannot read module {display}: {e.strerror}") from None
        source = SourceFile(display, text, folder=path.parent, path=path)
        self.chain.append((path, display))
        try:
            tree = checked_tree(text, display, source)
            env = interp.run_module(tree, source)
        except TaotpError as e:
            e.add_frame("imported from", importer.span(stmt))
            raise
        finally:
            self.chain.pop()
        module = Module(name, source, env)
        self.cache[path] = module
        return module

    def resolve(self, ref: Tree, importer: SourceFile) -> tuple[Path, str, str]:
        """(resolved path, name shown in messages, module name) of an import's target."""
        token = ref.children[0]
        if ref.data == "library_module":
            name = str(token)
            path = stdlib_dir() / f"{name}.taotp"
            if not path.is_file():
                known = stdlib_modules()
                hint = did_you_mean(name, known)
                if hint is None and (importer.folder / f"{name}.taotp").is_file():
                    hint = f"to import the file {name}.taotp next to this one, write: import \"{name}.taotp\""
                raise importer.error(ref, f"no module '{name}' in the standard library "
                                          f"(its modules: {', '.join(known) or 'none'})", hint=hint)
            return path.resolve(), f"<stdlib>/{name}.taotp", name
        written = unquote(str(token))
        if not written:
            raise importer.error(ref, "an import needs a file name")
        path = Path(written).expanduser()
        if not path.is_absolute():
            path = importer.folder / path
        display = written if Path(written).is_absolute() else \
            os.path.normpath(os.path.join(os.path.dirname(importer.name), written))
        if path.is_dir():
            raise importer.error(ref, f"{display} is a folder, not a .taotp file")
        if not path.is_file():
            hint = None
            if path.suffix != ".taotp" and path.with_name(path.name + ".taotp").is_file():
                hint = f"did you mean \"{written}.taotp\"?"
            elif path.parent.is_dir():
                hint = did_you_mean(path.name, [p.name for p in path.parent.glob("*.taotp")])
            raise CompileError(f"cannot find the module file {written!r} (looked for {path})",
                               importer.span(ref), hint)
        return path.resolve(), display, Path(written).stem


_TREES: dict[tuple[str, str], Tree] = {}   # (name, text) -> the parsed, checked tree of a library file


def checked_tree(text: str, display: str, source: SourceFile) -> Tree:
    """A library file's syntax tree, parsed and checked once per process (every program
    that imports `codes` would otherwise parse it again); running it is never cached."""
    key = (display, text)
    if key not in _TREES:
        tree = parse(text, display)
        check_file(tree, source, library=True)
        if len(_TREES) > 64:
            _TREES.clear()
        _TREES[key] = tree
    return _TREES[key]


def unquote(literal: str) -> str:
    """A STRING token's text without its quotes (import paths take no escapes)."""
    return literal[1:-1]


def library_index() -> dict[str, dict]:
    """The standard library, for `taotp builtins`: per module its doc (the file's opening
    comment) and its functions (not those named _like_this: helpers), each with its
    parameters and doc (the comment lines right above its `def`)."""
    out = {}
    for name in stdlib_modules():
        text = (stdlib_dir() / f"{name}.taotp").read_text(encoding="utf-8")
        lines = text.splitlines()
        functions = {}
        for stmt in parse(text, f"<stdlib>/{name}.taotp").children:
            if isinstance(stmt, Tree) and stmt.data == "def_block" and not str(stmt.children[0]).startswith("_"):
                fn, *params, _ = stmt.children
                functions[str(fn)] = {"params": [str(p) for p in params if p is not None],
                                      "doc": _comment_above(lines, stmt.meta.line - 1)}
        out[name] = {"doc": _comment_above(lines, _first_code_line(lines)), "functions": functions}
    return out


def _comment_above(lines: list[str], index: int) -> str:
    """The block of `#` lines ending just above lines[index], without the `#`s."""
    block = []
    i = index - 1
    while i >= 0 and lines[i].lstrip().startswith("#"):
        block.append(lines[i].lstrip()[1:].removeprefix(" "))
        i -= 1
    return "\n".join(reversed(block)).strip("\n")


def _first_code_line(lines: list[str]) -> int:
    """Index of the line after a file's opening comment block."""
    i = 0
    while i < len(lines) and lines[i].lstrip().startswith("#"):
        i += 1
    return i
