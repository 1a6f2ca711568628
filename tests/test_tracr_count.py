"""tracr's counting programs (issue 11): length, hist, sort_unique, count_less_freq
(programs/*.taotp). Each is held against an independent Python reference on generated
inputs in float64 and float32 (fast engine, and the reference engine on a few), against its
own spec in the language (exhaustively on short inputs), and against tracr's parameter
count. Plus codes.emit_number, the library entry hist and count_less_freq print with.

(The long proofs, every input up to 9 letters and 20,000 samples at full length, are
`taotp check NAME ...` runs recorded in docs/tracr.md.)"""

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


def batches(max_len, alphabet=LETTERS, unique=False):
    """Lists of input token lists (as many as a batch: one engine call per dtype)."""
    one = st.lists(st.sampled_from(alphabet), max_size=max_len, unique=unique)
    return st.lists(one, min_size=1, max_size=25)


def spec_agrees(prog, texts, outputs):
    """The program's own spec (in the language) says what the Python reference says."""
    spec, settings_ = strategies.spec_of(prog), taotp.specs.settings_of(prog)
    assert [spec.reference(settings_, t) for t in texts] == outputs


# -- length -----------------------------------------------------------------------------

LENGTH_MARGIN = 3 - 3 * np.cos(2 * np.pi / 21)   # neighbouring points of a ring of 21


@FEW
@given(batches(20))
def test_length_prints_the_number_of_letters(lists):
    prog = program("length")
    texts = ["".join(x) + "=" for x in lists]
    outputs = [str(len(x)) for x in lists]
    check_outputs(prog, texts, outputs, LENGTH_MARGIN, reference_every=8)
    spec_agrees(prog, texts, outputs)


def test_length_is_exact_on_every_input_up_to_5_letters_by_its_spec():
    for dtype in (np.float64, np.float32):
        r = check(program("length", spec_len=5), exhaustive=True, dtype=dtype, progress=False)
        assert r.ok and r.total == (4 ** 6 - 1) // 3, r.as_dict()
        assert r.stats["min_margin"] >= LENGTH_MARGIN * (1 - 1e-5)


def test_length_size_is_fixed_by_its_construction():
    """Vocab 26 (4 letters, '=', 0..20), block 21, d_model 3, no layer: (26 + 21 + 26) * 3.
    tracr's make_length at 4 letters, length 20: 6,773 parameters, 221 non-zero."""
    count = program("length").params.count()["n_params"]
    assert count == (26 + 21 + 26) * 3 and count < 6_773
    assert program("length").params.count(nonzero=True)["n_params"] < 221


# -- hist -------------------------------------------------------------------------------

def histogram(xs):
    c = Counter(xs)
    return " ".join(str(c[x]) for x in xs)


# The smallest margin: A (z_9 - z_10)^2 = 1, divided by layer norm's scale after the count
# head, at most sqrt(1 + 2 (2^2 - 1) / 22) (the scratch pair holds z <= 2; d_model 22).
HIST_MARGIN = 1 / np.sqrt(1 + 6 / 22)


@FEW
@given(batches(10))
def test_hist_prints_each_letters_count(lists):
    prog = program("hist")
    lists = lists + [["a"] * 10, ["b"] * 9 + ["c"]]          # the closest counts: 10 and 9
    texts = [" ".join(x + ["="]) for x in lists]
    outputs = [histogram(x) for x in lists]
    # the count head spreads its weight over the sink and the letters: the sink's share
    # K / (K + count) is at least sqrt(90) / (sqrt(90) + 10) = 0.487
    check_outputs(prog, texts, outputs, HIST_MARGIN, softest=0.48, reference_every=8)
    spec_agrees(prog, texts, outputs)


def test_hist_is_exact_on_every_input_up_to_5_letters_by_its_spec():
    for dtype in (np.float64, np.float32):
        r = check(program("hist", spec_len=5), exhaustive=True, dtype=dtype, progress=False)
        assert r.ok and r.total == (4 ** 6 - 1) // 3, r.as_dict()
        assert r.stats["min_margin"] >= HIST_MARGIN * (1 - 1e-3)


def test_hist_is_smaller_than_tracr():
    """tracr's make_hist at 4 letters, length 10: 2,563 parameters, 119 non-zero. Ours:
    d_model 22 (constant 2, token class 6, position 4, the '=' position 4, the letter 4,
    scratch 2), three heads of 4, vocab 15, block 20: 50 * 22 + 3 * (4 * 4 * 22 + 22)."""
    count = program("hist").params.count()["n_params"]
    assert count == 50 * 22 + 3 * (4 * 4 * 22 + 22) == 2_222 and count < 2_563


@FEW
@given(st.lists(st.lists(st.sampled_from("ab"), min_size=11, max_size=20), min_size=1, max_size=6))
def test_hist_up_to_20_letters(lists):
    prog = program("hist", n=20)
    texts = [" ".join(x + ["="]) for x in lists]
    check_outputs(prog, texts, [histogram(x) for x in lists], 0.5, softest=0.48, reference_every=6)


# -- sort_unique --------------------------------------------------------------------------

