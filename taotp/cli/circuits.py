"""`taotp circuits`: read a program's weights through its vocabulary (issue 17)."""

from __future__ import annotations

import json

import click

from ..circuits import circuits
from ..circuits.json_out import to_json
from .options import json_option, load, program_argument, set_option


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
@click.option("--png", "png_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Write heatmaps to DIR: one per head (QK tokens, QK positions, OV), spikes (needs taotp[plot]).")
@click.option("--html", "html_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write one self-contained HTML page with the view and the heatmaps (needs taotp[plot]).")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: on a terminal).")
def command(program, sets, layer, head, samples, seed, as_json, png_dir, html_file, color):
    """Read PROGRAM's weights through its vocabulary: per head, which query token
    and position attend to which key (QK), and what attending to a token writes (OV,
    read through the unembedding, and slot by slot); per MLP, the token each neuron
    or spike (§6.3) reads and writes; a summary in words per head.

    Layer 0's attention is read on the embeddings exactly; later sub-layers on the
    residual stream measured on --samples inputs from the program's spec."""
    prog = load(program, sets)
    c = circuits(prog, layer=layer, head=head, samples=samples, seed=seed)
    wrote = []
    if png_dir is not None or html_file is not None:
        from ..circuits.render_html import save_html
        from ..circuits.render_png import rendered
        from ..trace.render_png import write_pngs

        pics = rendered(c)                       # drawn once for both
        if png_dir is not None:
            paths = write_pngs(png_dir, pics)
            wrote.append(f"wrote {len(paths)} pictures to {png_dir}")
        if html_file is not None:
            save_html(c, html_file, pics)
            wrote.append(f"wrote {html_file}")
    if as_json:
        click.echo(json.dumps(to_json(c), allow_nan=False))
    else:
        from ..circuits.render_text import print_circuits

        print_circuits(c, color=color)
    for line in wrote:
        click.echo(line, err=True)
