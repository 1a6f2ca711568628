"""What a checked run saw at the positions whose logits were read.

The fast engine tells a `Stats` the logits and attention weights of every read
position; `taotp check` reports the extremes and the inputs where they happened.
Ties go to the earlier input (then the earlier output token, layer, head), so the
result does not depend on how the inputs were cut into calls, chunks or processes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

INF = float("inf")


@dataclass
class Stats:
    """margin: the smallest top-1 minus top-2 logit; attention: the smallest max
    attention weight of any head (V and P not all zero) at those queries, with
    the layer and head. `*_where` hold (input index + offset, step); `*_input` the
    input text there, once known (note_inputs)."""

    margin: float = INF
    margin_where: tuple | None = None
    margin_input: str | None = None
    attention: float = INF
    attention_layer: int | None = None
    attention_head: int | None = None
    attention_where: tuple | None = None
    attention_input: str | None = None
    offset: int = 0  # added to prompt indices (callers that split work into calls)

    def _margin_key(self):
        return (self.margin, self.margin_where or (INF,))

    def _attention_key(self):
        return (self.attention, self.attention_where or (INF,), self.attention_layer or 0,
                self.attention_head or 0)

    def merge_margin(self, logits: np.ndarray, rows: np.ndarray, step: int) -> None:
        if logits.shape[-1] < 2 or logits.shape[0] == 0:
            return
        top2 = np.partition(logits, -2, axis=-1)[:, -2:]
        m = top2[:, 1] - top2[:, 0]
        i = int(np.argmin(m))            # rows ascend: the first is the earliest input
        where = (self.offset + int(rows[i]), step)
        if (float(m[i]), where) < self._margin_key():
            self.margin, self.margin_where, self.margin_input = float(m[i]), where, None

    def merge_attention(self, w: np.ndarray, layer: int, heads: np.ndarray, rows: np.ndarray,
                        step: int) -> None:
        """w: (B, T, h) attention weights of the read query; heads: those to watch."""
        if heads.size and w.shape[0]:
            self.merge_peaks(w.max(axis=1)[:, heads], layer, heads, rows, step)

    def merge_peaks(self, peak: np.ndarray, layer: int, heads: np.ndarray, rows: np.ndarray,
                    step: int) -> None:
        """peak: (B, h') the largest weight of each watched head at each row's read query."""
        if heads.size == 0 or peak.shape[0] == 0:
            return
        b, j = np.unravel_index(int(np.argmin(peak)), peak.shape)
        where = (self.offset + int(rows[b]), step)
        if (float(peak[b, j]), where, layer, int(heads[j])) < self._attention_key():
            self.attention, self.attention_where, self.attention_input = float(peak[b, j]), where, None
            self.attention_layer, self.attention_head = layer, int(heads[j])

    def note_inputs(self, texts, start: int) -> None:
        """Record the input texts behind the extremes that fall in texts (inputs start..)."""
        for name in ("margin", "attention"):
            where = getattr(self, f"{name}_where")
            if where is not None and start <= where[0] < start + len(texts):
                setattr(self, f"{name}_input", texts[where[0] - start])

    def merge(self, other: "Stats") -> None:
        """Keep the smaller extremes of self and other (ties: the earlier input)."""
        if other._margin_key() < self._margin_key():
            self.margin, self.margin_where, self.margin_input = other.margin, other.margin_where, other.margin_input
        if other._attention_key() < self._attention_key():
            for k in ("attention", "attention_layer", "attention_head", "attention_where", "attention_input"):
                setattr(self, k, getattr(other, k))

    def to_plain(self) -> dict:
        return asdict(self)

    @classmethod
    def from_plain(cls, d: dict) -> "Stats":
        d = dict(d)
        for k in ("margin_where", "attention_where"):
            if d.get(k) is not None:
                d[k] = tuple(d[k])
        return cls(**d)

    def as_dict(self) -> dict:
        return {
            "min_margin": None if self.margin == INF else self.margin,
            "min_margin_at": self.margin_where,
            "softest_attention": None if self.attention == INF else self.attention,
            "softest_attention_layer": self.attention_layer,
            "softest_attention_head": self.attention_head,
            "softest_attention_at": self.attention_where,
        }
