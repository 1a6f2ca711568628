"""Engines run compiled Params.

Every engine module exposes `generate_batch(params, prompts, rule, max_steps=None)
-> list[list[int]]`: the greedy continuation of each prompt (prefix not included,
the stop token excluded). `reference` is the book's math written plainly; `fast`
gives its answers vectorised; `onnxruntime` and `torch` run the program exported
(taotp.export) in those runtimes, with the decode rule outside the graph.
"""

from __future__ import annotations

import importlib

from ..errors import UsageError

ENGINES = ("reference", "fast", "onnxruntime", "torch")
DEFAULT_ENGINE = "fast"  # same answers as the reference (tests/test_fast_engine.py), much faster


def get_engine(name: str):
    if name not in ENGINES:
        raise UsageError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    return importlib.import_module(f"{__name__}.{name}")
