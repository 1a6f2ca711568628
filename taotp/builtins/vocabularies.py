"""Vocabulary builtins: `vocab ints(n)`, `vocab chars("0123456789+=")`, `vocab words([...])`.

A vocabulary plus a list adds those tokens (specials such as "<bos>") at the end."""

from __future__ import annotations

import numpy as np

from ..errors import CompileError, plain
from ..lang.budget import VOCAB_TOKEN_BYTES as TOKEN_BYTES, current as budget
from ..vocab import Vocab
from . import builtin

MAX_VOCAB = 1_000_000


@builtin()
def ints(n):
    """Tokens "0", "1", ..., str(n-1): token i is the integer i. Input is space-separated."""
    if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)) or not float(n).is_integer():
        raise CompileError(f"ints(n) needs a whole number, got {plain(n)}")
    n = int(n)
    if not 1 <= n <= MAX_VOCAB:
        raise CompileError(f"ints(n) needs 1 <= n <= {MAX_VOCAB:,}, got {n:,}")
    budget().reserve(n * TOKEN_BYTES, f"the vocabulary ints({n:,})")
    return Vocab(tuple(str(i) for i in range(n)), mode="words")


@builtin()
def chars(text):
    """One token per distinct character of `text`, in order of first appearance.
    Input text is split into characters."""
    if not isinstance(text, str):
        raise CompileError(f"chars() takes a string, got {type(text).__name__}")
    budget().work(len(text), "chars()")
    return Vocab(tuple(dict.fromkeys(text)), mode="chars")


@builtin()
def words(tokens):
    """The given tokens (strings without spaces), in order. Input is space-separated."""
    if not isinstance(tokens, (list, tuple)):
        raise CompileError(f"words() takes a list of token strings, got {type(tokens).__name__}")
    if len(tokens) > MAX_VOCAB:
        raise CompileError(f"words() takes at most {MAX_VOCAB:,} tokens, got {len(tokens):,}")
    budget().reserve(len(tokens) * TOKEN_BYTES, f"the vocabulary words() of {len(tokens):,} tokens")
    toks = [str(t) for t in tokens]
    bad = [t for t in toks if not t or any(c.isspace() for c in t)]
    if bad:
        raise CompileError(f"word tokens cannot be empty or hold spaces: {bad[0]!r}")
    return Vocab(tuple(dict.fromkeys(toks)), mode="words")
