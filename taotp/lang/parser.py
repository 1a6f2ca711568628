"""Source text -> Lark syntax tree, with errors that point at the source.

The grammar is grammar/taotp.lark (LALR). Indentation is turned into
_INDENT/_DEDENT tokens by lark's Indenter, as in Python."""

from __future__ import annotations

from functools import lru_cache

from lark import Lark, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.indenter import DedentError, Indenter

from ..errors import Span, SyntaxErrorT
from ..resources import grammar_path


class _IndentError(Exception):
    """A dedent to a column no enclosing block starts at, with where it happened."""

    def __init__(self, line: int, column: int, levels: list[int]):
        self.line, self.column, self.levels = line, column, levels


class _TaotpIndenter(Indenter):
    NL_type = "_NEWLINE"
    OPEN_PAREN_types = ["LPAR", "LSQB", "LBRACE"]
    CLOSE_PAREN_types = ["RPAR", "RSQB", "RBRACE"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    def handle_NL(self, token):
        """lark's, with the line and column of a bad dedent (its DedentError has neither)."""
        levels = list(self.indent_level)
        try:
            yield from super().handle_NL(token)
        except DedentError:
            indent = len(token.rsplit("\n", 1)[1].replace("\t", " " * self.tab_len))
            raise _IndentError(token.end_line, indent + 1, levels) from None


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        grammar_path().read_text(),
        parser="lalr",
        postlex=_TaotpIndenter(),
        propagate_positions=True,
        maybe_placeholders=True,
    )


# How terminals read in messages.
_READABLE = {
    "_NEWLINE": "end of line", "_INDENT": "an indented block", "_DEDENT": "end of block",
    "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "LPAR": "'('", "RPAR": "')'",
    "LSQB": "'['", "RSQB": "']'", "COLON": "':'", "COMMA": "','", "EQUAL": "'='",
    "ASSIGN_OP": "'=' (or +=, -=, *=)", "DOT": "'.'", "$END": "end of file", "MINUS": "'-'",
    "PLUS": "'+'", "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "an operator",
}


def _readable(term: str) -> str:
    if term in _READABLE:
        return _READABLE[term]
    if term.isupper():  # keyword terminals are named after the keyword, e.g. LAYER
        return f"'{term.lower()}'"
    return term


def span_at(source: str, filename: str, line: int, column: int, width: int = 1) -> Span:
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return Span(filename, line, column, text, width)


def parse(source: str, filename: str = "<program>") -> Tree:
    if not source.endswith("\n"):
        source += "\n"
    try:
        return _parser().parse(source)
    except UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            where = span_at(source, filename, max(1, source.count("\n")), 1)
            raise SyntaxErrorT("unexpected end of file", where) from None
        expected = sorted({_readable(t) for t in e.expected if not t.startswith("__")})
        shown = "end of line" if tok.type == "_NEWLINE" else (
            "indentation" if tok.type in ("_INDENT", "_DEDENT") else repr(str(tok)))
        msg = f"unexpected {shown}"
        if expected and len(expected) <= 8:
            msg += "; expected " + ", ".join(expected)
        line, col = tok.line or e.line, tok.column or e.column
        if tok.type in ("_INDENT", "_DEDENT"):  # these borrow the newline's place: point at the new line
            line, col = tok.end_line or line, tok.end_column or 1
            msg = ("unexpected indentation: this line is indented more than the one before, "
                   "but nothing opened a block (a block follows a line ending in ':')"
                   if tok.type == "_INDENT" else msg)
        raise SyntaxErrorT(msg, span_at(source, filename, line, col, max(1, len(str(tok).strip() or "x")))) from None
    except UnexpectedCharacters as e:
        ch = source[e.pos_in_stream] if e.pos_in_stream is not None and e.pos_in_stream < len(source) else "?"
        raise SyntaxErrorT(f"unexpected character {ch!r}", span_at(source, filename, e.line, e.column)) from None
    except UnexpectedEOF:
        raise SyntaxErrorT("unexpected end of file", span_at(source, filename, max(1, source.count("\n")), 1)) from None
    except _IndentError as e:
        cols = [str(level + 1) for level in e.levels]
        columns = f"column {cols[0]}" if len(cols) == 1 else "columns " + ", ".join(cols[:-1]) + " and " + cols[-1]
        raise SyntaxErrorT(f"inconsistent indentation: this line starts at column {e.column}, but the blocks "
                           f"around it start at {columns}; line it up with one of them",
                           span_at(source, filename, e.line, e.column)) from None
    except DedentError as e:  # not expected: _TaotpIndenter reports dedents itself
        raise SyntaxErrorT(f"inconsistent indentation ({e})", span_at(source, filename, 1, 1)) from None
    except UnexpectedInput as e:  # any other lark complaint
        raise SyntaxErrorT(str(e).splitlines()[0], span_at(source, filename, e.line, e.column)) from None
