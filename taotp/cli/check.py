"""`taotp check`: run a program against its spec on every input or on random ones."""

from __future__ import annotations

import json
import sys

import click

from ..check import EXHAUSTIVE_LIMIT, check, format_result
from ..engine import DEFAULT_ENGINE, ENGINES
from ..errors import UsageError
from ..checking.backends import default_jobs
from .options import dtype_of, dtype_option, json_option, load, parse_sets, program_argument, set_option


@click.command("check")
@program_argument
@set_option
@click.option("--exhaustive", is_flag=True,
              help="Check every input the spec allows (refused above --limit).")
@click.option("--limit", type=click.IntRange(min=1), default=EXHAUSTIVE_LIMIT, show_default=True, metavar="N",
              help="The largest input space --exhaustive accepts (raise it for long runs, e.g. with --jobs).")
@click.option("--samples", type=int, default=None, metavar="N",
              help="Check N random inputs (default 1000 when --exhaustive is not given).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed for --samples (>= 0).")
@click.option("--engine", type=click.Choice(ENGINES), default=DEFAULT_ENGINE,
              show_default=True, help="Engine to check (reference is slow: for debugging; onnxruntime "
                                      "and torch run the exported program, docs/export.md).")
@dtype_option
@click.option("--show", type=click.IntRange(min=0), default=5, show_default=True,
              help="How many failing inputs to print.")
@click.option("--expect", "expect", type=str, default=None, metavar="PAIRS",
              help="Check against the examples of a file instead of the spec: input TAB expected output, "
                   "one a line (# comments).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Local processes to check on (default: every core this process may use).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run the check on a Dask distributed cluster, e.g. tcp://10.0.0.5:8786 "
                   "(pip install 'taotp[dask]'; see docs/performance.md).")
@json_option
def command(program, sets, exhaustive, limit, samples, seed, engine, dtype, show, expect, jobs, scheduler, as_json):
    """Check PROGRAM against the spec it declares (`spec NAME`, or `spec expected=F,
    inputs=D`) or against the examples of --expect FILE: print passed and failed counts,
    the first failures (expected vs actual), the smallest logit margin and the softest
    attention seen. Exits 1 if any input fails. The report is the same with any
    --jobs or --scheduler."""
    if exhaustive and samples is not None:
        raise UsageError("give either --exhaustive or --samples N, not both")
    if expect is not None and samples is not None:
        raise UsageError("--expect checks every example of its file; drop --samples")
    if jobs is not None and scheduler is not None:
        raise UsageError("give either --jobs N or --scheduler ADDRESS, not both")
    if expect is not None and scheduler is not None:
        raise UsageError("--expect checks on this machine (its examples are not sent to a cluster); drop --scheduler")
    prog = load(program, sets)
    if expect is not None:
        from ..spec_lang.expect import with_expectations

        prog, exhaustive = with_expectations(prog, expect), True
    result = check(prog, exhaustive=exhaustive, samples=samples, seed=seed, engine=engine,
                   dtype=dtype_of(dtype), progress=not as_json, show=show, limit=limit,
                   jobs=jobs or default_jobs(), scheduler=scheduler,
                   source=program, overrides=parse_sets(sets))
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        click.echo(format_result(result))
    sys.stdout.flush()
    if not result.ok:
        sys.exit(1)
