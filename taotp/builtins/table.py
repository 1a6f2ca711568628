"""Lookup-table files for LOOKUP TABLE (book ch. 3).

Format, one entry per line:

    key tokens separated by spaces<TAB>value token

A `#` that starts a field (at the start of a line or after whitespace) begins a
comment; blank lines are ignored. Tokens are any whitespace-free strings. All
keys must have the same number of tokens (the book's fixed key length l). A key
listed twice with the same value is kept once; with different values it is an
error. Every error names the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputError, cut
from ..values import Record
from . import builtin

BYTES_PER_FILE_BYTE = 12   # parsing keeps the text, its lines and an entry per line: about this much

_COMMENT = re.compile(r"(^|\s)#.*$")


class TableError(InputError):
    kind = "table error"


def _strip_comment(line: str) -> str:
    return _COMMENT.sub("", line.rstrip("\r\n"))


def parse_table(text: str, name: str = "<table>") -> Record:
    """Parse table text; `name` is used in error messages (`name:line: ...`)."""
    tokens: dict[str, int] = {}  # token -> id, in order of first appearance
    entries: dict[tuple[str, ...], tuple[str, int]] = {}  # key -> (value, line)
    key_len, key_len_line = None, 0

    def fail(lineno: int, msg: str):
        raise TableError(f"{name}:{lineno}: {msg}")

    for lineno, raw in enumerate(text.split("\n"), start=1):  # lines end at \n (\r\n too)
        line = _strip_comment(raw)
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) == 1:
            fail(lineno, f"no TAB on this line: write the key tokens, a TAB, then the value "
                         f"(got {cut(line.strip(), 40)})")
        if len(fields) > 2:
            fail(lineno, f"expected 2 TAB-separated fields (key, value), got {len(fields)}")
        key, value = fields[0].split(), fields[1].split()
        if not key:
            fail(lineno, "the key is empty (nothing before the TAB)")
        if len(value) != 1:
            what = "nothing" if not value else f"{len(value)} tokens {cut(' '.join(value), 40)}"
            fail(lineno, f"the value must be exactly one token, got {what}")
        if key_len is None:
            key_len, key_len_line = len(key), lineno
        elif len(key) != key_len:
            fail(lineno, f"this key has {len(key)} tokens but the key on line {key_len_line} "
                         f"has {key_len}; all keys must have the same length")
        k, v = tuple(key), value[0]
        if k in entries and entries[k][0] != v:
            fail(lineno, f"key {' '.join(k)!r} is listed with value {entries[k][0]!r} on line "
                         f"{entries[k][1]} and with value {v!r} here")
        for tok in (*k, v):
            tokens.setdefault(tok, len(tokens))
        entries.setdefault(k, (v, lineno))

    if not entries:
        raise TableError(f"{name}: the table has no entries (only blank lines or comments)")
    keys = np.array([[tokens[t] for t in k] for k in entries], dtype=np.int64)
    values = np.array([tokens[v] for v, _ in entries.values()], dtype=np.int64)
    return Record("table", keys=keys, values=values, tokens=list(tokens),
                  key_len=int(key_len), size=len(entries))


def read_table_file(path: Path, shown: str | None = None, max_bytes: int | None = None) -> Record:
    """Parse a table file; refuse folders, devices and pipes, and files larger than max_bytes."""
    shown = shown or str(path)
    if path.is_dir():
        raise TableError(f"{shown} is a folder, not a table file")
    if not path.exists():
        raise TableError(f"table file {shown} not found")
    if not path.is_file():
        raise TableError(f"{shown} is not a regular file (a device or a pipe?); a table is a text file")
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise TableError(f"table file {shown} is {size:,} bytes; parsing it would pass the compilation's "
                             f"memory budget (at most {max_bytes:,} bytes now)")
        with open(path, "rb") as f:
            data = f.read(size + 1 if max_bytes is None else min(size, max_bytes) + 1)
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TableError(f"{shown} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise TableError(f"cannot read table file {shown}: {e.strerror}") from None
    return parse_table(text, shown)


def _locate(ctx, path: str) -> Path:
    """A path typed on the command line (--set) is looked up in the current folder, then next
    to the program; a path the program writes itself must lie inside the program's folder."""
    if not isinstance(path, str) or not path:
        raise TableError("read_table needs a file path, got " + cut(str(path), 60))
    p = Path(path).expanduser()
    if path in ctx.given_paths:
        if p.is_absolute():
            return p
        candidates = [Path.cwd() / p, ctx.resolve(path)]
        for c in candidates:
            if c.exists():
                return c
        raise TableError(f"table file {path!r} not found "
                         f"(looked in {candidates[0].parent} and {candidates[1].parent})")
    base = Path(ctx.base_dir).resolve()
    target = (base / p).resolve()
    if p.is_absolute() or not target.is_relative_to(base):
        raise TableError(f"the program may read files only inside its own folder ({base}); "
                         f"{path!r} is outside it. To read another file, name it on the command line "
                         f"(--set NAME=FILE for the parameter the program reads).")
    if not target.exists():
        raise TableError(f"table file {path!r} not found (looked in {base})")
    return target


@builtin("read_table", context=True)
def read_table(ctx, path) -> Record:
    """Read a lookup table file -> record with keys (n, l) int ids, values (n,) ids,
    tokens (the vocabulary, in order of first appearance), key_len and size (n).
    The file: a path given on the command line (--set), or one inside the program's folder."""
    budget = ctx.budget
    budget.sweep()
    room = max(0, int((budget.max_bytes - budget.live) // BYTES_PER_FILE_BYTE))
    table = read_table_file(_locate(ctx, path), str(path), max_bytes=room)
    return budget.hold(table)
