"""Specs in the language (`spec expected=F, inputs=D`): the shipped programs' in-language
specs against their Python specs, compiled files that stay checkable, and what a user
sees when a spec is wrong."""

from __future__ import annotations

import dataclasses
import functools
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings

import taotp
from taotp import specs, strategies
from taotp.check import check
from taotp.cli import main
from taotp.errors import TaotpError

ROOT = Path(__file__).resolve().parent.parent
FIRST = ROOT / "examples" / "first.taotp"
# (program, settings small enough to enumerate): each converted to an in-language spec
CONVERTED = [("hello", {}), ("min", {"n": 4, "block": 3}), ("max", {"n": 5, "block": 3}),
             ("sort", {"n": 6, "block": 10}), ("add_digit_mod", {})]


@functools.lru_cache(maxsize=None)
def program(name, **sets):
    return taotp.load_program(name, sets, progress=False)


def run_cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# -- the converted programs say what their Python specs said --------------------------------

@pytest.mark.parametrize("name,sets", CONVERTED)
def test_in_language_spec_enumerates_and_answers_as_the_python_spec(name, sets):
    prog = program(name, **sets)
    own, python = strategies.spec_of(prog), specs.get(name)
    assert own is prog.own_spec and own.name.startswith("expected=")
    s = specs.settings_of(prog)
    texts = list(own.enumerate(s))
    assert texts == list(python.enumerate(s))                       # same inputs, same order
    assert own.space_size(s) == python.space_size(s) == len(texts)
    assert [own.reference(s, t) for t in texts] == [python.reference(s, t) for t in texts]


@pytest.mark.parametrize("name", [n for n, _ in CONVERTED])
def test_default_sizes_are_the_python_specs(name):
    prog = program(name)
    s = specs.settings_of(prog)
    assert strategies.spec_of(prog).space_size(s) == specs.get(name).space_size(s)


@pytest.mark.parametrize("name,sets", CONVERTED)
def test_check_reports_what_the_python_spec_reports(name, sets):
    prog = program(name, **sets)
    mine = check(prog, exhaustive=True, progress=False)
    theirs = check(dataclasses.replace(prog, spec=name), exhaustive=True, progress=False)
    assert mine.ok and (mine.total, mine.passed) == (theirs.total, theirs.passed)
    assert mine.stats == theirs.stats                                # same inputs: same extremes


def test_samples_and_strategy_draw_inputs_the_program_accepts():
    prog = program("sort", n=9, block=12)
    r = check(prog, samples=300, seed=5, progress=False)
    assert r.ok and r.total == 300 and r.mode == "samples"

    @settings(max_examples=25, deadline=None, database=None)
    @given(strategies.cases(prog))
    def agrees(case):
        text, expected = case
        assert prog.run(text, engine="fast") == expected

    agrees()


def test_example_checks_exhaustively_in_both_dtypes():
    prog = taotp.load_program(str(FIRST), {"block": 4}, progress=False)
    for dtype in (np.float64, np.float32):
        r = check(prog, exhaustive=True, dtype=dtype, progress=False)
        assert r.ok and r.total == 4 + 16 + 64 + 256
        assert r.stats["min_margin"] > 1   # the ring's separation, far above rounding in either dtype


# -- compiled files keep the spec ----------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_compiled_file_stays_checkable(tmp_path, suffix):
    out = tmp_path / f"sort{suffix}"
    res = run_cli("compile", "sort", "--set", "n=7", "--set", "block=10", "-o", out)
    assert res.exit_code == 0, res.output
    loaded = taotp.load_program(str(out), progress=False)
    prog = program("sort", n=7, block=10)
    s, s2 = specs.settings_of(prog), specs.settings_of(loaded)
    assert list(strategies.spec_of(loaded).enumerate(s2)) == list(strategies.spec_of(prog).enumerate(s))
    res = run_cli("check", out, "--exhaustive")
    assert res.exit_code == 0 and "expected=sorted_numbers" in res.output and "1,236 passed" in res.output


def test_saved_spec_is_language_text_and_errors_keep_the_program_line(tmp_path):
    src = FIRST.read_text().replace("return [toks[0]]", "return [toks[4]]")
    path = tmp_path / "first.taotp"
    path.write_text(src)
    out = tmp_path / "first.json"
    assert run_cli("compile", path, "-o", out).exit_code == 0
    saved = json.loads(out.read_text())["meta"]["spec_source"]
    assert saved["expected"] == "first_token" and saved["bindings"][0]["def"].startswith("def first_token(toks):")
    assert saved["inputs"] == 'lists(one_of(["a", "b", "c", "d"]), 1, 6)'
    res = run_cli("check", out, "--exhaustive")
    line = src.splitlines().index("  return [toks[4]]") + 1
    assert res.exit_code == 1 and f"{path}:{line}:11: error: index 4 is out of range" in res.output
    assert "for the input 'a'" in res.output and "Traceback" not in res.output


