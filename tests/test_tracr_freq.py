"""tracr's make_sort_freq (issue 11) as programs/sort_freq.taotp: the input's letters, the
most frequent first, equally frequent letters in the order of `letters` (a stated tie order;
tracr interleaves them by position). Held against an independent Python reference on
generated inputs in float64 and float32 (fast engine, and the reference engine on a few),
against its own spec in the language (exhaustively on short inputs), and its size.

(The long proofs, every input up to 9 letters and 20,000 samples at full length, are
`taotp check sort_freq ...` runs recorded in docs/tracr.md.)"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp import strategies
from taotp.check import check
from taotp.cli import main

from stdlib_support import check_outputs, shipped

FEW = settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
LETTERS = "abcd"


program = shipped                 # a shipped program at settings, compiled once (stdlib_support)


def by_frequency(xs, letters=LETTERS):
    """The letters sorted by (count descending, the letter's place in `letters`)."""
    c = Counter(xs)
    return " ".join(sorted(xs, key=lambda x: (-c[x], letters.index(x))))


# The smallest margin: the copied letter's centred one-hot code (5 values) against another's,
# 5 + 5/4, over layer norm's final scale: eight pairs (scratch and priority) hold numbers in
# [1, 2] in a stream of d_model 37, so the scale is at most sqrt(1 + 2 * 8 * 3 / 37).
MARGIN = 6.25 / np.sqrt(1 + 48 / 37)
# The copy head spreads its weight over every input position holding the chosen letter
# (they hold the same code): at least 1 / n of it on each.
SOFTEST = 1 / 10 - 1e-6


@FEW
@given(st.lists(st.lists(st.sampled_from(LETTERS), max_size=10), min_size=1, max_size=25))
def test_sort_freq_sorts_by_descending_count(lists):
    prog = program("sort_freq")
    lists = lists + [["a"] * 10, ["d"] * 5 + ["a"] * 5, ["a", "b", "c", "d", "b", "c", "d", "c", "d", "d"]]
    texts = [" ".join(x + ["="]) for x in lists]
    outputs = [by_frequency(x) for x in lists]
    check_outputs(prog, texts, outputs, MARGIN, softest=SOFTEST, reference_every=8)
    spec = strategies.spec_of(prog)
    assert [spec.reference(taotp.specs.settings_of(prog), t) for t in texts] == outputs


@FEW
@given(st.lists(st.lists(st.sampled_from("abcdef"), max_size=14), min_size=1, max_size=10))
def test_sort_freq_at_other_sizes(lists):
    prog = program("sort_freq", letters="abcdef", n=14)
    texts = [" ".join(x + ["="]) for x in lists]
    check_outputs(prog, texts, [by_frequency(x, "abcdef") for x in lists], 1.0, softest=1 / 14 - 1e-6,
                  reference_every=10)


def test_sort_freq_is_exact_on_every_input_up_to_5_letters_by_its_spec():
    for dtype in (np.float64, np.float32):
        r = check(program("sort_freq", spec_len=5), exhaustive=True, dtype=dtype, progress=False)
        assert r.ok and r.total == (4 ** 6 - 1) // 3, r.as_dict()
        assert r.stats["min_margin"] >= MARGIN * (1 - 1e-4)


def test_sort_freq_size_is_fixed_by_its_construction():
    """d_model 37 (constant 2, token 5, position 4, the '=' copy 5, four scratch pairs, four
    priority pairs, the copied letter 5); heads: one of 5, four of 3, one of 5; MLP: 2 units
    per change of a letter's priority, at c = 1 .. 10 twice (on, off), 40 per letter;
    vocab 5, block 20. tracr's make_sort_freq at 4 letters, length 10: 561,152 parameters,
    6,806 non-zero (benchmarks/tracr_sizes_freq.py)."""
    d, units = 37, 4 * 40
    want = (5 + 20 + 5) * d + (4 * 5 * d + d) + (4 * 4 * 3 * d + 2 * d * units + units + d) + (4 * 5 * d + d)
    assert program("sort_freq").params.count()["n_params"] == want == 16_477 < 561_152
    assert program("sort_freq").params.count(nonzero=True)["n_params"] < 6_806


def test_cli_runs_it_and_names_a_bad_input():
    runner = CliRunner()
    r = runner.invoke(main, ["run", "sort_freq", "--input", "b a c a b a ="])
    assert r.exit_code == 0 and r.output.strip() == "a a a b b c", r.output
    for bad in ["b a e =", "a b", " ".join(["a"] * 11 + ["="])]:
        r = runner.invoke(main, ["run", "sort_freq", "--input", bad])
        assert r.exit_code != 0 and "expected" in r.output and "like" in r.output, r.output
        assert "Traceback" not in r.output


@pytest.mark.parametrize("setting", ["n=0", "letters=a"])
def test_bad_settings_are_named(setting):
    r = CliRunner().invoke(main, ["run", "sort_freq", "--set", setting, "--input", "a ="])
    assert r.exit_code != 0 and "sort_freq" in r.output and "Traceback" not in r.output, r.output
