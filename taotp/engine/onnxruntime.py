"""The onnxruntime engine: the program's exported ONNX graph (taotp.export.onnx), run
by ONNX Runtime, with the decode rule outside the graph (taotp.engine.batched).

Same contract as every engine: `generate_batch(params, prompts, rule, max_steps=None)`;
plus `forward_logits(params, tokens_batch)`. The graph runs in the params' dtype
(float64, or float32 when `--dtype float32` cast them). ONNX Runtime runs on one
thread (the machines this runs on are small and shared; taotp.blas says why).
"""

from __future__ import annotations

import numpy as np

from ..errors import UsageError
from ..export.optional import require
from ..params import Params
from . import batched


class OnnxEngine:
    """One InferenceSession over a program's graph."""

    def __init__(self, params: Params):
        ort = require("onnxruntime", "the onnxruntime engine")
        from ..export.onnx import PROTOBUF_LIMIT, build

        self.params = params
        self.dtype = np.result_type(params.tok_emb.dtype, np.float32)
        model = build(params, self.dtype)
        if model.ByteSize() > PROTOBUF_LIMIT:
            raise UsageError("this program's graph is larger than 2 GB, more than the onnxruntime "
                             "engine builds in memory; export it (taotp export --format onnx) and run "
                             "the file with onnxruntime")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def logits(self, tokens: np.ndarray) -> np.ndarray:
        """Logits (B, n, vocab) of token ids (B, n)."""
        return self.session.run(["logits"], {"tokens": np.ascontiguousarray(tokens, dtype=np.int64)})[0]

    def generate(self, prompts, rule, max_steps=None) -> list[list[int]]:
        return batched.generate(self.logits, self.params, prompts, rule, max_steps, self.dtype.itemsize)


def generate_batch(params: Params, prompts, rule, max_steps=None) -> list[list[int]]:
    return OnnxEngine(params).generate(prompts, rule, max_steps)


def forward_logits(params: Params, tokens_batch) -> np.ndarray:
    toks = np.asarray(tokens_batch, dtype=np.int64)
    return OnnxEngine(params).logits(toks[None] if toks.ndim == 1 else toks)
