"""`taotp programs`: list the shipped programs."""

from __future__ import annotations

import click

from ..resources import programs_dir, shipped_programs


def _summary(path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


@click.command("programs")
def command():
    """List the programs shipped with taotp (run one by name: taotp run sort ...)."""
    for name in shipped_programs():
        click.echo(f"{name:<16} {_summary(programs_dir() / (name + '.taotp'))}")
