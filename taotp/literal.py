"""The book's ch. 8 literal programs: a dict literal of nested lists (fig. 8.2, 8.3).

Parsed with a small grammar (grammar/literal.lark) as data, never evaluated.
As fig. 8.1: `out_emb` defaults to `tok_emb`; lnf/ln1/ln2 default to gamma 1,
beta 0; an MLP of width 0 may be written as empty lists (`"M2": []`).
A literal may also carry `"vocab": [...]` (taotp compile's JSON adds it); without
one, its tokens are the ids themselves.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from lark import Lark, Transformer
from lark.exceptions import UnexpectedInput

from .errors import ShapeError, SyntaxErrorT
from .lang.operators import unescape
from .lang.parser import span_at
from .params import LAYER_MATRICES, Layer, LayerNorm, Params
from .resources import grammar_path


class _ToPython(Transformer):
    def dict(self, items):
        return {k: v for k, v in (i for i in items if i is not None)}

    def pair(self, kv):
        return tuple(kv)

    def list(self, items):
        return [i for i in items if i is not None] if items != [None] else []

    def number(self, tok):
        text = str(tok[0]).replace("_", "")
        return float(text)

    def string(self, tok):
        return unescape(str(tok[0])[1:-1], SyntaxErrorT)

    def true(self, _):
        return True

    def false(self, _):
        return False

    def none(self, _):
        return None


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(grammar_path("literal.lark").read_text(), parser="lalr", maybe_placeholders=True)


def looks_like_literal(source: str) -> bool:
    body = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith("#"))
    return body.lstrip().startswith("{")


def parse_literal(source: str, filename: str = "<literal>") -> dict:
    try:
        tree = _parser().parse(source)
    except UnexpectedInput as e:
        raise SyntaxErrorT(f"not a valid literal program: {str(e).splitlines()[0]}",
                           span_at(source, filename, e.line, e.column)) from None
    data = _ToPython().transform(tree)
    if not isinstance(data, dict):
        raise SyntaxErrorT(f"{filename}: a literal program is a dict {{...}}")
    return data


def _array(value, name: str, ndim: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise ShapeError(f"{name} is not a regular array of numbers (rows of different lengths?)") from None
    if ndim is not None and arr.ndim != ndim:
        raise ShapeError(f"{name} should be {ndim}-D, got shape {arr.shape}")
    return arr


def _layer_norm(value, name: str) -> LayerNorm:
    if value is None:
        return LayerNorm()
    if not isinstance(value, dict) or set(value) - {"gamma", "beta"}:
        raise ShapeError(f"{name} should be {{'gamma': ..., 'beta': ...}}")
    return LayerNorm(_array(value.get("gamma", 1.0), f"{name}.gamma"), _array(value.get("beta", 0.0), f"{name}.beta"))


def params_from_literal(data: dict) -> Params:
    known = {"tok_emb", "pos_emb", "out_emb", "layers", "lnf", "vocab", "vocab_mode", "decode", "meta"}
    unknown = set(data) - known
    if unknown:
        raise ShapeError(f"unknown key {sorted(unknown)[0]!r} in the literal (known: {', '.join(sorted(known))})")
    for key in ("tok_emb", "pos_emb"):
        if key not in data:
            raise ShapeError(f"the literal has no {key!r}")
    tok = _array(data["tok_emb"], "tok_emb", 2)
    d = tok.shape[1]
    layers = []
    if not isinstance(data.get("layers", []), list):
        raise ShapeError("'layers' should be a list of layer dicts")
    for i, L in enumerate(data.get("layers", [])):
        if not isinstance(L, dict):
            raise ShapeError(f"layers[{i}] should be a dict")
        missing = [k for k in ("Q", "K", "V", "P") if k not in L]
        if missing:
            raise ShapeError(f"layers[{i}] has no {missing[0]!r}")
        Q = _array(L["Q"], f"layers[{i}].Q", 3)
        arrays = {k: _array(L[k], f"layers[{i}].{k}") for k in LAYER_MATRICES if k in L}
        d_ff = arrays["M1"].shape[1] if "M1" in arrays and arrays["M1"].ndim == 2 else 0
        defaults = {"M1": (d, d_ff), "b1": (d_ff,), "M2": (d_ff, d), "b2": (d,)}
        for k, shape in defaults.items():
            a = arrays.get(k)
            if a is None or (a.size == 0 and 0 in shape):  # fig. 8.3: "M2": [] is an MLP of width 0
                arrays[k] = np.zeros(shape)
        layers.append(Layer(**arrays, ln1=_layer_norm(L.get("ln1"), f"layers[{i}].ln1"),
                            ln2=_layer_norm(L.get("ln2"), f"layers[{i}].ln2")))
        del Q
    out = _array(data["out_emb"], "out_emb", 2) if "out_emb" in data else None
    if out is not None and out.shape == tok.shape and np.all(out == tok):
        out = None
    return Params(tok_emb=tok, pos_emb=_array(data["pos_emb"], "pos_emb", 2), out_emb=out,
                  layers=layers, lnf=_layer_norm(data.get("lnf"), "lnf")).validate()
