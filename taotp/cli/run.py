"""`taotp run`: generate with a program, for one input or a batch of lines."""

from __future__ import annotations

import json
import sys

import click

from ..engine import DEFAULT_ENGINE, ENGINES
from ..errors import InputError, TaotpError, UsageError
from .options import dtype_of, dtype_option, json_option, load, program_argument, set_option


@click.command("run")
@program_argument
@click.option("--input", "-i", "text", metavar="TEXT", help="The input (characters or space-separated tokens).")
@click.option("--batch", type=click.File("r"), metavar="FILE|-", help="One input per line; one output per line.")
@set_option
@dtype_option
@click.option("--engine", type=click.Choice(ENGINES), default=DEFAULT_ENGINE, show_default=True,
              help="reference: the book's decode, plainly; fast: batched and cached, same answers; "
                   "onnxruntime, torch: the exported program in those runtimes (docs/export.md).")
@click.option("--max-steps", type=click.IntRange(min=0), default=None, help="Stop after this many tokens.")
@json_option
def command(program, text, batch, sets, dtype, engine, max_steps, as_json):
    """Run PROGRAM and print what it generates (not the prompt, not the stop token)."""
    if text is not None and batch is not None:
        raise UsageError("give either --input or --batch, not both")
    prog = load(program, sets)
    if batch is not None:
        texts = [line.rstrip("\r\n") for line in batch]
    else:
        texts = [text if text is not None else ""]
    prompts = []
    for i, t in enumerate(texts, 1):
        try:
            prompts.append(prog.encode(t))
        except TaotpError as e:
            if batch is not None:
                raise InputError(f"line {i}: {e.message}") from None
            raise
    outputs = prog.generate(prompts, engine=engine, dtype=dtype_of(dtype), max_steps=max_steps)
    for t, ids in zip(texts, outputs):
        out = prog.vocab.decode(ids)
        if as_json:
            click.echo(json.dumps({"input": t, "output": out, "tokens": [prog.vocab.tokens[i] for i in ids],
                                   "ids": [int(i) for i in ids]}))
        else:
            click.echo(out)
    sys.stdout.flush()
