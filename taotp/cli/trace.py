"""`taotp trace`: run a program once and show what happens inside it (issue 6)."""

from __future__ import annotations

import click

from ..trace.cache import to_json, trace_program
from .options import color_option, html_option, json_option, png_option, load, program_argument, set_option, show


@click.command("trace")
@program_argument
@click.option("--input", "-i", "text", metavar="TEXT", default="",
              help="The input (characters or space-separated tokens).")
@set_option
@json_option
@png_option("attention per layer, residual stream, rings")
@html_option
@color_option
def command(program, text, sets, as_json, png_dir, html_file, color):
    """Run PROGRAM on --input and show, for each generated token, what each head
    attended to, the residual stream read slot by slot through the vocabulary, the
    logit lens after every layer, and which spikes of a spike MLP fired.

    --json prints {"tokens": [...], "cache": {hook name: nested lists}} with
    TransformerLens's hook names (masked attention scores, -inf, are null)."""
    from ..trace import render_html, render_png, render_text

    show(trace_program(load(program, sets), text), as_json, to_json, render_text.print_trace, color,
         png_dir, html_file, render_png.rendered, render_html.save_html)
