"""Scopes and the values the evaluator makes: functions, modules, machine names.

Names are found by walking a chain of `Env`s: a block's or a function's scope,
then its module's globals, then the base environment shared by every module of
one compilation. The base holds the builtins, the constants (`pi`, `inf`) and
the machine's names (`tok_emb`, `Q`, ..., `vocab`, `model`, `token`): those are
`MachinePart`s, read through the machine when used, so lookup has no special
cases and a nearer binding (a loop variable, a parameter) simply shadows them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lark import Tree

from .source import SourceFile

CONSTANTS = {"pi": np.pi, "inf": np.inf}


class Env:
    """A scope: names bound by let/param/def/for/import, chained to the enclosing scope."""

    def __init__(self, parent: "Env | None" = None):
        self.vars: dict = {}
        self.parent = parent

    def find(self, name: str) -> "Env | None":
        env = self
        while env is not None:
            if name in env.vars:
                return env
            env = env.parent
        return None

    def names(self) -> set[str]:
        out, env = set(), self
        while env is not None:
            out |= set(env.vars)
            env = env.parent
        return out


@dataclass(frozen=True)
class MachinePart:
    """A name the machine answers when it is read: a weight (`tok_emb`, `Q`, ...),
    `vocab` or `model`. See MachineBuilder.read."""

    name: str


@dataclass(frozen=True)
class Unavailable:
    """A name that exists but has no value here (`input_len` outside `decode steps`)."""

    name: str
    why: str


@dataclass
class UserFunction:
    """A `def`: its body runs in a scope chained to `closure`, with `source` for errors."""

    name: str
    params: list[str]
    body: Tree
    closure: Env
    source: SourceFile
    node: Tree | None = None     # the `def` statement (its text is what a spec keeps, spec_lang/capture.py)


class Module:
    """An imported .taotp file: its top-level bindings, read as `name.attribute`."""

    def __init__(self, name: str, source: SourceFile, env: Env):
        self.name = name
        self.source = source
        self.env = env

    def has(self, name: str) -> bool:
        return name in self.env.vars

    def get(self, name: str):
        return self.env.vars[name]

    def names(self) -> list[str]:
        return sorted(self.env.vars)

    def __repr__(self) -> str:
        return f"<module {self.name}>"


class ReturnSignal(Exception):
    """`return EXPR` unwinding to the call that runs the function."""

    def __init__(self, value):
        self.value = value


def base_env(builtins: dict, machine_names: dict) -> Env:
    """The environment under every module's globals: builtins, constants, machine names."""
    env = Env()
    env.vars.update(builtins)
    env.vars.update(CONSTANTS)
    env.vars.update(machine_names)
    env.vars["input_len"] = Unavailable(
        "input_len", "input_len is only known when decoding: use it in `decode steps=...`")
    return env
