"""A taotp program as a PyTorch module: the book's machine (fig. 1.1), exactly.

This file needs torch and safetensors only, not taotp: `taotp export --format torch`
copies it beside the weights as taotp_model.py. Use:

    from taotp_model import load, encode, generate, decode
    model, config = load("sort_torch")            # model.safetensors + config.json
    ids = generate(model, config, encode(config, "6 2 12 18 7 0"))
    print(decode(config, ids))                    # 2 6 7 12 18
    logits = model(torch.tensor([ids]))           # (batch, seq, vocab)

The numerics are the book's, in the reference engine's order of operations:
LN(x) = beta + gamma * (x - mean) / (std + 1e-10) with std = sqrt(mean((x - mean)^2))
(epsilon on the standard deviation, so not nn.LayerNorm); softmax
exp(s - max) / (sum + 1e-10); scores divided by sqrt(d_head) of the layer; causal
mask; relu MLP; logits = LN_f(x) @ out_emb.T. Every layer has its own heads, d_head
and d_ff. A layer-norm variance that overflows gives NaN logits (not silent zeros).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

EPS = 1e-10


class LayerNorm(nn.Module):
    """The book's layer norm over the last axis: epsilon added to the standard deviation."""

    def __init__(self, d_model: int, dtype=torch.float64):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(d_model, dtype=dtype), requires_grad=False)
        self.beta = nn.Parameter(torch.zeros(d_model, dtype=dtype), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x - x.mean(-1, keepdim=True)
        var = (c * c).mean(-1, keepdim=True)
        # var - var: 0, or NaN where var overflowed (c / inf would quietly be 0)
        return self.beta + (self.gamma * c / (var.sqrt() + EPS) + (var - var))


def softmax(scores: torch.Tensor) -> torch.Tensor:
    """The book's softmax over the last axis: exp(s - max) / (sum + 1e-10)."""
    e = torch.exp(scores - scores.amax(-1, keepdim=True))
    return e / (e.sum(-1, keepdim=True) + EPS)


class Layer(nn.Module):
    """One Pre-LN layer: x += attention(LN1(x)); x += relu(LN2(x) @ M1 + b1) @ M2 + b2."""

    def __init__(self, d_model: int, n_heads: int, d_head: int, d_ff: int, dtype=torch.float64):
        super().__init__()
        p = lambda *shape: nn.Parameter(torch.zeros(*shape, dtype=dtype), requires_grad=False)
        self.Q, self.K, self.V, self.P = (p(n_heads, d_model, d_head) for _ in range(4))
        self.M1, self.b1, self.M2, self.b2 = p(d_model, d_ff), p(d_ff), p(d_ff, d_model), p(d_model)
        self.ln1, self.ln2 = LayerNorm(d_model, dtype), LayerNorm(d_model, dtype)

    def attention_pattern(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights (batch, head, query, key) of LN'd x (batch, n, d)."""
        q = torch.einsum("bnd,hdk->bhnk", x, self.Q)
        k = torch.einsum("bnd,hdk->bhnk", x, self.K)
        scores = q @ k.transpose(-1, -2) / self.Q.shape[-1] ** 0.5          # (b, h, n, n)
        n = x.shape[1]
        causal = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        return softmax(scores.masked_fill(~causal, -math.inf))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        v = torch.einsum("bnd,hdk->bhnk", x, self.V)
        z = self.attention_pattern(x) @ v                                   # (b, h, n, k)
        return torch.einsum("bhnk,hdk->bnd", z, self.P)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.M1 + self.b1) @ self.M2 + self.b2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TaotpTransformer(nn.Module):
    """Token ids (batch, seq) -> logits (batch, seq, vocab). Parameter names are the
    exported tensor names (tok_emb, pos_emb, out_emb, layers.{i}.Q, ..., lnf.gamma)."""

    def __init__(self, config: dict, dtype=torch.float64):
        super().__init__()
        V, T, d = config["vocab_size"], config["block_size"], config["d_model"]
        self.tok_emb = nn.Parameter(torch.zeros(V, d, dtype=dtype), requires_grad=False)
        self.pos_emb = nn.Parameter(torch.zeros(T, d, dtype=dtype), requires_grad=False)
        self.tied = bool(config["tied_embeddings"])
        if not self.tied:
            self.out_emb = nn.Parameter(torch.zeros(V, d, dtype=dtype), requires_grad=False)
        self.layers = nn.ModuleList(Layer(d, s["n_heads"], s["d_head"], s["d_ff"], dtype) for s in config["layers"])
        self.lnf = LayerNorm(d, dtype)

    @property
    def unembedding(self) -> torch.Tensor:
        return self.tok_emb if self.tied else self.out_emb

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n = tokens.shape[-1]
        if n > self.pos_emb.shape[0]:
            raise ValueError(f"{n} tokens do not fit the block size {self.pos_emb.shape[0]}")
        x = self.tok_emb[tokens] + self.pos_emb[:n]                           # (b, n, d)
        for layer in self.layers:
            x = layer(x)
        return torch.einsum("bnd,vd->bnv", self.lnf(x), self.unembedding)


def load(folder, dtype=None) -> tuple[TaotpTransformer, dict]:
    """(model, config) from a folder holding model.safetensors and config.json."""
    from safetensors.torch import load_file

    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    weights = load_file(str(folder / "model.safetensors"))
    dtype = dtype or getattr(torch, config["dtype"])
    model = TaotpTransformer(config, dtype)
    model.load_state_dict({k: v.to(dtype) for k, v in weights.items()})
    return model.eval(), config


# -- the decode rule (config["decode"]) and the vocabulary, outside the model ----------

def encode(config: dict, text: str) -> list[int]:
    """Token ids of a text: words split on spaces, or characters (multi-character
    tokens such as <bos> matched whole). The decode rule's prefix is added by generate."""
    index = {t: i for i, t in enumerate(config["vocab"])}
    if config["vocab_mode"] == "words":
        return [index[t] for t in text.split()]
    specials = sorted((t for t in config["vocab"] if len(t) > 1), key=len, reverse=True)
    ids, i = [], 0
    while i < len(text):
        tok = next((s for s in specials if text.startswith(s, i)), text[i])
        ids.append(index[tok])
        i += len(tok)
    return ids


def decode(config: dict, ids) -> str:
    return ("" if config["vocab_mode"] == "chars" else " ").join(config["vocab"][i] for i in ids)


def distinct_rows(unembedding: torch.Tensor) -> torch.Tensor:
    """Ids of the first token of each distinct unembedding row, ascending: identical rows
    tie exactly in the book's machine, where the lowest id wins."""
    _, inverse = torch.unique(unembedding, dim=0, return_inverse=True)
    V = unembedding.shape[0]
    first = torch.full((int(inverse.max()) + 1,), V).scatter_reduce(0, inverse, torch.arange(V), reduce="amin")
    return first.sort().values


@torch.no_grad()
def generate(model: TaotpTransformer, config: dict, ids: list[int]) -> list[int]:
    """Greedy decoding with the program's rule: the tokens generated after `ids` (the
    rule's prefix is put before them; the stop token is not returned)."""
    rule = config["decode"]
    tokens = list(rule.get("prefix", [])) + list(ids)
    block = config["block_size"]
    if len(tokens) > block:
        raise ValueError(f"{len(tokens)} tokens (with the prefix) do not fit the block size {block}")
    steps = block - len(tokens) + 1
    table = rule.get("steps_by_input_len")
    if table is not None:
        want = table[len(ids)] if len(ids) < len(table) else None
        if want is None or want < 0 or want > steps:
            raise ValueError(f"the program takes no input of {len(ids)} tokens")
        steps = want
    keep = distinct_rows(model.unembedding)
    out = []
    for _ in range(steps):
        last = model(torch.tensor([tokens]))[0, -1]
        if not torch.isfinite(last).all():
            raise FloatingPointError("the logits hold NaN or infinity (an overflow)")
        nxt = int(keep[last[keep].argmax()])
        if nxt == rule.get("stop"):
            break
        out.append(nxt)
        tokens.append(nxt)
    return out
