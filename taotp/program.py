"""A compiled program: weights plus everything needed to use them.

`Program` is what the compiler produces and what every command consumes:
the Params, the vocabulary, the decoding rule, the residual stream's named
slots (for `trace`), the spec it claims to implement, and the parameter values
it was compiled with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .decoding import DecodeRule, numeric_guard
from .engine import get_engine
from .errors import InputError, UsageError
from .params import Params
from .patterns import InputPattern, guarded
from .vocab import Vocab

DTYPES = ("float64", "float32")


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
    exact_in: tuple = ()        # the dtypes the program declares itself exact in (`exact in ...`); () = unstated
    exact_where: str = ""       # where it says so (file:line), for messages

    def __post_init__(self):
        origin = self.source_path or self.name
        self.input_patterns = [p if isinstance(p, InputPattern) else InputPattern.make(*p, origin=origin)
                               for p in self.input_patterns]
        bad = [d for d in self.exact_in if d not in DTYPES]
        if bad:
            raise UsageError(f"{origin}: unknown dtype {bad[0]!r} in its precision (known: {', '.join(DTYPES)})")

    def encode(self, text: str) -> list[int]:
        """Token ids of an input text (the rule's prefix is added at decode time)."""
        for pattern in self.input_patterns:
            pattern.check(text)
        ids = self.vocab.encode(text)
        if not ids and not self.rule.prefix:
            raise InputError("this program needs an input (--input TEXT)")
        return ids

    def require_precision(self, dtype) -> None:
        """Refuse a dtype the program does not declare itself exact in (it would answer wrongly)."""
        name = np.dtype(dtype).name
        if self.exact_in and name not in self.exact_in:
            where = f" ({self.exact_where})" if self.exact_where else ""
            raise UsageError(
                f"{self.name} declares itself exact only in {', '.join(self.exact_in)}{where}; it is not run "
                f"in {name}, where its answers can be wrong",
                hint=f"run it in {self.exact_in[0]} (--dtype {self.exact_in[0]}), or measure the failures "
                     f"with `taotp check {self.name} --dtype {name}` (and the same --set options)")

    def generate(self, prompts: list[list[int]], engine: str = "reference", dtype=np.float64,
                 max_steps: int | None = None, measure: bool = False) -> list[list[int]]:
        """measure: run even outside the declared precision (`check` measures what happens there)."""
        if not measure:
            self.require_precision(dtype)
        params = self.params if np.dtype(dtype) == np.float64 else self.params.astype(dtype)
        with numeric_guard(dtype):
            return get_engine(engine).generate_batch(params, prompts, self.rule, max_steps)

    def run(self, text: str, **kw) -> str:
        return self.run_batch([text], **kw)[0]

    def run_batch(self, texts: list[str], **kw) -> list[str]:
        with guarded():  # the input patterns' timer handler, installed once for the batch
            prompts = [self.encode(t) for t in texts]
        return [self.vocab.decode(ids) for ids in self.generate(prompts, **kw)]

    def run_with_cache(self, text: str):
        """(logits, cache) of the decoded sequence, TransformerLens hook names (taotp.trace)."""
        from .trace.cache import run_with_cache

        return run_with_cache(self, text)
