"""Reading compiled weights (`taotp compile`'s .npz / .json) defensively.

A weights file comes from anywhere: it may be truncated, hold strings or complex
numbers where weights go, name token ids the vocabulary does not have, or declare
arrays far larger than memory (a compressed .npz can unpack to gigabytes). Each
of these is a UsageError naming the file and what is wrong, raised before the
arrays are read (sizes come from the .npy headers)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .errors import UsageError

MAX_WEIGHTS_BYTES = 1 << 30        # all arrays of one .npz, as float64
MAX_JSON_BYTES = 256 << 20         # a .json weights file (json.loads takes ~2x in memory)
MAX_SOURCE_BYTES = 16 << 20        # a .taotp program or a ch. 8 literal (parsed into a tree)
NUMBER_KINDS = "fiub"              # float, int, unsigned, bool: what a weight may hold
TEXT_KEYS = ("vocab", "vocab_mode", "decode", "meta")


def check_file_size(path: Path, limit: int, what: str) -> None:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    if size > limit:
        raise UsageError(f"{path} is {size:,} bytes, more than the {limit:,} a {what} may have")


def read_npz(path: Path, max_bytes: int = MAX_WEIGHTS_BYTES) -> dict[str, np.ndarray]:
    """The arrays of an .npz, refused (with the reason) if the archive is damaged, an array
    is not numbers, or together they would take more than max_bytes."""
    try:
        with open(path, "rb") as f:
            if f.read(2) != b"PK":
                raise UsageError(f"{path} is not an .npz archive (as `taotp compile -o FILE.npz` writes)")
        total = 0
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                with zf.open(info) as member:
                    shape, dtype = _npy_header(member, name, path)
                count = int(np.prod(shape, dtype=object)) if shape else 1
                if name not in TEXT_KEYS:
                    if dtype.kind not in NUMBER_KINDS:
                        raise UsageError(f"{path}: array {name!r} holds {_kind(dtype)}, not numbers")
                    total += 8 * count
                elif dtype.kind not in "U":
                    raise UsageError(f"{path}: {name!r} should be text, got {_kind(dtype)}")
                if total > max_bytes:
                    raise UsageError(f"{path}: its arrays would take {total:,} bytes as float64, more than "
                                     f"the limit of {max_bytes:,}")
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except UsageError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as e:
        raise UsageError(f"cannot read weights from {path}: the archive is damaged or truncated "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no detail'})") from None


def _npy_header(member, name: str, path: Path):
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = read(member)
    except ValueError as e:
        raise UsageError(f"{path}: array {name!r} is not a valid .npy array ({e})") from None
    return shape, np.dtype(dtype)


def _kind(dtype: np.dtype) -> str:
    return {"U": "text", "S": "bytes", "O": "Python objects", "c": "complex numbers", "V": "raw records",
            "M": "dates", "m": "time deltas"}.get(dtype.kind, f"values of type {dtype}")


def text_of(flat: dict, key: str, default: str, path: Path) -> str:
    if key not in flat:
        return default
    arr = flat.pop(key)
    if arr.ndim != 0:
        raise UsageError(f"{path}: {key!r} should be a single text value, got shape {arr.shape}")
    return str(arr)


def json_of(flat: dict, key: str, path: Path) -> dict:
    text = text_of(flat, key, "{}", path)
    try:
        value = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{path}: {key!r} is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path}: {key!r} should be a JSON object")
    return value


# -- what a weights file says besides weights ------------------------------------------

def _ids(value, what: str, vocab_size: int, path) -> list[int]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < vocab_size:
            raise UsageError(f"{path}: decode {what} should be token ids in [0, {vocab_size}), got {v!r}")
        out.append(v)
    return out


def check_decode(decode, vocab_size: int, block: int, path) -> dict:
    """The decoding rule of a weights file, its types and token ids checked."""
    if decode is None:
        return {}
    if not isinstance(decode, dict):
        raise UsageError(f"{path}: 'decode' should be an object with stop, prefix, steps_by_input_len")
    unknown = set(decode) - {"stop", "prefix", "steps_by_input_len"}
    if unknown:
        raise UsageError(f"{path}: 'decode' has an unknown key {sorted(unknown)[0]!r}")
    out = {}
    if decode.get("stop") is not None:
        out["stop"] = _ids(decode["stop"], "stop", vocab_size, path)[0]
    if "prefix" in decode:
        if not isinstance(decode["prefix"], list):
            raise UsageError(f"{path}: decode prefix should be a list of token ids")
        out["prefix"] = _ids(decode["prefix"], "prefix", vocab_size, path)
    table = decode.get("steps_by_input_len")
    if table is not None:
        if not isinstance(table, list) or len(table) > block + 1 or not all(
                v is None or (isinstance(v, int) and not isinstance(v, bool) and v <= block) for v in table):
            raise UsageError(f"{path}: decode steps_by_input_len should be a list of at most {block + 1} "
                             f"step counts up to {block} (or null)")
        out["steps_by_input_len"] = table
    return out


def check_meta(meta, path) -> dict:
    """What `taotp compile` recorded of the source program, its types checked."""
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise UsageError(f"{path}: 'meta' should be an object")

    def need(key, ok, what):
        if key in meta and not ok(meta[key]):
            raise UsageError(f"{path}: meta {key!r} should be {what}")

    need("name", lambda v: isinstance(v, str), "text")
    need("spec", lambda v: v is None or isinstance(v, str), "a spec name")
    need("settings", lambda v: isinstance(v, dict), "an object")
    need("slots", lambda v: isinstance(v, dict) and all(
        isinstance(s, list) and len(s) == 2 and all(isinstance(i, int) for i in s) for s in v.values()),
        "an object of [start, stop] pairs")
    need("input_patterns", lambda v: isinstance(v, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in v),
        "a list of [regex, message] pairs")
    need("exact_in", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of dtypes")
    need("exact_where", lambda v: isinstance(v, str), "text")
    return meta


def check_vocab(vocab, mode, path) -> None:
    if not isinstance(vocab, (list, tuple)) or not all(isinstance(t, str) for t in vocab):
        raise UsageError(f"{path}: 'vocab' should be a list of token strings")
    if mode not in ("words", "chars"):
        raise UsageError(f"{path}: 'vocab_mode' should be \"words\" or \"chars\", got {mode!r}")
