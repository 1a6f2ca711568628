"""A compiled program: weights plus everything needed to use them.

`Program` is what the compiler produces and what every command consumes:
the Params, the vocabulary, the decoding rule, the residual stream's named
slots (for `trace`), the spec it claims to implement, and the parameter values
it was compiled with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import re

import numpy as np

from .decoding import DecodeRule, numeric_guard
from .engine import get_engine
from .errors import InputError
from .params import Params
from .vocab import Vocab


@dataclass
class Program:
    name: str
    params: Params
    vocab: Vocab
    rule: DecodeRule = field(default_factory=DecodeRule)
    slots: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> [start, stop) of d_model
    spec: str | None = None
    settings: dict = field(default_factory=dict)  # param name -> value used
    source_path: str | None = None
    notes: dict = field(default_factory=dict)     # builtin reports (e.g. spike MLP min separation)
    input_patterns: list = field(default_factory=list)  # (regex, message): what an input must look like
    own_spec: object = field(default=None, repr=False)  # a specs.Spec the program carries (spec_lang)

    def encode(self, text: str) -> list[int]:
        """Token ids of an input text (the rule's prefix is added at decode time)."""
        for pattern, message in self.input_patterns:
            if not re.fullmatch(pattern, text):
                raise InputError(f"{text!r}: {message}")
        ids = self.vocab.encode(text)
        if not ids and not self.rule.prefix:
            raise InputError("this program needs an input (--input TEXT)")
        return ids

    def generate(self, prompts: list[list[int]], engine: str = "reference", dtype=np.float64,
                 max_steps: int | None = None) -> list[list[int]]:
        params = self.params if np.dtype(dtype) == np.float64 else self.params.astype(dtype)
        with numeric_guard(dtype):
            return get_engine(engine).generate_batch(params, prompts, self.rule, max_steps)

    def run(self, text: str, **kw) -> str:
        return self.run_batch([text], **kw)[0]

    def run_batch(self, texts: list[str], **kw) -> list[str]:
        prompts = [self.encode(t) for t in texts]
        return [self.vocab.decode(ids) for ids in self.generate(prompts, **kw)]

    def run_with_cache(self, text: str):
        """(logits, cache) of the decoded sequence, TransformerLens hook names (taotp.trace)."""
        from .trace.cache import run_with_cache

        return run_with_cache(self, text)
