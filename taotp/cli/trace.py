"""`taotp trace`: run a program once and show what happens inside it (issue 6)."""

from __future__ import annotations

import json

import click

from ..trace.cache import to_json, trace_program
from .options import json_option, load, program_argument, set_option


@click.command("trace")
@program_argument
@click.option("--input", "-i", "text", metavar="TEXT", default="",
              help="The input (characters or space-separated tokens).")
@set_option
@json_option
@click.option("--png", "png_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Write pictures to DIR: attention per layer, residual stream, rings (needs taotp[plot]).")
@click.option("--html", "html_file", metavar="FILE", type=click.Path(dir_okay=False),
              help="Write one self-contained HTML page with the view and the pictures (needs taotp[plot]).")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: on a terminal).")
def command(program, text, sets, as_json, png_dir, html_file, color):
    """Run PROGRAM on --input and show, for each generated token, what each head
    attended to, the residual stream read slot by slot through the vocabulary, the
    logit lens after every layer, and which spikes of a spike MLP fired.

    --json prints {"tokens": [...], "cache": {hook name: nested lists}} with
    TransformerLens's hook names (masked attention scores, -inf, are null)."""
    prog = load(program, sets)
    t = trace_program(prog, text)
    wrote = []
    if png_dir is not None or html_file is not None:
        from ..trace.render_html import save_html
        from ..trace.render_png import rendered, save_pngs

        pics = rendered(t)                       # drawn once for both
        if png_dir is not None:
            paths = save_pngs(t, png_dir, pics)
            wrote.append(f"wrote {len(paths)} pictures to {png_dir}: " + ", ".join(p.name for p in paths))
        if html_file is not None:
            save_html(t, html_file, pics)
            wrote.append(f"wrote {html_file}")
    if as_json:
        click.echo(json.dumps(to_json(t), allow_nan=False))
    else:
        from ..trace.render_text import print_trace

        print_trace(t, color=color)
    for line in wrote:
        click.echo(line, err=True)
