"""Options shared by several commands, and loading the program they name."""

from __future__ import annotations

import json

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


def png_option(what: str):
    return click.option("--png", "png_dir", metavar="DIR", type=click.Path(file_okay=False),
                        help=f"Write pictures to DIR: {what} (needs taotp[plot]).")


html_option = click.option("--html", "html_file", metavar="FILE", type=click.Path(dir_okay=False),
                           help="Write one self-contained HTML page with the view and the pictures "
                                "(needs taotp[plot]).")


def color_option(f):
    return click.option("--color/--no-color", default=None,
                        help="Force colour on or off (default: on a terminal).")(f)


def show(view, as_json: bool, to_json, print_view, color, png_dir=None, html_file=None,
         pictures=None, save_html=None) -> None:
    """Print a view (text, or --json) and write its pictures: drawn once by
    `pictures(view)` (imported lazily: matplotlib is an extra) for --png DIR and the
    page `save_html(view, FILE, pics)`; what was written is said on stderr."""
    wrote = []
    if png_dir is not None or html_file is not None:
        from ..trace.render_png import write_pngs

        pics = pictures(view)
        if png_dir is not None:
            paths = write_pngs(png_dir, pics)
            wrote.append(f"wrote {len(paths)} pictures to {png_dir}: " + ", ".join(p.name for p in paths))
        if html_file is not None:
            save_html(view, html_file, pics)
            wrote.append(f"wrote {html_file}")
    if as_json:
        click.echo(json.dumps(to_json(view), allow_nan=False))
    else:
        print_view(view, color=color)
    for line in wrote:
        click.echo(line, err=True)
