"""The compiled form of a program: the book's parameter dict (fig. 1.3), validated.

`Params` holds exactly what the book's `transformer()` (fig. 1.1) takes:
tok_emb (V, d), pos_emb (B, d), out_emb (V, d) or None when tied to tok_emb,
layers (each Q, K, V, P (h, d, k); M1 (d, f); b1 (f,); M2 (f, d); b2 (d,);
ln1, ln2) and lnf. Counting follows fig. 1.4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ShapeError

LAYER_MATRICES = ("Q", "K", "V", "P", "M1", "b1", "M2", "b2")
ATTN_KEYS = ("Q", "K", "V", "P")
MLP_KEYS = ("M1", "b1", "M2", "b2")


@dataclass
class LayerNorm:
    """gamma and beta of a layer norm: scalars (the book always uses 1 and 0) or (d,) arrays."""

    gamma: float | np.ndarray = 1.0
    beta: float | np.ndarray = 0.0

    def is_identity_affine(self) -> bool:
        return bool(np.all(np.asarray(self.gamma) == 1.0) and np.all(np.asarray(self.beta) == 0.0))


@dataclass
class Layer:
    Q: np.ndarray
    K: np.ndarray
    V: np.ndarray
    P: np.ndarray
    M1: np.ndarray
    b1: np.ndarray
    M2: np.ndarray
    b2: np.ndarray
    ln1: LayerNorm = field(default_factory=LayerNorm)
    ln2: LayerNorm = field(default_factory=LayerNorm)

    @classmethod
    def zeros(cls, n_heads: int, d_model: int, d_head: int, d_ff: int, dtype=np.float64) -> "Layer":
        """The identity layer of fig. 1.3 (all weights zero; the residual carries x through)."""
        return cls(
            Q=np.zeros((n_heads, d_model, d_head), dtype),
            K=np.zeros((n_heads, d_model, d_head), dtype),
            V=np.zeros((n_heads, d_model, d_head), dtype),
            P=np.zeros((n_heads, d_model, d_head), dtype),
            M1=np.zeros((d_model, d_ff), dtype),
            b1=np.zeros((d_ff,), dtype),
            M2=np.zeros((d_ff, d_model), dtype),
            b2=np.zeros((d_model,), dtype),
        )

    @property
    def n_heads(self) -> int:
        return self.Q.shape[0]

    @property
    def d_head(self) -> int:
        return self.Q.shape[2]

    @property
    def d_ff(self) -> int:
        return self.M1.shape[1]

    def matrices(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in LAYER_MATRICES}


def _check_ln(ln: LayerNorm, name: str, d: int) -> None:
    for part in ("gamma", "beta"):
        val = np.asarray(getattr(ln, part))
        if val.ndim not in (0, 1) or (val.ndim == 1 and val.shape != (d,)):
            raise ShapeError(f"{name}.{part} should be a scalar or ({d},)")
        if not np.issubdtype(val.dtype, np.number) or np.issubdtype(val.dtype, np.complexfloating):
            raise ShapeError(f"{name}.{part} should hold real numbers, got {val.dtype}")


@dataclass
class Params:
    tok_emb: np.ndarray
    pos_emb: np.ndarray
    layers: list[Layer] = field(default_factory=list)
    out_emb: np.ndarray | None = None  # None: tied to tok_emb
    lnf: LayerNorm = field(default_factory=LayerNorm)

    # -- shape -----------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return self.tok_emb.shape[0]

    @property
    def block_size(self) -> int:
        return self.pos_emb.shape[0]

    @property
    def d_model(self) -> int:
        return self.tok_emb.shape[1]

    @property
    def unembedding(self) -> np.ndarray:
        return self.tok_emb if self.out_emb is None else self.out_emb

    @property
    def tied(self) -> bool:
        """Tied in the book's sense (fig. 1.4): out_emb equal to tok_emb."""
        return self.out_emb is None or (
            self.out_emb.shape == self.tok_emb.shape and bool(np.all(self.out_emb == self.tok_emb))
        )

    def validate(self) -> "Params":
        """Check every shape against the machine (DESIGN.md §1); raise ShapeError naming the part."""
        def need(name, arr, shape):
            arr = np.asarray(arr)
            if arr.shape != tuple(shape):
                raise ShapeError(f"{name} should have shape {tuple(shape)}, got {arr.shape}")
            if not np.issubdtype(arr.dtype, np.floating):
                raise ShapeError(f"{name} should hold floats, got {arr.dtype}")

        if self.tok_emb.ndim != 2:
            raise ShapeError(f"tok_emb should be 2-D (vocab, d_model), got shape {self.tok_emb.shape}")
        V, d = self.tok_emb.shape
        if self.pos_emb.ndim != 2 or self.pos_emb.shape[1] != d:
            raise ShapeError(f"pos_emb should have shape (block, {d}), got {self.pos_emb.shape}")
        if self.out_emb is not None:
            need("out_emb", self.out_emb, (V, d))
        for i, L in enumerate(self.layers):
            if L.Q.ndim != 3:
                raise ShapeError(f"layers[{i}].Q should be 3-D (heads, d_model, d_head), got {L.Q.shape}")
            h, _, k = L.Q.shape
            f = L.M1.shape[1] if L.M1.ndim == 2 else -1
            for key in ATTN_KEYS:
                need(f"layers[{i}].{key}", getattr(L, key), (h, d, k))
            need(f"layers[{i}].M1", L.M1, (d, f))
            need(f"layers[{i}].b1", L.b1, (f,))
            need(f"layers[{i}].M2", L.M2, (f, d))
            need(f"layers[{i}].b2", L.b2, (d,))
            for ln_name in ("ln1", "ln2"):
                _check_ln(getattr(L, ln_name), f"layers[{i}].{ln_name}", d)
        _check_ln(self.lnf, "lnf", d)
        return self

    def astype(self, dtype) -> "Params":
        cast = lambda a: np.asarray(a, dtype=dtype)
        ln = lambda n: LayerNorm(cast(n.gamma), cast(n.beta))
        return Params(
            tok_emb=cast(self.tok_emb),
            pos_emb=cast(self.pos_emb),
            out_emb=None if self.out_emb is None else cast(self.out_emb),
            lnf=ln(self.lnf),
            layers=[
                Layer(**{k: cast(v) for k, v in L.matrices().items()}, ln1=ln(L.ln1), ln2=ln(L.ln2))
                for L in self.layers
            ],
        )

    # -- counting (fig. 1.4) ------------------------------------------------------
    def count(self, nonzero: bool = False) -> dict:
        """The book's count: embeddings (out_emb only when untied) plus every layer matrix.

        Layer-norm gamma/beta are never counted. Returns n_params, tok_emb, pos_emb,
        out_emb (untied only), non_emb."""
        size = (lambda a: int(np.count_nonzero(a))) if nonzero else (lambda a: int(np.asarray(a).size))
        embs = {"tok_emb": size(self.tok_emb), "pos_emb": size(self.pos_emb)}
        if not self.tied:
            embs["out_emb"] = size(self.out_emb)
        non_emb = sum(size(m) for L in self.layers for m in L.matrices().values())
        return {"n_params": sum(embs.values()) + non_emb, **embs, "non_emb": non_emb}

    def count_by_layer(self, nonzero: bool = False) -> list[dict]:
        """Per layer: attention (Q, K, V, P) and MLP (M1, b1, M2, b2) parameter counts."""
        size = (lambda a: int(np.count_nonzero(a))) if nonzero else (lambda a: int(np.asarray(a).size))
        return [
            {
                "attn": sum(size(getattr(L, k)) for k in ATTN_KEYS),
                "mlp": sum(size(getattr(L, k)) for k in MLP_KEYS),
            }
            for L in self.layers
        ]

    # -- flat form (npz / the book's ch. 8 dict) --------------------------------------
    def to_flat(self) -> dict[str, np.ndarray]:
        """Flat names: tok_emb, pos_emb, out_emb, layers.{i}.{Q..b2}, layers.{i}.{ln1,ln2}.{gamma,beta}, lnf.*"""
        flat = {"tok_emb": self.tok_emb, "pos_emb": self.pos_emb, "out_emb": self.unembedding}
        for i, L in enumerate(self.layers):
            for k, v in L.matrices().items():
                flat[f"layers.{i}.{k}"] = v
            for ln_name in ("ln1", "ln2"):
                ln = getattr(L, ln_name)
                flat[f"layers.{i}.{ln_name}.gamma"] = np.asarray(ln.gamma, dtype=np.float64)
                flat[f"layers.{i}.{ln_name}.beta"] = np.asarray(ln.beta, dtype=np.float64)
        flat["lnf.gamma"] = np.asarray(self.lnf.gamma, dtype=np.float64)
        flat["lnf.beta"] = np.asarray(self.lnf.beta, dtype=np.float64)
        return flat

    @classmethod
    def from_flat(cls, flat) -> "Params":
        """Inverse of to_flat; out_emb equal to tok_emb is taken as tied."""
        def get(name):
            if name not in flat:
                raise ShapeError(f"weights file has no '{name}'")
            return np.asarray(flat[name], dtype=np.float64)

        n_layers = len({k.split(".")[1] for k in flat if k.startswith("layers.")})
        ln = lambda prefix: LayerNorm(
            gamma=np.asarray(flat.get(f"{prefix}.gamma", 1.0), dtype=np.float64),
            beta=np.asarray(flat.get(f"{prefix}.beta", 0.0), dtype=np.float64),
        )
        tok = get("tok_emb")
        out = np.asarray(flat["out_emb"], dtype=np.float64) if "out_emb" in flat else None
        if out is not None and out.shape == tok.shape and np.all(out == tok):
            out = None
        layers = [
            Layer(**{k: get(f"layers.{i}.{k}") for k in LAYER_MATRICES},
                  ln1=ln(f"layers.{i}.ln1"), ln2=ln(f"layers.{i}.ln2"))
            for i in range(n_layers)
        ]
        return cls(tok_emb=tok, pos_emb=get("pos_emb"), out_emb=out, layers=layers, lnf=ln("lnf")).validate()

    def to_book_dict(self) -> dict:
        """The book's ch. 8 literal: nested lists; out_emb written only when untied."""
        ln = lambda n: {"gamma": np.asarray(n.gamma).tolist(), "beta": np.asarray(n.beta).tolist()}
        d = {"tok_emb": self.tok_emb.tolist(), "pos_emb": self.pos_emb.tolist()}
        if not self.tied:
            d["out_emb"] = self.out_emb.tolist()
        d["layers"] = [
            {**{k: v.tolist() for k, v in L.matrices().items()}, "ln1": ln(L.ln1), "ln2": ln(L.ln2)}
            for L in self.layers
        ]
        d["lnf"] = ln(self.lnf)
        return d
