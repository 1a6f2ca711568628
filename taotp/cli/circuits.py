"""`taotp circuits`: read a program's weights through its vocabulary (issue 17)."""

from __future__ import annotations

import click

from ..circuits import circuits
from ..circuits.json_out import to_json
from ..circuits.render_text import print_circuits
from .options import color_option, html_option, json_option, png_option, load, program_argument, set_option, show


@click.command("circuits")
@program_argument
@set_option
@click.option("--layer", type=int, metavar="L", help="Only layer L (its heads and its MLP).")
@click.option("--head", "head", type=int, metavar="H", help="Only head H (of layer L, or of every layer).")
@click.option("--samples", type=click.IntRange(min=0), default=32, show_default=True, metavar="N",
              help="Spec inputs to measure the stream on after layer 0 (all when the spec has fewer; "
                   "0: read later layers on the embeddings).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the samples.")
@json_option
@png_option("a heatmap per head (QK tokens, QK positions, OV), the embeddings, spikes")
@html_option
@color_option
def command(program, sets, layer, head, samples, seed, as_json, png_dir, html_file, color):
    """Read PROGRAM's weights through its vocabulary: per head, which query token
    and position attend to which key (QK), and what attending to a token writes (OV,
    read through the unembedding, and slot by slot); per MLP, the token each neuron
    or spike (§6.3) reads and writes; a summary in words per head.

    Layer 0's attention is read on the embeddings exactly; later sub-layers on the
    residual stream measured on --samples inputs from the program's spec."""
    from ..circuits import render_html, render_png     # matplotlib is imported only to draw

    c = circuits(load(program, sets), layer=layer, head=head, samples=samples, seed=seed)
    if c.samples is None and c.sample_note.startswith("could not"):
        # the spec is broken or refuses its own inputs: say so where it is seen, not only in the header
        click.echo(f"warning: {c.sample_note}\n(sub-layers after layer 0 are read on the embeddings "
                   f"instead: the direct path)", err=True)
    show(c, as_json, to_json, print_circuits, color, png_dir, html_file, render_png.rendered, render_html.save_html)
