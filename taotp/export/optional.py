"""Optional dependencies: import them, or say which extra installs them."""

from __future__ import annotations

import importlib

from ..errors import UsageError

EXTRAS = {  # top-level package -> the taotp extra that brings it
    "onnx": "onnx", "onnxruntime": "onnx", "safetensors": "safetensors",
    "torch": "torch", "transformer_lens": "tlens",
}


def require(module: str, what: str):
    """Import `module` or raise a UsageError naming the pip extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        extra = EXTRAS.get(top, top)
        raise UsageError(f"{what} needs the Python package '{top}' ({e.msg}); "
                         f"install it with: pip install \"taotp[{extra}]\"") from None
