"""Exporting a compiled program to other runtimes (`taotp export`, docs/export.md).

- layout: tensor names and config.json, shared by every format;
- safetensors: model.safetensors + config.json (a folder);
- onnx: one .onnx graph, token ids -> logits, config in its metadata;
- torch_module: a standalone PyTorch module (copied beside the weights by the torch format);
- transformer_lens: a HookedTransformer with the book's layer norm and softmax.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..errors import UsageError

FORMATS = ("onnx", "safetensors", "torch")
TORCH_MODULE_FILE = "taotp_model.py"


def export(program, fmt: str, out, dtype=np.float64) -> list[Path]:
    """Write `program` in format `fmt` at `out`; return the files written."""
    out = Path(out)
    if fmt == "onnx":
        from . import onnx

        return onnx.write(program, out, dtype)
    if fmt == "safetensors":
        from . import safetensors

        return safetensors.write(program, out, dtype)
    if fmt == "torch":
        from . import safetensors

        files = safetensors.write(program, out, dtype)
        target = out / TORCH_MODULE_FILE
        try:
            shutil.copyfile(Path(__file__).with_name("torch_module.py"), target)
        except OSError as e:
            raise UsageError(f"cannot write {target}: {e.strerror}") from None
        return files + [target]
    raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
