"""Rules read off a table, and the plain words for them.

A rule is a statement about every row of a table, checked row by row; it is
stated when it holds for at least HOLDS of the rows it applies to (the others are
listed as exceptions). Candidates, most telling first:

- over tokens (QK): `next` (each row ranks the keys after it in vocabulary order
  first, nearest first: SORT's "the next larger number present"), `previous`,
  `first` / `last` (every row ranks all keys in (reverse) vocabulary order: MIN,
  MAX), then the best key per row: `same`, `shift` k, `fixed` c;
- over positions (QK, causal): `back` k (i -> i - k; k = 0 is "itself"),
  `fixed` c, `first` / `last` (earliest / latest visible key);
- tables read through the unembedding (OV, direct path): `same`, `minus` (each
  row lowest on its own token: a head that subtracts what it reads), `shift`, `fixed`;
  for the direct path first `alike`: every row nearly the same (the other axis,
  averaged over, decides; e.g. HELLO's tokens, whose positions are 1e6 times larger).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..trace.render_text import _q
from .tables import Table

HOLDS = 0.9           # a rule is stated when it holds for this share of its rows
MIN_ROWS = 2          # ... and applies to at least this many rows
ALIKE = 1e-3          # rows differing by less than this share of their own range are alike


@dataclass
class Rule:
    kind: str                      # same | minus | shift | fixed | back | next | previous | first | last | alike
    arg: int | None                # shift / back: k; fixed, alike: the column
    holds: int                     # rows where it holds
    of: int                        # rows it applies to
    exceptions: list[int] = field(default_factory=list)   # rows where it applies and fails

    def to_json(self) -> dict:
        return {"kind": self.kind, "arg": self.arg, "holds": self.holds, "of": self.of,
                "exceptions": self.exceptions}

    def count(self, unit: str = "") -> str:
        of = f"{self.of} {unit}{'s' if unit and self.of != 1 else ''}".rstrip()
        return f"all {of}" if self.holds == self.of else f"{self.holds} of {of}"


def _check(kind, arg, rows_ok: dict[int, bool]) -> Rule:
    return Rule(kind, None if arg is None else int(arg), int(sum(rows_ok.values())), len(rows_ok),
                [int(r) for r, ok in rows_ok.items() if not ok])


def _strictly_down(x: np.ndarray) -> bool:
    return bool(np.all(np.diff(x) < 0))


def _order_rules(t: Table) -> list[Rule]:
    """Rules on the whole ranking of each row (finite entries only)."""
    v = t.values
    found: dict[str, dict[int, bool]] = {"next": {}, "previous": {}, "first": {}, "last": {}}
    for r in np.flatnonzero(t.decided):
        cols = np.flatnonzero(np.isfinite(v[r]))
        row = v[r, cols]
        if cols.size < 2:
            continue
        found["first"][r] = _strictly_down(row)
        found["last"][r] = _strictly_down(row[::-1])
        if t.row_axis == t.col_axis == "tokens":
            after, upto = cols > r, cols <= r
            if after.any():
                found["next"][r] = _strictly_down(row[after]) and (
                    not upto.any() or row[after].min() > row[upto].max())
            before, rest = cols < r, cols >= r
            if before.any():
                found["previous"][r] = _strictly_down(row[before][::-1]) and (
                    not rest.any() or row[before].min() > row[rest].max())
    return [_check(k, None, ok) for k, ok in found.items() if ok]


CANDIDATES = 6      # values of k or c tried per rule: the most common ones among the rows


def _best_of(rules: list[Rule]) -> list[Rule]:
    """The candidate that holds for the most rows among those meeting HOLDS (else none)."""
    good = [r for r in rules if r.of >= MIN_ROWS and r.holds >= HOLDS * r.of]
    return [max(good, key=lambda r: (r.holds, -abs(r.arg or 0)))] if good else []


def _argmax_rules(t: Table) -> list[Rule]:
    """Rules on the best column of each row. The offset k (or column c) is tried for
    the values most rows show: a rule may apply to few rows (ADD_MOD's head reading 4
    back applies to the 2 positions that can see 4 back)."""
    pairs = t.pairs()
    if not pairs:
        return []
    n_cols = t.values.shape[1]
    diffs = [d for d, _ in Counter(c - r for r, c in pairs).most_common(CANDIDATES)]
    fixed = [c for c, _ in Counter(c for _, c in pairs).most_common(CANDIDATES)]
    out = []
    if t.row_axis == "positions" and t.col_axis == "positions":
        out += _best_of([_check("back", -d, {r: c == r + d for r, c in pairs if r + d >= 0})
                         for d in diffs if d <= 0])
        out += _best_of([_check("fixed", f, {r: c == f for r, c in pairs if r >= f}) for f in fixed])
        return out
    if t.row_axis == t.col_axis:
        out.append(_check("same", None, {r: c == r for r, c in pairs}))
        out.append(_check("minus", None, {r: int(t.worst[r]) == r for r, _ in pairs}))
        out += _best_of([_check("shift", d, {r: c == r + d for r, c in pairs if 0 <= r + d < n_cols})
                         for d in diffs if d != 0])
    out += _best_of([_check("fixed", f, {r: c == f for r, c in pairs}) for f in fixed])
    return out


def _alike_rule(t: Table) -> list[Rule]:
    """Every row nearly the same (the row's own token or position hardly matters)."""
    pairs = t.pairs()
    if len(pairs) < MIN_ROWS or t.row_dependence >= ALIKE * t.spread:
        return []
    top = Counter(c for _, c in pairs).most_common(1)[0][0]
    return [_check("alike", top, {r: c == top for r, c in pairs})]


PRIORITY = {
    "qk_tokens": ("next", "previous", "first", "last", "same", "shift", "fixed"),
    "qk_positions": ("back", "fixed", "first", "last"),
    "ov": ("same", "minus", "alike", "shift", "fixed"),
}
DEFAULT_PRIORITY = ("alike", "same", "shift", "fixed")


def find_rule(t: Table) -> Rule | None:
    """The most telling rule that holds for the table, or None."""
    cands = _argmax_rules(t) + (_order_rules(t) if t.kind.startswith("qk") else _alike_rule(t))
    order = PRIORITY.get(t.kind, DEFAULT_PRIORITY)
    good = [r for r in cands if r.kind in order and r.of >= MIN_ROWS and r.holds >= HOLDS * r.of]
    if not good:
        return None
    return min(good, key=lambda r: (order.index(r.kind), -r.holds))


# -- words -----------------------------------------------------------------------------------
def _pos(c: int, labels: dict[int, str]) -> str:
    return f"position {c}" + (f" (always {_q(labels[c])})" if c in labels else "")


def _offset(k: int) -> str:
    return f"{abs(k)} {'after' if k > 0 else 'before'}"


def describe(rule: Rule, t: Table, position_labels: dict[int, str] | None = None) -> str:
    """The rule in plain words, for the table it was read from."""
    kind, k = rule.kind, rule.arg
    col = _q(t.cols[k]) if kind in ("fixed", "alike") else ""
    if t.kind == "qk_tokens":
        if kind in ("next", "previous"):
            which = "the next one after" if kind == "next" else "the nearest one before"
            return f"each token to {which} it in vocabulary order among the keys present"
        if kind in ("first", "last"):
            a, b = (t.cols[0], t.cols[1]) if kind == "first" else (t.cols[-1], t.cols[-2])
            return f"any token to the {kind} in vocabulary order among the keys present ({_q(a)}, then {_q(b)}, ...)"
        if kind == "same":
            return "each token to the same token"
        if kind == "shift":
            return f"each token to the one {_offset(k)} it in vocabulary order"
        return f"any token to {col}"
    if t.kind == "qk_positions":
        if kind == "back":
            return "each position to itself" if k == 0 else f"each position to the one {k} back"
        if kind == "fixed":
            labels = position_labels or {}
            return f"any position to position {k}" + (f" ({labels[k]})" if k in labels else "")
        return f"each position to the {'earliest' if kind == 'first' else 'latest'} one"
    if t.kind == "ov":
        if kind == "same":
            return "copies the attended token"
        if kind == "minus":
            return "writes minus the attended token"
        if kind == "shift":
            return f"writes the token {_offset(k)} the attended one"
        return f"writes {col}"
    what = "token" if t.row_axis == "tokens" else "position"
    if kind == "alike":
        other = "positions" if what == "token" else "tokens"
        return f"the {what} hardly matters: every {what} decodes to {col} (averaged over {other})"
    if kind == "same":
        return f"each {what} decodes to itself"
    if kind == "shift":
        return f"each token decodes to the one {_offset(k)} it"
    return f"every {what} decodes to {col}"
