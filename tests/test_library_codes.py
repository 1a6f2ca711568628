"""The standard library's codes (taotp/stdlib/codes.taotp), their numeric builtins
(complete, harden_for, ln_points) and proper cleanup (taotp/stdlib/cleanup.taotp)."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import taotp
from taotp.builtins.codes import complete, ln_points
from taotp.builtins.hardening import FLOAT32_EPS, LEAK, ROUNDING_SHARE, hardening
from taotp.errors import CompileError, TaotpError
from taotp.layernorm import embedding_scales

from stdlib_support import compiled, read_slot, stream

FAST = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 5)),
                  elements=st.floats(-1, 1)))
def test_complete_makes_codes_or_refuses(v):
    m = v.shape[1]
    s, q = v.sum(axis=1), (v ** 2).sum(axis=1)
    if np.all(s ** 2 <= 2 * (m + 2 - q)):
        c = complete(v)
        assert c.shape == (v.shape[0], m + 2) and np.array_equal(c[:, :m], v)
        assert np.allclose(c.mean(axis=1), 0, atol=1e-12) and np.allclose((c ** 2).sum(axis=1), m + 2)
    else:
        with pytest.raises(CompileError, match="too large"):
            complete(v)


@FAST
@given(st.floats(1e-6, 10), st.integers(1, 10_000), st.integers(1, 64), st.floats(0, 100))
def test_harden_for_leaves_at_most_the_leak_or_refuses(gap, n_keys, d_head, score_max):
    try:
        h = hardening(gap, n_keys, d_head, score_max)
    except CompileError as e:
        noise = max(score_max, gap) * (d_head + 2) * FLOAT32_EPS
        assert noise > ROUNDING_SHARE * gap or "float32 can hold" in e.message
        return
    # even with float32's rounding eating its share of the gap, the losers keep <= LEAK
    lost = (n_keys - 1) * math.exp(-h * gap * (1 - ROUNDING_SHARE) / math.sqrt(d_head))
    assert lost <= LEAK * (1 + 1e-9)
    assert h * max(score_max, gap) <= 1e30


def test_ln_points_are_what_layer_norm_leaves_and_refuses_ties():
    rows = np.array([[1.0, 2, 3, 4], [2, 4, 6, 8.5], [0, 0, 1, 0]])
    want = [(r - r.mean()) / (r.std() + 1e-10) @ [1, 0, 0, 0] for r in rows]
    assert np.allclose(ln_points(rows, [1, 0, 0, 0]), want)
    with pytest.raises(CompileError, match="rows 0 and 1 look the same"):
        ln_points([[1.0, 2, 3, 4], [6, 7, 8, 9]], [1, 0, 0, 0])      # shifted: layer norm makes it equal


CODES = """import codes
vocab chars("abcde") + ["<bos>"]
model block=20, heads=0
let tok = codes.token_code()
let pos = codes.position_code()
let ring = codes.ring_position_code()
let one = codes.one()
"""


def test_token_position_and_ring_codes_are_fixed_under_layer_norm():
    prog = compiled(CODES)
    e = embedding_scales(prog.params)
    assert e["identity"] and e["mean_max"] < 1e-12, e
    assert prog.notes["stream"]["library"]        # every dimension is a library slot
    a, b = prog.slots["position"]
    u = (np.arange(20) - 19 / 2) / 20                  # centred: (p - (B - 1) / 2) / B
    assert np.allclose(prog.params.pos_emb[:, a:a + 2], np.stack([u, u ** 2], axis=1))
    a, b = prog.slots["one"]
    assert np.array_equal(prog.params.pos_emb[:, a:b], np.tile([1.0, -1.0], (20, 1)))


@pytest.mark.parametrize("body, words", [
    ('let c = codes.code_of(tok, "z")\n', "'z' is not one of the values the code holds (a, b, c"),
    ("let v = codes.value_slot(\"v\", [1])\n", "at least 2 values"),
    ("let r = codes.indicator(pos, [1])\n", "needs an onehot code, got a position code"),
    ('let v = codes.value_slot("v", ["a", 99])\ncodes.emit(v)\n', "99, which is not a token"),
])
def test_code_mistakes_are_named(body, words):
    with pytest.raises(TaotpError) as info:
        taotp.compile_source(CODES + body, "t.taotp")
    assert words in str(info.value) and "called from t.taotp" in str(info.value), str(info.value)


CLEANUP = """import codes
import attend
import cleanup
vocab chars("abcd")
model block=10, heads=0
decode steps=1
let tok = codes.token_code()
layer 0:
  let prev = attend.shift(1, tok)
layer 1:
  cleanup.proper(prev)
"""


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.text(alphabet="abcd", min_size=1, max_size=10), min_size=1, max_size=10))
def test_proper_cleanup_returns_a_slot_to_its_padding(texts):
    prog = compiled(CLEANUP)
    for dtype, tol in ((np.float64, 1e-9), (np.float32, 1e-5)):
        for t in texts:
            x = stream(prog, t, dtype)
            got, err = read_slot(prog, x, "token_2", list("abcd"))
            assert got == ["a"] * len(t) and err <= tol         # padding_block(4) is a's code
            assert np.allclose(x[:, :4], np.eye(4)[["abcd".index(c) for c in t]] * 4 / np.sqrt(3) - 1 / np.sqrt(3),
                               atol=tol)                          # the token code itself is untouched