@FEW
@given(batches(20, [str(v) for v in range(20)], unique=True).map(lambda ls: [x for x in ls if x] or [["7"]]))
def test_sort_unique_sorts_distinct_numbers(lists):
    prog = program("sort_unique")
    texts = [" ".join(x + ["="]) for x in lists]
    outputs = [" ".join(str(v) for v in sorted(int(t) for t in x)) for x in lists]
    check_outputs(prog, texts, outputs, LENGTH_MARGIN, reference_every=8)   # ring of 21 tokens
    spec_agrees(prog, texts, outputs)


def test_sort_unique_is_exact_on_every_input_up_to_2_numbers_by_its_spec():
    for dtype in (np.float64, np.float32):
        r = check(program("sort_unique", spec_len=2), exhaustive=True, dtype=dtype, progress=False)
        assert r.ok and r.total == 20 + 20 * 19, r.as_dict()


def test_sort_unique_is_smaller_than_tracr():
    """tracr's make_sort_unique at 20 values, length 20: 33,451 parameters, 526 non-zero."""
    counts = program("sort_unique").params.count(), program("sort_unique").params.count(nonzero=True)
    assert counts[0]["n_params"] < 33_451 and counts[1]["n_params"] < 526


# -- count_less_freq ------------------------------------------------------------------------

def rare_positions(xs, most):
    c = Counter(xs)
    return str(sum(1 for x in xs if c[x] <= most))


# The smallest margin: 1 (emit_number's A), over layer norm's final scale: the four scratch
# pairs and the answer pair hold numbers in [1, 2], so the scale is at most sqrt(1 + 5 * 6 / 18).
CLF_MARGIN = 1 / np.sqrt(1 + 30 / 18)


@FEW
@given(batches(10), st.integers(0, 4))
def test_count_less_freq_counts_the_rare_letters(lists, most):
    prog = program("count_less_freq", most=most)
    texts = [" ".join(x + ["="]) for x in lists]
    outputs = [rare_positions(x, most) for x in lists]
    # the sink's share K / (K + count) >= 1/2 (K = 10); margin 1 over layer norm's scale
    check_outputs(prog, texts, outputs, CLF_MARGIN, softest=0.49, reference_every=8)
    spec_agrees(prog, texts, outputs)


def test_count_less_freq_size_is_fixed_by_its_construction():
    """d_model 18 (constant 2, token class 6, four scratch pairs, the answer pair), four heads
    of 2, 24 MLP units (2 per change of c [c <= 2]: at c = 1, 2, 3), vocab 16, block 11."""
    assert program("count_less_freq").params.count()["n_params"] == \
        (16 + 11 + 16) * 18 + 4 * 4 * 2 * 18 + 2 * 18 * 24 + 24 + 18 == 2_256


def test_count_less_freq_is_exact_on_every_input_up_to_5_letters_by_its_spec():
    for dtype in (np.float64, np.float32):
        r = check(program("count_less_freq", spec_len=5), exhaustive=True, dtype=dtype, progress=False)
        assert r.ok and r.total == (4 ** 6 - 1) // 3, r.as_dict()
        assert r.stats["min_margin"] >= CLF_MARGIN * (1 - 1e-4)


# -- codes.emit_number -----------------------------------------------------------------------

EMIT_POSITION = """
import codes
vocab words(["x"] + [str(p) for p in range(9)])
model block=9, heads=0
decode steps=1
let pos = codes.position_code()
let zs = [codes.position_value(9, p) for p in range(9)]
codes.emit_number(codes.position_of(pos), zs, list(range(9)))
"""


@FEW
@given(st.lists(st.integers(1, 9), min_size=1, max_size=9))
def test_emit_number_prints_the_nearest_value_through_the_output_embedding(lengths):
    """The last position, read as the number u the position code holds: margin 1 (A = 1 / gap^2)."""
    prog = taotp.compile_source(EMIT_POSITION, "emit.taotp", {})
    check_outputs(prog, [" ".join(["x"] * k) for k in lengths], [str(k - 1) for k in lengths], 1.0,
                  reference_every=3)


def test_emit_number_refuses_repeated_values():
    with pytest.raises(taotp.errors.TaotpError, match="distinct"):
        taotp.compile_source(EMIT_POSITION.replace("let zs = [", "let zs = [0] + [").replace(
            "for p in range(9)]\ncodes", "for p in range(8)]\ncodes"), "emit.taotp", {})


# -- the command line ------------------------------------------------------------------------

@pytest.mark.parametrize("name, good, out, bad", [
    ("length", "abca=", "4", "abcx="),
    ("hist", "a b a c =", "2 1 2 1", "a b a b a b a b a b a ="),
    ("sort_unique", "3 9 0 5 =", "0 3 5 9", "3 3 ="),
    ("count_less_freq", "a a a b b c =", "3", "a a a b b c"),
])
def test_cli_runs_them_and_names_a_bad_input(name, good, out, bad):
    runner = CliRunner()
    r = runner.invoke(main, ["run", name, "--input", good])
    assert r.exit_code == 0 and r.output.strip() == out, r.output
    r = runner.invoke(main, ["run", name, "--input", bad])
    assert r.exit_code != 0 and "expected" in r.output and "like" in r.output, r.output
    assert "Traceback" not in r.output
