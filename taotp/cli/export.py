"""`taotp export`: a program's weights for other runtimes (docs/export.md)."""

from __future__ import annotations

import click

from ..export import FORMATS, export
from .options import dtype_of, dtype_option, load, program_argument, set_option


@click.command("export")
@program_argument
@set_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True,
              help="onnx: one graph file, token ids -> logits; safetensors: a folder with "
                   "model.safetensors + config.json; torch: that folder plus taotp_model.py, "
                   "a PyTorch module that loads it.")
@click.option("-o", "--output", required=True, type=click.Path(), metavar="PATH",
              help="The .onnx file, or the folder (safetensors, torch).")
@dtype_option
def command(program, sets, fmt, output, dtype):
    """Export PROGRAM for ONNX Runtime, safetensors readers or PyTorch.

    The machine is the book's exactly (layer norm with epsilon added to the standard
    deviation, softmax with +1e-10 in its denominator); the vocabulary and the decode
    rule travel in config.json (or the ONNX metadata, key taotp_config)."""
    prog = load(program, sets)
    files = export(prog, fmt, output, dtype_of(dtype))
    n = prog.params.count()["n_params"]
    for f in files:
        click.echo(f"wrote {f}", err=True)
    click.echo(f"{prog.name}: {n:,} parameters, {dtype}, format {fmt}", err=True)
