"""Greedy decoding (book fig. 1.2) with a program's stop rule.

A rule says how many tokens to generate for a prompt (a fixed number, a
function of the input length, or until the stop token) and which tokens every
prompt starts with (e.g. <bos>). Engines share `plan_steps` so they agree on
when to stop.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import InputError, NumericError


@dataclass
class DecodeRule:
    steps: Callable[[int], int] | None = None  # tokens to generate, given the input length
    stop: int | None = None                    # token id that ends generation (not printed)
    prefix: tuple[int, ...] = ()               # token ids put before every input
    steps_text: str = ""                       # how `steps` was written, for messages
    extra: dict = field(default_factory=dict)


def plan_steps(rule: DecodeRule, input_len: int, block: int, max_steps: int | None) -> int:
    """How many forward passes to run for a prompt of `input_len` tokens (prefix included).

    A pass over n tokens needs n <= block; the last generated token needs no pass
    of its own, so at most block - input_len + 1 tokens can be generated."""
    if input_len > block:
        raise InputError(
            f"the input is {input_len} tokens long (with the program's prefix), "
            f"but the block size is {block}"
        )
    room = block - input_len + 1
    if rule.steps is not None:
        want = int(rule.steps(input_len - len(rule.prefix)))
        if want < 0:
            raise InputError(f"the decode rule ({rule.steps_text}) asks for {want} steps for this input")
        if want > room:
            raise InputError(
                f"the program would generate {want} tokens after {input_len} input tokens, "
                f"more than the block size {block} allows ({room})"
            )
        steps = want
    else:
        steps = room
    if max_steps is not None:
        steps = min(steps, max_steps)
    return steps


@contextmanager
def numeric_guard(dtype):
    """Overflow or NaN anywhere inside is reported as a NumericError, never argmaxed (DESIGN.md §4)."""
    name = np.dtype(dtype).name
    with np.errstate(over="raise", invalid="raise"):
        try:
            yield
        except FloatingPointError as e:
            raise NumericError(
                f"{e} while running in {name}: the program's constants are too large for this precision"
                + (" (try --dtype float64)" if name != "float64" else "")
            ) from None


def check_finite(logits: np.ndarray) -> None:
    if not np.all(np.isfinite(logits)):
        raise NumericError(
            "the logits hold NaN or infinity (an overflow in the weights' arithmetic); "
            "try --dtype float64 or smaller constants"
        )


def greedy_generate(logits_fn, prompt: list[int], rule: DecodeRule, block: int,
                    max_steps: int | None = None) -> list[int]:
    """Generated token ids (the stop token excluded), by re-running the whole sequence
    each step as the book's decode() does. `logits_fn(tokens) -> (n, vocab)`."""
    tokens = list(rule.prefix) + list(prompt)
    steps = plan_steps(rule, len(tokens), block, max_steps)
    out: list[int] = []
    for _ in range(steps):
        logits = logits_fn(np.asarray(tokens))[-1]
        check_finite(logits)
        nxt = int(np.argmax(logits))
        if rule.stop is not None and nxt == rule.stop:
            break
        out.append(nxt)
        tokens.append(nxt)
    return out
