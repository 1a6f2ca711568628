"""`exact in float64[, float32]`: a program states the precisions it is right in; `run`
refuses the others instead of printing wrong answers, `check` reports the claim, and
compiled files keep it. Every shipped program's claim is checked here."""

from __future__ import annotations


import numpy as np
import pytest
from click.testing import CliRunner

import taotp
from taotp.check import check, format_result
from taotp.cli import main
from taotp.compiler import save_weights
from taotp.errors import TaotpError, UsageError
from taotp.resources import programs_dir

from stdlib_support import shipped

HEAD = "vocab ints(4)\nmodel block=4, d_model=3\n"


program = shipped                 # a shipped program at settings, compiled once (stdlib_support)


def compile_text(text):
    return taotp.compile_source(text, "t.taotp")


def test_statement_is_recorded_with_its_place():
    prog = compile_text(HEAD + "exact in float64\n")
    assert prog.exact_in == ("float64",) and prog.exact_where == "t.taotp:3"
    assert compile_text(HEAD).exact_in == ()                      # unstated: any dtype
    assert compile_text(HEAD + "if True:\n  exact in float32, float64\n").exact_in == ("float32", "float64")


@pytest.mark.parametrize("line, words, col", [
    ("exact in float16\n", "unknown dtype 'float16'", 10),
    ("exact in float64, float64\n", "named twice", 1),
    ("exact float64\n", "expected 'in'", 7),
])
def test_bad_statements_are_located(line, words, col):
    with pytest.raises(TaotpError) as e:
        compile_text(HEAD + line)
    assert str(e.value).startswith(f"t.taotp:3:{col}:") and words in str(e.value)


def test_run_refuses_an_undeclared_dtype_and_says_how_to_measure():
    prog = compile_text(HEAD + "exact in float64\n")
    assert prog.run("1", dtype=np.float64) == "0 0 0 0"      # an all-zero machine: token 0 to the block's end
    with pytest.raises(UsageError, match="exact only in float64 .t.taotp:3.*not run in float32") as e:
        prog.run("1", dtype=np.float32)
    assert "taotp check" in str(e.value)


def test_cli_add_three_digits_in_float32_is_refused_not_wrong():
    """The issue's case: 999,981 of the 1,000,000 sums come out wrong in float32."""
    r = CliRunner().invoke(main, ["run", "add", "--set", "n_digits=3", "--dtype", "float32", "-i", "123+456="])
    assert r.exit_code == 1 and "exact only in float64" in r.output and "579" not in r.output
    r = CliRunner().invoke(main, ["run", "add", "--set", "n_digits=2", "--dtype", "float32", "-i", "23+56="])
    assert r.exit_code == 0 and r.output == "079\n"


@pytest.mark.parametrize("fmt", ["npz", "json"])
def test_compiled_files_keep_the_claim(tmp_path, fmt):
    out = tmp_path / f"add3.{fmt}"
    save_weights(program("add_mod", n_digits=2), out)
    loaded = taotp.load_program(str(out))
    lines = (programs_dir() / "add_mod.taotp").read_text().splitlines()
    line = 1 + [t.strip() for t in lines].index("exact in float64")   # the branch for 2 digits and more
    assert loaded.exact_in == ("float64",) and loaded.exact_where == f"add_mod.taotp:{line}"
    with pytest.raises(UsageError, match="exact only in float64"):
        loaded.run("12+34=", dtype=np.float32)


def test_check_reports_the_claim():
    inside = check(program("add_mod", n_digits=2), samples=50, progress=False)
    assert inside.declared is True and "declares itself exact in float64" in format_result(inside)
    outside = check(program("add_mod", n_digits=2), samples=200, dtype=np.float32, progress=False)
    assert outside.declared is False and not outside.ok
    assert "outside the program's declared precision" in format_result(outside)
    assert check(compile_text("param n = 4\n" + HEAD + "spec min\n"), samples=5, progress=False).declared is None


# Each shipped program at the settings its claim depends on. The claim must hold: a
# sample of its spec's inputs passes in every dtype it names (the exhaustive proofs are
# `taotp check PROGRAM --exhaustive --dtype ...`, measured in docs; too slow for here).
CLAIMS = [("hello", {}), ("min", {}), ("max", {}), ("sort", {"n": 16}), ("search", {}),
          ("add_digit_mod", {}), ("add_mod", {"n_digits": 1}), ("add_mod", {"n_digits": 2}),
          ("add", {"n_digits": 2}), ("add", {"n_digits": 3}),
          ("add_unpadded", {"n_digits": 2}), ("add_unpadded", {"n_digits": 3}),
          ("long_add", {}), ("long_sub", {}), ("min_ints", {}), ("max_ints", {}),
          ("sort_ints", {"max_len": 10}),   # lists of 100: 20,000 samples in both dtypes in docs/sort.md
          ("reverse", {}), ("long_add_unpadded", {"n_digits": 2}), ("mul", {}), ("mul_unpadded", {}),
          ("length", {}), ("hist", {}), ("sort_unique", {}), ("count_less_freq", {}),
          ("frac_prevs", {}), ("pair_balance", {}), ("dyck1", {}), ("dyck2", {}),
          ("shift_by", {}), ("detect_pattern", {}), ("count", {}), ("nary_sequencemap", {}), ("sort_freq", {})]


@pytest.mark.parametrize("name, sets", CLAIMS, ids=[f"{n}-{'-'.join(map(str, s.values()))}" for n, s in CLAIMS])
def test_shipped_claims_hold_and_are_not_overcautious(name, sets):
    """Every dtype a program names passes; a dtype it leaves out really fails (so the claim
    is needed), or overflows."""
    prog = program(name, **sets)
    assert prog.exact_in, f"{name} states no precision"
    for dtype in ("float64", "float32"):
        r = check(prog, samples=60, seed=1, dtype=np.dtype(dtype), progress=False)
        assert r.ok == (dtype in prog.exact_in), (dtype, format_result(r))
