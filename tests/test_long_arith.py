"""Arithmetic at any length: programs/long_add.taotp, programs/long_sub.taotp and
programs/long_add_unpadded.taotp (numbers without zero padding; its layers grow with n_digits).

Checked against Python's integers in float64 and float32: every one-digit input, Hypothesis
(uniform pairs and long carry / borrow chains, taotp.spec_arith) at 3 and 12 digits, the
edge cases at 10, 20 and 40 digits; the book's machine itself (reference engine) on a few;
that only the position embedding grows with n_digits; that layer norm is the identity before
every sublayer (why float32 is exact); the input check. The full proofs (every input up to
3 digits, 10,000 samples at 10) are `benchmarks/long_arith_proof.py`, see docs/addition.md.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taotp
from taotp import spec_arith
from taotp.engine.reference import attention_pattern, layer_norm, mlp, self_attention
from taotp.errors import InputError

PROGRAMS = {"add": "long_add", "sub": "long_sub"}
DTYPES = [np.float64, np.float32]


@functools.lru_cache(maxsize=None)
def compiled(op: str, n: int):
    return taotp.load_program(PROGRAMS[op], overrides={"n_digits": n}, progress=False)


def run(op: str, n: int, pairs, dtype=np.float64, engine="fast"):
    texts = [spec_arith.text_of(a, b, n, op) for a, b in pairs]
    return compiled(op, n).run_batch(texts, engine=engine, dtype=dtype)


def expected(op: str, n: int, pairs):
    return [spec_arith.result_of(a, b, n, op) for a, b in pairs]


def chain_pairs(n: int, op: str):
    return spec_arith.pair_strategy(n, op)


# -- the results ---------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_one_digit_input(op, dtype):
    pairs = [(a, b) for a in range(10) for b in range(10)]
    assert run(op, 1, pairs, dtype) == expected(op, 1, pairs)


@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("n", [3, 12])
def test_uniform_pairs_and_long_chains(op, n):
    @settings(max_examples=8, deadline=None, database=None)
    @given(st.lists(chain_pairs(n, op), min_size=1, max_size=25), st.sampled_from(DTYPES))
    def check(pairs, dtype):
        assert run(op, n, pairs, dtype) == expected(op, n, pairs)

    check()


@pytest.mark.parametrize("op", ["add", "sub"])
@pytest.mark.parametrize("n", [10, 20, 40])
@pytest.mark.parametrize("dtype", DTYPES)
def test_edge_cases(op, n, dtype):
    pairs = spec_arith.edge_pairs(n, op)
    assert run(op, n, pairs, dtype) == expected(op, n, pairs)


def test_the_examples():
    assert compiled("add", 4).run("0045+0078=") == "00123"
    assert compiled("sub", 4).run("0078-0045=") == "+0033"
    assert compiled("sub", 4).run("0045-0078=") == "-0033"
    assert compiled("sub", 4).run("0045-0045=") == "+0000"


@settings(max_examples=6, deadline=None, database=None)
@given(st.sampled_from(["add", "sub"]), st.sampled_from([2, 5]), st.data())
def test_on_the_reference_engine(op, n, data):
    """The book's machine, plainly (fig. 1.1-1.2), not only the fast engine."""
    pairs = [data.draw(chain_pairs(n, op))]
    assert run(op, n, pairs, engine="reference") == expected(op, n, pairs)


# -- the claims about the construction -------------------------------------------------------
@pytest.mark.parametrize("op", ["add", "sub"])
def test_only_the_position_embedding_grows(op):
    counts = {n: compiled(op, n).params for n in (1, 10, 40)}
    by_layer = {n: [(L.Q.shape, L.M1.shape) for L in p.layers] for n, p in counts.items()}
    assert by_layer[1] == by_layer[10] == by_layer[40]
    assert {p.tok_emb.shape for p in counts.values()} == {counts[1].tok_emb.shape}
    for n, p in counts.items():
        assert p.pos_emb.shape[0] == 3 * n + 2


@settings(max_examples=10, deadline=None, database=None)
@given(st.sampled_from(["add", "sub"]), st.sampled_from([3, 12]), st.data())
def test_layer_norm_is_the_identity_before_every_sublayer(op, n, data):
    """Every slot holds a code of mean 0 and sum of squares = its size, so each sublayer
    reads the stream unscaled: the MLPs' staircases see exact integers."""
    prog = compiled(op, n)
    a, b = data.draw(chain_pairs(n, op))
    text = spec_arith.text_of(a, b, n, op)
    toks = prog.encode(text) + [prog.vocab.index[c] for c in spec_arith.result_of(a, b, n, op)[:-1]]
    P = prog.params
    x = P.tok_emb[toks] + P.pos_emb[np.arange(len(toks))]
    for L in P.layers:
        for sublayer in (self_attention, mlp):
            np.testing.assert_allclose(layer_norm(x), x, atol=1e-9)  # rounding of ~40 terms
            x = x + sublayer(layer_norm(x), L)


