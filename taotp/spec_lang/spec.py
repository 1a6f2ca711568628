"""An in-language spec wrapped in today's taotp.specs.Spec, so `check` and `strategies`
use it as they use a registered one.

Inputs: the domain's values become input texts - a string is the text itself; a
list (or tuple) of tokens, each a string or an integer, is joined the way the
vocabulary splits (spaces for `ints`/`words`, nothing for `chars`); every token must be
the vocabulary's. The reference: the text split into the program's tokens (prefix
excluded), passed to `expected`, whose list of tokens (or single token) is joined the
same way; the stop token is not part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import Span
from ..specs import Spec
from . import readers
from .capture import capture
from .restore import check_data, rebuild, spec_span
from .domain import Domain, Lists, brief, describe, function_name, walk
from .runtime import SpecRuntime

MEMO = 100_000   # references remembered per spec (samples repeat inputs; exhaustive runs do not)
MAX_LIST = 100_000   # the longest list a lists() domain may hold (a sampler draws each value in Python)


@dataclass(frozen=True)
class LanguageSpec(Spec):
    """A Spec built from `spec expected=F, inputs=D`; `source` is capture.py's form of it,
    which compiled files keep."""

    source: dict | None = None


def declare(fn, domain: Domain, span: Span | None, program) -> LanguageSpec:
    """The spec of a program just compiled: captured as text, then rebuilt from that
    text, so a compiled file's spec is the one checked now."""
    data = capture(fn, domain, program.vocab, span)
    return build(data, program, origin=span.file if span else program.name)


def build(data: dict, program, origin: str) -> LanguageSpec:
    base_dir = Path(program.source_path).parent if program.source_path else None
    check_data(data, origin)   # a damaged compiled file's spec is refused before it is read
    rt = SpecRuntime(program.vocab, base_dir, spec_span(data))
    fn, domain = rebuild(data, rt, origin)
    impl = _Reader(rt, fn, domain, program)
    return LanguageSpec(
        name=f"expected={function_name(fn)}", reference=impl.reference, strategy=impl.strategy,
        enumerate=impl.enumerate, size=impl.size, sample=impl.sample,
        description=f"expected={function_name(fn)}, inputs={describe(domain)}", complete=True, source=data)


def check_lengths(domain: Domain, rt: SpecRuntime, block: int) -> None:
    """Refuse to sample lists() too long to draw: the sampler builds each list it draws
    value by value, and an input longer than the block is refused by the program anyway.
    (--exhaustive has its own limit; Hypothesis draws short lists whatever the maximum.)"""
    for d in walk(domain):
        if isinstance(d, Lists) and d.max > MAX_LIST:
            raise rt.error(f"{describe(d)}: lists of up to {d.max:,} values cannot be drawn (at most "
                           f"{MAX_LIST:,}); the program's block holds {block:,} tokens")


