"""DECIMAL MULTIPLICATION (book exercise 6.21): programs/mul.taotp.

Checked against Python's int multiplication: exhaustively at one digit in both dtypes,
by Hypothesis (biased to long carries) at two to four digits in both dtypes, on the
reference engine, on the hardest edges; then the construction's own claims: layer norm
is the identity before every sublayer where the answer is computed, the lanes hold the
column sums' digits, the input check, the width limit, the parameter counts and the spec.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp import specs
from taotp.engine.reference import layer_norm, mlp, self_attention
from taotp.errors import InputError, TaotpError

QUICK = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@functools.lru_cache(maxsize=None)
def compiled(n: int):
    return taotp.load_program("mul", overrides={"n_digits": n}, progress=False)


def text(a: int, b: int, n: int) -> str:
    return f"{a:0{n}d}*{b:0{n}d}="


def product(a: int, b: int, n: int) -> str:
    return f"{a * b:0{2 * n}d}"


def run(n: int, pairs, engine="fast", dtype=np.float64):
    return compiled(n).run_batch([text(a, b, n) for a, b in pairs], engine=engine, dtype=dtype)


def biased(n: int):
    """The spec's own strategy: uniform pairs, 99..9s, powers of ten, near-round products."""
    spec = specs.get("mul")
    return spec.strategy(specs.settings_of(compiled(n)))


def pairs_of(texts):
    return [tuple(int(x) for x in t[:-1].split("*")) for t in texts]


# -- the products ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_all_100_one_digit_products(dtype):
    pairs = [(a, b) for a in range(10) for b in range(10)]
    assert run(1, pairs, dtype=dtype) == [product(a, b, 1) for a, b in pairs]


@QUICK
@given(st.integers(2, 4), st.sampled_from([np.float64, np.float32]), st.data())
def test_products_biased_to_long_carries(n, dtype, data):
    texts = data.draw(st.lists(biased(n), min_size=1, max_size=40))
    pairs = pairs_of(texts)
    assert run(n, pairs, dtype=dtype) == [product(a, b, n) for a, b in pairs]