def test_a_damaged_saved_spec_is_a_clear_error(tmp_path):
    out = tmp_path / "hello.json"
    assert run_cli("compile", "hello", "-o", out).exit_code == 0
    data = json.loads(out.read_text())
    data["meta"]["spec_source"]["bindings"][0]["def"] = "def the_message(toks:\n"
    out.write_text(json.dumps(data))
    res = run_cli("check", out)
    assert res.exit_code == 1 and "the saved spec does not parse" in res.output and "Traceback" not in res.output


def test_captured_values_come_back_with_their_types():
    src = textwrap.dedent('''
        vocab words(["0", "1", "2", "3", "4", "5", "<eos>"])
        model block=4
        stream t:3
        let nums = arange(4)
        let floats = array([0.5, -1e-300, inf])
        let flags = nums > 1
        let pairs = [("1", 2), ("3", 0)]
        let empty = []
        def pick(toks):
          let i = int(toks[0])
          assert nums[i] * 2 == i + i and str(nums[i]) == toks[0]
          assert floats[2] == inf and floats[1] < 0 and len(empty) == 0
          return [str(pairs[0][1] + i)] if flags[i] else [toks[0]]
        spec expected=pick, inputs=one_of(fixed(["0"]), fixed(["3"]))
    ''')
    prog = taotp.compile_source(src, "types.taotp", progress=False)
    spec, s = strategies.spec_of(prog), specs.settings_of(prog)
    assert [spec.reference(s, t) for t in spec.enumerate(s)] == ["0", "5"]


# -- what a user sees ----------------------------------------------------------------------------

def first_with(tmp_path, tail: str, name="p.taotp") -> Path:
    """examples/first.taotp with its spec lines replaced by `tail`."""
    head = FIRST.read_text().split("def first_token")[0]
    path = tmp_path / name
    path.write_text(head + textwrap.dedent(tail))
    return path


def failing(*args) -> str:
    res = run_cli(*args)
    assert res.exit_code != 0, res.output
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    return res.output


def line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_an_expected_function_that_raises_names_its_line_and_the_input(tmp_path):
    path = first_with(tmp_path, '''
        def first_token(toks):
          let second = toks[1]
          return [toks[0]]
        spec expected=first_token, inputs=lists(one_of(chars_of(letters)), 1, block)
    ''')
    out = failing("check", path, "--exhaustive")
    assert f"{path}:{line_of(path, 'let second')}:16: error: index 1 is out of range" in out
    assert "for the input 'a'" in out and f"the spec is at {path}:{line_of(path, 'spec expected')}" in out


@pytest.mark.parametrize("body,says", [
    ("return len(toks) / 4", "returned 0.25 for the input 'a'; it must return the output's tokens"),
    ("let x = 1", "returned no value (a `return` is missing?)"),
    ('return "abc"', "'abc' is not a token of the vocabulary"),
    ("return [toks]", "it must return the output's tokens"),
    ("return tok_emb", "cannot read 'tok_emb'"),
])
def test_an_expected_function_that_returns_the_wrong_thing(tmp_path, body, says):
    path = first_with(tmp_path, f'''
        def first_token(toks):
          {body}
        spec expected=first_token, inputs=lists(one_of(chars_of(letters)), 1, block)
    ''')
    assert says in failing("check", path, "--exhaustive")


def test_a_domain_too_large_to_enumerate_says_so_and_samples_still_work(tmp_path):
    path = first_with(tmp_path, '''
        def first_token(toks):
          return [toks[0]]
        spec expected=first_token, inputs=lists(one_of(chars_of(letters)), 1, 30)
    ''')
    out = failing("check", path, "--exhaustive", "--set", "block=30")
    assert "has about 1.54e+18 inputs, more than the --exhaustive limit" in out and "--samples" in out
    res = run_cli("check", path, "--samples", "50", "--set", "block=30")
    assert res.exit_code == 0 and "50 passed" in res.output


@pytest.mark.parametrize("domain,says", [
    ("lists(one_of([]), 1, block)", "one_of([]) has no values"),
    ("lists(one_of(chars_of(letters)), 3, 1)", "lengths 3..1 are empty"),
    ("integers(5, 2)", "integers(5, 2) is empty"),
    ("lists(one_of(['a', 'b']), 3, 3, unique=True)", "needs at least 3 different values; the domain has 2"),
    ("lists(on_of(chars_of(letters)), 1, block)", "unknown name 'on_of'"),
    ("seq(['a'], fixed(['b']))", "seq(): argument 1 needs a domain, got list (write fixed(...)"),
    ("map(fixed(['a']), 3)", "map(): the second argument needs a function"),
])
def test_a_bad_domain_is_a_compile_error_at_its_place(tmp_path, domain, says):
    path = first_with(tmp_path, f'''
        def first_token(toks):
          return [toks[0]]
        spec expected=first_token, inputs={domain}
    ''')
    out = failing("run", path, "--input", "a")
    assert f"{path}:{line_of(path, 'spec expected')}:" in out and says in out
    if "on_of" in domain:
        assert "did you mean 'one_of'" in out


