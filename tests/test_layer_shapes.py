"""Layers of different shapes (`layer i heads=H, d_head=K, d_ff=F:`) and allocation from
inside a program (new_head, new_neurons, new_slot): the language builds them, and
both engines, counting, compile/load and trace handle them."""

import functools
import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp.cli import main
from taotp.compiler import load_weights, program_from_literal, save_weights
from taotp.decoding import DecodeRule
from taotp.engine import fast, reference
from taotp.errors import TaotpError
from taotp.params import Layer, Params

FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Layer 0: attention only, 3 heads of 3. Layer 1: one head of 2 and a 5-unit MLP.
MIXED = """
param seed = 0
vocab chars("abcd")
model block=8, heads=1, d_head=2, d_ff=5
stream t:4, p:4
tok_emb[:, t] = eye(4) * 2
pos_emb[:, p] = random_normal([8, 4], seed=seed)
layer 0 heads=3, d_head=3, d_ff=0:
  for h in range(3):
    head h:
      Q = random_normal([8, 3], seed=seed + 10 + h) * 2
      K = random_normal([8, 3], seed=seed + 20 + h)
      V = random_normal([8, 3], seed=seed + 30 + h)
      P = random_normal([8, 3], seed=seed + 40 + h)
layer 1:
  head 0:
    Q = random_normal([8, 2], seed=seed + 50) * 2
    K = random_normal([8, 2], seed=seed + 51)
    V = random_normal([8, 2], seed=seed + 52)
    P = random_normal([8, 2], seed=seed + 53)
  M1 = random_normal([8, 5], seed=seed + 60)
  b1 = random_normal([5], seed=seed + 61)
  M2 = random_normal([5, 8], seed=seed + 62)
decode steps = 3
"""


@functools.lru_cache(maxsize=None)
def mixed(seed=0):
    return taotp.compile_source(MIXED, "mixed.taotp", {"seed": str(seed)})


def book_count(p: Params) -> int:
    """Fig. 1.4, written out per layer: tied embeddings + Q, K, V, P, M1, b1, M2, b2."""
    d = p.d_model
    return (p.vocab_size + p.block_size) * d + sum(
        4 * L.n_heads * d * L.d_head + 2 * d * L.d_ff + L.d_ff + d for L in p.layers)


def test_each_layer_has_its_own_shape_and_the_book_count():
    p = mixed().params
    assert [(L.n_heads, L.d_head, L.d_ff) for L in p.layers] == [(3, 3, 0), (1, 2, 5)]
    assert p.count()["n_params"] == book_count(p) == 12 * 8 + (4 * 3 * 8 * 3 + 8) + (4 * 8 * 2 + 2 * 8 * 5 + 5 + 8)


prompts = st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=5), min_size=1, max_size=6)


@FAST
@given(st.integers(0, 5), prompts)
def test_fast_engine_matches_the_reference_on_mixed_layers(seed, batch):
    params = mixed(seed).params
    for toks in batch:
        np.testing.assert_allclose(fast.forward_logits(params, [toks])[0], reference.forward(params, toks),
                                   rtol=1e-9, atol=1e-9)
    rule = DecodeRule(steps=lambda n: 3)
    assert fast.generate_batch(params, batch, rule) == reference.generate_batch(params, batch, rule)


@FAST
@given(st.integers(0, 5), prompts)
def test_float32_on_mixed_layers_stays_close_to_the_reference(seed, batch):
    """float32 sums in another order in each engine: agreement to float32 rounding (2e-3 on
    logits of order 10, as test_fast_engine states)."""
    p32 = mixed(seed).params.astype(np.float32)
    for toks in batch:
        got = fast.forward_logits(p32, [toks])[0]
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, reference.forward(p32, toks), rtol=2e-3, atol=2e-3)


