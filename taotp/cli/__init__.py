"""The `taotp` command line. One module per command; COMMANDS lists them.

Every command reports a TaotpError as a message on stderr and a non-zero exit,
never a traceback (set TAOTP_DEBUG=1 to see one)."""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import click

from .. import __version__
from ..errors import TaotpError

# Command modules, each defining `command` (a click.Command).
COMMANDS = ["run", "compile", "export", "params", "check", "trace", "circuits", "programs", "builtins"]


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning from inside taotp or a library, said as one line (no file path, no source)."""
    click.echo(f"warning: {message}", err=True)


class TaotpGroup(click.Group):
    def invoke(self, ctx):
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return self._invoke(ctx)

    def _invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TaotpError as e:
            click.echo(str(e), err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:  # e.g. `taotp builtins | head`: the reader left, not an error
            sys.stdout = open(os.devnull, "w")
            sys.exit(0)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort, SystemExit):
            raise
        except MemoryError:
            click.echo("error: out of memory (try a smaller --batch chunk or --dtype float32)", err=True)
            sys.exit(1)
        except Exception as e:  # a bug in taotp, not in the user's program
            if os.environ.get("TAOTP_DEBUG"):
                raise
            click.echo(f"internal error: {type(e).__name__}: {e}\n(this is a bug in taotp; "
                       f"rerun with TAOTP_DEBUG=1 for a traceback)", err=True)
            sys.exit(2)


@click.group(cls=TaotpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="taotp")
def main():
    """taotp: compile, run, inspect and check transformer programs.

    A program is a .taotp file, the name of a shipped program (taotp programs),
    a ch. 8 literal, or weights written by `taotp compile` (.npz/.json)."""


for _name in COMMANDS:
    main.add_command(importlib.import_module(f"{__name__}.{_name}").command)
