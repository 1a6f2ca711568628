"""Layer 0's heads that attend by position alone (taotp/engine/positional.py), the last
layer from LN'd rows (readout.py), and the exact shortcuts under them (ops.py).

- A head proven fixed gets, on every input, exactly the reference's weights: the
  reference's softmax puts 1 / (1 + 1e-10) on key_of[i] and exactly 0 elsewhere.
- The proof fails where it must: embeddings not fixed under layer norm, or scores
  too close for the softmax to be one-hot.
- The engine with fixed heads gives the reference's answers (relative-attention
  machines of 1-3 layers, both dtypes), and SEARCH's heads are the book's: head h
  reads h positions back (the first positions read the first token).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp.builtins.encodings import ring3d, rotation3d
from taotp.decoding import DecodeRule
from taotp.engine import fast, reference
from taotp.engine.ops import column_selection, layer_norm, ln_params, one_hot_weight
from taotp.engine.positional import fixed_heads
from taotp.params import Layer, LayerNorm, Params

QUICK = settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def relative_machine(rng, V, block, tdims, n_layers, hardening, fixed_norm=True, shifts=None):
    """Tokens on tdims dims, positions on a ring on 3 more (zero in every token); layer 0's
    heads read the position h back (fig. 3.1 rotations) scaled by `hardening`; other
    layers random. fixed_norm: every token row has mean 0 and the same norm (thm 3.1)."""
    d = tdims + 3
    tok = np.zeros((V, d))
    t = rng.standard_normal((V, tdims))
    t -= t.mean(axis=1, keepdims=True)
    if fixed_norm:
        t *= (tdims ** 0.5) / np.linalg.norm(t, axis=1, keepdims=True)
    tok[:, :tdims] = t
    pos = np.zeros((block, d))
    pos[:, tdims:] = ring3d(2 * np.pi * np.arange(block) / block)
    shifts = list(range(int(rng.integers(1, 4)))) if shifts is None else shifts
    h, k = len(shifts), 3
    L0 = Layer(*(np.zeros((h, d, k)) for _ in range(4)), M1=np.zeros((d, 0)), b1=np.zeros(0),
               M2=np.zeros((0, d)), b2=np.zeros(d))
    for i, s in enumerate(shifts):
        L0.Q[i][tdims:] = rotation3d(-2 * np.pi * s / block) * hardening
        L0.K[i][tdims:] = np.eye(3)
        L0.V[i] = rng.standard_normal((d, k)) * (rng.random((d, 1)) < 0.6)
        L0.V[i][0] += 1.0                   # live
        L0.P[i] = rng.standard_normal((d, k))
    layers = [L0]
    for _ in range(n_layers - 1):
        hh = int(rng.integers(1, 3))
        layers.append(Layer(*(rng.standard_normal((hh, d, k)) for _ in range(4)), M1=np.zeros((d, 0)),
                            b1=np.zeros(0), M2=np.zeros((0, d)), b2=np.zeros(d)))
    return Params(tok_emb=tok, pos_emb=pos, layers=layers).validate()


def reference_weights(params, toks):
    """The reference's layer-0 attention weights (n, n, h) on a token sequence."""
    x = params.tok_emb[toks] + params.pos_emb[np.arange(len(toks))]
    return reference.attention_pattern(reference.layer_norm(x, params.layers[0].ln1), params.layers[0])[3]


@QUICK
@given(st.integers(0, 2**32 - 1), st.sampled_from([np.float64, np.float32]),
       st.sampled_from([1e5, 1e8]), st.booleans(), st.data())
def test_fixed_heads_have_exactly_the_references_weights(seed, dtype, hardening, affine, data):
    rng = np.random.default_rng(seed)
    V, block = data.draw(st.integers(2, 12)), data.draw(st.integers(4, 16))
    params = relative_machine(rng, V, block, data.draw(st.integers(2, 6)), 1, hardening)
    if affine:   # gamma and beta: LN(x) on the position dims is still the same for every token
        L = params.layers[0]
        dm = params.d_model
        L.ln1 = LayerNorm(rng.uniform(0.5, 2, dm), rng.standard_normal(dm) * 0.1)
    params = params.astype(dtype)
    eng = fast.FastEngine(params)
    F = fixed_heads(eng.tok_emb, eng.pos_emb, eng.layers[0])
    if not affine:   # the ring's best key is unique and far ahead of the next (block >= 4, shifts <= 2)
        assert F is not None and F.heads.tolist() == list(range(params.layers[0].n_heads))  # the proof holds
    elif F is None:  # a random gamma can bring two keys within the gap (or tie them): nothing proven
        return
    weight = one_hot_weight(params.tok_emb.dtype)
    for _ in range(3):
        toks = rng.integers(0, V, data.draw(st.integers(1, block)))
        w = reference_weights(params, toks)
        n = len(toks)
        for j, h in enumerate(F.heads):
            expect = np.zeros((n, n), dtype=w.dtype)
            expect[np.arange(n), F.key_of[j, :n]] = weight
            np.testing.assert_array_equal(w[:, :, h], expect)


