"""Options shared by several commands, and loading the program they name."""

from __future__ import annotations

import click
import numpy as np

from ..compiler import load_program
from ..errors import UsageError


def parse_sets(pairs) -> dict:
    out = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--set takes NAME=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


program_argument = click.argument("program", metavar="PROGRAM")
set_option = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                          help="Override a `param` of the program (repeatable).")
dtype_option = click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64",
                            show_default=True, help="Floating point type to run in.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def load(program: str, sets) -> "Program":  # noqa: F821
    return load_program(program, parse_sets(sets))


def dtype_of(name: str):
    return np.float32 if name == "float32" else np.float64
