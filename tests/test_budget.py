"""The compilation's budget (taotp/lang/budget.py): steps, element-operations and live
memory, refused before the work or the allocation happens, at the line responsible,
with how to raise the limit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import taotp
from taotp.cli import main
from taotp.errors import TaotpError
from taotp.lang import budget as B

HEAD = "vocab ints(3)\nmodel block=3, d_model=3\n"


def refused(body: str, words: str, line: int, **env) -> str:
    with pytest.raises(TaotpError) as e:
        taotp.compile_source(HEAD + body, "b.taotp")
    text = str(e.value)
    assert text.startswith(f"b.taotp:{line}:"), text
    assert words in text and "hint: if it is meant to, raise" in text, text
    return text


@pytest.fixture
def small_memory(monkeypatch):
    monkeypatch.setenv("TAOTP_MAX_MEMORY", "64M")


def test_nested_loops_run_out_of_steps(monkeypatch):
    monkeypatch.setenv("TAOTP_MAX_STEPS", "20000")   # the default (10^6) takes seconds
    text = refused("for i in range(10**6):\n  for j in range(10**6):\n    let x = i * j\n", "steps", 5)
    assert "TAOTP_MAX_STEPS=" in text


def test_a_chain_of_products_runs_out_of_work(monkeypatch):
    """Each product's result is small enough to hold, but together they are too much work
    (here 10^9 multiply-adds each against a budget of 3.5e9; the default is 1e10)."""
    monkeypatch.setenv("TAOTP_MAX_WORK", "3.5e9")
    text = refused("let a = ones([1000, 1000])\nlet b = a @ a @ a @ a @ a @ a @ a @ a\n", "element-operations", 4)
    assert "TAOTP_MAX_WORK=" in text


@pytest.mark.parametrize("body, words, line", [
    ('let s = "0" * 10**9\n', "repeating a string", 3),
    ('let s = "ab"\nfor i in range(40):\n  s = s + s\n', "joining two strings", 5),
    ("let r = ring3d_array(10**9)\n", "ring3d_array", 3),
    ("let m = spike_mlp(arange(10**6), zeros(10**6))\n", "spike_mlp of 1,000,000 points", 3),
    ("let m = spike_mlp(range(10**8), range(10**8))\n", "spike_mlp()'s result", 3),   # ranges: sized before numpy
    ("let p = list(range(10**8))\n", "list()", 3),
    ("let p = product(range(10**4), range(10**4))\n", "product()", 3),
    ("let v = ints(100000)\nlet w = ints(100000)\nlet x = ints(100000)\nlet y = ints(100000)\n", "vocabulary", 6),
    ("let x = zeros([1000, 1000])\nlet y = x[arange(10000) % 1000]\n", "indexing", 4),
])
def test_allocations_are_refused_before_they_happen(small_memory, body, words, line):
    refused(body, words, line)


def test_one_memory_budget_for_all_values_together(small_memory):
    """Arrays of 24 MB each fit the 64 MB budget alone and in pairs, not three at once;
    values the program no longer holds do not count."""
    one = "zeros([3000, 1000])"
    refused(f"let a = {one}\nlet b = {one}\nlet c = {one}\n", "on top of the 45.8 MB", 5)
    taotp.compile_source(HEAD + f"for i in range(20):\n  let a = {one}\n", "ok.taotp")      # each replaces the last
    taotp.compile_source(HEAD + f"let a = {one}\nlet b = {one}\n", "ok.taotp")
    # a builtin that hands back its argument does not count it twice
    taotp.compile_source(HEAD + f"let a = {one}\nfor i in range(50):\n  let b = array(a)\n", "ok.taotp")


def test_the_model_itself_counts(small_memory):
    with pytest.raises(TaotpError, match="the model's weights .* memory budget"):
        taotp.compile_source("let big = zeros([1000, 3000])\nvocab ints(3)\n"
                             "model block=3, d_model=3000, d_ff=2000, layers=1\ntok_emb[0, 0] = 1\n", "m.taotp")


def test_lookup_with_a_billion_iterations_is_refused_at_once():
    table = Path(__file__).resolve().parent.parent / "examples" / "tables" / "colors.tsv"
    r = CliRunner().invoke(main, ["run", "lookup", "--set", f"table={table}", "--set", "iters=1000000000",
                                  "--input", "red yellow"])
    assert r.exit_code == 1 and "work budget" in r.output and "lookup_fit: 1,000,000,000 steps" in r.output


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TAOTP_MAX_STEPS", "50")
    with pytest.raises(TaotpError, match="more than 50 steps"):
        taotp.compile_source(HEAD + "for i in range(100):\n  let x = i\n", "e.taotp")
    monkeypatch.setenv("TAOTP_MAX_MEMORY", "lots")
    with pytest.raises(TaotpError, match="TAOTP_MAX_MEMORY='lots' is not a positive number"):
        taotp.compile_source(HEAD, "e.taotp")
    monkeypatch.setenv("TAOTP_MAX_MEMORY", "1.5GB")
    assert B.Budget().max_bytes == 1.5 * 2**30


def test_each_compilation_has_its_own_budget(monkeypatch):
    monkeypatch.setenv("TAOTP_MAX_STEPS", "400")
    for _ in range(5):   # 100 steps each: would pass 400 if the budget carried over
        taotp.compile_source(HEAD + "for i in range(30):\n  let x = i\n", "e.taotp")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=30), st.integers(0, 29))
def test_live_bytes_are_what_is_still_held(sizes, keep_every):
    """hold() then sweep(): exactly the values still referenced elsewhere remain counted."""
    b = B.Budget(max_bytes=10**9)
    arrays = [b.hold(np.zeros(s * 100)) for s in sizes]
    kept = arrays[::keep_every + 1]
    expected = sum(a.nbytes + B.ARRAY_OVERHEAD for a in kept)
    del arrays
    b.sweep()
    assert b.live == expected
    views = b.hold(kept[0][1:])          # a view owns nothing
    assert b.live == expected and views.base is kept[0]


def test_builtins_called_from_python_still_refuse_absurd_sizes():
    from taotp.builtins.arrays import zeros

    with pytest.raises(TaotpError, match="memory budget"):
        zeros([10**6, 10**6])
    assert zeros([2, 2]).shape == (2, 2)


def test_a_million_layers_are_refused_before_any_is_made():
    with pytest.raises(TaotpError) as e:
        taotp.compile_source(HEAD + "layer 10**6:\n  V = 0\n", "b.taotp")
    assert str(e.value).startswith("b.taotp:3:1:") and "1,000,001 layers, more than the limit" in str(e.value)
