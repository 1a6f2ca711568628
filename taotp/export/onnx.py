"""`taotp export --format onnx`: the machine as an ONNX graph, token ids to logits.

Input `tokens` int64 (batch, seq); output `logits` (batch, seq, vocab) in float32 or
float64 (the export's dtype); batch and seq are dynamic (seq <= block). Written
with onnx.helper from primitive operators only, each layer from its own arrays:

- layer norm as the book's: beta + gamma * (x - mean) / (sqrt(mean((x - mean)^2)) + 1e-10),
  ReduceSum / Div / Sqrt / Add, never ONNX's LayerNormalization (whose epsilon sits
  inside the square root); a variance that overflowed makes the logits NaN (not 0s);
- softmax as the book's: exp(s - max) / (sum + 1e-10) (ReduceMax, Exp, ReduceSum, Div);
- scores divided by sqrt(d_head) of the layer; a causal mask from the positions
  (key <= query); relu MLP; logits = LN_f(x) @ out_emb.T.

Operations follow the reference engine's order (taotp/engine/reference.py): x.mean is
sum / d, var is mean((x - mean)^2), gamma multiplies before the division.
A layer with no heads (or d_head 0) adds no attention; one with d_ff 0 adds b2 only.

Greedy decoding is left outside the graph (config in the model's metadata, key
"taotp_config": the vocabulary and the decode rule); `taotp run|check --engine
onnxruntime` runs this graph with the program's rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import UsageError
from . import layout
from .optional import require

OPSET = 18
IR_VERSION = 8          # read by onnxruntime >= 1.14
PROTOBUF_LIMIT = 2**31 - 2**20  # a model larger than this keeps its weights in a side file


class _Graph:
    """Nodes and constants of one graph; each op returns the name of its output."""

    def __init__(self, onnx, dtype):
        self.onnx, self.h = onnx, onnx.helper
        self.dtype = np.dtype(dtype)
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name: str, value, dtype=None) -> str:
        arr = np.ascontiguousarray(np.asarray(value, dtype=dtype or self.dtype))
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, *inputs: str, name: str | None = None, **attrs) -> str:
        self.count += 1
        out = name or f"{op_type.lower()}_{self.count}"
        self.nodes.append(self.h.make_node(op_type, list(inputs), [out], **attrs))
        return out


def _layer_norm(g: _Graph, x: str, gamma: np.ndarray, beta: np.ndarray, d: int, prefix: str) -> str:
    """The book's LN over the last axis (see the module docstring), in the reference's order."""
    last, n = g.const(f"{prefix}.axis", [-1], np.int64), g.const(f"{prefix}.d", d)
    mean = g.op("Div", g.op("ReduceSum", x, last, keepdims=1), n)
    c = g.op("Sub", x, mean)
    var = g.op("Div", g.op("ReduceSum", g.op("Mul", c, c), last, keepdims=1), n)
    denom = g.op("Add", g.op("Sqrt", var), g.const(f"{prefix}.eps", layout.EPS))
    if not np.all(gamma == 1):
        c = g.op("Mul", g.const(f"{prefix}.gamma", gamma), c)
    # var - var is 0, or NaN when var overflowed: the reference raises there (numpy's
    # overflow is an error in taotp), while c / inf would quietly give 0; the NaN
    # reaches the logits, where the decoder reports it.
    y = g.op("Add", g.op("Div", c, denom), g.op("Sub", var, var))
    if np.any(beta != 0):
        y = g.op("Add", g.const(f"{prefix}.beta", beta), y)
    return y


def _attention(g: _Graph, x: str, L, i: int, mask: str) -> str:
    """Causal multi-head attention of layer i on LN'd x (batch, n, d): (batch, n, d)."""
    h, d, k = L.Q.shape
    p = f"layers.{i}"
    # (h, d, k) -> (d, h*k): column j*k + c is head j's column c, as einsum('nd,hdk->nhk').
    proj = lambda M, name: g.op("MatMul", x, g.const(f"{p}.{name}", M.transpose(1, 0, 2).reshape(d, h * k)))
    heads = g.const(f"{p}.heads_shape", [0, 0, h, k], np.int64)
    split = lambda t, perm: g.op("Transpose", g.op("Reshape", t, heads), perm=perm)
    q = split(proj(L.Q, "Q"), [0, 2, 1, 3])                             # (b, h, n, k)
    kT = split(proj(L.K, "K"), [0, 2, 3, 1])                            # (b, h, k, n)
    v = split(proj(L.V, "V"), [0, 2, 1, 3])                             # (b, h, n, k)
    scores = g.op("Div", g.op("MatMul", q, kT), g.const(f"{p}.scale", k ** 0.5))  # (b, h, n, n)
    scores = g.op("Where", mask, scores, g.const(f"{p}.minus_inf", -np.inf))
    last = g.const(f"{p}.axis", [-1], np.int64)
    e = g.op("Exp", g.op("Sub", scores, g.op("ReduceMax", scores, last, keepdims=1)))
    total = g.op("Add", g.op("ReduceSum", e, last, keepdims=1), g.const(f"{p}.eps", layout.EPS))
    w = g.op("Div", e, total, name=f"{p}.attention")                    # (b, h, n, n)
    z = g.op("Transpose", g.op("MatMul", w, v), perm=[0, 2, 1, 3])      # (b, n, h, k)
    z = g.op("Reshape", z, g.const(f"{p}.z_shape", [0, 0, h * k], np.int64))
    # P (h, d, k) -> (h*k, d): einsum('nhk,hdk->nd') as one product.
    return g.op("MatMul", z, g.const(f"{p}.P", L.P.transpose(0, 2, 1).reshape(h * k, d)))


