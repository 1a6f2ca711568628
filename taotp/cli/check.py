"""`taotp check`: run a program against its spec on every input or on random ones."""

from __future__ import annotations

import json
import sys

import click

from ..check import EXHAUSTIVE_LIMIT, check, format_result
from ..engine import DEFAULT_ENGINE, ENGINES
from ..errors import UsageError
from .options import dtype_of, dtype_option, json_option, load, program_argument, set_option


@click.command("check")
@program_argument
@set_option
@click.option("--exhaustive", is_flag=True,
              help=f"Check every input the spec allows (refused above {EXHAUSTIVE_LIMIT:,}).")
@click.option("--samples", type=int, default=None, metavar="N",
              help="Check N random inputs (default 1000 when --exhaustive is not given).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed for --samples (>= 0).")
@click.option("--engine", type=click.Choice(ENGINES), default=DEFAULT_ENGINE,
              show_default=True, help="Engine to check (reference is slow: for debugging).")
@dtype_option
@click.option("--show", type=click.IntRange(min=0), default=5, show_default=True,
              help="How many failing inputs to print.")
@json_option
def command(program, sets, exhaustive, samples, seed, engine, dtype, show, as_json):
    """Check PROGRAM against the spec it declares (`spec NAME`): print passed and failed
    counts, the first failures (expected vs actual), the smallest logit margin and the
    softest attention seen. Exits 1 if any input fails."""
    if exhaustive and samples is not None:
        raise UsageError("give either --exhaustive or --samples N, not both")
    prog = load(program, sets)
    result = check(prog, exhaustive=exhaustive, samples=samples, seed=seed, engine=engine,
                   dtype=dtype_of(dtype), progress=not as_json, show=show)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        click.echo(format_result(result))
    sys.stdout.flush()
    if not result.ok:
        sys.exit(1)
