"""docs/export.md's snippets run as shown.

The `console` block's `$ taotp export ...` lines run first (in a temporary folder);
then each `python` block runs there, with taotp made unimportable unless the block
imports it itself (the point: the formats are used from outside taotp). A
`print(...)  # TEXT` line must print TEXT (up to the first ':'). The blocks run in this
interpreter (torch and TransformerLens import once), with sys.path, sys.modules and the
working folder restored afterwards.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from taotp.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "export.md"
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), flags=re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]


def expected_lines(code: str) -> list[str]:
    """What each `print(...)  # TEXT` promises, in order."""
    return [m.group(1).split(":")[0].strip() for m in re.finditer(r"^print\(.*\)\s+#\s*(.+)$", code, re.M)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export_docs")
    commands = [line[2:] for lang, code in BLOCKS if lang == "console" for line in code.splitlines()
                if line.startswith("$ taotp ")]
    assert commands, "docs/export.md lost its console block"
    for command in commands:
        args = shlex.split(command)[1:]
        args[args.index("-o") + 1] = str(folder / args[args.index("-o") + 1])
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (command, result.output)
    return folder


def test_every_format_has_a_snippet():
    text = "\n".join(PYTHON)
    for used in ("onnxruntime", "safetensors.numpy", "taotp_model", "hooked_transformer"):
        assert used in text


@pytest.mark.parametrize("code", PYTHON, ids=[f"block{i}" for i in range(len(PYTHON))])
def test_snippet_runs_and_prints_what_it_says(code, exported, monkeypatch, capsys):
    pytest.importorskip("torch" if "torch" in code else "numpy")
    pytest.importorskip("transformer_lens" if "hooked_transformer" in code else "numpy")
    monkeypatch.chdir(exported)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setitem(sys.modules, "taotp_model", None)
    del sys.modules["taotp_model"]                       # restored (absent) after the test
    if not re.search(r"^(import taotp|from taotp)", code, re.M):
        monkeypatch.setitem(sys.modules, "taotp", None)  # `import taotp` fails in this block
    exec(compile(code, "docs/export.md", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out.splitlines()
    want = expected_lines(code)
    assert len(out) == len(want), (out, want)
    for line, w in zip(out, want):
        assert line.startswith(w), (line, w)
