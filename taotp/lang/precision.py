"""`exact in float64` (or `exact in float64, float32`): the precisions a program is exact in.

A program states the floating-point types in which its answers are right; `taotp run`
refuses the others (Program.require_precision) instead of printing wrong answers, and
`taotp check` says whether the dtype it checks is one the program claims. A program
that states nothing runs in either. The statement may sit inside `if` (the precision a
program needs can depend on its parameters); the last one executed wins.

    if n_digits <= 2:
      exact in float64, float32
    else:
      exact in float64          # float32 rounds the spike MLP's points together
"""

from __future__ import annotations

from pathlib import Path

from ..program import DTYPES


def declare_exact(ev, node, env) -> None:
    """The evaluator's handler for exact_stmt: record the dtypes and where they were stated."""
    names = [str(t) for t in node.children]
    for tok in node.children:
        if str(tok) not in DTYPES:
            raise ev.error(tok, f"unknown dtype '{tok}' (known: {', '.join(DTYPES)})")
    if len(set(names)) != len(names):
        raise ev.error(node, "a dtype is named twice")
    span = ev.span(node)
    ev.machine.exact_in = tuple(names)
    ev.machine.exact_where = f"{Path(span.file).name}:{span.line}" if span else ""
