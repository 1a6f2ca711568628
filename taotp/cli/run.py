"""`taotp run`: generate with a program, for one input or a batch of lines."""

from __future__ import annotations

import json
import sys

import click

from ..engine import DEFAULT_ENGINE, ENGINES
from ..errors import NumericError, TaotpError, UsageError
from ..patterns import guarded
from .options import dtype_of, dtype_option, json_option, load, program_argument, set_option

BATCH_CHUNK = 10_000     # lines generated together (bounds memory on long batches)
MAX_LINE_BYTES = 1 << 20  # a longer line is reported, not read into memory whole


@click.command("run")
@program_argument
@click.option("--input", "-i", "text", metavar="TEXT", help="The input (characters or space-separated tokens).")
@click.option("--batch", type=click.File("rb"), metavar="FILE|-",
              help="One input per line; one output per line. A bad line prints an empty line, its error "
                   "goes to stderr with its line number, and the exit status is 1.")
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
    dtype = dtype_of(dtype)
    prog.require_precision(dtype)
    run = lambda prompts: prog.generate(prompts, engine=engine, dtype=dtype, max_steps=max_steps)
    if batch is None:
        ids = prog.generate([prog.encode(text if text is not None else "")], engine=engine, dtype=dtype,
                            max_steps=max_steps)[0]
        _print(prog, text or "", ids, None, as_json)
        return
    bad = 0
    with guarded():
        for chunk in _chunks(_lines(batch), BATCH_CHUNK):
            bad += _run_chunk(prog, chunk, run, as_json)
    sys.stdout.flush()
    if bad:
        click.echo(f"error: {bad:,} line(s) of the batch could not be run (see above)", err=True)
        sys.exit(1)


def _lines(stream):
    """(line number, text or None, error or None) for each line of a binary stream."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                raw = stream.readline(MAX_LINE_BYTES)
            yield number, None, f"longer than {MAX_LINE_BYTES:,} bytes"
            continue
        raw = raw.rstrip(b"\r\n")
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as e:
            yield number, None, f"not UTF-8 text (byte 0x{raw[e.start]:02x} at column {e.start + 1})"


def _chunks(items, size):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run_chunk(prog, chunk, run, as_json) -> int:
    """Encode, generate and print one chunk of lines in order; returns how many were bad."""
    prompts, errors = {}, {}
    for number, text, error in chunk:
        if error is None:
            try:
                prompts[number] = prog.encode(text)
            except TaotpError as e:
                error = e.message
        if error is not None:
            errors[number] = error
    outputs = _generate(prompts, run, errors)
    for number, text, _ in chunk:
        if number in errors:
            click.echo(f"line {number}: {errors[number]}", err=True)
            if as_json:
                click.echo(json.dumps({"line": number, "input": text, "error": errors[number]}))
            else:
                click.echo("")
        else:
            _print(prog, text, outputs[number], number, as_json)
    return len(errors)


def _generate(prompts: dict, run, errors: dict) -> dict:
    """Outputs by line number; a numeric error is pinned to its line by running lines one by one."""
    numbers = list(prompts)
    try:
        return dict(zip(numbers, run([prompts[n] for n in numbers]))) if numbers else {}
    except NumericError:
        out = {}
        for n in numbers:
            try:
                out[n] = run([prompts[n]])[0]
            except NumericError as e:
                errors[n] = f"{e.kind}: {e.message}"
        return out


def _print(prog, text, ids, number, as_json):
    out = prog.vocab.decode(ids)
    if as_json:
        record = {"input": text, "output": out, "tokens": [prog.vocab.tokens[i] for i in ids],
                  "ids": [int(i) for i in ids]}
        click.echo(json.dumps(record if number is None else {"line": number, **record}))
    else:
        click.echo(out)
