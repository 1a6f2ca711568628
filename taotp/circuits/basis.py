"""The vectors a layer's circuits are read on: the layer-normed input of each token
and of each position.

A head's QK circuit is bilinear in the layer-normed stream and its OV circuit (and an
MLP neuron's pre-activation, and the logits) linear, so reading them on *mean*
vectors gives exact expectations:

    mean over i, j of  score(LN(e_a + p_i), LN(e_b + p_j))
        = score(mean_i LN(e_a + p_i), mean_j LN(e_b + p_j))

(query and key positions drawn independently). So a token's vector is its
layer-normed input averaged over positions, and a position's vector is averaged
over tokens. Where those inputs come from:

- "embeddings": LN(tok_emb[a] + pos_emb[i]) over every token a and position i,
  uniformly: what the machine feeds layer 0 (fig. 1.1), layer norm applied to the
  sum as the machine applies it. Exact for layer 0's attention, and for any
  sub-layer that no earlier sub-layer writes into.
- "samples": after layer 0 the stream depends on the context, so it is measured:
  the program's spec gives inputs (all of them when there are few, else seeded
  samples), each is decoded (fast engine) and run once through the reference
  engine's forward pass, and the layer-normed input of the layer is
  averaged per token and per position over the occurrences. Tokens or positions
  seen fewer than MIN_COUNT times are left out (their rows are NaN).
- "direct": no samples (no spec, or --samples 0): the embeddings, read as if the
  earlier sub-layers wrote nothing (the direct path). Said wherever it is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import specs
from ..check import _inputs as spec_inputs
from ..decoding import plan_steps
from ..engine.reference import layer_norm, mlp, self_attention
from ..errors import TaotpError
from ..params import Layer, LayerNorm, Params
from ..strategies import spec_of

MIN_COUNT = 3          # occurrences a sampled token or position needs to get a row
CHUNK = 4_000_000      # floats of layer-normed embeddings held at once


@dataclass
class Basis:
    kind: str                       # "embeddings" | "samples" | "direct"
    tokens: np.ndarray              # (vocab, d): mean layer-normed input per token; NaN row: unseen
    positions: np.ndarray           # (block, d): the same per position
    token_counts: np.ndarray | None = None      # occurrences behind each row (samples only)
    position_counts: np.ndarray | None = None

    def describe(self) -> str:
        return {"embeddings": "embeddings (exact)",
                "samples": "residual stream on spec samples",
                "direct": "embeddings, earlier sub-layers ignored (direct path)"}[self.kind]


def embedding_basis(params: Params, ln: LayerNorm) -> Basis:
    """LN(tok_emb[a] + pos_emb[i]) averaged over positions (per token) and over
    tokens (per position), computed a few tokens at a time."""
    V, n, d = params.vocab_size, params.block_size, params.d_model
    tok = np.empty((V, d))
    pos = np.zeros((n, d), dtype=np.longdouble)
    step = max(1, CHUNK // max(1, n * d))
    for a in range(0, V, step):
        x = layer_norm(params.tok_emb[a:a + step, None, :] + params.pos_emb[None, :, :], ln)  # (c, n, d)
        tok[a:a + step] = _mean(x, axis=1)
        pos += x.sum(axis=0, dtype=np.longdouble)
    return Basis("embeddings", tok, (pos / V).astype(np.float64))


def _mean(x: np.ndarray, axis: int) -> np.ndarray:
    """The mean along an axis, exact where every entry along it is the same (SORT's
    tok_emb with pos_emb zero): its neighbours' scores differ near rounding (§5.2.1),
    and a float64 sum of equal values would move them."""
    first = np.take(x, [0], axis=axis)
    mean = x.mean(axis=axis, dtype=np.longdouble).astype(np.float64)
    same = np.all(x == first, axis=axis)
    return np.where(same, np.squeeze(first, axis=axis), mean)


# -- samples ------------------------------------------------------------------------------
@dataclass
class Samples:
    """Spec inputs run through the program; per occurrence (sequence s, position i):
    its token id, position, sequence, and each layer's layer-normed inputs."""

    texts: list[str]
    mode: str                                   # "exhaustive" | "samples"
    seqs: list[list[int]]                       # prefix + prompt + generated, cut to the block
    ids: np.ndarray                             # (N,) token of each occurrence
    pos: np.ndarray                             # (N,) its position
    seq: np.ndarray                             # (N,) its sequence
    decoding: np.ndarray                        # (N,) its logits choose an output token
    ln1: list[np.ndarray] = field(default_factory=list)   # per layer (N, d): attention input
    ln2: list[np.ndarray] = field(default_factory=list)   # per layer (N, d): MLP input

    def position_tokens(self, block: int) -> list[set[int]]:
        """The tokens seen at each position."""
        seen: list[set[int]] = [set() for _ in range(block)]
        for t, i in zip(self.ids.tolist(), self.pos.tolist()):
            seen[i].add(t)
        return seen