@settings(max_examples=8, deadline=None, database=None)
@given(st.sampled_from(["add", "sub"]), st.sampled_from([3, 12]), st.sampled_from(DTYPES), st.data())
def test_every_head_decides_except_the_sign_of_equal_numbers(op, n, dtype, data):
    """Hard attention (§3.1) everywhere an output is read: each live head's top weight is 1
    up to softmax's 1e-10, except long_sub's match head when it predicts the sign of a - b
    for a = b, which averages the n + 1 equal 9 keys on purpose."""
    prog = compiled(op, n)
    a, b = data.draw(st.one_of(chain_pairs(n, op), st.sampled_from(spec_arith.edge_pairs(n, op))))
    toks = prog.encode(spec_arith.text_of(a, b, n, op))
    toks += [prog.vocab.index[c] for c in spec_arith.result_of(a, b, n, op)[:-1]]
    P = prog.params.astype(dtype)
    x = P.tok_emb[toks] + P.pos_emb[np.arange(len(toks))]
    for i, L in enumerate(P.layers):
        lx = layer_norm(x)
        weights = attention_pattern(lx, L)[3]              # (query, key, head)
        for h in range(L.n_heads):
            if not (np.any(L.V[h]) and np.any(L.P[h])):
                continue
            top = weights[2 * n + 1:, :, h].max(axis=1)   # the positions whose logits are read
            if op == "sub" and i == 2 and h == 0 and a == b:
                top = top[1:]
            assert top.min() > 1 - 1e-6, (i, h, top.min())
        x = x + self_attention(lx, L)
        x = x + mlp(layer_norm(x), L)


@pytest.mark.parametrize("op, bad", [
    ("add", "045+0078="), ("add", "0045-0078="), ("add", "0045+0078"), ("add", "00a5+0078="),
    ("sub", "0045+0078="), ("sub", "00045-0078="), ("sub", "-0045-0078="),
])
def test_inputs_that_break_the_format_are_refused(op, bad):
    with pytest.raises(InputError, match="4-digit numbers"):
        compiled(op, 4).run(bad)


# -- the spec's inputs -----------------------------------------------------------------------
def _longest_run(a: int, b: int, n: int, op: str) -> int:
    da, db = f"{a:0{n}d}", f"{b:0{n}d}"
    run_, best = 0, 0
    for x, y in zip(da, db):
        run_ = run_ + 1 if int(y) == spec_arith.partner(int(x), op) else 0
        best = max(best, run_)
    return best


@pytest.mark.parametrize("op", ["add", "sub"])
def test_the_sampler_draws_long_chains(op):
    """Uniform pairs almost never pass a carry through 10 places; the sampler's do often."""
    rng = np.random.default_rng(2025)
    n = 20
    s = {"n_digits": n}
    spec = taotp.specs.get(PROGRAMS[op])
    texts = [spec.sample(s, rng) for _ in range(400)]
    pairs = [spec_arith._parse(t, op) for t in texts]
    long = sum(_longest_run(a, b, n, op) >= 10 for a, b in pairs)
    assert long > 100
    assert all(spec.reference(s, t) == spec_arith.result_of(a, b, n, op) for t, (a, b) in zip(texts, pairs))


def test_the_subtraction_spec_prints_the_sign():
    ref = taotp.specs.get("long_sub").reference
    assert ref({"n_digits": 3}, "100-001=") == "+099"
    assert ref({"n_digits": 3}, "001-100=") == "-099"
    assert ref({"n_digits": 3}, "007-007=") == "+000"


# -- long_add_unpadded: numbers of 1..n_digits digits, no zero padding ----------------------------
@functools.lru_cache(maxsize=None)
def unpadded(n: int):
    return taotp.load_program("long_add_unpadded", overrides={"n_digits": n}, progress=False)


