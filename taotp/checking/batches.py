"""Input texts to token arrays and generated tokens back to texts, many at a time.

`Program.encode` checks one input (the program's `input matches` patterns, then the
vocabulary); `Codec` gives the same ids and the same errors, with the patterns
compiled once and the vocabulary looked up for a whole chunk at once where the
vocabulary is one character per token. The decode rule's step count is a function
of the input length: computed once per length.
"""

from __future__ import annotations

import re

import numpy as np

from ..decoding import plan_steps
from ..errors import InputError


class Codec:
    def __init__(self, program):
        self.program = program
        self.vocab = program.vocab
        self.index = program.vocab.index
        self.patterns = [re.compile(p) for p, _ in program.input_patterns]
        tokens = program.vocab.tokens
        # one character per token (and no NUL, which marks the end of a numpy string)
        self.single = program.vocab.mode == "chars" and all(len(t) == 1 and t != "\0" for t in tokens)
        if self.single:
            codes = np.array([ord(t) for t in tokens], dtype=np.uint32)
            self.order = np.argsort(codes)
            self.codes = codes[self.order]
            self.chars = np.array(list(tokens), dtype="<U1")
        else:   # the vocabulary's own split (Vocab.split): the longest special first, else one character
            specials = sorted((t for t in tokens if len(t) > 1), key=len, reverse=True)
            self.tokenize = str.split if program.vocab.mode == "words" else \
                re.compile("|".join([re.escape(t) for t in specials] + ["."]), re.S).findall
        self.prefix = [int(t) for t in program.rule.prefix]
        self._steps: dict[int, int | str] = {}

    # -- inputs --------------------------------------------------------------------------
    def encode(self, texts: list[str]) -> tuple[dict[int, tuple[list[int], np.ndarray]], dict[int, str]]:
        """Token arrays of the texts grouped by length, prefix included
        ({length: (indices, ids (k, length))}), and {index: why it was rejected}."""
        rejected: dict[int, str] = {}
        for p in self.patterns:
            match = p.fullmatch
            for i in [i for i, t in enumerate(texts) if match(t) is None]:
                rejected.setdefault(i, self._why(texts[i]))
        rows: dict[int, list] = {}
        if self.single and texts:
            arr = np.array(texts, dtype=f"<U{max(1, max(map(len, texts)))}")
            codes = arr.view(np.uint32).reshape(len(texts), -1)
            where = np.minimum(np.searchsorted(self.codes, codes), self.codes.size - 1)
            ids = self.order[where]
            known = (self.codes[where] == codes) | (codes == 0)
            lengths = np.char.str_len(arr)
            for i in np.flatnonzero(~known.all(axis=1)):
                rejected.setdefault(int(i), self._why(texts[i]))
            for i in np.flatnonzero(lengths == 0):   # an empty input: allowed only with a prefix
                if int(i) not in rejected and not self.program.rule.prefix:
                    rejected[int(i)] = self._why(texts[i])
            ok = np.ones(len(texts), dtype=bool)
            ok[list(rejected)] = False
            kept = np.flatnonzero(ok)
            found, first = np.unique(lengths[kept], return_index=True)
            for n in found[np.argsort(first)].tolist():   # lengths as they first appear, each in input order
                rows[n] = kept[lengths[kept] == n].tolist()
            groups = {n: (idx, ids[idx, :n]) for n, idx in rows.items()}
        else:
            found = {}
            index, tokenize = self.index, self.tokenize
            for i, t in enumerate(texts):
                if i in rejected:
                    continue
                try:
                    found[i] = [index[tok] for tok in tokenize(t)]
                except KeyError:   # Program.encode's verdict and wording
                    try:
                        found[i] = self.program.encode(t)
                    except InputError as e:
                        rejected[i] = e.message
                        continue
                if not found[i] and not self.prefix:
                    rejected[i] = self._why(t)
                    continue
                rows.setdefault(len(found[i]), []).append(i)
            groups = {n: (idx, np.array([found[i] for i in idx], dtype=np.int64).reshape(len(idx), n))
                      for n, idx in rows.items()}
        out = {}
        for n, (idx, ids) in groups.items():
            steps = self.steps(n + len(self.prefix))
            if isinstance(steps, str):
                for i in idx:
                    rejected[i] = steps
                continue
            if self.prefix:
                ids = np.concatenate([np.tile(np.array(self.prefix, dtype=np.int64), (len(idx), 1)), ids], axis=1)
            out[n + len(self.prefix)] = (idx, np.ascontiguousarray(ids, dtype=np.int64))
        return out, rejected

    def _why(self, text: str) -> str:
        try:
            self.program.encode(text)
        except InputError as e:
            return e.message
        return "rejected"  # not reached: the patterns or the vocabulary refused it

    def steps(self, length: int) -> int | str:
        """Tokens to generate after `length` tokens (prefix included), or why not."""
        if length not in self._steps:
            try:
                self._steps[length] = plan_steps(self.program.rule, length, self.program.params.block_size, None)
            except InputError as e:
                self._steps[length] = e.message
        return self._steps[length]

    # -- outputs -------------------------------------------------------------------------
    def decode(self, gen: np.ndarray, length: np.ndarray) -> np.ndarray:
        """Texts (B,) of generated tokens gen (B, S), each cut at its length."""
        B, S = gen.shape
        if self.single and S:
            chars = self.chars[gen]
            chars[np.arange(S)[None, :] >= length[:, None]] = ""
            return np.ascontiguousarray(chars).view(f"<U{S}").ravel()
        return np.array([self.vocab.decode(g[:m].tolist()) for g, m in zip(gen, length)], dtype=object)
