"""One source file of a program: its text, and where a syntax-tree node sits in it.

Every module and every user function carries the SourceFile it was written in,
so an error inside an imported file shows that file's line, not the importer's.
"""

from __future__ import annotations

from pathlib import Path

from lark import Token

from ..errors import CompileError, Span


class SourceFile:
    def __init__(self, name: str, text: str, folder: Path | None = None, path: Path | None = None):
        self.name = name              # as shown in messages (the path the user gave)
        self.text = text
        self.lines = text.splitlines()
        self.folder = folder if folder is not None else Path.cwd()  # imports are relative to it
        self.path = path              # the resolved file, or None for text given directly

    def span(self, node) -> Span | None:
        meta = getattr(node, "meta", None)
        if isinstance(node, Token):
            line, col, end = node.line, node.column, node.end_column
        elif meta is not None and not getattr(meta, "empty", True):
            line, col = meta.line, meta.column
            end = meta.end_column if meta.end_line == meta.line else None
        else:
            return None
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        width = (end - col) if end else max(1, len(text) - col + 1)
        return Span(self.name, line, col, text, max(1, width))

    def end_span(self) -> Span:
        """The file's last line: where a whole-program error (no `vocab`, NaN weights) points."""
        last = max(1, len(self.lines))
        return Span(self.name, last, 1, self.lines[last - 1] if self.lines else "", 1)

    def text_of(self, node) -> str:
        """The source text of a node (its first line, if it spans several)."""
        meta = node.meta
        if meta.line != meta.end_line:
            return self.lines[meta.line - 1][meta.column - 1:].strip()
        return self.lines[meta.line - 1][meta.column - 1:meta.end_column - 1]

    def error(self, node, message: str, cls=CompileError, hint: str | None = None):
        return cls(message, self.span(node), hint)

    def __repr__(self) -> str:
        return f"<source {self.name}>"
