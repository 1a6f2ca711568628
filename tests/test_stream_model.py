"""The machine's side of the stream model (taotp/lang/writes.py, allocation.py,
taotp/layernorm.py): which sublayer writes which slot, write-once library slots,
release_slot, notes on adds into earlier writes, heads as wide as they need, and the
layer-norm diagnostics of `params` and `check`."""

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp.cli import main
from taotp.engine import reference
from taotp.errors import TaotpError
from taotp.layernorm import report

HEAD = """vocab chars("ab")
model block=4, heads=0
let s = new_slot("s", 2)
"""
WRITE = """  head new_head(2):
    V[s, 0:2] = eye(2)
    P[s, 0:2] = eye(2)
"""


def compile_text(text: str):
    return taotp.compile_source(text, "t.taotp")


def test_a_library_slot_is_written_once_and_the_error_names_the_first_write():
    text = HEAD + "layer 0:\n" + WRITE + "layer 1:\n" + WRITE
    with pytest.raises(TaotpError) as info:
        compile_text(text)
    msg = str(info.value)
    assert msg.startswith("t.taotp:11:5:") and "slot 's' already holds the value layer 0 head 0 wrote (t.taotp:7)" in msg
    assert "layer 1 head 0 writes it again" in msg and "new_slot" in msg


def test_release_slot_lets_a_later_sublayer_write_again():
    release = "  head new_head(2):\n    release_slot(s)\n    P[s, 0:2] = -eye(2)\n"
    prog = compile_text(HEAD + "layer 0:\n" + WRITE + "layer 1:\n" + release + "layer 2:\n" + WRITE)
    assert prog.notes["stream"]["adds"] == []
    with pytest.raises(TaotpError, match="only a later sublayer can release it"):
        compile_text(HEAD + "layer 1:\n" + WRITE + "layer 0:\n" + release)
    with pytest.raises(TaotpError, match="both writes and releases"):
        compile_text(HEAD + "layer 0:\n" + WRITE + "    release_slot(s)\n")


def test_one_sublayer_may_write_a_slot_in_several_statements():
    prog = compile_text(HEAD + "layer 0:\n" + WRITE + "  head 0:\n    P[s, 0:2] += eye(2)\n")
    assert prog.notes["stream"] == {"adds": [], "library": True, "scratch": []}


def test_adds_into_a_stream_slot_are_noted_with_both_places():
    text = """vocab chars("ab")
model block=4, heads=1, d_head=2, d_ff=2
stream acc:2, other:2
layer 0:
  M2[0, acc] = 1
layer 1:
  head 0:
    P[acc, 0:2] = eye(2)
"""
    prog = compile_text(text)
    assert prog.notes["stream"]["adds"] == [
        "layer 1 head 0 (t.taotp:8) adds into slot 'acc', written by layer 0's MLP (t.taotp:5)"]
    assert not prog.notes["stream"]["library"]


def test_params_shows_the_embedding_check_and_the_notes(tmp_path):
    path = tmp_path / "acc.taotp"
    path.write_text('vocab chars("ab")\nmodel block=4, d_ff=1\nstream acc:3\ntok_emb[:, acc] = ring3d_array(2)\n'
                    "layer 0:\n  M2[0, acc] = 1\nlayer 1:\n  M2[0, acc] = 2\n")
    r = CliRunner().invoke(main, ["params", str(path)])
    assert r.exit_code == 0, r.output
    assert "layer norm at layer 0: the identity on every embedding row" in r.output
    assert "note: layer 1's MLP (acc.taotp:8) adds into slot 'acc', written by layer 0's MLP (acc.taotp:6)" in r.output
    r = CliRunner().invoke(main, ["params", "hello"])
    assert "layer norm at layer 0: divides the embedding rows by 999999-1e+06" in r.output


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 4), st.integers(5, 9), st.integers(0, 1000))
def test_a_wider_head_later_keeps_every_earlier_score(k1, k2, seed):
    """new_head(k) on a layer whose d_head the program left out widens it; earlier heads'
    queries are scaled so that q.k / sqrt(d_head) is unchanged: the same logits."""
    base = f"""vocab chars("abcd")
model block=6, heads=0
stream t:4
tok_emb[:, t] = random_normal([4, 4], seed={seed})
layer 0:
  head new_head({k1}):
    Q[t, 0:{k1}] = random_normal([4, {k1}], seed={seed} + 1) * 3
    K[t, 0:{k1}] = random_normal([4, {k1}], seed={seed} + 2)
    V[t, 0:{k1}] = random_normal([4, {k1}], seed={seed} + 3)
    P[t, 0:{k1}] = random_normal([4, {k1}], seed={seed} + 4)
"""
    a = compile_text(base).params
    b = compile_text(base + f"  head new_head({k2}):\n    Q[t, 0] = 1\n").params   # V = P = 0: adds nothing
    assert a.layers[0].d_head == k1 and b.layers[0].d_head == k2
    toks = np.random.default_rng(seed).integers(0, 4, 6)
    np.testing.assert_allclose(reference.forward(a, toks), reference.forward(b, toks), rtol=1e-12, atol=1e-12)