def gather_samples(program, n: int, seed: int = 0) -> tuple[Samples | None, str]:
    """Up to n inputs from the program's spec (every input when the spec has no more
    than n), decoded and run once with the activation cache. (None, why) when there
    is no spec or it gives no input."""
    if n <= 0:
        return None, "no samples asked for (--samples 0)"
    if not program.spec:
        return None, "the program declares no spec to draw inputs from"
    try:
        spec = spec_of(program)
        _, texts, mode = spec_inputs(spec, specs.settings_of(program), False, n, seed, n)
        texts = list(texts)
        prompts = []
        for t in texts:            # each input checked alone, so a refusal names the input
            try:
                prompts.append(program.encode(t))
                plan_steps(program.rule, len(program.rule.prefix) + len(prompts[-1]), program.params.block_size, None)
            except TaotpError as e:
                return None, f"could not run spec samples: the spec's input {t!r}: {e}"
        outs = program.generate(prompts, engine="fast")
    except TaotpError as e:
        return None, f"could not run spec samples: {e}"
    except ImportError as e:           # a spec without a sampler draws with Hypothesis (test extra)
        return None, f"could not draw spec samples: {e}"
    params = program.params
    seqs = [(list(program.rule.prefix) + p + o)[: params.block_size] for p, o in zip(prompts, outs)]
    per_layer1: list[list[np.ndarray]] = [[] for _ in params.layers]
    per_layer2: list[list[np.ndarray]] = [[] for _ in params.layers]
    for s in seqs:
        for l, (h1, h2) in enumerate(layer_inputs(params, s)):
            per_layer1[l].append(h1)
            per_layer2[l].append(h2)
    ids = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs])
    pos = np.concatenate([np.arange(len(s)) for s in seqs])
    seq = np.concatenate([np.full(len(s), k) for k, s in enumerate(seqs)])
    first_read = np.array([len(program.rule.prefix) + len(p) - 1 for p in prompts])
    decoding = pos >= first_read[seq]
    samples = Samples(texts, mode, seqs, ids, pos, seq, decoding,
                      [np.concatenate(v) for v in per_layer1], [np.concatenate(v) for v in per_layer2])
    return samples, f"{len(texts)} {'inputs (all of them)' if mode == 'exhaustive' else 'spec samples'}"


def layer_inputs(params: Params, ids: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer, the layer-normed inputs (n, d) of its attention and of its MLP on one
    sequence: the reference engine's own forward pass (fig. 1.1), keeping only these."""
    x = params.tok_emb[ids] + params.pos_emb[: len(ids)]
    out = []
    for L in params.layers:
        h1 = layer_norm(x, L.ln1)
        x = x + self_attention(h1, L)
        h2 = layer_norm(x, L.ln2)
        x = x + mlp(h2, L)
        out.append((h1, h2))
    return out


def _means(keys: np.ndarray, vecs: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(keys, minlength=size)
    sums = np.zeros((size, vecs.shape[1]))
    np.add.at(sums, keys, vecs)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[counts < MIN_COUNT] = np.nan
    return means, counts


def sample_basis(samples: Samples, vecs: np.ndarray, vocab_size: int, block: int) -> Basis:
    """Per-token and per-position means of one layer's layer-normed inputs (N, d)."""
    tok, tc = _means(samples.ids, vecs, vocab_size)
    pos, pc = _means(samples.pos, vecs, block)
    return Basis("samples", tok, pos, tc, pc)


# -- which basis each sub-layer is read on -------------------------------------------------
def attention_writes(layer: Layer) -> bool:
    return any(np.any(layer.V[h]) and np.any(layer.P[h]) for h in range(layer.n_heads))


def mlp_writes(layer: Layer) -> bool:
    return bool(np.any(layer.M2) or np.any(layer.b2))


class Bases:
    """The basis of every sub-layer: embeddings while nothing before it writes into
    the stream, then samples when there are any, else the direct path."""

    def __init__(self, program, samples: Samples | None):
        self.params: Params = program.params
        self.samples = samples
        self._cache: dict = {}

    def _untouched_before(self, layer: int, mlp: bool) -> bool:
        for l, L in enumerate(self.params.layers[: layer + 1]):
            if attention_writes(L) and (l < layer or mlp):
                return False
            if l < layer and mlp_writes(L):
                return False
        return True

    def get(self, layer: int, mlp: bool = False) -> Basis:
        key = (layer, mlp)
        if key not in self._cache:
            L = self.params.layers[layer]
            ln = L.ln2 if mlp else L.ln1
            if self._untouched_before(layer, mlp):
                b = embedding_basis(self.params, ln)
            elif self.samples is not None:
                vecs = (self.samples.ln2 if mlp else self.samples.ln1)[layer]
                b = sample_basis(self.samples, vecs, self.params.vocab_size, self.params.block_size)
            else:
                b = embedding_basis(self.params, ln)
                b.kind = "direct"
            self._cache[key] = b
        return self._cache[key]

    def final(self) -> Basis:
        """What the unembedding sees of the embeddings alone: LN_f(tok_emb + pos_emb)
        (exact for a program without layers; otherwise the logit lens at the embedding)."""
        if "final" not in self._cache:
            self._cache["final"] = embedding_basis(self.params, self.params.lnf)
        return self._cache["final"]
