"""Vocabularies: token strings <-> ids, and how text is split into tokens.

Two modes: `chars` (input text is split into characters; multi-character
specials such as `<bos>` are matched whole) and `words` (tokens separated by
whitespace). A ch. 8 literal has no vocabulary: its tokens are the ids themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .errors import InputError, cut


@dataclass(frozen=True)
class Vocab:
    tokens: tuple[str, ...]
    mode: str = "words"  # "chars" | "words"

    def __post_init__(self):
        if len(set(self.tokens)) != len(self.tokens):
            seen, dup = set(), None
            for t in self.tokens:
                if t in seen:
                    dup = t
                    break
                seen.add(t)
            raise InputError(f"vocabulary lists token {dup!r} twice")

    def __len__(self) -> int:
        return len(self.tokens)

    @cached_property
    def index(self) -> dict[str, int]:
        """token -> id (built once; the dataclass is frozen, so it never goes stale)."""
        return {t: i for i, t in enumerate(self.tokens)}

    def id(self, token: str) -> int:
        try:
            return self.index[token]
        except KeyError:
            raise InputError(f"unknown token {cut(token, 40)}; the vocabulary is {self.describe()}") from None

    def describe(self, limit: int = 40) -> str:
        shown = ", ".join(cut(t, 40) for t in self.tokens[:limit])
        more = f", ... ({len(self.tokens)} tokens)" if len(self.tokens) > limit else ""
        return "[" + shown + more + "]"

    def split(self, text: str) -> list[str]:
        if self.mode == "words":
            return text.split()
        specials = sorted((t for t in self.tokens if len(t) > 1), key=len, reverse=True)
        out, i = [], 0
        while i < len(text):
            for s in specials:
                if text.startswith(s, i):
                    out.append(s)
                    i += len(s)
                    break
            else:
                out.append(text[i])
                i += 1
        return out

    def encode(self, text: str) -> list[int]:
        index = self.index
        ids = []
        for tok in self.split(text):
            if tok not in index:
                raise InputError(
                    f"unknown token {cut(tok, 40)} in the input; the vocabulary is {self.describe()}"
                )
            ids.append(index[tok])
        return ids

    def decode(self, ids) -> str:
        toks = [self.tokens[i] for i in ids]
        return "".join(toks) if self.mode == "chars" else " ".join(toks)


def id_vocab(size: int) -> Vocab:
    """The vocabulary of a literal program: token i is written as the integer i."""
    return Vocab(tuple(str(i) for i in range(size)), mode="words")
