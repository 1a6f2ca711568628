"""The book's machine, exactly (fig. 1.1, DESIGN.md §1), written plainly.

Pre-LN decoder: x = tok_emb[t] + pos_emb[:n]; per layer x += attn(LN(x)), then
x += relu(LN(x) @ M1 + b1) @ M2 + b2; logits = LN_f(x) @ out_emb.T.
Numerics follow the book to the letter: LN divides by (std + 1e-10); softmax
normalises with +1e-10 in the denominator; scores are divided by sqrt(d_head).
"""

from __future__ import annotations

import numpy as np

from ..params import Layer, LayerNorm, Params

EPS = 1e-10


def layer_norm(x: np.ndarray, ln: LayerNorm | None = None) -> np.ndarray:
    gamma, beta = (1.0, 0.0) if ln is None else (ln.gamma, ln.beta)
    mean = x.mean(axis=-1, keepdims=True)
    std = x.var(axis=-1, keepdims=True) ** 0.5
    return beta + gamma * (x - mean) / (std + EPS)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / (e.sum(axis=axis, keepdims=True) + EPS)


def attention_pattern(x: np.ndarray, layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Queries, keys, values (n, h, k) and the causal attention weights (n, m, h) of one layer on LN'd x."""
    q, k, v = (np.einsum("nj,hjk->nhk", x, M) for M in (layer.Q, layer.K, layer.V))
    scores = np.einsum("nhk,mhk->nmh", q, k) / layer.Q.shape[-1] ** 0.5  # a Python float keeps float32
    n = x.shape[0]
    causal = np.tril(np.ones((n, n), dtype=bool))[..., None]
    weights = softmax(np.where(causal, scores, -np.inf), axis=1)
    return q, k, v, weights


def self_attention(x: np.ndarray, layer: Layer) -> np.ndarray:
    _, _, v, w = attention_pattern(x, layer)
    z = np.einsum("nmh,mhk->nhk", w, v)  # (n, h, k)
    return np.einsum("nhk,hdk->nd", z, layer.P)


def mlp(x: np.ndarray, layer: Layer) -> np.ndarray:
    return np.maximum(x @ layer.M1 + layer.b1, 0) @ layer.M2 + layer.b2


def transformer_layer(x: np.ndarray, layer: Layer) -> np.ndarray:
    x = x + self_attention(layer_norm(x, layer.ln1), layer)
    return x + mlp(layer_norm(x, layer.ln2), layer)


def forward(params: Params, tokens) -> np.ndarray:
    """Logits (n, vocab) for a sequence of token ids, as fig. 1.1's transformer()."""
    tokens = np.asarray(tokens, dtype=np.int64)
    n = tokens.shape[0]
    x = params.tok_emb[tokens] + params.pos_emb[np.arange(n)]
    for layer in params.layers:
        x = transformer_layer(x, layer)
    return np.einsum("nd,vd->nv", layer_norm(x, params.lnf), params.unembedding)


def generate_batch(params: Params, prompts, rule, max_steps=None) -> list[list[int]]:
    """Each prompt decoded on its own, recomputing the whole sequence every step (fig. 1.2)."""
    from ..decoding import greedy_generate

    logits_fn = lambda toks: forward(params, toks)
    return [greedy_generate(logits_fn, list(p), rule, params.block_size, max_steps) for p in prompts]