def _mlp(g: _Graph, x: str, L, i: int) -> str | None:
    """relu(x @ M1 + b1) @ M2 + b2, or b2 alone when d_ff is 0 (None when that is zero)."""
    p = f"layers.{i}"
    if L.d_ff == 0:
        return g.const(f"{p}.b2", L.b2) if np.any(L.b2 != 0) else None
    hid = g.op("Relu", g.op("Add", g.op("MatMul", x, g.const(f"{p}.M1", L.M1)), g.const(f"{p}.b1", L.b1)))
    return g.op("Add", g.op("MatMul", hid, g.const(f"{p}.M2", L.M2)), g.const(f"{p}.b2", L.b2))


def build(params, dtype=np.float64, metadata: dict | None = None):
    """An onnx.ModelProto computing the logits of `params` in `dtype`."""
    onnx = require("onnx", "ONNX export")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise UsageError(f"ONNX export runs in float32 or float64, not {dtype}")
    p = params.astype(dtype)
    d = p.d_model
    g = _Graph(onnx, dtype)
    ln = lambda x, norm, prefix: _layer_norm(g, x, layout.ln_vector(norm.gamma, d, dtype),
                                             layout.ln_vector(norm.beta, d, dtype), d, prefix)
    n = g.op("Squeeze", g.op("Shape", "tokens", start=1, end=2))           # seq, a scalar
    pos = g.op("Range", g.const("zero", 0, np.int64), n, g.const("one", 1, np.int64), name="positions")
    x = g.op("Add", g.op("Gather", g.const("tok_emb", p.tok_emb), "tokens"),
             g.op("Gather", g.const("pos_emb", p.pos_emb), pos), name="embed")
    # query i sees keys j <= i: (n, n)
    unsqueeze = lambda axis: g.op("Unsqueeze", pos, g.const(f"axis{axis}", [axis], np.int64))
    mask = g.op("LessOrEqual", unsqueeze(0), unsqueeze(1), name="causal_mask")
    for i, L in enumerate(p.layers):
        if L.n_heads and L.d_head:
            att = _attention(g, ln(x, L.ln1, f"layers.{i}.ln1"), L, i, mask)
            x = g.op("Add", x, att, name=f"layers.{i}.resid_mid")
        out = _mlp(g, ln(x, L.ln2, f"layers.{i}.ln2") if L.d_ff else None, L, i)
        if out is not None:
            x = g.op("Add", x, out, name=f"layers.{i}.resid_post")
    U = np.ascontiguousarray(p.unembedding.T)
    g.op("MatMul", ln(x, p.lnf, "lnf"), g.const("out_emb_T", U), name="logits")

    h = onnx.helper
    elem = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    graph = h.make_graph(g.nodes, "taotp", [h.make_tensor_value_info("tokens", onnx.TensorProto.INT64, ["batch", "seq"])],
                         [h.make_tensor_value_info("logits", elem, ["batch", "seq", p.vocab_size])], g.inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", OPSET)], producer_name="taotp",
                         doc_string="taotp program: token ids (batch, seq) -> logits (batch, seq, vocab)")
    model.ir_version = IR_VERSION
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return model


def write(program, out: Path, dtype=np.float64) -> list[Path]:
    """Write the program's graph to `out` (.onnx); the config rides in the metadata."""
    onnx = require("onnx", "ONNX export")
    out = Path(out)
    if out.is_dir():
        raise UsageError(f"{out} is a folder; the ONNX format writes one file (for example -o {out.name}.onnx)")
    model = build(program.params, dtype, {"taotp_config": json.dumps(layout.config(program, dtype))})
    large = model.ByteSize() > PROTOBUF_LIMIT
    try:
        onnx.save_model(model, str(out), save_as_external_data=large, location=out.name + ".data")
    except OSError as e:
        raise UsageError(f"cannot write {out}: {e.strerror}") from None
    return [out] + ([out.with_name(out.name + ".data")] if large else [])
