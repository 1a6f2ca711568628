"""DECIMAL MULTIPLICATION WITHOUT ZERO PADDING: programs/mul_unpadded.taotp.

Checked against Python's int multiplication: every product of one-digit factors in both
dtypes, Hypothesis inputs (factors of every length, zero factors, the padded program's
long-carry families) at two to four digits in both dtypes and on the reference engine,
that the machine itself predicts <eos> right after the last digit, the input check and
the layer count.
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
from taotp.engine.reference import forward
from taotp.errors import InputError, TaotpError

QUICK = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@functools.lru_cache(maxsize=None)
def compiled(n: int):
    return taotp.load_program("mul_unpadded", overrides={"n_digits": n}, progress=False)


def inputs(n: int):
    return specs.get("mul_unpadded").strategy(specs.settings_of(compiled(n)))


def expected(text: str) -> str:
    a, b = text[:-1].split("*")
    return str(int(a) * int(b))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_all_one_digit_products(dtype):
    texts = [f"{a}*{b}=" for a in range(10) for b in range(10)]
    assert compiled(1).run_batch(texts, engine="fast", dtype=dtype) == [expected(t) for t in texts]


@QUICK
@given(st.integers(2, 4), st.sampled_from([np.float64, np.float32]), st.data())
def test_products_of_every_length(n, dtype, data):
    texts = data.draw(st.lists(inputs(n), min_size=1, max_size=30))
    assert compiled(n).run_batch(texts, engine="fast", dtype=dtype) == [expected(t) for t in texts]


@settings(max_examples=5, deadline=None, database=None)
@given(st.integers(1, 3), st.data())
def test_on_the_reference_engine(n, data):
    text = data.draw(inputs(n))
    assert compiled(n).run(text, engine="reference") == expected(text)


@pytest.mark.parametrize("text", ["45*78=", "4*8=", "0*99=", "99*0=", "10*10=", "99*99=", "1*1=", "31*33="])
def test_examples(text):
    assert compiled(2).run(text, engine="fast") == expected(text)


@settings(max_examples=15, deadline=None, database=None)
@given(st.integers(1, 3), st.data())
def test_eos_comes_right_after_the_last_digit(n, data):
    """Decoding stops because the machine predicts <eos> after the product's last digit
    (not because the block ends): checked on the reference engine's logits."""
    text = data.draw(inputs(n))
    p = compiled(n)
    eos, bos = p.vocab.tokens.index("<eos>"), p.vocab.tokens.index("<bos>")
    want = expected(text)
    ids = [bos] + p.encode(text) + [p.vocab.tokens.index(d) for d in want]
    assert len(ids) <= p.params.block_size
    predicted = forward(p.params, ids).argmax(axis=-1)
    tail = predicted[len(ids) - len(want) - 1:]
    assert [p.vocab.tokens[t] for t in tail] == list(want) + ["<eos>"]


@pytest.mark.parametrize("n, layers", [(1, 5), (2, 6)])
def test_two_layers_more_than_the_padded_program(n, layers):
    assert len(compiled(n).params.layers) == layers


def valid(n: int):
    return re.compile(rf"(0|[1-9][0-9]{{0,{n - 1}}})\*(0|[1-9][0-9]{{0,{n - 1}}})=")


@settings(max_examples=30, deadline=None, database=None)
@given(st.integers(1, 3), st.data())
def test_malformed_inputs_say_what_is_expected(n, data):
    bad = data.draw(st.one_of(
        st.text("0123456789*=", max_size=2 * n + 4),
        st.integers(0, 10**n - 1).map(lambda a: f"0{a}*1="),
    ).filter(lambda s: not valid(n).fullmatch(s)))
    with pytest.raises(InputError) as err:
        compiled(n).run(bad, engine="fast")
    assert f"1 to {n} digits without leading zeros" in str(err.value)


@pytest.mark.parametrize("n, message", [(0, "at least 1"), (14, "at most 13 .*100.2 million")])
def test_widths_outside_1_to_13_are_refused(n, message):
    with pytest.raises(TaotpError, match="n_digits must be " + message):
        taotp.load_program("mul_unpadded", overrides={"n_digits": n}, progress=False)


@settings(max_examples=60, deadline=None, database=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_spec_samples_are_valid(n, seed):
    spec = specs.get("mul_unpadded")
    t = spec.sample({"n_digits": n}, np.random.default_rng(seed))
    assert valid(n).fullmatch(t) and spec.reference({"n_digits": n}, t) == expected(t)
