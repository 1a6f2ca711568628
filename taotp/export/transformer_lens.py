"""A taotp program as a TransformerLens HookedTransformer (transformer-lens 3.x).

    from taotp.export.transformer_lens import hooked_transformer
    model = hooked_transformer(taotp.load_program("sort"))
    logits, cache = model.run_with_cache(torch.tensor([ids]))
    cache["blocks.0.attn.hook_pattern"]                   # (batch, head, query, key)
    cache.accumulated_resid(apply_ln=True) @ model.W_U    # the logit lens

TransformerLens 4 removed HookedTransformer (TransformerBridge wraps HuggingFace
models instead), hence the 3.x pin of the `tlens` extra.

What TransformerLens does not offer, and what is put in its place:

- its LayerNorm puts epsilon inside the square root (x / sqrt(var + eps)); the book
  adds it to the standard deviation. BookLayerNorm (a subclass, same hook points)
  computes (x - mean) / (sqrt(var) + 1e-10); hook_scale holds sqrt(var) + 1e-10, so
  the cache's apply_ln_to_stack (the logit lens) divides by the book's denominator;
- its attention softmax has no +1e-10 in the denominator: BookAttention (a subclass
  of its Attention, same hook points) runs the book's softmax;
- folding is off: the weights are loaded as they are (no fold_ln, no centering,
  no value-bias folding), biases b_Q, b_K, b_V, b_O, b_U are zero;
- it wants one n_heads, d_head and d_mlp for every layer: layers with fewer are
  padded with zeros (padded heads have zero Q, K, V, O: their output is exactly 0 and
  their pattern, uniform over the causal prefix, means nothing; padded MLP units
  have zero weights and bias: relu(0) = 0 contributes nothing). Each layer keeps its
  own 1/sqrt(d_head) by setting that layer's attn_scale, not by rescaling Q; the
  zero columns add exact zeros to q.k (docs/export.md measures the results).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import UsageError
from . import layout
from .optional import require


def _classes():
    """BookLayerNorm and BookAttention, built on first use (TransformerLens is optional)."""
    require("transformer_lens", "the TransformerLens loader")
    import torch
    import torch.nn.functional as F
    from transformer_lens.components import Attention, LayerNorm

    class BookLayerNorm(LayerNorm):
        """(x - mean) / (sqrt(mean((x - mean)^2)) + 1e-10) * w + b, TransformerLens's hooks."""

        def forward(self, x):
            c = x - x.mean(-1, keepdim=True)
            var = (c * c).mean(-1, keepdim=True)
            scale = self.hook_scale(var.sqrt() + layout.EPS)
            # var - var: 0, or NaN where var overflowed (c / inf would quietly be 0)
            return self.hook_normalized(c / scale + (var - var)) * self.w + self.b

    class BookAttention(Attention):
        """TransformerLens's attention with the book's softmax: exp(s - max) / (sum + 1e-10)."""

        def forward(self, query_input, key_input, value_input, past_kv_cache_entry=None,
                    additive_attention_mask=None, attention_mask=None, position_bias=None):
            q, k, v = self.calculate_qkv_matrices(query_input, key_input, value_input)
            offset = 0
            if past_kv_cache_entry is not None:
                offset = past_kv_cache_entry.past_keys.size(1)
                k, v = past_kv_cache_entry.append(k, v)
            scores = self.apply_causal_mask(self.calculate_attention_scores(q, k), offset, attention_mask)
            if additive_attention_mask is not None:
                scores = scores + additive_attention_mask
            scores = self.hook_attn_scores(scores)                            # (b, h, q, k)
            e = torch.exp(scores - scores.amax(-1, keepdim=True))
            pattern = self.hook_pattern(e / (e.sum(-1, keepdim=True) + layout.EPS))
            z = self.calculate_z_scores(v, pattern)                           # (b, q, h, d_head)
            if self.cfg.use_attn_result:
                result = self.hook_result(torch.einsum("bqhk,hkd->bqhd", z, self.W_O))
                return result.sum(-2) + self.b_O
            w = self.W_O.permute(2, 0, 1).reshape(self.cfg.d_model, -1)      # (d, h*k)
            return F.linear(z.reshape(z.shape[0], z.shape[1], -1), w, self.b_O)

    return BookLayerNorm, BookAttention


