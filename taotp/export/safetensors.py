"""`taotp export --format safetensors`: a folder with model.safetensors and config.json.

Readable without taotp:

    import json
    from safetensors.numpy import load_file
    weights = load_file("sort/model.safetensors")     # names: taotp.export.layout
    config = json.load(open("sort/config.json"))      # vocab, shapes, formulas, decode rule

The safetensors header's metadata repeats config.json (key "taotp_config"), so the
weights file alone is enough.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import UsageError
from . import layout
from .optional import require

WEIGHTS = "model.safetensors"
CONFIG = "config.json"


def write(program, out_dir: Path, dtype=np.float64) -> list[Path]:
    """Write model.safetensors and config.json into out_dir (created); return the paths."""
    st = require("safetensors.numpy", "safetensors")
    out_dir = prepare_dir(out_dir)
    cfg = layout.config(program, dtype)
    weights = layout.tensors(program.params, dtype)
    text = dumps(cfg)
    try:
        st.save_file(weights, str(out_dir / WEIGHTS), metadata={"format": "taotp", "taotp_config": text})
        (out_dir / CONFIG).write_text(text + "\n")
    except OSError as e:
        raise UsageError(f"cannot write into {out_dir}: {e.strerror}") from None
    return [out_dir / WEIGHTS, out_dir / CONFIG]


def dumps(cfg: dict) -> str:
    """JSON with one top-level key per line (the vocabulary and tables stay on theirs)."""
    return "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in cfg.items()) + "\n}"


def read(folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    """(weights, config) of an exported folder."""
    st = require("safetensors.numpy", "safetensors")
    folder = Path(folder)
    try:
        cfg = json.loads((folder / CONFIG).read_text())
        weights = st.load_file(str(folder / WEIGHTS))
    except (OSError, ValueError) as e:
        raise UsageError(f"cannot read an exported program from {folder}: {e}") from None
    return weights, cfg


def prepare_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} is a file; this format writes a folder (give a folder name with -o)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the folder {out_dir}: {e.strerror}") from None
    return out_dir