def run_unpadded(n: int, pairs, dtype=np.float64, engine="fast"):
    return unpadded(n).run_batch([spec_arith.unpadded_text(a, b) for a, b in pairs], engine=engine, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unpadded_every_one_digit_input(dtype):
    pairs = [(a, b) for a in range(10) for b in range(10)]
    assert run_unpadded(1, pairs, dtype) == [str(a + b) for a, b in pairs]


@pytest.mark.parametrize("n", [3, 7])
def test_unpadded_numbers_of_every_length_and_long_chains(n):
    @settings(max_examples=6, deadline=None, database=None)
    @given(st.lists(spec_arith.unpadded_strategy(n), min_size=1, max_size=25), st.sampled_from(DTYPES))
    def check(pairs, dtype):
        assert run_unpadded(n, pairs, dtype) == [str(a + b) for a, b in pairs]

    check()


@pytest.mark.parametrize("dtype", DTYPES)
def test_unpadded_edge_cases(dtype):
    pairs = spec_arith.unpadded_edge_pairs(8)
    assert run_unpadded(8, pairs, dtype) == [str(a + b) for a, b in pairs]


def test_unpadded_examples_and_the_reference_engine():
    assert unpadded(4).run("45+78=") == "123"
    assert unpadded(4).run("9999+1=") == "10000"
    assert unpadded(4).run("0+0=") == "0"
    assert run_unpadded(3, [(999, 1), (7, 995), (0, 1)], engine="reference") == ["1000", "1002", "1"]


def test_unpadded_layers_grow_linearly():
    """Per hypothesis (a length of b) a fixed number of heads, units and slots: every layer's
    heads, d_head, d_ff and d_model are affine in n_digits (so the dense count is quadratic)."""
    shapes = {}
    for n in (1, 2, 3):
        p = unpadded(n).params
        shapes[n] = np.array([p.d_model] + [x for L in p.layers for x in (L.n_heads, L.d_head, L.d_ff)])
    assert np.array_equal(shapes[3] - shapes[2], shapes[2] - shapes[1])
    assert (shapes[2] - shapes[1])[0] == 14            # stream dimensions per hypothesis


def _unpadded_stream(prog, a, b, dtype=np.float64):
    """The residual stream before every sublayer, on the whole sequence (sum included)."""
    toks = list(prog.rule.prefix) + prog.encode(spec_arith.unpadded_text(a, b))
    toks += [prog.vocab.index[c] for c in str(a + b)]
    P = prog.params.astype(dtype)
    x = P.tok_emb[toks] + P.pos_emb[np.arange(len(toks))]
    for L in P.layers:
        yield "attention", x, L
        x = x + self_attention(layer_norm(x), L)
        yield "mlp", x, L
        x = x + mlp(layer_norm(x), L)


@settings(max_examples=8, deadline=None, database=None)
@given(st.sampled_from([2, 5]), st.data())
def test_unpadded_layer_norm_is_the_identity_before_every_sublayer(n, data):
    a, b = data.draw(spec_arith.unpadded_strategy(n))
    for _, x, _ in _unpadded_stream(unpadded(n), a, b):
        np.testing.assert_allclose(layer_norm(x), x, atol=1e-9)   # rounding of ~10^2 terms


@settings(max_examples=8, deadline=None, database=None)
@given(st.sampled_from([2, 5]), st.sampled_from(DTYPES), st.data())
def test_unpadded_every_head_decides(n, dtype, data):
    """Hard attention (§3.1) in every head at every position whose logits are read: the top
    weight is 1 up to softmax's 1e-10; a head of a hypothesis other than lb attends to <bos>."""
    prog = unpadded(n)
    a, b = data.draw(st.one_of(spec_arith.unpadded_strategy(n), st.sampled_from(spec_arith.unpadded_edge_pairs(n))))
    start = len(str(a)) + len(str(b)) + 2                  # '=': the first position whose logits are read
    for kind, x, L in _unpadded_stream(prog, a, b, dtype):
        if kind == "attention":
            top = attention_pattern(layer_norm(x), L)[3][start:].max(axis=1)   # (query, head)
            assert top.min() > 1 - 1e-6, top.min()


@pytest.mark.parametrize("bad", ["045+78=", "45+78", "12345+1=", "4+-8=", "+4=", "4+8=9"])
def test_unpadded_inputs_that_break_the_format_are_refused(bad):
    with pytest.raises(InputError, match="numbers of 1 to 4 digits without leading zeros"):
        unpadded(4).run(bad)


def test_the_unpadded_sampler_draws_chains_and_unequal_lengths():
    rng = np.random.default_rng(2025)
    n = 20
    spec = taotp.specs.get("long_add_unpadded")
    texts = [spec.sample({"n_digits": n}, rng) for _ in range(400)]
    pairs = [spec_arith._parse(t, "add") for t in texts]
    assert all(spec.reference({"n_digits": n}, t) == str(a + b) for t, (a, b) in zip(texts, pairs))
    assert all(re.fullmatch(r"(0|[1-9][0-9]{0,19})\+(0|[1-9][0-9]{0,19})=", t) for t in texts)
    unequal = sum(len(str(a)) != len(str(b)) for a, b in pairs)
    long_runs = [_longest_unpadded_run(a, b) >= 8 for a, b in pairs]
    carry_out = [len(str(a + b)) > max(len(str(a)), len(str(b))) for a, b in pairs]
    # uniform pairs: lengths differ 95% of the time, a run of 8 nines has probability ~1e-7
    assert 120 < unequal < 280 and sum(long_runs) > 100 and sum(map(all, zip(long_runs, carry_out))) > 25


def _longest_unpadded_run(a: int, b: int) -> int:
    """The longest run of places whose pair sum is 9 (digits aligned at the last one)."""
    run_, best = 0, 0
    for x, y in zip(str(a).zfill(60)[::-1], str(b).zfill(60)[::-1]):
        run_ = run_ + 1 if int(x) + int(y) == 9 else 0
        best = max(best, run_)
    return best