def config_for(params, dtype, name: str = "taotp"):
    """The HookedTransformerConfig: the widest layer's heads, d_head and d_ff for all."""
    import torch
    from transformer_lens import HookedTransformerConfig

    layers = params.layers
    no_mlp = all(L.d_ff == 0 and not np.any(L.b2 != 0) for L in layers)
    return HookedTransformerConfig(
        n_layers=len(layers), d_model=params.d_model, n_ctx=params.block_size,
        d_vocab=params.vocab_size, d_vocab_out=params.vocab_size,
        n_heads=max([L.n_heads for L in layers] + [1]), d_head=max([L.d_head for L in layers] + [1]),
        d_mlp=None if no_mlp else max([L.d_ff for L in layers] + [1]), attn_only=no_mlp,
        act_fn="relu", normalization_type="LN", eps=layout.EPS, positional_embedding_type="standard",
        dtype=getattr(torch, np.dtype(dtype).name), device="cpu", default_prepend_bos=False,
        init_weights=False, model_name=name, tokenizer_name=None,
    )


def _state_dict(params, cfg, dtype) -> dict:
    """TransformerLens's parameter names, each layer's arrays placed in the padded shapes."""
    import torch

    H, K, F, d = cfg.n_heads, cfg.d_head, cfg.d_mlp, params.d_model
    t = lambda a: torch.from_numpy(np.array(a, dtype=dtype))
    zeros = lambda *shape: np.zeros(shape, dtype=dtype)
    ln = lambda norm: (t(layout.ln_vector(norm.gamma, d, dtype)), t(layout.ln_vector(norm.beta, d, dtype)))
    sd = {"embed.W_E": t(params.tok_emb), "pos_embed.W_pos": t(params.pos_emb),
          "unembed.W_U": t(params.unembedding.T), "unembed.b_U": t(zeros(params.vocab_size))}
    sd["ln_final.w"], sd["ln_final.b"] = ln(params.lnf)
    for i, L in enumerate(params.layers):
        b, h, k, f = f"blocks.{i}.", L.n_heads, L.d_head, L.d_ff
        for name, M in (("W_Q", L.Q), ("W_K", L.K), ("W_V", L.V)):
            W = zeros(H, d, K)
            W[:h, :, :k] = M
            sd[b + "attn." + name] = t(W)
        W_O = zeros(H, K, d)
        W_O[:h, :k, :] = np.transpose(L.P, (0, 2, 1))                      # P (h, d, k) -> (h, k, d)
        sd[b + "attn.W_O"] = t(W_O)
        for name in ("b_Q", "b_K", "b_V"):
            sd[b + "attn." + name] = t(zeros(H, K))
        sd[b + "attn.b_O"] = t(zeros(d))
        sd[b + "ln1.w"], sd[b + "ln1.b"] = ln(L.ln1)
        if not cfg.attn_only:
            W_in, b_in, W_out = zeros(d, F), zeros(F), zeros(F, d)
            W_in[:, :f], b_in[:f], W_out[:f] = L.M1, L.b1, L.M2
            sd[b + "mlp.W_in"], sd[b + "mlp.b_in"], sd[b + "mlp.W_out"] = t(W_in), t(b_in), t(W_out)
            sd[b + "mlp.b_out"] = t(L.b2)
            sd[b + "ln2.w"], sd[b + "ln2.b"] = ln(L.ln2)
    return sd


def hooked_transformer(program_or_params, dtype=np.float64):
    """A HookedTransformer computing the program's machine (see the module docstring).
    Takes a Program or Params; runs in float64 (default) or float32 on the CPU."""
    require("transformer_lens", "the TransformerLens loader")
    from transformer_lens import HookedTransformer

    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise UsageError(f"the TransformerLens loader runs in float32 or float64, not {dtype}")
    params = getattr(program_or_params, "params", program_or_params)
    name = getattr(program_or_params, "name", "taotp")
    cfg = config_for(params, dtype, name)
    with warnings.catch_warnings():  # 3.x announces HookedTransformer's removal in 4.0 (see above)
        warnings.filterwarnings("ignore", "HookedTransformer is deprecated", DeprecationWarning)
        model = HookedTransformer(cfg)
    BookLayerNorm, BookAttention = _classes()
    for i, (block, L) in enumerate(zip(model.blocks, params.layers)):
        block.ln1 = BookLayerNorm(cfg)
        if not cfg.attn_only:
            block.ln2 = BookLayerNorm(cfg)
        block.attn = BookAttention(cfg, "global", i)
        block.attn.attn_scale = L.d_head ** 0.5     # the layer's own d_head, padded or not
    model.ln_final = BookLayerNorm(cfg)
    model.setup()                                   # re-collect the hook points of the new modules
    sd = _state_dict(params, cfg, dtype)
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith(("attn.mask", "attn.IGNORE"))]
    if missing:
        raise RuntimeError(f"no weights for {missing[:5]} (this TransformerLens is not the 3.x taotp was written for)")
    model.load_state_dict({**own, **sd}, strict=True)
    return model.eval()
