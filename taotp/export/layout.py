"""The exported form of a program: tensors under documented names, and config.json.

Every exporter (safetensors, ONNX, PyTorch, TransformerLens) starts from these, so
they agree on names and on what each layer holds. Each layer is written from its own
arrays: heads, d_head and d_ff may differ from layer to layer (DESIGN.md §1).

Tensor names and shapes (V vocab, B block, d d_model; h_i, k_i, f_i layer i's heads,
d_head and d_ff):

    tok_emb                 (V, d)
    pos_emb                 (B, d)
    out_emb                 (V, d)       only when untied (config "tied_embeddings": false)
    layers.{i}.Q, K, V, P   (h_i, d, k_i)
    layers.{i}.M1           (d, f_i)
    layers.{i}.b1           (f_i,)
    layers.{i}.M2           (f_i, d)
    layers.{i}.b2           (d,)
    layers.{i}.ln1.gamma, layers.{i}.ln1.beta, layers.{i}.ln2.gamma, layers.{i}.ln2.beta,
    lnf.gamma, lnf.beta     (d,)         (a scalar gamma or beta is broadcast)

config.json says everything else: the vocabulary, the shapes, the machine's exact
formulas (MACHINE) and the decode rule.
"""

from __future__ import annotations

import numpy as np

from ..compiler import _decode_dict
from ..params import LAYER_MATRICES, Layer, LayerNorm, Params

FORMAT_VERSION = 1
EPS = 1e-10  # the book's epsilon, in the layer norm and in the softmax (taotp.engine.reference)

# The machine, in words precise enough to reimplement it (book fig. 1.1, DESIGN.md §1).
MACHINE = {
    "embedding": "x = tok_emb[tokens] + pos_emb[0:n]",
    "layer": "x = x + attention(LN(x; ln1)); x = x + relu(LN(x; ln2) @ M1 + b1) @ M2 + b2",
    "logits": "LN(x; lnf) @ out_emb.T, where out_emb = tok_emb when tied_embeddings",
    "layer_norm": "beta + gamma * (x - mean) / (std + 1e-10) over the last axis, where "
                  "mean = mean(x) and std = sqrt(mean((x - mean)^2)): epsilon is added to the "
                  "standard deviation, not inside the square root (so not torch.nn.LayerNorm)",
    "layer_norm_epsilon": EPS,
    "attention": "per head: q, k, v = einsum('nd,dk->nk', x, Q[h]) (same with K[h], V[h]); "
                 "scores = q @ k.T / sqrt(d_head of the layer); causal mask (position n sees 0..n); "
                 "w = softmax(scores); output = sum over heads of (w @ v) @ P[h].T",
    "softmax": "exp(s - max(s)) / (sum(exp(s - max(s))) + 1e-10) over the keys",
    "softmax_epsilon": EPS,
    "activation": "relu",
    "decoding": "greedy: the next token is the argmax of the last position's logits (the "
                "lowest id on exact ties); see 'decode'",
}


def ln_vector(value, d: int, dtype) -> np.ndarray:
    """A layer norm's gamma or beta as a (d,) array (scalars broadcast)."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=dtype), (d,)))


def tensors(params: Params, dtype=np.float64) -> dict[str, np.ndarray]:
    """The program's weights under the documented names, contiguous, in `dtype`."""
    dtype = np.dtype(dtype)
    d = params.d_model
    arr = lambda a: np.ascontiguousarray(a, dtype=dtype)
    out = {"tok_emb": arr(params.tok_emb), "pos_emb": arr(params.pos_emb)}
    if not params.tied:
        out["out_emb"] = arr(params.out_emb)
    for i, L in enumerate(params.layers):
        for key, value in L.matrices().items():
            out[f"layers.{i}.{key}"] = arr(value)
        for ln_name in ("ln1", "ln2"):
            ln = getattr(L, ln_name)
            out[f"layers.{i}.{ln_name}.gamma"] = ln_vector(ln.gamma, d, dtype)
            out[f"layers.{i}.{ln_name}.beta"] = ln_vector(ln.beta, d, dtype)
    out["lnf.gamma"] = ln_vector(params.lnf.gamma, d, dtype)
    out["lnf.beta"] = ln_vector(params.lnf.beta, d, dtype)
    return out


def shapes(params: Params) -> dict:
    """The config's shape entries: what building a model of these params needs."""
    return {
        "vocab_size": params.vocab_size,
        "block_size": params.block_size,
        "d_model": params.d_model,
        "n_layers": len(params.layers),
        "layers": [{"n_heads": L.n_heads, "d_head": L.d_head, "d_ff": L.d_ff} for L in params.layers],
        "tied_embeddings": bool(params.tied),
    }


def config(program, dtype=np.float64) -> dict:
    """config.json: everything besides the weights that running the program needs."""
    p = program.params
    return {
        "format": "taotp",
        "format_version": FORMAT_VERSION,
        "name": program.name,
        "spec": program.spec,
        "settings": {k: v for k, v in program.settings.items() if isinstance(v, (str, int, float, bool))},
        "dtype": np.dtype(dtype).name,
        "vocab": list(program.vocab.tokens),
        "vocab_mode": program.vocab.mode,
        **shapes(p),
        "machine": MACHINE,
        # prefix: ids put before every input; stop: the id that ends generation (not
        # output); steps_by_input_len[n]: tokens to generate after an input of n tokens
        # (prefix not counted; null: no such input); absent: until stop or the block is full.
        "decode": _decode_dict(program),
    }


def params_from(weights: dict, cfg: dict) -> Params:
    """Params from exported tensors and their config (the inverse of `tensors`)."""
    f64 = lambda name: np.asarray(weights[name], dtype=np.float64)
    ln = lambda prefix: LayerNorm(f64(f"{prefix}.gamma"), f64(f"{prefix}.beta"))
    layers = [
        Layer(**{k: f64(f"layers.{i}.{k}") for k in LAYER_MATRICES},
              ln1=ln(f"layers.{i}.ln1"), ln2=ln(f"layers.{i}.ln2"))
        for i in range(cfg["n_layers"])
    ]
    out = None if cfg["tied_embeddings"] else f64("out_emb")
    return Params(tok_emb=f64("tok_emb"), pos_emb=f64("pos_emb"), layers=layers, out_emb=out,
                  lnf=ln("lnf")).validate()
