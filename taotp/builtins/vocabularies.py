"""Vocabulary builtins: `vocab ints(n)`, `vocab chars("0123456789+=")`, `vocab words([...])`.

A vocabulary plus a list adds those tokens (specials such as "<bos>") at the end."""

from __future__ import annotations

from ..errors import CompileError
from ..vocab import Vocab
from . import builtin

MAX_VOCAB = 1_000_000


@builtin()
def ints(n):
    """Tokens "0", "1", ..., str(n-1): token i is the integer i. Input is space-separated."""
    n = int(n)
    if not 1 <= n <= MAX_VOCAB:
        raise CompileError(f"ints(n) needs 1 <= n <= {MAX_VOCAB:,}, got {n:,}")
    return Vocab(tuple(str(i) for i in range(n)), mode="words")


@builtin()
def chars(text):
    """One token per distinct character of `text`, in order of first appearance.
    Input text is split into characters."""
    if not isinstance(text, str):
        raise CompileError(f"chars() takes a string, got {type(text).__name__}")
    return Vocab(tuple(dict.fromkeys(text)), mode="chars")


@builtin()
def words(tokens):
    """The given tokens (strings without spaces), in order. Input is space-separated."""
    toks = [str(t) for t in tokens]
    bad = [t for t in toks if not t or any(c.isspace() for c in t)]
    if bad:
        raise CompileError(f"word tokens cannot be empty or hold spaces: {bad[0]!r}")
    return Vocab(tuple(dict.fromkeys(toks)), mode="words")
