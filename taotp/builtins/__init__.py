"""The constructions library: functions a .taotp program can call by name.

Each module in this package registers its functions with `@builtin`. A builtin
receives plain values (Python numbers, strings, lists, numpy arrays, Records)
and returns one. Builtins that need the compilation context (the program's
folder for data files, progress reporting, notes for `trace`) declare
`context=True` and receive a `BuiltinContext` as their first argument.
No builtin may run user-supplied code.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REGISTRY: dict[str, "Builtin"] = {}


@dataclass
class Builtin:
    name: str
    fn: Callable
    context: bool = False
    doc: str = ""


def _budget():
    from ..lang.budget import current

    return current()


@dataclass
class BuiltinContext:
    base_dir: Path                       # the program's folder; data files are read relative to it
    progress_enabled: bool = True
    notes: dict = field(default_factory=dict)  # reported to the Program (e.g. for trace)
    budget: object = field(default_factory=_budget)  # the compilation's lang.budget.Budget
    given_paths: frozenset = frozenset()  # values typed on the command line (--set): files they name may be read

    def progress(self, total: int | None, desc: str = "", unit: str = "it"):
        from ..progress import Progress

        return Progress(total, desc, enabled=self.progress_enabled, unit=unit)

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def builtin(name: str | None = None, *, context: bool = False):
    """Register a function as a builtin under `name` (default: the function's name)."""

    def register(fn):
        key = name or fn.__name__
        if key in REGISTRY:
            raise RuntimeError(f"builtin {key!r} registered twice")
        REGISTRY[key] = Builtin(key, fn, context, (fn.__doc__ or "").strip())
        return fn

    return register


_loaded = False


def load_all() -> dict[str, Builtin]:
    """Import every module of this package so that all builtins are registered."""
    global _loaded
    if not _loaded:
        for mod in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{mod.name}")
        _loaded = True
    return REGISTRY
