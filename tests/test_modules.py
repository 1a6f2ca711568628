"""Modules: `import NAME` (standard library), `import "file" as NAME`, `from ... import`,
library rules, cycles, and errors that name the library's line and every caller's."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import taotp
from taotp.builtins.arrays import layer_norm
from taotp.cli import main
from taotp.errors import TaotpError
from taotp.resources import stdlib_dir, stdlib_modules

HEAD = "vocab ints(3)\nmodel block=4, heads=1, d_head=3\nstream p:3, q:3\n"


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(path, **kw):
    return taotp.load_program(str(path), kw or None, progress=False)


def error_text(path) -> str:
    with pytest.raises(TaotpError) as info:
        load(path)
    return str(info.value)


def test_the_standard_library_ships_inside_the_package():
    assert stdlib_dir().parent.name == "taotp" and "codes" in stdlib_modules()


def test_every_import_form_binds_what_it_names(tmp_path):
    write(tmp_path, "lib/util.taotp", "import codes\nlet three = 3\ndef code(i):\n  return codes.onehot_code(i, three)\n")
    prog = write(tmp_path, "prog.taotp",
                 'import codes\nimport "lib/util.taotp" as u\nimport "lib/util.taotp"\n'
                 'from codes import onehot_codes\nfrom "lib/util.taotp" import (three,\n  code)\n' + HEAD +
                 "tok_emb[:, p] = onehot_codes(3)\ntok_emb[:, q] = array([u.code(i) for i in range(util.three)])\n"
                 "assert u.three == util.three and three == 3\ndecode steps = 1\n")
    p = load(prog)
    want = (np.eye(3) - 1 / 3) * 3 / np.sqrt(2)
    assert np.allclose(p.params.tok_emb[:, 0:3], want) and np.allclose(p.params.tok_emb[:, 3:6], want)


def test_a_module_runs_once_per_compilation(tmp_path, capsys):
    write(tmp_path, "a.taotp", 'print "running a"\nlet x = 1\n')
    write(tmp_path, "b.taotp", 'import "a.taotp" as a\nlet y = a.x + 1\n')
    prog = write(tmp_path, "p.taotp", 'import "a.taotp" as a\nimport "b.taotp" as b\n' + HEAD + "decode steps = a.x + b.y\n")
    assert load(prog).rule.steps(0) == 3
    assert capsys.readouterr().err.count("running a") == 1


def test_library_functions_write_the_callers_layer_and_head(tmp_path):
    write(tmp_path, "heads.taotp",
          "# copy slot a into slot b through the current head\n"
          "def copy(a, b):\n  Q[a, 0:3] = eye(3)\n  K[a, 0:3] = eye(3)\n  V[a, 0:3] = eye(3)\n  P[b, 0:3] = eye(3)\n"
          "def in_layer(i, a, b):\n  layer i:\n    head 0:\n      copy(a, b)\n")
    prog = write(tmp_path, "p.taotp", 'import "heads.taotp" as h\n' + HEAD.replace("heads=1", "heads=2") +
                 "layer 0:\n  head 1:\n    h.copy(p, q)\nh.in_layer(1, q, p)\n")
    L0, L1 = load(prog).params.layers
    assert np.array_equal(L0.P[1][3:6], np.eye(3)) and not L0.P[0].any()
    assert np.array_equal(L1.Q[0][3:6], np.eye(3)) and np.array_equal(L1.P[0][0:3], np.eye(3))


def test_an_error_inside_a_library_function_shows_both_lines(tmp_path):
    write(tmp_path, "lib/bad.taotp", "def put(s):\n  Q[s, 0:3] = ones([3, 4])\n")
    prog = write(tmp_path, "p.taotp", 'import "lib/bad.taotp" as bad\n' + HEAD + "layer 0:\n  head 0:\n    bad.put(p)\n")
    lines = error_text(prog).splitlines()
    assert lines[0].endswith("lib/bad.taotp:2:3: shape error: Q[s, 0:3] needs 3x3, got 3x4")
    assert lines[-1].startswith("  called from ") and lines[-1].endswith("p.taotp:7:5: bad.put(p)")


def test_an_error_in_a_stdlib_function_names_the_stdlib_file():
    text = str(pytest.raises(TaotpError, taotp.compile_source,
                             "import codes\n" + HEAD + "let c = codes.onehot_code(5, 3)\n").value)
    assert text.startswith("<stdlib>/codes.taotp:") and "needs 0 <= i < n, got i = 5" in text
    assert "called from <program>:5:9" in text


def test_import_cycles_name_the_cycle(tmp_path):
    write(tmp_path, "a.taotp", 'import "b.taotp" as b\n')
    write(tmp_path, "b.taotp", 'import "a.taotp" as a\n')
    text = error_text(write(tmp_path, "p.taotp", 'import "a.taotp" as a\n' + HEAD))
    chain = text.split("import cycle: ")[1].splitlines()[0].split(" -> ")
    assert [Path(c).name for c in chain] == ["p.taotp", "a.taotp", "b.taotp", "a.taotp"]
    assert "imported from" in text


def test_a_library_file_that_declares_the_machine_is_refused_with_every_line(tmp_path):
    write(tmp_path, "lib.taotp", "vocab ints(3)\nlet x = 1\nlayer 0:\n  let y = 2\ntok_emb[0] = 1\nparam n = 3\n")
    text = error_text(write(tmp_path, "p.taotp", 'import "lib.taotp" as lib\n' + HEAD))
    for line in (1, 3, 5, 6):
        assert f"lib.taotp:{line}:1: error: a library file cannot" in text
    assert "4 errors" in text


@pytest.mark.parametrize("line, words", [
    ("import code\n", "did you mean 'codes'"),
    ('import "nothere.taotp" as x\n', "cannot find the module file 'nothere.taotp'"),
    ('import "lib" as x\n', "is a folder"),
    ("from codes import onehot_cod\n", "did you mean 'onehot_code'"),
    ('import "my lib.taotp"\n', "name the module"),
    ("import codes as vocab\n", "'vocab' is one of the machine's own names"),
])
def test_import_mistakes_are_located(tmp_path, line, words):
    (tmp_path / "lib").mkdir()
    text = error_text(write(tmp_path, "p.taotp", line + HEAD))
    assert "p.taotp:1:" in text.splitlines()[0] and words in text


def test_imports_go_at_the_top_level():
    with pytest.raises(TaotpError, match="3:3: .*imports go at the top level"):
        taotp.compile_source("vocab ints(3)\nif True:\n  import codes\n")


def test_the_cli_lists_and_describes_library_functions():
    runner = CliRunner()
    listing = runner.invoke(main, ["builtins"]).output
    assert "codes.onehot_code(i, n)" in listing
    r = runner.invoke(main, ["builtins", "codes.onehot_code"])
    assert r.exit_code == 0 and "centred one-hot code" in r.output
    r = runner.invoke(main, ["builtins", "codes.onehot_cod"])
    assert r.exit_code == 1 and "did you mean 'codes.onehot_code'" in r.output


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.data())
def test_onehot_codes_are_codes(n, data):
    """Mean 0 and sum of squares n (to rounding: a sum of n floats), so layer norm keeps them."""
    i = data.draw(st.integers(0, n - 1))
    p = taotp.compile_source(f"import codes\nlet c = codes.onehot_code({i}, {n})\nlet m = codes.onehot_codes({n})\n"
                             f"assert all(m[{i}] == c)\nvocab ints(2)\nmodel block=1, d_model={n}\n"
                             f"tok_emb[0] = c\n")
    c = p.params.tok_emb[0]
    assert abs(c.mean()) < 1e-12 and abs((c ** 2).sum() - n) < 1e-12 * n
    assert np.allclose(layer_norm(c), c, atol=1e-9)
    assert np.argmax(c) == i


def test_a_module_that_is_not_text_is_refused(tmp_path):
    (tmp_path / "bin.taotp").write_bytes(b"\xff\xfe\x00")
    text = error_text(write(tmp_path, "p.taotp", 'import "bin.taotp" as b\n' + HEAD))
    assert "p.taotp:1:8: error: " in text and "bin.taotp is not a text file" in text
