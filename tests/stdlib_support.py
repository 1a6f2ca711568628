"""Helpers for the standard library's property tests (tests/test_library_*.py).

Each test builds a tiny program with one library entry, runs it on generated inputs in
float64 and float32 through the fast and the reference engines, and compares with the
entry's reference behaviour: the printed tokens, and the code a slot holds (read off the
reference engine's residual stream), with bounds on the logit margin and on how soft the
hardened attention gets.
"""

from __future__ import annotations

import functools

import numpy as np

import taotp
from taotp.engine import get_engine
from taotp.checking.stats import Stats
from taotp.engine.fast import FastEngine
from taotp.trace.cache import forward_with_cache

DTYPES = (np.float64, np.float32)


@functools.lru_cache(maxsize=None)
def shipped(name: str, **sets):
    """A shipped program at `sets` (each value as `--set` would give it), compiled once per
    test process: the tracr-program and precision tests share it."""
    return taotp.load_program(name, {k: str(v) for k, v in sets.items()}, progress=False)


@functools.lru_cache(maxsize=None)
def compiled(source: str, **settings):
    return taotp.compile_source(source, "lib_test.taotp", {k: str(v) for k, v in settings.items()})


def run(prog, texts: list[str], dtype=np.float64, engine: str = "fast"):
    """(outputs, Stats or None): the printed texts of `texts`, and the fast engine's statistics."""
    params = prog.params if dtype == np.float64 else prog.params.astype(dtype)
    prompts = [prog.encode(t) for t in texts]
    if engine == "fast":
        stats = Stats()
        outs = FastEngine(params).generate(prompts, prog.rule, stats=stats)
    else:
        stats = None
        outs = get_engine("reference").generate_batch(params, prompts, prog.rule)
    return [prog.vocab.decode(o) for o in outs], stats


MARGIN_SLACK = {np.float64: 1e-6, np.float32: 1e-2}   # relative: rounding of the codes that are read


def check_outputs(prog, texts, expected, margin: float, softest: float = 1 - 1e-9, reference_every: int = 4):
    """Every engine and dtype prints `expected`; the fast engine's smallest margin is at least
    the ideal `margin` (less MARGIN_SLACK) and its softest attention at least `softest` (the
    reference engine runs on every `reference_every`-th input: it recomputes each sequence
    at every step)."""
    for dtype in DTYPES:
        got, stats = run(prog, texts, dtype)
        assert got == expected, (dtype, [(t, g, e) for t, g, e in zip(texts, got, expected) if g != e][:3])
        s = stats.as_dict()
        assert s["min_margin"] is None or s["min_margin"] >= margin * (1 - MARGIN_SLACK[dtype]), (dtype, s)
        assert s["softest_attention"] is None or s["softest_attention"] >= softest, (dtype, s)
        few = texts[::reference_every]
        assert run(prog, few, dtype, "reference")[0] == expected[::reference_every], dtype


def stream(prog, text: str, dtype=np.float64) -> np.ndarray:
    """The residual stream after the last layer (positions x d_model), prefix included."""
    params = prog.params if dtype == np.float64 else prog.params.astype(dtype)
    ids = list(prog.rule.prefix) + prog.encode(text)
    _, cache = forward_with_cache(params, ids)
    return np.asarray(cache[f"blocks.{len(params.layers) - 1}.hook_resid_post"], dtype=np.float64)


def onehot_codes(k: int) -> np.ndarray:
    return (np.eye(k) - 1 / k) * k / np.sqrt(k - 1)


def read_slot(prog, x: np.ndarray, name: str, values: list) -> tuple[list, float]:
    """The values a onehot slot holds at each position (the nearest code) and the largest
    distance of the slot's contents from that exact code."""
    a, b = prog.slots[name]
    codes = onehot_codes(b - a)
    part = x[:, a:b]
    idx = np.argmax(part @ codes.T, axis=1)
    err = float(np.abs(part - codes[idx]).max())
    return [values[i] for i in idx], err


def layer_norm_scales(prog, texts, dtype=np.float64) -> tuple[float, float]:
    """The smallest and largest std that any layer norm divides by, over `texts`."""
    from taotp.layernorm import measure_scales

    params = prog.params if dtype == np.float64 else prog.params.astype(dtype)
    seqs = [list(prog.rule.prefix) + prog.encode(t) for t in texts]
    found = measure_scales(params, seqs)
    return min(s["min"] for s in found), max(s["max"] for s in found)
