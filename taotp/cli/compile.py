"""`taotp compile`: write a program's weights to .npz or .json."""

from __future__ import annotations

from pathlib import Path

import click

from ..compiler import save_weights
from .options import load, program_argument, set_option


@click.command("compile")
@program_argument
@set_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), metavar="OUT.npz|OUT.json",
              help=".npz: flat arrays (tok_emb, layers.0.Q, ..., vocab); .json: the book's ch. 8 literal + vocab.")
def command(program, sets, output):
    """Compile PROGRAM and write its weights."""
    prog = load(program, sets)
    save_weights(prog, Path(output))
    n = prog.params.count()["n_params"]
    click.echo(f"wrote {output} ({n:,} parameters)", err=True)