def test_a_d_head_the_program_gave_is_not_widened():
    with pytest.raises(TaotpError, match=r"new_head\(5\): layer 0 has d_head=3, given by the program"):
        compile_text('vocab chars("ab")\nmodel block=4, heads=0, d_head=3\nstream t:2\nlayer 0:\n  let h = new_head(5)\n')
    prog = compile_text('vocab chars("ab")\nmodel block=4, heads=0\nstream t:2\nlayer 0:\n  let h = new_head(5)\n')
    assert prog.params.layers[0].d_head == 5


BROKEN = """import codes
vocab chars("ab")
model block=4, heads=0
let tok = codes.token_code()
let s = new_slot("s", 2)
layer 0:
  head new_head(2):
    V[tok.slot, 0:2] = eye(2, 2) * 3     # adds into s without removing its padding
    P[s, 0:2] = eye(2)
decode steps=1
"""


def test_check_warns_when_a_library_program_departs_from_scale_1():
    prog = compile_text(BROKEN)
    r = report(prog, [[0, 1, 0], [1, 1]], prog.params)
    assert r["library"] and r["embeddings"]["identity"]
    assert r["warning"] and "layer 0 MLP divides by" in r["warning"] and "stream model" in r["warning"]
    good = taotp.load_program("reverse", progress=False)
    r = report(good, [list(good.encode("abc=")) + [2, 1]], good.params)
    assert r["warning"] is None and all(abs(s["min"] - 1) < 1e-9 and abs(s["max"] - 1) < 1e-9 for s in r["measured"])


def test_a_program_whose_slots_come_later_starts_without_width(tmp_path):
    later = 'import codes\nimport mlp\nvocab chars("ab0123")\nmodel block=4{}\ndecode steps=1\n' \
            'layer 0:\n  codes.emit(mlp.lookup_position(codes.position_code(), str, "n"))\n'
    with pytest.raises(TaotpError, match=r"layer 0 has 1 head\(s\) of d_head = d_model, which is 0 here"):
        compile_text(later.format(""))
    assert compile_text(later.format(", heads=0")).params.d_model == 4 + 2 + 4
    with pytest.raises(TaotpError, match="the model has no width yet") as info:
        compile_text('vocab chars("ab")\nmodel block=3\ntok_emb[0, 0:1] = 1\n')
    assert str(info.value).startswith("t.taotp:3:1:")
    path = tmp_path / "idle.taotp"
    path.write_text(later.format(", heads=1, d_head=2").replace("codes.emit", "let h = new_head(2)\n  codes.emit"))
    r = CliRunner().invoke(main, ["params", str(path)])
    assert "note: layer 0 head(s) 0, 1 all zero" in r.output, r.output


def test_check_prints_the_layer_norm_report():
    from taotp.check import check, format_result

    text = format_result(check(taotp.load_program("add", {"n_digits": "1"}, progress=False), samples=50, progress=False))
    assert "layer norm at layer 0: the identity on every embedding row" in text
    assert "layer-norm scale (the std it divides by; 50 inputs): layer 0 attention 1" in text
    assert "note: layer 0's MLP (add.taotp:" in text and "adds into slot 'val'" in text
    assert "warning" not in text              # not a library program: no claim that the scale is 1