@st.composite
def machines(draw):
    """Random Params whose layers each draw their own heads (0-3), d_head and d_ff (0-9)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    V, block, d = draw(st.integers(2, 6)), draw(st.integers(3, 8)), draw(st.integers(2, 6))
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        h, k, f = draw(st.integers(0, 3)), draw(st.integers(1, 4)), draw(st.integers(0, 9))
        layers.append(Layer(*(rng.standard_normal(s) for s in [(h, d, k)] * 4 + [(d, f), (f,), (f, d), (d,)])))
    return Params(tok_emb=rng.standard_normal((V, d)), pos_emb=rng.standard_normal((block, d)),
                  layers=layers).validate()


@FAST
@given(machines(), st.data())
def test_random_machines_with_layers_of_different_shapes_match(params, data):
    toks = data.draw(st.lists(st.integers(0, params.vocab_size - 1), min_size=1, max_size=params.block_size))
    np.testing.assert_allclose(fast.forward_logits(params, [toks])[0], reference.forward(params, toks),
                               rtol=1e-9, atol=1e-9)
    rule = DecodeRule()
    assert fast.generate_batch(params, [toks], rule) == reference.generate_batch(params, [toks], rule)


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_compile_and_load_keep_each_layers_shape(tmp_path, suffix):
    prog = mixed(3)
    out = tmp_path / f"mixed{suffix}"
    save_weights(prog, out)
    back = load_weights(out) if suffix == ".npz" else program_from_literal(json.loads(out.read_text()), out)
    for a, b in zip(prog.params.layers, back.params.layers):
        for key, m in a.matrices().items():
            assert np.array_equal(m, getattr(b, key)), key
    texts = ["a", "abc", "dcba", "bb"]
    assert back.run_batch(texts) == prog.run_batch(texts) == prog.run_batch(texts, engine="reference")


def test_params_and_trace_commands_show_each_layers_shape(tmp_path):
    path = tmp_path / "mixed.taotp"
    path.write_text(MIXED)
    runner = CliRunner()
    r = runner.invoke(main, ["params", str(path), "--json"])
    data = json.loads(r.output)
    assert data["shape"]["heads"] is None and data["shape"]["d_model"] == 8
    assert [(L["heads"], L["d_head"], L["d_ff"]) for L in data["layers"]] == [(3, 3, 0), (1, 2, 5)]
    text = runner.invoke(main, ["params", str(path)]).output
    assert "layer 0 attention (3 head(s) of 3)" in text and "layer 1 MLP (d_ff 5)" in text
    r = runner.invoke(main, ["trace", str(path), "--input", "abc"])
    assert r.exit_code == 0 and "3/1 heads" in r.output and "L0 h2" in r.output


# -- allocation from inside a program ---------------------------------------------------

GROW = """vocab chars("ab")
model block=3, heads=1, d_head=2, d_ff=1
stream t:2
tok_emb[:, t] = eye(2)
layer 0:
  M1[t, 0] = 1
  head new_head():
    Q[t, 0:2] = eye(2)
  let u = new_neurons(2)
  M1[t, u] = eye(2) * 2
  b1[u] = 0.5
  M2[u, t] = eye(2)
  let h2 = new_head()
  assert h2 == 2 and model.heads == 1
let s = new_slot("acc", 3)
tok_emb[:, s] = ones([2, 3])
layer 1 d_ff=0:
  head 0:
    K[s, 0:2] = ones([3, 2])
"""


def test_new_head_new_neurons_and_new_slot_grow_the_machine():
    prog = taotp.compile_source(GROW, "grow.taotp")
    p = prog.params
    L0, L1 = p.layers
    assert (L0.n_heads, L0.d_ff, L1.n_heads, L1.d_ff, p.d_model) == (3, 3, 1, 0, 5)
    assert np.array_equal(L0.M1[0:2], [[1, 2, 0], [1, 0, 2]]) and not L0.M1[2:].any()  # old + new units, zero rows
    assert np.array_equal(L0.Q[1][0:2], np.eye(2)) and not L0.Q[1][2:].any()
    assert np.array_equal(L0.b1, [0, 0.5, 0.5]) and np.array_equal(L0.M2[1:, 0:2], np.eye(2))
    assert np.array_equal(p.tok_emb[:, 2:], np.ones((2, 3))) and np.array_equal(p.tok_emb[:, :2], np.eye(2))
    pad = np.array([np.sqrt(2), -1 / np.sqrt(2), -1 / np.sqrt(2)])  # padding_block(3), §4.1
    assert np.allclose(p.pos_emb[:, 2:], pad) and not p.pos_emb[:, :2].any()
    assert prog.slots == {"t": (0, 2), "acc": (2, 5)}
    assert p.count()["n_params"] == book_count(p)


def test_new_slot_before_the_weights_exist_is_padded_when_they_are_allocated():
    prog = taotp.compile_source('vocab ints(2)\nmodel block=2\nlet a = new_slot("a", 2)\nlet b = new_slot("a", 4)\n'
                                "assert model.d_model == 6\ntok_emb[0, a] = 1\n", "t.taotp")
    assert prog.slots == {"a": (0, 2), "a_2": (2, 6)}
    block = prog.params.pos_emb
    assert np.allclose(block.mean(axis=1), 0) and np.allclose((block ** 2).sum(axis=1), 6)


@pytest.mark.parametrize("body, where, words", [
    ('let s = new_slot("x", 4)\n', (4, 9), "past the model's d_model=6"),
    ('let s = new_slot("x", 1)\n', (4, 9), "size must be an integer >= 2"),
    ('tok_emb[:, 3:5] = 1\nlet s = new_slot("x", 2)\n', (5, 9), "already hold weights"),
    ("layer 0 head=2:\n  Q = 1\n", (4, 9), "did you mean 'heads'"),
    ("layer 0 heads=-1:\n  Q = 1\n", (4, 9), "non-negative integer"),
    ("layer 0:\n  Q = 1\nlayer 0 heads=2:\n  Q = 1\n", (6, 1), "already has heads=1"),
    ("layer 0 d_head=0:\n  Q = 1\n", (4, 1), "d_head=0"),
    ("let h = new_head()\n", (4, 9), "inside a `layer i:` block"),
    ("layer 0:\n  let u = new_neurons(1.5)\n", (5, 11), "non-negative integer"),
    ("layer 0 heads=2:\n  head 2:\n    Q = 1\n", (5, 8), "[0, 2)"),
])
def test_shape_and_allocation_mistakes_are_located(body, where, words):
    head = "vocab ints(3)\nmodel block=4, d_model=6\nstream p:3\n"
    with pytest.raises(TaotpError) as info:
        taotp.compile_source(head + body, "t.taotp")
    text = str(info.value)
    assert text.startswith(f"t.taotp:{where[0]}:{where[1]}:") and words in text, text
