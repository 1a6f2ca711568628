"""The TransformerLens loader: a HookedTransformer computing the book's machine (issue 15).

Held against taotp.engine.reference (logits) and taotp.trace.cache (the activations
under the same hook names). Tolerances as in test_export_runtimes.py: torch sums in
other orders than numpy, so values agree to rounding (docs/export.md measures them).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("transformer_lens", reason="the tlens extra (in the test extra) is not installed")
import torch  # noqa: E402

import taotp  # noqa: E402
from taotp.engine import reference  # noqa: E402
from taotp.export.transformer_lens import hooked_transformer  # noqa: E402
from taotp.params import Layer, Params  # noqa: E402
from taotp.trace.cache import forward_with_cache  # noqa: E402

import export_cases as E  # noqa: E402

FAST = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = {np.float64: dict(rtol=1e-9, atol=1e-9), np.float32: dict(rtol=1e-3, atol=1e-3)}


def logits_of(model, toks) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(toks, dtype=np.int64))).numpy()


@FAST
@given(E.machine_and_tokens(), st.sampled_from([np.float64, np.float32]))
def test_logits_match_reference_on_random_machines(case, dtype):
    """Layers of different heads, d_head and d_ff are padded to the widest; each keeps
    its own 1/sqrt(d_head)."""
    params, toks = case
    p = params.astype(dtype)
    with np.errstate(all="ignore"):
        want = E.reference_logits(p, toks)
    got = logits_of(hooked_transformer(p, dtype), toks)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, **TOL[dtype])


@pytest.mark.parametrize("name", sorted(E.SHIPPED))
def test_shipped_programs_decode_as_the_reference(name):
    """At every read position that is not a near-tie: logits to 1e-6, the same argmax."""
    prog = E.program(name)
    model = hooked_transformer(prog)

    @settings(max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(taotp.strategies.inputs(prog))
    def agree(text):
        [(seq, reads)] = E.decoded(prog, [text], np.float64)
        got, want = logits_of(model, [seq])[0][reads], reference.forward(prog.params, seq)[reads]
        clear = E.clear_of_ties(want, prog.params)
        np.testing.assert_allclose(got[clear], want[clear], rtol=1e-7, atol=1e-6)
        assert (E.argmax(got[clear], prog.params) == E.argmax(want[clear], prog.params)).all()

    agree()


def test_run_with_cache_holds_taotp_traces_activations():
    """Hook names and values of taotp trace's cache (same names), pattern as (batch, head, q, k)."""
    prog = E.program("add")
    seq = list(prog.rule.prefix) + prog.encode("3+4=")
    model = hooked_transformer(prog)
    logits, cache = model.run_with_cache(torch.tensor([seq]))
    want_logits, want = forward_with_cache(prog.params, seq)
    np.testing.assert_allclose(logits[0].detach().numpy(), want_logits, rtol=1e-9, atol=1e-9)
    for name, value in want.items():
        got = cache[name][0].detach().numpy()
        if name.endswith("hook_attn_scores"):   # -inf above the diagonal in both
            got, value = np.where(np.isinf(value), 0, got), np.where(np.isinf(value), 0, value)
        np.testing.assert_allclose(got, value, rtol=1e-9, atol=1e-6, err_msg=name)


def test_logit_lens_uses_the_books_layer_norm():
    """accumulated_resid(apply_ln=True) divides by hook_scale = std + 1e-10: the last
    entry, unembedded, is the logits; hook_scale is the book's denominator."""
    prog = E.program("add_unpadded")
    seq = list(prog.rule.prefix) + prog.encode("7+5=")
    model = hooked_transformer(prog)
    logits, cache = model.run_with_cache(torch.tensor([seq]))
    lens = cache.accumulated_resid(apply_ln=True) @ model.W_U            # (layers + 1, batch, pos, vocab)
    np.testing.assert_allclose(lens[-1].detach().numpy(), logits.detach().numpy(), rtol=1e-9, atol=1e-9)
    x = cache["blocks.1.hook_resid_post"][0].detach().numpy()
    std = (x - x.mean(-1, keepdims=True)).std(-1, keepdims=True)
    np.testing.assert_allclose(cache["ln_final.hook_scale"][0].detach().numpy(), std + 1e-10, rtol=1e-12)


def test_layer_norm_keeps_epsilon_on_the_standard_deviation():
    """Rows of tiny variance tell the placements apart: the book's x / (std + 1e-10) versus
    TransformerLens's own x / sqrt(var + 1e-10), which here is 1e-5 times smaller."""
    from transformer_lens.components import LayerNorm

    from taotp.export.transformer_lens import _classes, config_for

    params = E.program("sort").params
    cfg = config_for(params, np.float64)
    book = _classes()[0](cfg)
    rows = np.array([[1e-11, -1e-11, 0, 0, 2e-11, -2e-11], [3.0, 1.0, 4.0, 1.0, 5.0, 9.0]])
    got = book(torch.tensor(rows)).detach().numpy()
    np.testing.assert_allclose(got, reference.layer_norm(rows), rtol=1e-12)
    theirs = LayerNorm(cfg)(torch.tensor(rows)).detach().numpy()
    assert abs(theirs[0]).max() < 1e-4 < abs(got[0]).max()


def test_padded_heads_add_nothing_and_each_layer_keeps_its_scale():
    """Layer 0: 1 head of d_head 2; layer 1: 3 heads of d_head 4. Layer 0 is padded to 3
    heads of 4: its extra heads' z and output are exactly 0."""
    rng = np.random.default_rng(7)
    d, V, T = 5, 6, 7
    mk = lambda h, k, f: Layer(*(rng.standard_normal(s) for s in [(h, d, k)] * 4 + [(d, f), (f,), (f, d), (d,)]))
    params = Params(tok_emb=rng.standard_normal((V, d)), pos_emb=rng.standard_normal((T, d)),
                    layers=[mk(1, 2, 0), mk(3, 4, 9)]).validate()
    model = hooked_transformer(params)
    assert (model.cfg.n_heads, model.cfg.d_head, model.cfg.d_mlp) == (3, 4, 9)
    assert model.blocks[0].attn.attn_scale == 2 ** 0.5
    toks = rng.integers(0, V, (2, T))
    logits, cache = model.run_with_cache(torch.as_tensor(toks))
    np.testing.assert_allclose(logits.detach().numpy(), E.reference_logits(params, toks), rtol=1e-9, atol=1e-9)
    z = cache["blocks.0.attn.hook_z"].detach().numpy()                  # (batch, pos, head, d_head)
    assert (z[:, :, 1:] == 0).all() and (z[:, :, :, 2:] == 0).all()
    assert (cache["blocks.0.mlp.hook_post"].detach().numpy() == 0).all()


def test_float16_is_refused():
    with pytest.raises(taotp.TaotpError, match="float32 or float64"):
        hooked_transformer(E.program("sort"), np.float16)


def test_per_head_results_sum_to_the_attention_output():
    """With use_attn_result on, hook_result holds each head's output (direct logit attribution)."""
    prog = E.program("search")
    model = hooked_transformer(prog)
    model.set_use_attn_result(True)
    seq = prog.encode("1 2 3 4 5 1 2 3")
    _, cache = model.run_with_cache(torch.tensor([seq]))
    heads = cache["blocks.1.attn.hook_result"]                                 # (batch, pos, head, d_model)
    assert heads.shape[2] == prog.params.layers[1].n_heads
    np.testing.assert_allclose(heads.sum(2).detach().numpy(), cache["blocks.1.hook_attn_out"].detach().numpy(),
                               rtol=1e-9, atol=1e-9)
