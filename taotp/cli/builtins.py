"""`taotp builtins`: the functions a program can call, with their signatures, and the
standard library's modules (`import NAME`) with their documented functions."""

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


def _machine_functions() -> dict:
    """token, tokens, new_head, ...: builtins that act on the program's machine."""
    from ..lang.machine import MachineBuilder

    return MachineBuilder().functions()


@click.command("builtins")
@click.argument("name", required=False)
def command(name):
    """List the builtins a .taotp program can call and the standard library's modules
    (or describe one: taotp builtins NAME, taotp builtins MODULE, taotp builtins MODULE.FUNCTION)."""
    from ..lang.modules import library_index

    registry = {**load_all(), **_machine_functions()}
    library = library_index()
    if name is not None:
        _describe(name, registry, library)
        return
    for key in sorted(registry):
        b = registry[key]
        first = b.doc.splitlines()[0] if b.doc else ""
        click.echo(f"{signature(b):<44} {first}")
    click.echo("\nstandard library (import MODULE, then MODULE.FUNCTION(...)):")
    for module, info in library.items():
        for fn, f in info["functions"].items():
            first = f["doc"].splitlines()[0] if f["doc"] else ""
            click.echo(f"{module}.{fn}({', '.join(f['params'])})".ljust(44) + f" {first}")


def _describe(name: str, registry: dict, library: dict) -> None:
    from ..errors import UsageError, did_you_mean

    module, _, fn = name.partition(".")
    if name in registry:
        b = registry[name]
        click.echo(signature(b))
        if b.doc:
            click.echo("\n" + b.doc)
    elif module in library and not fn:
        info = library[module]
        click.echo(f"import {module}\n\n{info['doc']}\n")
        for f, spec in info["functions"].items():
            click.echo(f"{module}.{f}({', '.join(spec['params'])})")
    elif module in library and fn in library[module]["functions"]:
        spec = library[module]["functions"][fn]
        click.echo(f"{module}.{fn}({', '.join(spec['params'])})   (import {module})")
        if spec["doc"]:
            click.echo("\n" + spec["doc"])
    else:
        known = list(registry) + list(library) + [f"{m}.{f}" for m, i in library.items() for f in i["functions"]]
        raise UsageError(f"no builtin or library module named {name!r}", hint=did_you_mean(name, known))
