"""The fast engine's parts held against the plain computation they replace.

- layers of different shapes (heads, d_head, d_ff per layer: DESIGN.md §1), built
  directly in Python: each layer is read from its own arrays;
- layer 0's one-hot attention from (token, position) tables gives the bits of the
  reference-order einsums it replaces, on hardened random machines and on rows that
  are not one-hot (left to the einsums);
- a one-input MLP evaluated from its breakpoints equals the dense product to within
  the rounding of its terms, and a spike MLP (thm 6.1) returns its values at its points.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taotp.builtins.spike import build_spike_mlp
from taotp.decoding import DecodeRule
from taotp.engine import fast, reference
from taotp.engine.attention import attention, layer0_from_table
from taotp.engine.mlp import MLP
from taotp.params import Layer, LayerNorm, Params

QUICK = settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def random_layer(rng, d, h, k, f, scale=1.0):
    return Layer(*(rng.standard_normal(s) * scale for s in [(h, d, k)] * 4 + [(d, f), (f,), (f, d), (d,)]))


@QUICK
@given(st.integers(0, 2**32 - 1), st.data())
def test_layers_of_different_shapes_match_the_reference(seed, data):
    rng = np.random.default_rng(seed)
    V, block, d = data.draw(st.integers(2, 8)), data.draw(st.integers(3, 9)), data.draw(st.integers(2, 6))
    shapes = data.draw(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 5), st.sampled_from([0, 3, 70])),
                                min_size=2, max_size=3))
    layers = [random_layer(rng, d, h, k, f) for h, k, f in shapes]
    if data.draw(st.booleans()):
        layers[1].ln1 = LayerNorm(rng.uniform(0.5, 2, d), rng.standard_normal(d) * 0.1)
    params = Params(tok_emb=rng.standard_normal((V, d)), pos_emb=rng.standard_normal((block, d)),
                    layers=layers).validate()
    prompts = data.draw(st.lists(st.lists(st.integers(0, V - 1), min_size=1, max_size=block - 1),
                                 min_size=1, max_size=6))
    rule = DecodeRule(steps=lambda n: min(2, block - n))
    assert fast.generate_batch(params, prompts, rule) == reference.generate_batch(params, prompts, rule)
    for toks in prompts[:2]:
        np.testing.assert_allclose(fast.forward_logits(params, [toks])[0], reference.forward(params, toks),
                                   rtol=1e-9, atol=1e-9)


@QUICK
@given(st.integers(0, 2**32 - 1), st.sampled_from([1.0, 1e3, 1e6]), st.sampled_from([np.float64, np.float32]),
       st.data())
def test_one_hot_tables_give_the_einsums_bits(seed, hardening, dtype, data):
    """Scores scaled up make most heads one-hot (the tables' case); the others are left
    to the reference-order einsums. Either way: the same bits as those einsums."""
    rng = np.random.default_rng(seed)
    V, block, d = data.draw(st.integers(2, 9)), data.draw(st.integers(2, 12)), data.draw(st.integers(2, 7))
    h, k = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))
    L = random_layer(rng, d, h, k, 0)
    L.Q *= hardening
    params = Params(tok_emb=rng.standard_normal((V, d)), pos_emb=rng.standard_normal((block, d)),
                    layers=[L]).validate().astype(dtype)
    eng = fast.FastEngine(params)
    tab = eng.table()
    tab.note_work(10**9, 1)              # build the one-hot tables now
    assert tab.one_hot
    B, T = data.draw(st.integers(1, 20)), data.draw(st.integers(1, block))
    kid = rng.integers(0, V, (B, T)) * block + np.arange(T)
    got = layer0_from_table(eng.layers[0], tab, kid[:, -1:], kid, True, None, None, 0)
    want, _ = attention(eng.layers[0], tab.q[kid[:, -1:]], tab.k[kid], tab.v[kid], True)
    np.testing.assert_array_equal(got, want)


@QUICK
@given(st.integers(0, 2**32 - 1), st.integers(64, 300), st.integers(1, 4))
def test_a_one_input_mlp_from_its_breakpoints_equals_the_dense_product(seed, f, d):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(f) * (rng.random(f) > 0.1)          # some units with w = 0
    L = Layer(*(np.zeros(s) for s in [(1, d, 1)] * 4), M1=np.zeros((d + 1, f)), b1=rng.standard_normal(f),
              M2=rng.standard_normal((f, d + 1)), b2=rng.standard_normal(d + 1))
    L.M1[d // 2] = w
    mlp = MLP(L, np.float64)
    assert mlp.by_breakpoints
    lx = rng.standard_normal((50, d + 1)) * 3
    x = lx[:, d // 2]
    terms = np.maximum(x[:, None] * w + L.b1, 0)[:, :, None] * L.M2[None]      # (50, f, d+1)
    # both are sums of the same f terms; each rounds by at most f ulps of their magnitude
    bound = f * 2.0 ** -52 * np.abs(terms).sum(axis=1) * 4 + 1e-300
    assert np.all(np.abs(mlp(lx) - (terms.sum(axis=1) + L.b2)) <= bound)


@QUICK
@given(st.lists(st.integers(-10**4, 10**4), min_size=2, max_size=60, unique=True), st.integers(0, 2**32 - 1))
def test_a_spike_mlp_from_its_breakpoints_returns_its_values_at_its_points(points, seed):
    x = np.array(points, dtype=np.float64) / 100
    values = np.random.default_rng(seed).standard_normal((x.size, 3)) * 1e10   # as ch. 6's 1e10 * embedding
    M1, b1, M2, b2, _ = build_spike_mlp(x, values)
    L = Layer(*(np.zeros(s) for s in [(1, 1, 1)] * 4), M1=M1, b1=b1, M2=M2, b2=b2)
    mlp = MLP(L, np.float64)
    dense = np.maximum(x[:, None] @ M1 + b1, 0) @ M2 + b2
    np.testing.assert_allclose(mlp(x[:, None]), values, rtol=0, atol=1e-6 * 1e10)
    np.testing.assert_allclose(dense, values, rtol=0, atol=1e-6 * 1e10)