def test_a_filter_that_rejects_everything(tmp_path):
    path = first_with(tmp_path, '''
        def first_token(toks):
          return [toks[0]]
        def never(toks):
          return False
        spec expected=first_token, inputs=filter(lists(one_of(chars_of(letters)), 1, block), never)
    ''')
    assert "the spec's inputs have no value: every one was refused by a filter" in failing("check", path, "--exhaustive")
    assert "the filter refused 1,000 values in a row" in failing("check", path, "--samples", "20")


def test_a_filter_counts_what_passes(tmp_path):
    path = first_with(tmp_path, '''
        def first_token(toks):
          return [toks[0]]
        def starts_with_a(toks):
          return toks[0] == "a"
        spec expected=first_token, inputs=filter(lists(one_of(chars_of(letters)), 1, block), starts_with_a)
    ''')
    prog = taotp.load_program(str(path), {"block": 4}, progress=False)
    r = check(prog, exhaustive=True, progress=False)
    assert r.ok and r.total == 1 + 4 + 16 + 64                     # a, then anything
    assert strategies.spec_of(prog).space_size({}) == 4 + 16 + 64 + 256   # an upper bound


def test_unknown_spec_names_fail_at_compile_time_with_a_suggestion(tmp_path):
    path = tmp_path / "s.taotp"
    path.write_text((ROOT / "programs" / "sort.taotp").read_text().split("\ndef sorted_numbers")[0] + "\nspec srot\n")
    out = failing("run", path, "--input", "2 1 0")
    assert f"{path}:{line_of(path, 'spec srot')}:6: error: unknown spec 'srot'" in out
    assert "did you mean 'sort'" in out


def test_spec_settings_are_checked_statically(tmp_path):
    path = first_with(tmp_path, '''
        def first_token(toks):
          return [toks[0]]
        spec expect=first_token, inputs=fixed(["a"]), inputs=fixed(["b"])
        spec min
    ''')
    out = failing("run", path, "--input", "a")
    assert "spec has no setting 'expect'" in out and "did you mean 'expected'" in out
    assert "spec gives inputs= twice" in out and "declares its spec twice" in out
    assert "spec needs expected=" not in out          # the typo's hint says it already


def test_a_spec_function_may_not_rebind_outer_names(tmp_path):
    path = first_with(tmp_path, '''
        let seen = 0
        def first_token(toks):
          seen = seen + 1
          return [toks[0]]
        spec expected=first_token, inputs=lists(one_of(chars_of(letters)), 1, block)
    ''')
    assert "cannot rebind 'seen'" in failing("run", path, "--input", "a")


# -- check --expect ------------------------------------------------------------------------------

def test_expect_checks_listed_examples_with_the_spec_report(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# sort examples\n3 1 2 0\t1 2 3\n\n5 4 0\t4 5\n7 0\t7\n")
    res = run_cli("check", "sort", "--expect", pairs)
    assert res.exit_code == 0 and "sort (spec pairs.tsv, exhaustive" in res.output and "3 passed, 0 failed of 3" in res.output
    pairs.write_text("3 1 2 0\t1 2 3\n5 4 0\t5 4\n")
    out = failing("check", "sort", "--expect", pairs)
    assert "1 passed, 1 failed" in out and "FAIL '5 4 0': expected '5 4', got '4 5'" in out


def test_expect_reports_every_bad_line(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("3 1 2 0\t1 2 3\nno tab here\n2 1 0\t1 2\n3 1 2 0\t3 2 1\na\tb\tc\n")
    out = failing("check", "sort", "--expect", pairs)
    assert f"{pairs}:2:1: error: no TAB" in out and f"{pairs}:4:1: error: the input '3 1 2 0' is listed on line 1" in out
    assert f"{pairs}:5:1: error: 2 TABs" in out and "3 errors" in out
    assert "cannot read" in failing("check", "sort", "--expect", tmp_path / "missing.tsv")
    (tmp_path / "empty.tsv").write_text("# nothing\n\n")
    assert "lists no examples" in failing("check", "sort", "--expect", tmp_path / "empty.tsv")
    assert "drop --samples" in failing("check", "sort", "--expect", pairs, "--samples", "3")


def test_errors_of_a_spec_are_taotp_errors_from_python():
    prog = taotp.compile_source(FIRST.read_text().replace("return [toks[0]]", "return [toks[9]]"),
                                "first.taotp", progress=False)
    with pytest.raises(TaotpError, match="index 9 is out of range"):
        strategies.expected(prog, "a b")