class _Reader:
    def __init__(self, rt: SpecRuntime, fn, domain: Domain, program):
        self.rt, self.fn, self.domain = rt, fn, domain
        self.vocab = program.vocab
        self.block = program.params.block_size
        self.index = program.vocab.index
        self.sep = "" if program.vocab.mode == "chars" else " "
        stop = program.rule.stop
        self.stop = program.vocab.tokens[stop] if stop is not None else None
        self.memo: dict[str, str] = {}
        self._sampler = None
        # how the program splits a text (Vocab.split, without its per-call setup when it can)
        if program.vocab.mode == "words":
            self.split = str.split
        elif all(len(t) == 1 for t in program.vocab.tokens):
            self.split = list
        else:
            self.split = program.vocab.split
        self.outputs = frozenset(t for t in program.vocab.tokens if t != self.stop)

    # -- inputs -----------------------------------------------------------------------------
    def text(self, value) -> str:
        if isinstance(value, str):
            return value
        if type(value) is list:     # the common case: tokens and integers, checked at once
            toks = [t if type(t) is str else str(t) if type(t) is int else None for t in value]
            if all(t in self.index for t in toks):
                return self.sep.join(toks)
        items = value if isinstance(value, (list, tuple)) else [value]
        toks = []
        for t in items:
            tok = _token(t)
            if tok is None or tok not in self.index:
                what = (f"not a token of the vocabulary {self.vocab.describe(12)}" if tok is not None
                        else "not a token (a string or an integer)")
                raise self.rt.error(
                    f"the spec's inputs gave {brief(value)}, whose item {brief(t)} is {what}; "
                    f"a domain's values must end as lists of tokens or input texts")
            toks.append(tok)
        return self.sep.join(toks)

    def enumerate(self, settings):
        walked = 0
        for value in readers.enumerate_values(self.domain, self.rt):
            walked += 1
            yield self.text(value)
        if walked == 0:
            raise self.rt.error(f"the spec's inputs have no value: every one was refused by a filter "
                                f"({describe(self.domain)})")

    def size(self, settings) -> int | None:
        n = readers.size(self.domain)[0]
        return None if n >= readers.TOO_MANY else n     # None: too many to enumerate

    def sample(self, settings, rng) -> str:
        if self._sampler is None:
            check_lengths(self.domain, self.rt, self.block)
            self._sampler = readers.sampler(self.domain, self.rt)
        return self.text(self._sampler(rng))

    def strategy(self, settings):
        return readers.strategy(self.domain, self.rt).map(self.text)

    # -- the reference ------------------------------------------------------------------------
    def reference(self, settings, text: str) -> str:
        out = self.memo.get(text)
        if out is None:
            toks = self.split(text)
            value = self.rt.call(self.fn, [toks], f"{function_name(self.fn)}() for the input {text!r}")
            out = self.output(value, text)
            if len(self.memo) >= MEMO:
                self.memo.clear()
            self.memo[text] = out
        return out

    def output(self, value, text: str) -> str:
        if type(value) is list and all(type(t) is str and t in self.outputs for t in value):
            return self.sep.join(value)          # the common cases, checked at once
        if type(value) in (int, np.int64) or (type(value) in (float, np.float64) and float(value).is_integer()):
            if str(int(value)) in self.outputs:
                return str(int(value))
        name = function_name(self.fn)
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = value.tolist()
        items = value if isinstance(value, (list, tuple)) else [value]
        toks = []
        for t in items:
            tok = _token(t)
            if tok is None:
                what = "no value (a `return` is missing?)" if value is None else brief(value)
                raise self.rt.error(f"the spec's {name}() returned {what} for the input {text!r}; it must "
                                    f"return the output's tokens: a list of strings or integers (or one token)")
            if tok not in self.index:
                hint = " (chars_of(text) splits a text into its characters)" \
                    if isinstance(t, str) and len(t) > 1 and self.sep == "" else ""
                raise self.rt.error(f"the spec's {name}() returned {brief(value)} for the input {text!r}: "
                                    f"{brief(t)} is not a token of the vocabulary {self.vocab.describe(12)}{hint}")
            if tok == self.stop:
                raise self.rt.error(f"the spec's {name}() returned the stop token {tok!r} for the input {text!r}; "
                                    f"leave it out (the output ends before it)")
            toks.append(tok)
        return self.sep.join(toks)


def _token(t) -> str | None:
    """A token as text: a string, or a whole number written as an integer (min() of a
    list gives 3.0: the token "3"); None for anything else."""
    if isinstance(t, str):
        return t
    if isinstance(t, (bool, np.bool_)):
        return None
    if isinstance(t, (int, np.integer)):
        return str(int(t))
    if isinstance(t, (float, np.floating)) and float(t).is_integer():
        return str(int(t))
    if isinstance(t, np.ndarray) and t.ndim == 0:
        return _token(t.item())
    return None


SPEC_KEYS = ("expected", "inputs")


def spec_arguments(given: dict, error) -> tuple:
    """(expected, inputs) from `spec expected=F, inputs=D`'s {key: (node, value)}; `error(node,
    message)` makes the located error. checks.py has already refused unknown or missing keys."""
    fn_node, fn = given["expected"]
    dom_node, domain = given["inputs"]
    params = getattr(fn, "params", None)
    if params is not None:
        if len(params) != 1:
            raise error(fn_node, f"expected= needs a function of one argument (the input's tokens); "
                                 f"{fn.name}() takes {len(params)}")
    elif not callable(getattr(fn, "fn", None)):
        raise error(fn_node, f"expected= needs a function (a `def` of one argument: the input's tokens -> "
                             f"the output's tokens), got {brief(fn)}")
    if not isinstance(domain, Domain):
        raise error(dom_node, f"inputs= needs a domain (fixed, one_of, seq, lists, integers, tuples, map, "
                              f"filter, weighted), got {brief(domain)}")
    return fn, domain
