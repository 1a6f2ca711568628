"""Mistakes a newcomer makes in a spec, and what they see: a typo in a spec's function
found when compiling (not at the first input of a check), domains too large to count or
to draw refused at once with a message instead of a hang, and messages that read right."""

from __future__ import annotations

import math
import textwrap
import time
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from taotp.cli import main
from taotp.spec_lang.domain import Integers, Lists, OneOf
from taotp.spec_lang.readers import TOO_MANY, count_lists, size

ROOT = Path(__file__).resolve().parent.parent
FIRST = ROOT / "examples" / "first.taotp"


def first_with(tmp_path, tail: str) -> Path:
    """examples/first.taotp with its spec lines replaced by `tail`."""
    path = tmp_path / "p.taotp"
    path.write_text(FIRST.read_text().split("def first_token")[0] + textwrap.dedent(tail))
    return path


def failing(*args) -> str:
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code != 0, res.output
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    return res.output


def line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


# -- a typo in a spec's function is a compile error at its line --------------------------------

def test_an_unknown_name_in_a_spec_function_fails_when_compiling(tmp_path):
    path = first_with(tmp_path, '''
        def helper(toks):
          return [toks[index_of(toks, "a")]]
        def first_token(toks):
          return helper(toks)
        spec expected=first_token, inputs=lists(one_of(chars_of(letters)), 1, block)
    ''')
    out = failing("run", path, "--input", "a")          # not only `check`: the typo is found at once
    col = path.read_text().splitlines()[line_of(path, "index_of") - 1].index("index_of") + 1
    assert f"{path}:{line_of(path, 'index_of')}:{col}: error: unknown name 'index_of' in helper()" in out
    assert "for the input" not in out


def test_a_typo_in_a_spec_function_gets_a_suggestion(tmp_path):
    path = first_with(tmp_path, '''
        def first_token(toks):
          let first = toks[0]
          return [frist]
        spec expected=first_token, inputs=lists(one_of(chars_of(letters)), 1, block)
    ''')
    out = failing("check", path)
    assert "unknown name 'frist'" in out and "did you mean 'first'?" in out


def test_a_module_name_a_spec_function_misspells_fails_when_compiling(tmp_path):
    path = first_with(tmp_path, '''
        import codes
        def first_token(toks):
          let c = codes.onehot_cods(2)
          return [toks[0]]
        spec expected=first_token, inputs=lists(one_of(chars_of(letters)), 1, block)
    ''')
    out = failing("run", path, "--input", "a")
    assert f"{path}:{line_of(path, 'onehot_cods')}:" in out
    assert "module 'codes' has no 'onehot_cods'" in out and "did you mean 'onehot_codes'?" in out


# -- domains too large to count or to draw ----------------------------------------------------

def brute(n: int, lo: int, hi: int, unique: bool) -> int:
    return sum(math.perm(n, k) if unique else n ** k for k in range(lo, hi + 1))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 40), st.integers(0, 300), st.integers(0, 300), st.booleans())
def test_count_lists_is_the_sum_over_lengths_saturated(n, lo, hi, unique):
    assert count_lists(n, lo, hi, unique) == min(brute(n, lo, hi, unique), TOO_MANY)


def test_astronomical_domains_are_counted_in_a_few_steps():
    start = time.process_time()
    digits = Integers(0, 9)
    assert size(Lists(digits, 1, 10**9))[0] == TOO_MANY
    assert size(Lists(digits, 10**9, 10**9))[0] == TOO_MANY
    assert size(Lists(OneOf(("a",)), 1, 10**9))[0] == 10**9            # one value: one list per length
    assert size(Lists(Integers(1, 10**6), 10**6, 10**6, unique=True))[0] == TOO_MANY
    assert size(Lists(Integers(1, 3), 5, 9, unique=True))[0] == 0        # no 5 different values of 3
    assert time.process_time() - start < 5                               # the sums took seconds or hung before


def test_exhaustive_and_samples_refuse_a_domain_too_large_at_once(tmp_path):
    path = first_with(tmp_path, '''
        def first_token(toks):
          return [toks[0]]
        spec expected=first_token, inputs=lists(one_of(chars_of(letters)), 1, 1000)
    ''')
    assert "cannot enumerate its inputs; use --samples N instead" in failing("check", path, "--exhaustive")
    big = first_with(tmp_path, '''
        def first_token(toks):
          return [toks[0]]
        spec expected=first_token, inputs=lists(one_of(chars_of(letters)), 1, 10**9)
    ''')
    out = failing("check", big, "--samples", "3")
    assert f"{big}:{line_of(big, 'spec expected')}:1: error: " in out
    assert "lists of up to 1,000,000,000 values cannot be drawn (at most 100,000)" in out
    assert "block holds 6 tokens" in out


# -- messages ---------------------------------------------------------------------------------

def test_an_input_item_that_is_not_a_token_reads_right(tmp_path):
    path = first_with(tmp_path, '''
        def first_token(toks):
          return [toks[0]]
        spec expected=first_token, inputs=lists(lists(one_of(chars_of(letters)), 1, 2), 1, 2)
    ''')
    out = failing("check", path, "--samples", "5")
    assert "is not a token (a string or an integer); a domain's values must end as" in out
    assert "(a string or an integer) [" not in out    # the vocabulary is listed only for an unknown token
