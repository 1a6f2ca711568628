"""An MLP's hidden units read through the vocabulary.

- A neuron j reads the token whose layer input drives its pre-activation
  x_a . M1[:, j] + b1[j] highest (x_a: the basis's mean layer-normed input of token
  a, basis.py), and writes most the token whose unembedding row has the largest
  dot product with its output row M2[j] (a direct logit contribution per unit of
  activation).
- A spike MLP (book §6.3, thm 6.1) groups hidden units in threes: spike j is units
  3j, 3j+1, 3j+2 (trace.readout.find_spikes recognises them). A spike reads one
  stream dimension (after layer norm) at its centre, and writes its value at the
  centre (delta * r) read through the unembedding. Which inputs fire it is
  measured on the spec samples when there are any (the contexts it fired in), else
  on the basis's per-token vectors.
Units that are not part of a spike are read as neurons.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..params import Layer
from ..trace import readout
from .basis import Basis, Samples

CHUNK = 4_000_000      # floats of pre-activations held at once


@dataclass
class Neurons:
    units: np.ndarray          # (u,) hidden-unit indices
    reads: np.ndarray          # (u,) token read most (-1: no token moves it)
    read_score: np.ndarray     # (u,) its mean pre-activation
    writes: np.ndarray         # (u,) token written most (-1: writes nothing the unembedding reads)
    write_score: np.ndarray    # (u,) its logit per unit of activation
    out_norm: np.ndarray       # (u,) |M2[j]|


@dataclass
class Spikes:
    found: readout.SpikeMLP
    writes: np.ndarray         # (m,) token its centre value points to
    write_score: np.ndarray    # (m,)
    fired: np.ndarray          # (m,) occurrences that fired it
    at_output: np.ndarray      # (m,) of those, the ones whose logits choose an output token
    first: np.ndarray          # (m,) the first such occurrence, one at an output first (-1: none)
    reads: np.ndarray          # (m,) the token most often at those occurrences (-1: none)
    on: str                    # "samples" | "tokens": what the occurrences are


@dataclass
class MLPReading:
    layer: int
    basis: Basis
    d_ff: int
    spikes: Spikes | None
    neurons: Neurons | None


def _argmax_rows(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of scores (tokens, units): best token and its score; -1 where the
    column is all NaN or constant."""
    filled = np.where(np.isfinite(scores), scores, -np.inf)
    best = np.argmax(filled, axis=0)
    top = filled.max(axis=0)
    low = np.where(np.isfinite(scores), scores, np.inf).min(axis=0)
    flat = ~(top - low > 1e-9 * np.maximum(1.0, np.abs(top)))
    best[flat | ~np.isfinite(top)] = -1
    return best, top


def read_neurons(layer: Layer, units: np.ndarray, basis: Basis, unembedding: np.ndarray) -> Neurons:
    V = basis.tokens.shape[0]
    reads, read_score = np.empty(0, dtype=np.int64), np.empty(0)
    step = max(1, CHUNK // max(1, V))
    parts = []
    for s in range(0, units.size, step):
        u = units[s:s + step]
        with np.errstate(invalid="ignore"):
            parts.append(_argmax_rows(basis.tokens @ layer.M1[:, u] + layer.b1[u]))   # (V, u)
    if parts:
        reads = np.concatenate([p[0] for p in parts])
        read_score = np.concatenate([p[1] for p in parts])
    writes, write_score = _argmax_rows(unembedding @ layer.M2[units].T)               # (V_out, u)
    return Neurons(units, reads, read_score, writes, write_score, np.linalg.norm(layer.M2[units], axis=1))


def read_spikes(layer: Layer, found: readout.SpikeMLP, basis: Basis, unembedding: np.ndarray,
                samples: Samples | None, layer_index: int) -> Spikes:
    writes, write_score = _argmax_rows(unembedding @ found.values.T)                  # (V_out, m)
    if samples is not None and basis.kind == "samples":
        vecs, ids, out, on = samples.ln2[layer_index], samples.ids, samples.decoding, "samples"
    else:
        vecs, ids, on = basis.tokens, np.arange(basis.tokens.shape[0]), "tokens"
        out = np.ones(ids.size, dtype=bool)
    m = found.triples.size
    fired, at_output = np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64)
    first = np.full(m, -1)
    seen: list[Counter] = [Counter() for _ in range(m)]
    cols = 3 * found.triples
    pos_of = {int(t): j for j, t in enumerate(found.triples)}
    for o in np.argsort(~out, kind="stable"):             # occurrences at outputs first
        if not np.all(np.isfinite(vecs[o])):
            continue
        pre = np.zeros(layer.d_ff)
        pre[cols] = vecs[o] @ layer.M1[:, cols] + layer.b1[cols]
        for f in readout.fired_spikes(found, pre):
            j = pos_of[f.spike]
            fired[j] += 1
            at_output[j] += bool(out[o])
            if first[j] < 0:
                first[j] = o
            seen[j][int(ids[o])] += 1
    reads = np.array([c.most_common(1)[0][0] if c else -1 for c in seen], dtype=np.int64)
    return Spikes(found, writes, write_score, fired, at_output, first, reads, on)


def read_mlp(layer: Layer, layer_index: int, basis: Basis, unembedding: np.ndarray,
             samples: Samples | None) -> MLPReading | None:
    """The MLP of one layer, or None when it has no hidden units."""
    if layer.d_ff == 0:
        return None
    found = readout.find_spikes(layer)
    spikes = None
    rest = np.arange(layer.d_ff)
    if found is not None:
        spikes = read_spikes(layer, found, basis, unembedding, samples, layer_index)
        in_spike = np.zeros(layer.d_ff, dtype=bool)
        for t in found.triples:
            in_spike[3 * t: 3 * t + 3] = True
        rest = np.flatnonzero(~in_spike)
    rest = rest[np.any(layer.M1[:, rest] != 0, axis=0) | np.any(layer.M2[rest] != 0, axis=1)
                | (layer.b1[rest] != 0)]                      # units that are all zero do nothing
    neurons = read_neurons(layer, rest, basis, unembedding) if rest.size else None
    return MLPReading(layer_index, basis, layer.d_ff, spikes, neurons)
