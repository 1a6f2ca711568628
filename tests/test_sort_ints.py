"""SORT, MIN and MAX of integers (programs/sort_ints.taotp, min_ints.taotp, max_ints.taotp):
exact in float64 and float32 on ranges up to 1,024 values with repeats and negatives, with a
logit margin far from rounding; the successor code they rest on; their specs."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp import specs
from taotp.builtins.successor import successor_code, successor_gaps
from taotp.check import check
from taotp.cli import main
from taotp.checking.stats import Stats
from taotp.engine.fast import FastEngine

DTYPES = [np.float64, np.float32]
FEW = settings(max_examples=12, deadline=None, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TRACR_SORT_PARAMS = 181_389   # tracr's make_sort compiled at 10 values, length 8 (issue 14)


@functools.lru_cache(maxsize=None)
def program(name, **overrides):
    return taotp.load_program(name, overrides, progress=False)


_ENGINES: dict = {}


def engine(prog, dtype):
    key = (id(prog), dtype)           # programs come from program(): one object per settings
    if key not in _ENGINES:
        _ENGINES[key] = FastEngine(prog.params if dtype == np.float64 else prog.params.astype(dtype))
    return _ENGINES[key]


def run(prog, texts, dtype):
    """Outputs and the smallest logit margin, through the fast engine in `dtype`."""
    stats = Stats()
    outs = engine(prog, dtype).generate([prog.encode(t) for t in texts], prog.rule, stats=stats)
    return [prog.vocab.decode(o) for o in outs], stats.margin


def expected(prog, text):
    return specs.get(prog.spec).reference(specs.settings_of(prog), text)


# -- the successor code ------------------------------------------------------------------

def test_successor_code_orders_every_row():
    code = successor_code(33)
    K, Q = code.get("keys"), code.get("queries")
    assert K.shape == (33, code.get("r")) and Q.shape == (32, code.get("r"))
    assert np.abs(K).max() <= 1 and np.abs(Q).max() <= 1
    S = Q @ K.T
    for y in range(32):                       # the definition, written out
        assert np.all(np.diff(S[y, y + 1:]) < 0)
        assert S[y, :y + 1].max() < S[y, 32]
    assert code.get("margin") == pytest.approx(successor_gaps(K, Q).min()) and code.get("margin") > 1e-4


@pytest.mark.parametrize("n", [2, 5, 17, 33])
def test_a_shorter_code_is_the_tail_and_keeps_the_margin(n):
    assert successor_code(n).get("margin") >= successor_code(33).get("margin")


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=60, deadline=None)
@given(present=st.sets(st.integers(0, 31), min_size=1), y=st.integers(0, 31))
def test_hard_attention_with_the_code_finds_the_successor(dtype, present, y):
    """Hardened by 30 / margin, a query y attends (softmax weight > 0.999) to the smallest
    present key above y, or to the sink (key 32, always present) when there is none."""
    code = successor_code(33)
    keys = sorted(present) + [32]
    K, q = code.get("keys")[keys].astype(dtype), code.get("queries")[y].astype(dtype)
    scores = (K @ q) * dtype(30 / code.get("margin"))
    w = np.exp(scores - scores.max())
    w /= w.sum()
    want = min([x for x in keys if x > y])
    assert w[keys.index(want)] > 0.999


def test_successor_code_refuses_untabulated_sizes():
    res = CliRunner().invoke(main, ["builtins", "successor_code"])
    assert res.exit_code == 0 and "successor" in res.output
    src = 'let c = successor_code(40)\nvocab ints(2)\nmodel block=2\n'
    with pytest.raises(taotp.errors.CompileError, match="tabulated for n = 2..33"):
        taotp.compile_source(src, "t.taotp")


# -- sort_ints ---------------------------------------------------------------------------

SMALL = dict(lo=-3, hi=6, max_len=3)     # 10 values: every list of length <= 3 (1,111 inputs)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sort_ints_every_short_list_of_ten_values(dtype):
    r = check(program("sort_ints", **SMALL), exhaustive=True, dtype=dtype, progress=False)
    assert (r.total, r.failed) == (1 + 10 + 100 + 1000, 0)
    assert r.stats["min_margin"] > 1e-3 and not r.decided_by_rounding


@pytest.mark.parametrize("dtype", DTYPES)
@FEW
@given(data=st.data())
def test_sort_ints_thousand_values_biased_to_repeats_and_neighbours(dtype, data):
    prog = program("sort_ints", max_len=40)
    texts = [data.draw(taotp.strategies.inputs(prog)) for _ in range(4)]
    outs, margin = run(prog, texts, dtype)
    assert outs == [expected(prog, t) for t in texts]
    assert margin > 1e-3


@pytest.mark.parametrize("dtype", DTYPES)
def test_sort_ints_hundred_copies_and_full_length(dtype):
    """The count head at its finest: 100 numbers, 99 of them equal, and a full random list."""
    prog = program("sort_ints")
    rng = np.random.default_rng(7)
    texts = ["7 " * 99 + "8 =", "8 " + "7 " * 99 + "=", "499 " * 50 + "-500 " * 50 + "=",
             " ".join(map(str, rng.integers(-500, 500, 100))) + " ="]
    outs, margin = run(prog, texts, dtype)
    assert outs == [expected(prog, t) for t in texts] and margin > 1e-3


def test_sort_ints_counts():
    """Layer 0: one head of width 1 and no MLP (the book counts b2 even when d_ff = 0);
    layer 1: three heads of 8 and an MLP of 8; 31 dimensions: 3,666 non-embedding
    parameters whatever the range and the length."""
    d = 31
    layer0 = 4 * d * 1 + d
    layer1 = 4 * d * 3 * 8 + (2 * d * 8 + 8 + d)
    for sets in ({}, {"lo": 0, "hi": 9, "max_len": 8}, {"lo": -40, "hi": 60, "max_len": 12}):
        prog = program("sort_ints", **sets)
        assert prog.params.d_model == d
        assert prog.params.count()["non_emb"] == layer0 + layer1 == 3_666
    small = program("sort_ints", lo=0, hi=9, max_len=8).params.count()
    assert small["n_params"] < TRACR_SORT_PARAMS / 15


@pytest.mark.parametrize("text, message", [
    ("3 1 2", "followed by ="), ("3 = 1", "followed by ="), ("500 =", "unknown token '500'"),
    ("1.5 =", "followed by ="),
])
def test_sort_ints_refuses_bad_input(text, message):
    res = CliRunner().invoke(main, ["run", "sort_ints", "--input", text])
    assert res.exit_code != 0 and message in res.output and "Traceback" not in res.output


def test_sort_ints_refuses_a_list_longer_than_max_len():
    res = CliRunner().invoke(main, ["run", "sort_ints", "--set", "max_len=3", "--input", "1 2 3 4 ="])
    assert res.exit_code != 0 and "at most 3 integers" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("sets, message", [
    (["lo=5", "hi=4"], "1 to 1024 values"), (["lo=0", "hi=1024"], "1 to 1024 values"),
    (["max_len=0"], "max_len must be"),
])
def test_sort_ints_refuses_bad_parameters(sets, message):
    args = ["params", "sort_ints"] + [a for s in sets for a in ("--set", s)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code != 0 and message in res.output and "Traceback" not in res.output


# -- min_ints, max_ints --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["min_ints", "max_ints"])
@settings(FEW, max_examples=6)
@given(data=st.data())
def test_min_max_ints_up_to_the_block(dtype, name, data):
    prog = program(name)
    texts = [data.draw(taotp.strategies.inputs(prog)) for _ in range(8)]
    outs, margin = run(prog, texts, dtype)
    assert outs == [expected(prog, t) for t in texts] and margin > 1e-2


@pytest.mark.parametrize("name, fn", [("min_ints", min), ("max_ints", max)])
def test_min_max_ints_every_list_of_few_values(name, fn):
    prog = program(name, lo=-2, hi=2, block=4)
    r = check(prog, exhaustive=True, dtype=np.float32, progress=False)
    assert (r.total, r.failed) == (5 + 25 + 125 + 625, 0) and r.stats["min_margin"] > 1e-2


# -- the specs -------------------------------------------------------------------------------

def test_specs_reference_and_enumerate():
    s = specs.settings_of(program("sort_ints", **SMALL))
    spec = specs.get("sort_ints")
    assert spec.reference(s, "5 -3 5 0 =") == "-3 0 5 5" and spec.reference(s, "=") == ""
    texts = list(spec.enumerate(s))
    assert len(texts) == spec.size(s) == 1111 and len(set(texts)) == 1111
    m = specs.get("min_ints")
    sm = specs.settings_of(program("min_ints", lo=-2, hi=2, block=4))
    assert m.size(sm) == 780 and m.reference(sm, "2 -2 0") == "-2"
    assert specs.get("max_ints").reference(sm, "2 -2 0") == "2"


@pytest.mark.parametrize("name", ["sort_ints", "min_ints", "max_ints"])
def test_samplers_draw_valid_inputs_with_repeats(name):
    prog = program(name)
    s, spec = specs.settings_of(prog), specs.get(name)
    rng = np.random.default_rng(0)
    texts = [spec.sample(s, rng) for _ in range(300)]
    for t in texts:
        nums = [int(x) for x in t.replace("=", " ").split()]
        assert all(-500 <= v <= 499 for v in nums) and len(nums) <= 100
        assert t.endswith("=") == (name == "sort_ints")
        prog.encode(t)                       # the program's own input check accepts it
    repeated = sum(len(set(t.split())) < len(t.split()) for t in texts if len(t.split()) > 3)
    assert repeated > 100


# -- the book's SORT: check says when rounding decides ---------------------------------------

@pytest.mark.parametrize("n, rounding", [(8, False), (28, True)])
def test_check_says_when_the_book_sort_is_decided_by_rounding(n, rounding):
    """SORT's powerpoints (§5.2.1) shrink the margin fourfold per value: 4e-3 at n = 8,
    3.6e-15 (4 ulp) at n = 28, where every answer is right only by rounding."""
    res = CliRunner().invoke(main, ["check", "sort", "--set", f"n={n}", "--samples", "300"])
    assert res.exit_code == 0, res.output
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("OK, but decided by rounding") == rounding and (last == "OK") != rounding
    r = check(program("sort", n=n), samples=300, progress=False)
    assert r.ok and r.decided_by_rounding == rounding and r.as_dict()["decided_by_rounding"] == rounding