@settings(max_examples=6, deadline=None, database=None)
@given(st.integers(1, 3), st.data())
def test_on_the_reference_engine(n, data):
    """The book's machine, plainly (fig. 1.1-1.2), not only the fast engine."""
    (pair,) = pairs_of([data.draw(biased(n))])
    assert run(n, [pair], engine="reference") == [product(*pair, n)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_the_edges(n):
    top = 10**n - 1
    pairs = [(0, 0), (top, top), (top, 1), (1, top), (10 ** (n - 1), top), (top, 0), (top // 9, top // 9),
             (int("5" * n), int("2" * n))]
    for dtype in (np.float64, np.float32):
        assert run(n, pairs, dtype=dtype) == [product(a, b, n) for a, b in pairs]


def test_the_issues_example():
    assert compiled(2).run("12*34=") == "0408"


# -- the construction --------------------------------------------------------------------------
def residual_streams(n: int, a: int, b: int):
    """The residual rows of the decoded sequence before each sublayer (reference math)."""
    p = compiled(n)
    ids = p.encode(text(a, b, n)) + [int(c) for c in product(a, b, n)[:-1]]
    P = p.params
    x = P.tok_emb[ids] + P.pos_emb[np.arange(len(ids))]
    out = []
    for L in P.layers:
        out.append(x)
        x = x + self_attention(layer_norm(x), L)
        out.append(x)
        x = x + mlp(layer_norm(x), L)
    return out


@settings(max_examples=20, deadline=None, database=None)
@given(st.integers(1, 3), st.data())
def test_layer_norm_is_the_identity_where_the_answer_is_computed(n, data):
    """Every slot holds a code of mean 0 and fixed norm (docs/multiplication.md): before
    every sublayer, at the positions whose results are used (every position in the
    embedding, b's digits until layer 1's heads have read them, the output positions
    throughout), the stream's mean is 0 and its standard deviation 1. Tolerance 1e-7:
    what is left is the softmax's 1e-10 in the copies and rounding, ~1e-9 at n = 3."""
    (a, b), = pairs_of([data.draw(biased(n))])
    b_digits = list(range(n + 1, 2 * n + 1))
    outputs = list(range(2 * n + 1, 4 * n + 1))
    for k, x in enumerate(residual_streams(n, a, b)):   # before L0 attn, L0 MLP, L1 attn, ...
        rows = x if k == 0 else x[b_digits + outputs] if k <= 2 else x[outputs]
        np.testing.assert_allclose(rows.mean(axis=-1), 0, atol=1e-7)
        np.testing.assert_allclose(rows.std(axis=-1), 1, atol=1e-7)


@settings(max_examples=20, deadline=None, database=None)
@given(st.integers(2, 3), st.data())
def test_the_lanes_hold_the_column_sums_digits(n, data):
    """After layer 1, lane p holds (T_p mod 10, T_p // 10) / 10, T_p the column sum of the
    products' digits: sum_(i+j=p) (a_i b_j mod 10) + sum_(i+j=p-1) (a_i b_j // 10)."""
    (a, b), = pairs_of([data.draw(biased(n))])
    p = compiled(n)
    x = residual_streams(n, a, b)[4][-1]          # after layer 1, at the last position
    ad = [a // 10**i % 10 for i in range(n)]
    bd = [b // 10**j % 10 for j in range(n)]
    lanes = p.slots["lanes"][0]
    for place in range(2 * n):
        T = sum(ad[i] * bd[place - i] % 10 for i in range(n) if 0 <= place - i < n) \
            + sum(ad[i] * bd[place - 1 - i] // 10 for i in range(n) if 0 <= place - 1 - i < n)
        # 1e-7: the copies carry the softmax's 1e-10 (weights 1 - 1e-10), times the readers' 10s
        np.testing.assert_allclose(x[lanes + 4 * place:lanes + 4 * place + 2], [T % 10 / 10, T // 10 / 10],
                                   atol=1e-7)


@pytest.mark.parametrize("n, layers", [(1, 3), (2, 4), (6, 4), (7, 5)])
def test_layers_one_split_for_each_time_a_lane_can_pass_18(n, layers):
    assert len(taotp.load_program("mul", overrides={"n_digits": n}, progress=False).params.layers) == layers


@pytest.mark.parametrize("n, total, nonzero", [(1, 23_449, 917), (2, 140_480, 2_575), (3, 346_707, 5_011)])
def test_parameter_counts(n, total, nonzero):
    params = compiled(n).params
    assert params.count()["n_params"] == total             # docs/multiplication.md
    assert params.count(nonzero=True)["n_params"] == nonzero


# -- clear limits --------------------------------------------------------------------------------
def valid(n: int):
    return re.compile(rf"[0-9]{{{n}}}\*[0-9]{{{n}}}=")


@settings(max_examples=40, deadline=None, database=None)
@given(st.integers(1, 3), st.data())
def test_malformed_inputs_say_what_is_expected(n, data):
    bad = data.draw(st.one_of(
        st.text("0123456789*=+ x", max_size=2 * n + 4),
        st.tuples(st.integers(0, 10**n - 1), st.integers(0, 10**n - 1)).map(lambda ab: f"{ab[0]}*{ab[1]}"),
        st.tuples(st.integers(0, 10**n - 1), st.integers(0, 10**n - 1)).map(lambda ab: text(*ab, n) + "0"),
    ).filter(lambda s: not valid(n).fullmatch(s)))
    with pytest.raises(InputError) as err:
        compiled(n).run(bad)
    assert f"two {n}-digit numbers (zero padded)" in str(err.value) and "--set n_digits" in str(err.value)


@pytest.mark.parametrize("n, message", [(0, "at least 1"), (16, "at most 15 .*102.7 million")])
def test_widths_outside_1_to_15_are_refused(n, message):
    with pytest.raises(TaotpError, match="n_digits must be " + message):
        taotp.load_program("mul", overrides={"n_digits": n}, progress=False)


# -- the spec ---------------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None, database=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_spec_samples_are_valid_and_its_reference_is_int_multiplication(n, seed):
    spec, s = specs.get("mul"), {"n_digits": n}
    t = spec.sample(s, np.random.default_rng(seed))
    assert valid(n).fullmatch(t)
    (a, b), = pairs_of([t])
    assert spec.reference(s, t) == product(a, b, n)


def test_spec_samples_are_biased_to_long_carries():
    """Over a thousand samples at n = 6, far more products have a run of five 9s or 0s
    than uniform pairs would give (about 2%), and 99..9 appears as a factor."""
    spec, s = specs.get("mul"), {"n_digits": 6}
    rng = np.random.default_rng(7)
    texts = [spec.sample(s, rng) for _ in range(1000)]
    runs = sum(bool(re.search(r"9{5}|0{5}", spec.reference(s, t))) for t in texts)
    assert runs > 200
    assert any("999999" in t for t in texts)


def test_spec_enumerates_every_pair_once():
    spec, s = specs.get("mul"), {"n_digits": 2}
    texts = list(spec.enumerate(s))
    assert len(texts) == len(set(texts)) == spec.space_size(s) == 10_000
    assert all(valid(2).fullmatch(t) for t in texts)
