"""The torch engine: the program as the exported PyTorch module
(taotp/export/torch_module.py), with the decode rule outside the model
(taotp.engine.batched).

Same contract as every engine: `generate_batch(params, prompts, rule, max_steps=None)`;
plus `forward_logits(params, tokens_batch)`. The module runs in the params' dtype, on
the CPU, with one thread (small products on a shared machine; taotp.blas says why).
"""

from __future__ import annotations

import numpy as np

from ..export import layout
from ..export.optional import require
from ..params import Params
from . import batched


class one_torch_thread:
    def __enter__(self):
        import torch

        self.saved = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.saved)


class TorchEngine:
    """The module built from a Params' exported tensors."""

    def __init__(self, params: Params):
        torch = require("torch", "the torch engine")
        from ..export.torch_module import TaotpTransformer

        self.torch, self.params = torch, params
        self.dtype = np.result_type(params.tok_emb.dtype, np.float32)
        tdtype = getattr(torch, self.dtype.name)
        self.model = TaotpTransformer(layout.shapes(params), tdtype)
        weights = {k: torch.from_numpy(np.array(v)) for k, v in layout.tensors(params, self.dtype).items()}
        self.model.load_state_dict(weights)
        self.model.eval()

    def logits(self, tokens: np.ndarray) -> np.ndarray:
        """Logits (B, n, vocab) of token ids (B, n)."""
        with self.torch.no_grad(), one_torch_thread():
            return self.model(self.torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64))).numpy()

    def generate(self, prompts, rule, max_steps=None) -> list[list[int]]:
        return batched.generate(self.logits, self.params, prompts, rule, max_steps, self.dtype.itemsize)


def generate_batch(params: Params, prompts, rule, max_steps=None) -> list[list[int]]:
    return TorchEngine(params).generate(prompts, rule, max_steps)


def forward_logits(params: Params, tokens_batch) -> np.ndarray:
    toks = np.asarray(tokens_batch, dtype=np.int64)
    return TorchEngine(params).logits(toks[None] if toks.ndim == 1 else toks)
