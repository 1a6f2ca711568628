"""`taotp builtins`: the functions a program can call, with their signatures."""

from __future__ import annotations

import inspect

import click

from ..builtins import load_all


def signature(b) -> str:
    try:
        sig = inspect.signature(b.fn)
    except (TypeError, ValueError):
        return f"{b.name}(...)"
    params = list(sig.parameters.values())[1 if b.context else 0:]
    return f"{b.name}({', '.join(str(p) for p in params)})"


@click.command("builtins")
@click.argument("name", required=False)
def command(name):
    """List the builtins a .taotp program can call (or describe one: taotp builtins NAME)."""
    registry = load_all()
    if name is not None:
        from ..errors import UsageError, did_you_mean

        if name not in registry:
            raise UsageError(f"no builtin named {name!r}", hint=did_you_mean(name, registry))
        b = registry[name]
        click.echo(signature(b))
        if b.doc:
            click.echo("\n" + b.doc)
        return
    for key in sorted(registry):
        b = registry[key]
        first = b.doc.splitlines()[0] if b.doc else ""
        click.echo(f"{signature(b):<44} {first}")
