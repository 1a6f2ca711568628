"""DECIMAL ADDITION WITHOUT ZERO PADDING (book exercise 6.20): programs/add_unpadded.taotp.

Checked against Python's int addition: exhaustively at one digit, by Hypothesis at two
and three digits (operands of every length), that the machine itself predicts <eos>
right after the last digit, the input check, and the stream's layer-norm invariance.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taotp
from taotp import specs
from taotp.engine import ENGINES
from taotp.engine.reference import forward, layer_norm
from taotp.errors import InputError, TaotpError

ENGINE = "fast" if "fast" in ENGINES else "reference"


@functools.lru_cache(maxsize=None)
def compiled(n: int):
    return taotp.load_program("add_unpadded", overrides={"n_digits": n}, progress=False)


def run(n: int, pairs, engine=ENGINE):
    return compiled(n).run_batch([f"{a}+{b}=" for a, b in pairs], engine=engine)


def number(n: int):
    """0..10^n - 1, with every length 1..n equally likely (short numbers are the new case)."""
    return st.integers(1, n).flatmap(lambda k: st.integers(0 if k == 1 else 10 ** (k - 1), 10**k - 1))


def operands(n: int):
    return st.tuples(number(n), number(n))


# -- the sums ------------------------------------------------------------------------------
def test_all_100_one_digit_sums():
    pairs = [(a, b) for a in range(10) for b in range(10)]
    assert run(1, pairs) == [str(a + b) for a, b in pairs]


@settings(max_examples=200, deadline=None)
@given(operands(2))
def test_two_digits(ab):
    a, b = ab
    assert run(2, [ab]) == [str(a + b)]


@settings(max_examples=100, deadline=None)
@given(operands(3))
def test_three_digits(ab):
    a, b = ab
    assert run(3, [ab]) == [str(a + b)]


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 3), st.data())
def test_on_the_reference_engine(n, data):
    """The book's machine, plainly (fig. 1.1-1.2), not only the fast engine."""
    a, b = data.draw(operands(n))
    assert run(n, [(a, b)], engine="reference") == [str(a + b)]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_the_books_examples_and_the_edges(n):
    top = 10**n - 1
    pairs = [(0, 0), (0, top), (top, 0), (top, 1), (1, top), (top, top), (5, 5), (top // 9, top)]
    if n >= 2:
        pairs += [(4, 8), (84, 88), (9, 91), (91, 9), (10, 90)]
    assert run(n, pairs) == [str(a + b) for a, b in pairs]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.data())
def test_eos_comes_right_after_the_last_digit(n, data):
    """Decoding stops because the machine predicts <eos> after the sum's last digit (not
    because the block ends), and no digit is <eos>: checked on the logits themselves."""
    a, b = data.draw(operands(n))
    p = compiled(n)
    eos, bos = p.vocab.tokens.index("<eos>"), p.vocab.tokens.index("<bos>")
    ids = [bos] + p.encode(f"{a}+{b}=") + [p.vocab.tokens.index(d) for d in str(a + b)]
    assert len(ids) <= p.params.block_size
    predicted = forward(p.params, ids).argmax(axis=-1)
    tail = predicted[len(ids) - len(str(a + b)) - 1:]
    assert [p.vocab.tokens[t] for t in tail] == list(str(a + b)) + ["<eos>"]


# -- the construction ----------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.data())
def test_embeddings_fixed_under_layer_norm(n, data):
    """Token + position is fixed by layer norm, so the heads read exact digits (§6.4, thm 3.1)."""
    p = compiled(n).params
    tok = data.draw(st.integers(0, p.vocab_size - 1))
    pos = data.draw(st.integers(0, p.block_size - 1))
    x = p.tok_emb[tok] + p.pos_emb[pos]
    np.testing.assert_allclose(layer_norm(x), x, atol=1e-12)


def test_vocabulary_is_the_books_14():
    assert compiled(2).vocab.tokens == tuple("0123456789+=") + ("<bos>", "<eos>")


def test_one_spike_per_sum_and_output_position():
    """(sum, digits printed so far) pairs: 47 / 686 / 8,885 spikes, min_sep >= 2e-4."""
    for n, points in ((1, 47), (2, 686), (3, 8_885)):
        (note,) = compiled(n).notes["spike_mlps"]
        assert note["points"] == points and note["hidden"] == 3 * points
        assert note["min_sep"] > 2e-4


@pytest.mark.parametrize("n, total", [(1, 18_657), (2, 184_590), (3, 2_301_003)])
def test_parameter_counts(n, total):
    assert compiled(n).params.count()["n_params"] == total  # docs/addition.md


# -- clear limits --------------------------------------------------------------------------
def valid(n: int):
    return re.compile(rf"(0|[1-9][0-9]{{0,{n - 1}}})\+(0|[1-9][0-9]{{0,{n - 1}}})=")


def malformed(n: int):
    digits = st.text("0123456789", max_size=n + 2)
    return st.one_of(
        st.tuples(digits, digits).map(lambda t: f"{t[0]}+{t[1]}="),     # leading zeros, too long, empty
        st.text("0123456789+=abcxyz -", max_size=2 * n + 4),
        operands(n).map(lambda ab: f"{ab[0]}+{ab[1]}"),                  # missing '='
        operands(n).map(lambda ab: f"0{ab[0]}+{ab[1]}="),                # a leading zero
    ).filter(lambda s: not valid(n).fullmatch(s))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.data())
def test_malformed_inputs_say_what_is_expected(n, data):
    text = data.draw(malformed(n))
    with pytest.raises(InputError) as err:
        compiled(n).run(text)
    assert f"1 to {n} digits without leading zeros" in str(err.value) and "4+8=" in str(err.value)


@pytest.mark.parametrize("n", [0, 4])
def test_widths_outside_1_to_3_are_refused(n):
    with pytest.raises(TaotpError, match="n_digits must be 1..3"):
        taotp.load_program("add_unpadded", overrides={"n_digits": n}, progress=False)


# -- the spec --------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3), st.data())
def test_spec_inputs_are_valid_and_its_reference_is_int_addition(n, data):
    spec, s = specs.get("add_unpadded"), specs.settings_of(compiled(n))
    text = data.draw(spec.strategy(s))
    assert valid(n).fullmatch(text)
    a, b = (int(x) for x in text[:-1].split("+"))
    assert spec.reference(s, text) == str(a + b)
    assert valid(n).fullmatch(spec.sample(s, np.random.default_rng(data.draw(st.integers(0, 99)))))


def test_spec_enumerates_every_pair_once():
    spec, s = specs.get("add_unpadded"), specs.settings_of(compiled(2))
    texts = list(spec.enumerate(s))
    assert len(texts) == len(set(texts)) == spec.space_size(s) == 10_000
    assert all(valid(2).fullmatch(t) for t in texts)
