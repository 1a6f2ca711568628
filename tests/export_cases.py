"""Shared cases for the export tests: shipped programs at small settings, random
machines whose layers have different shapes, and reference logits to compare with."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

import taotp
from taotp.decoding import plan_steps
from taotp.engine import reference
from taotp.engine.batched import distinct_rows
from taotp.errors import NumericError
from taotp.params import Layer, LayerNorm, Params

ROOT = Path(__file__).resolve().parent.parent
TABLE = str(ROOT / "examples" / "tables" / "colors.tsv")
NEAR_TIE = 1e-6  # a logit margin below this is decided by rounding (taotp check warns below 1e-9)

# Every shipped program, at settings small enough for a test (the default ones are
# measured by benchmarks/export_agreement.py and recorded in docs/export.md). SORT at
# n = 12: its smallest margin is 1.6e-5; at the default n = 28 some answers are decided
# by rounding (margins down to 3.6e-15), which another CPU's kernels may round otherwise.
SHIPPED = {
    "hello": {}, "min": {"n": 30}, "max": {"n": 30}, "sort": {"n": 12}, "add_digit_mod": {},
    "add_mod": {"n_digits": 1}, "add": {"n_digits": 1}, "add_unpadded": {"n_digits": 1},
    "search": {"vocab_size": 10, "prefix_len": 3, "block": 30},
    "lookup": {"table": TABLE}, "lookup_untied": {"table": TABLE},
    "long_add": {"n_digits": 2}, "long_sub": {"n_digits": 2}, "long_add_unpadded": {"n_digits": 2},
    "reverse": {"n": 6},
    "sort_ints": {"lo": -5, "hi": 9, "max_len": 8}, "min_ints": {"lo": -5, "hi": 9, "block": 10},
    "max_ints": {"lo": -5, "hi": 9, "block": 10},
    "mul": {"n_digits": 1}, "mul_unpadded": {"n_digits": 1},
    "length": {"n": 8}, "hist": {"n": 6}, "sort_unique": {"n": 10, "max_len": 6}, "count_less_freq": {"max_len": 6},
    "frac_prevs": {"n": 6}, "pair_balance": {"n": 6}, "dyck1": {"n": 8}, "dyck2": {"n": 6},
    "shift_by": {"n": 6}, "detect_pattern": {"n": 6}, "count": {"n": 6}, "nary_sequencemap": {"n": 4},
    "sort_freq": {"n": 6},
}


@functools.lru_cache(maxsize=None)
def program(name):
    return taotp.load_program(name, SHIPPED[name], progress=False)


def shipped_names() -> set[str]:
    return {p.stem for p in (ROOT / "programs").glob("*.taotp")}


@st.composite
def machines(draw, max_layers=3):
    """Random Params whose layers each have their own heads, d_head and d_ff (0 included),
    some exact zeros, layer norms with or without an affine part, tied or untied."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    V, block, d = draw(st.integers(2, 9)), draw(st.integers(3, 10)), draw(st.integers(2, 7))
    layers = []
    for _ in range(draw(st.integers(0, max_layers))):
        h, k, f = draw(st.integers(0, 3)), draw(st.integers(1, 4)), draw(st.integers(0, 12))
        scale = draw(st.sampled_from([0.3, 1.0, 3.0]))
        L = Layer(*(rng.standard_normal(s) * scale for s in [(h, d, k)] * 4 + [(d, f), (f,), (f, d), (d,)]))
        if f and draw(st.booleans()):
            L.M1[rng.random(d) < 0.5] = 0.0
        if draw(st.booleans()):
            L.ln1 = LayerNorm(rng.uniform(0.5, 2, d), rng.standard_normal(d) * 0.1)
        layers.append(L)
    out = rng.standard_normal((V, d)) if draw(st.booleans()) else None
    lnf = LayerNorm(rng.uniform(0.5, 2, d), rng.standard_normal(d) * 0.1) if draw(st.booleans()) else LayerNorm()
    return Params(tok_emb=rng.standard_normal((V, d)), pos_emb=rng.standard_normal((block, d)),
                  layers=layers, out_emb=out, lnf=lnf).validate()


@st.composite
def machine_and_tokens(draw):
    """A machine and a (batch, seq) array of token ids for it."""
    p = draw(machines())
    B, n = draw(st.integers(1, 3)), draw(st.integers(1, p.block_size))
    toks = np.array(draw(st.lists(st.lists(st.integers(0, p.vocab_size - 1), min_size=n, max_size=n),
                                  min_size=B, max_size=B)), dtype=np.int64)
    return p, toks


def reference_logits(params, toks) -> np.ndarray:
    return np.stack([reference.forward(params, t) for t in toks])


def decoded(prog, texts, dtype):
    """For each text, the sequence the reference decodes (cut to the block) and the
    positions whose logits decoding read; None if the reference overflows."""
    out = []
    for t in texts:
        ids = list(prog.rule.prefix) + prog.encode(t)
        try:
            gen = prog.generate([prog.encode(t)], engine="reference", dtype=dtype)[0]
        except NumericError:
            return None
        planned = plan_steps(prog.rule, len(ids), prog.params.block_size, None)
        reads = len(gen) + (1 if len(gen) < planned else 0)     # + the read that gave the stop token
        out.append(((ids + gen)[:prog.params.block_size], list(range(len(ids) - 1, len(ids) - 1 + reads))))
    return out


def clear_of_ties(logits, params) -> np.ndarray:
    """Rows whose margin (top-1 minus top-2, identical unembedding rows counted once, as
    `taotp check` counts) is above NEAR_TIE."""
    top2 = np.sort(logits[..., distinct_rows(params.unembedding)], axis=-1)[..., -2:]
    return top2[..., 1] - top2[..., 0] > NEAR_TIE


def argmax(logits, params):
    """The decoded token at each row: the lowest id among exactly equal unembedding rows."""
    ids = distinct_rows(params.unembedding)
    return ids[logits[..., ids].argmax(-1)]
