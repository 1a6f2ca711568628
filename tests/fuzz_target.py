"""One fuzz case, run in-process: compile a (mutated) program and feed it inputs, and say
what happened. Shared by tests/test_fuzz.py and tools/fuzz_campaign.py.

Outcomes of a program: compiled, program error (located: file:line:col in the program
itself), program error NOT located, usage error (a --set the mutation made meaningless),
internal error (anything but a TaotpError). Outcomes of an input: ok, input refused,
numeric error, other error, internal error."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import numpy as np

import taotp
from taotp.compiler import load_weights, save_weights
from taotp.errors import InputError, NumericError, TaotpError, UsageError
from taotp.resources import programs_dir

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "examples" / "tables" / "colors.tsv"
SETS = {"lookup": {"table": str(TABLE)}, "lookup_untied": {"table": str(TABLE)}}


def shipped_source(name: str) -> str:
    return (programs_dir() / f"{name}.taotp").read_text()


def _internal(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}\n" + "".join(traceback.format_exception(e)[-4:])


def compile_case(name: str, src: str, folder: Path, quick: bool = False) -> tuple[str, object]:
    """(outcome, Program or message). quick: lookup fits 30 steps instead of 1,000."""
    path = folder / f"{name}.taotp"
    path.write_text(src)
    sets = dict(SETS.get(name, {}))
    if quick and name == "lookup" and "param iters" in src:
        sets["iters"] = "30"
    try:
        return "compiled", taotp.load_program(str(path), sets, progress=False)
    except TaotpError as e:
        text = str(e)
        if e.span is not None and text.startswith(f"{path}:{e.span.line}:{e.span.column}:"):
            return "program error (located)", text
        # an error inside a standard-library function: at the library's line, then the calls
        # back to the program's own line ("called from PROGRAM:LINE:COL: ...")
        if (e.span is not None and text.startswith(f"{e.span.file}:{e.span.line}:{e.span.column}:")
                and re.search(rf"^  called from {re.escape(str(path))}:\d+:\d+:", text, re.M)):
            return "program error (located)", text
        if isinstance(e, UsageError) and text.startswith("error: --set "):
            return "usage error (--set)", text
        return "program error (NOT located)", text
    except RecursionError as e:
        return "internal error", _internal(e)
    except Exception as e:  # noqa: BLE001 - anything else is a bug
        return "internal error", _internal(e)


def run_input(prog, text: str) -> tuple[str, str]:
    try:
        ids = prog.encode(text)
        prog.generate([ids], engine="fast", dtype=np.float64)
        return "ok", ""
    except InputError as e:
        return "input refused", str(e)
    except NumericError as e:
        return "numeric error", str(e)
    except TaotpError as e:
        return "other error", str(e)
    except Exception as e:  # noqa: BLE001
        return "internal error", _internal(e)


def round_trip(prog, folder: Path) -> tuple[str, str]:
    """Compile to .npz and load it back: the weights file must load (or say why not)."""
    out = folder / "w.npz"
    try:
        save_weights(prog, out)
        load_weights(out)
        return "ok", ""
    except TaotpError as e:
        return "other error", str(e)
    except Exception as e:  # noqa: BLE001
        return "internal error", _internal(e)


def valid_inputs(name: str, prog) -> list[str]:
    """A few inputs from the original program's spec (empty if it has none or fails)."""
    try:
        from taotp import specs
        from taotp.strategies import spec_of

        spec, settings = spec_of(prog), specs.settings_of(prog)
        if spec.sample is None:
            return []
        rng = np.random.default_rng(0)
        return [spec.sample(settings, rng) for _ in range(20)]
    except Exception:  # noqa: BLE001 - a mutated program's spec may not fit it
        return []
