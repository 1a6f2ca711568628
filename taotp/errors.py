"""Errors a user can see. Every one of them is a TaotpError: the CLI prints its
message and exits non-zero, never a traceback (DESIGN.md §4)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """Where a piece of source text sits: 1-based line and column, and its length."""

    file: str
    line: int
    column: int
    source_line: str = ""
    width: int = 1

    def render(self) -> str:
        head = f"{self.file}:{self.line}:{self.column}"
        if not self.source_line:
            return head
        caret = " " * (self.column - 1) + "^" * max(1, min(self.width, len(self.source_line) - self.column + 1))
        return f"{head}\n  {self.source_line}\n  {caret}"


class TaotpError(Exception):
    """Base class for every error taotp reports to a user."""

    def __init__(self, message: str, span: Span | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.hint = hint
        self.frames: list[tuple[str, Span]] = []  # ("called from", where), innermost first

    def add_frame(self, label: str, span: Span | None) -> None:
        """Record a caller of the code that failed (a function call, an import)."""
        if span is not None:
            self.frames.append((label, span))

    def __str__(self) -> str:
        parts = []
        if self.span is not None:
            head, _, rest = self.span.render().partition("\n")
            parts.append(f"{head}: {self.kind}: {self.message}")
            if rest:
                parts.append(rest)
        else:
            parts.append(f"{self.kind}: {self.message}")
        if self.hint:
            parts.append(f"  hint: {self.hint}")
        parts += self._frame_lines()
        return "\n".join(parts)

    def _frame_lines(self, keep: int = 12) -> list[str]:
        """The callers, innermost first; a recursion's repeats folded into one line."""
        lines: list[str] = []
        i = 0
        while i < len(self.frames):
            label, where = self.frames[i]
            j = i
            while j + 1 < len(self.frames) and self.frames[j + 1] == self.frames[i]:
                j += 1
            code = where.source_line.strip()
            lines.append(f"  {label} {where.file}:{where.line}:{where.column}" + (f": {code}" if code else ""))
            if j > i:
                lines.append(f"  ... {label} there {j - i} more time(s)")
            i = j + 1
        if len(lines) > keep:
            lines = lines[:keep // 2] + [f"  ... {len(lines) - keep + 1} more line(s) of callers"] + lines[-(keep // 2 - 1):]
        return lines

    kind = "error"


class ErrorList(TaotpError):
    """Several problems found at once (the static checks): each is shown, in order."""

    def __init__(self, errors: list[TaotpError]):
        first = errors[0]
        super().__init__(first.message, first.span, first.hint)
        self.errors = list(errors)
        self.kind = first.kind

    def __str__(self) -> str:
        lines = [str(e) for e in self.errors] + self._frame_lines()
        return "\n".join(lines) + (f"\n{len(self.errors)} errors" if len(self.errors) > 1 else "")


class SyntaxErrorT(TaotpError):
    kind = "syntax error"


class CompileError(TaotpError):
    """A program that parses but cannot be evaluated (unknown name, bad shape...)."""

    kind = "error"


class ShapeError(TaotpError):
    kind = "shape error"


class InputError(TaotpError):
    """A bad input to a program: unknown token, too long for the block..."""

    kind = "input error"


class NumericError(TaotpError):
    """NaN or overflow while running a program."""

    kind = "numeric error"


class UsageError(TaotpError):
    kind = "error"


def did_you_mean(name: str, candidates) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def cut(text: str, limit: int = 80) -> str:
    """repr(text) for a message, cut to about `limit` characters with the full length said
    (an error that quotes a 1 MB input quotes its start)."""
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text):,} characters)"


def plain(value) -> str:
    """A value as a message shows it: numbers plainly (2.5, never np.float64(2.5)), text
    quoted and cut, arrays by their shape, anything else by its type."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return cut(value, 60)
    if isinstance(value, (bool, int, float)) or value is None:
        return str(value)
    if isinstance(value, np.ndarray):
        return f"an array of shape {'x'.join(map(str, value.shape)) or 'scalar'}"
    return {list: "a list", tuple: "a tuple", dict: "a dict"}.get(type(value), type(value).__name__)