@QUICK
@given(st.integers(0, 2**32 - 1), st.data())
def test_the_proof_fails_where_the_pattern_is_not_fixed(seed, data):
    """Weak hardening (the softmax is not one-hot), or tokens of different norms with
    strong hardening (LN moves the position dims by token): no head is fixed, or one
    that is still has exactly the reference's one-hot weights."""
    rng = np.random.default_rng(seed)
    V, block = data.draw(st.integers(2, 10)), data.draw(st.integers(3, 12))
    weak = relative_machine(rng, V, block, 3, 1, hardening=1.0, shifts=[1])
    eng = fast.FastEngine(weak)
    assert fixed_heads(eng.tok_emb, eng.pos_emb, eng.layers[0]) is None
    uneven = relative_machine(rng, V, block, 3, 1, hardening=1e8, fixed_norm=False, shifts=[0, 1])
    eng = fast.FastEngine(uneven)
    F = fixed_heads(eng.tok_emb, eng.pos_emb, eng.layers[0])
    if F is not None:
        toks = rng.integers(0, V, block)
        w = reference_weights(uneven, toks)
        for j, h in enumerate(F.heads):
            assert np.all(w[np.arange(block), F.key_of[j], h] == one_hot_weight(np.float64))


@QUICK
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.data())
def test_engine_with_fixed_heads_matches_the_reference(seed, n_layers, data):
    rng = np.random.default_rng(seed)
    V, block = data.draw(st.integers(2, 9)), data.draw(st.integers(4, 12))   # block 3: ties at query 1
    params = relative_machine(rng, V, block, data.draw(st.integers(3, 6)), n_layers, 1e8)
    eng = fast.FastEngine(params)
    eng.generate([[0]], DecodeRule(steps=lambda n: 0))
    assert eng.layers[0].fixed is not None
    prompts = [rng.integers(0, V, data.draw(st.integers(1, block - 1))).tolist() for _ in range(4)]
    rule = DecodeRule(steps=lambda n: min(3, block - n))
    assert eng.generate(prompts, rule) == reference.generate_batch(params, prompts, rule)
    for toks in prompts[:2]:
        np.testing.assert_allclose(fast.forward_logits(params, [toks])[0], reference.forward(params, toks),
                                   rtol=1e-9, atol=1e-9)
        p32 = params.astype(np.float32)
        np.testing.assert_allclose(fast.forward_logits(p32, [toks])[0, -1], reference.forward(p32, toks)[-1],
                                   rtol=2e-3, atol=2e-3)


@functools.lru_cache(maxsize=None)
def search(**sets):
    return taotp.load_program("search", sets, progress=False)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sets", [{}, {"vocab_size": 10, "prefix_len": 3, "block": 30}])
def test_search_layer0_reads_h_positions_back(dtype, sets):
    prog = search(**sets)
    eng = fast.FastEngine(prog.params.astype(dtype))
    F = fixed_heads(eng.tok_emb, eng.pos_emb, eng.layers[0])
    h = prog.params.layers[0].n_heads
    assert F is not None and F.all_live and F.heads.tolist() == list(range(h))
    i = np.arange(prog.params.block_size)
    np.testing.assert_array_equal(F.key_of, np.maximum(i[None, :] - np.arange(h)[:, None], 0))


# -- the exact shortcuts ----------------------------------------------------------------------

@QUICK
@given(st.integers(0, 2**32 - 1), st.sampled_from([np.float64, np.float32]), st.booleans(), st.data())
def test_layer_norm_gives_the_references_bits(seed, dtype, affine, data):
    rng = np.random.default_rng(seed)
    d = data.draw(st.integers(1, 70))
    x = rng.standard_normal((data.draw(st.integers(1, 4)), data.draw(st.integers(1, 9)), d))
    x = (x * 10.0 ** data.draw(st.integers(-6, 8)) + rng.standard_normal() * 10.0 ** data.draw(st.integers(-3, 9)))
    x = x.astype(dtype)
    ln = LayerNorm(rng.uniform(0.5, 2, d), rng.standard_normal(d)) if affine else LayerNorm(np.ones(d), np.zeros(d))
    got = layer_norm(x, *ln_params(ln, dtype))
    want = reference.layer_norm(x, LayerNorm(ln.gamma.astype(dtype), ln.beta.astype(dtype)))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@QUICK
@given(st.integers(0, 2**32 - 1), st.sampled_from([np.float64, np.float32]), st.integers(1, 9), st.integers(1, 12))
def test_a_selection_matrix_as_a_gather_gives_the_products_bits(seed, dtype, n, c):
    rng = np.random.default_rng(seed)
    M = np.zeros((n, c))
    rows = rng.integers(0, n, c)
    keep = rng.random(c) < 0.8
    M[rows[keep], np.arange(c)[keep]] = rng.choice([1.0, -1.0, 1e8, rng.standard_normal()], keep.sum())
    M = M.astype(dtype)
    x = rng.standard_normal((5, 7, n)).astype(dtype)
    sel = column_selection(M)
    assert sel is not None
    np.testing.assert_array_equal(sel(x), x @ M)
    M[0, 0], M[-1, 0] = 1.0, 2.0
    assert n == 1 or column_selection(M) is None      # two non-zeros in a column: a product
