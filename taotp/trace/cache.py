"""Activation cache: every intermediate of the book's forward pass (fig. 1.1), by name.

The names are TransformerLens's hook names, so anyone who has read a
TransformerLens notebook can find their way around. The math is the reference
engine's own (taotp/engine/reference.py): its layer_norm, attention_pattern,
self_attention and mlp are called here, so the residual stream in the cache is
the stream the engine computes, bit for bit.

Shapes (no batch axis; n positions, d = d_model, h heads, k = d_head, f = d_ff):
  hook_embed, hook_pos_embed, blocks.{l}.hook_resid_pre/_mid/_post,
  blocks.{l}.ln1/ln2.hook_normalized, blocks.{l}.hook_attn_out/_mlp_out,
  ln_final.hook_normalized                              (n, d)
  blocks.{l}.attn.hook_q / hook_k / hook_v / hook_z      (n, h, k)
  blocks.{l}.attn.hook_attn_scores / hook_pattern        (h, n_query, n_key)
  blocks.{l}.mlp.hook_pre / hook_post                    (n, f)
Attention scores above the diagonal are -inf (the causal mask), as in TransformerLens.
"""

from __future__ import annotations

import numpy as np

from ..decoding import check_finite
from ..engine.reference import attention_pattern, layer_norm, mlp, self_attention
from ..errors import InputError
from ..params import Params

LAYER_HOOKS = (
    "hook_resid_pre", "ln1.hook_normalized",
    "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_attn_scores", "attn.hook_pattern",
    "attn.hook_z", "hook_attn_out", "hook_resid_mid", "ln2.hook_normalized",
    "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post",
)


def hook_names(n_layers: int) -> list[str]:
    """Every cache key, in the order the forward pass produces them."""
    names = ["hook_embed", "hook_pos_embed"]
    for l in range(n_layers):
        names += [f"blocks.{l}.{h}" for h in LAYER_HOOKS]
    return names + ["ln_final.hook_normalized"]


def forward_with_cache(params: Params, tokens) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Logits (n, vocab) and the activation cache of one forward pass over `tokens`."""
    tokens = np.asarray(tokens, dtype=np.int64)
    n = tokens.shape[0]
    if n > params.block_size:
        raise InputError(f"{n} tokens do not fit the block size {params.block_size}")
    cache: dict[str, np.ndarray] = {}
    cache["hook_embed"] = params.tok_emb[tokens]
    cache["hook_pos_embed"] = params.pos_emb[np.arange(n)]
    x = cache["hook_embed"] + cache["hook_pos_embed"]                     # (n, d)
    causal = np.tril(np.ones((n, n), dtype=bool))
    for l, layer in enumerate(params.layers):
        b = f"blocks.{l}."
        cache[b + "hook_resid_pre"] = x
        h1 = layer_norm(x, layer.ln1)
        q, k, v, w = attention_pattern(h1, layer)                        # (n, h, k) x3, (n, m, h)
        scores = np.einsum("nhk,mhk->hnm", q, k) / np.sqrt(layer.Q.shape[-1])
        cache[b + "ln1.hook_normalized"] = h1
        cache[b + "attn.hook_q"], cache[b + "attn.hook_k"], cache[b + "attn.hook_v"] = q, k, v
        cache[b + "attn.hook_attn_scores"] = np.where(causal[None], scores, -np.inf)
        cache[b + "attn.hook_pattern"] = np.transpose(w, (2, 0, 1))         # (h, n, m)
        cache[b + "attn.hook_z"] = np.einsum("nmh,mhk->nhk", w, v)
        cache[b + "hook_attn_out"] = self_attention(h1, layer)
        x = x + cache[b + "hook_attn_out"]
        cache[b + "hook_resid_mid"] = x
        h2 = layer_norm(x, layer.ln2)
        cache[b + "ln2.hook_normalized"] = h2
        cache[b + "mlp.hook_pre"] = h2 @ layer.M1 + layer.b1
        cache[b + "mlp.hook_post"] = np.maximum(cache[b + "mlp.hook_pre"], 0)
        cache[b + "hook_mlp_out"] = mlp(h2, layer)
        x = x + cache[b + "hook_mlp_out"]
        cache[b + "hook_resid_post"] = x
    cache["ln_final.hook_normalized"] = layer_norm(x, params.lnf)
    logits = np.einsum("nd,vd->nv", cache["ln_final.hook_normalized"], params.unembedding)
    return logits, cache


class Trace:
    """A decoded run and its cache: the sequence the cache covers, where the prompt
    ends, and the generated tokens (the last may lie past the block: it was never
    an input, so it has no position in the cache)."""

    def __init__(self, program, ids: list[int], prompt_len: int, generated: list[int],
                 logits: np.ndarray, cache: dict[str, np.ndarray]):
        self.program, self.ids, self.prompt_len = program, ids, prompt_len
        self.generated, self.logits, self.cache = generated, logits, cache

    @property
    def params(self) -> Params:
        return self.program.params

    def token(self, i: int) -> str:
        toks = self.program.vocab.tokens
        return toks[i] if 0 <= i < len(toks) else str(i)

    @property
    def tokens(self) -> list[str]:
        return [self.token(i) for i in self.ids]

    def steps(self) -> list[tuple[int, int]]:
        """(query position, generated token id) for each generated token: the position
        whose logits chose it."""
        return [(self.prompt_len - 1 + s, t) for s, t in enumerate(self.generated)]


def trace_program(program, text: str) -> Trace:
    """Decode `text` with the program's rule (reference engine), then run one forward
    pass with cache over prefix + prompt + generated tokens (cut to the block)."""
    prompt = program.encode(text)  # refuses an empty input where the program has no prefix
    generated = program.generate([prompt], engine="reference")[0]
    ids = list(program.rule.prefix) + list(prompt) + list(generated)
    prompt_len = len(ids) - len(generated)
    ids = ids[: program.params.block_size]
    logits, cache = forward_with_cache(program.params, ids)
    check_finite(logits)
    return Trace(program, ids, prompt_len, generated, logits, cache)


def run_with_cache(program, text: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Program.run_with_cache: (logits, cache) over the whole decoded sequence."""
    t = trace_program(program, text)
    return t.logits, t.cache


def _jsonable(a: np.ndarray):
    """Nested lists; non-finite entries (the -inf of the causal mask) become null."""
    a = np.asarray(a, dtype=np.float64)
    if np.all(np.isfinite(a)):
        return a.tolist()
    obj = a.astype(object)
    obj[~np.isfinite(a)] = None
    return obj.tolist()


def to_json(t: Trace) -> dict:
    """{"tokens": the cached sequence, "cache": {hook name: nested lists}} plus where the
    prompt ends and the generated tokens. -inf (masked scores) is written as null."""
    names = hook_names(len(t.params.layers))
    return {
        "program": t.program.name,
        "tokens": t.tokens,
        "ids": [int(i) for i in t.ids],
        "prompt_len": t.prompt_len,
        "output": [t.token(i) for i in t.generated],
        "cache": {name: _jsonable(t.cache[name]) for name in names},
    }
