"""The command line, used as a newcomer would (click's runner)."""

import json

import pytest
from click.testing import CliRunner

from taotp.cli import main


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def test_hello(run):
    r = run("run", "hello")
    assert r.exit_code == 0 and r.output == "Hello World!\n"


def test_hello_with_another_message(run):
    r = run("run", "hello", "--set", "message=Shalom, olam")
    assert r.output == "Shalom, olam\n"


def test_params_json(run):
    r = run("params", "hello", "--json")
    data = json.loads(r.output)
    assert data["n_params"] == 72 and data["nonzero"]["n_params"] <= 72
    assert set(data) >= {"n_params", "tok_emb", "pos_emb", "non_emb", "nonzero"}
    assert "out_emb" not in data


def test_params_table(run):
    r = run("params", "sort")
    assert r.exit_code == 0 and "918" in r.output and "184" in r.output


def test_sort(run):
    assert run("run", "sort", "--input", "6 2 12 18 7 0").output == "2 6 7 12 18\n"


def test_batch(run):
    r = run("run", "sort", "--batch", "-", input="6 2 12 18 7 0\n3 1 0\n")
    assert r.output == "2 6 7 12 18\n1 3\n"


def test_json_output(run):
    r = run("run", "sort", "-i", "3 1 0", "--json")
    assert json.loads(r.output)["tokens"] == ["1", "3"]


@pytest.mark.parametrize("args, words", [
    (("run", "min", "--input", "6 2 x"), "unknown token 'x'"),
    (("run", "sort", "--input", "6 2 12"), "followed by 0"),
    (("run", "sort", "--input", "6 2 6 0"), "distinct numbers"),
    (("run", "nope"), "no program file or shipped program named 'nope'"),
    (("run", "sortt"), "did you mean 'sort'"),
    (("run", "min", "--input", " ".join(["1"] * 101)), "block size is 100"),
    (("run", "sort", "--set", "n"), "NAME=VALUE"),
    (("run", "sort", "--set", "q=1", "-i", "1 0"), "no parameter 'q'"),
    (("run", "sort", "-i", "1 0", "--batch", "-"), "not both"),
    (("compile", "sort", "-o", "x.txt"), ".npz or .json"),
    (("run", "sort", "-i", "6 2 0", "--dtype", "float32", "--engine", "reference"), "exact only in float64"),
])
def test_bad_use_is_a_message_and_a_non_zero_exit(run, args, words):
    r = run(*args)
    assert r.exit_code != 0
    assert words in r.output
    assert "Traceback" not in r.output


def test_overflow_in_float32_is_a_numeric_error(run, tmp_path):
    """SORT without its `exact in float64`: float32 runs, and its 1e20 * 1e20 overflows loudly."""
    from taotp.resources import programs_dir

    src = (programs_dir() / "sort.taotp").read_text()
    assert "\nexact in float64" in src
    p = tmp_path / "sort_any_dtype.taotp"
    p.write_text(src.replace("\nexact in float64", "\n"))
    r = run("run", str(p), "-i", "6 2 0", "--dtype", "float32", "--engine", "reference")
    assert r.exit_code == 1 and "numeric error: overflow" in r.output


def test_syntax_error_names_the_line(run, tmp_path):
    p = tmp_path / "broken.taotp"
    p.write_text("param n = 4\nvocab ints(n)\nmodel block=4\nlet x = (1 +* 2)\n")
    r = run("run", str(p), "-i", "1")
    assert r.exit_code == 1
    assert f"{p}:4:" in r.output and "^" in r.output and "Traceback" not in r.output


def test_batch_error_names_the_line(run):
    r = run("run", "min", "--batch", "-", input="3 1 0\n3 z 0\n")
    assert r.exit_code == 1 and "line 2" in r.output


def test_compile_and_run_npz(run, tmp_path):
    out = tmp_path / "s.npz"
    assert run("compile", "sort", "-o", str(out)).exit_code == 0
    assert run("run", str(out), "-i", "6 2 12 18 7 0").output.endswith("2 6 7 12 18\n")


def test_version_and_help(run):
    assert run("--version").exit_code == 0
    for cmd in ("run", "compile", "params", "programs"):
        assert run(cmd, "--help").exit_code == 0


def test_builtins_lists_and_describes(run):
    r = run("builtins")
    assert r.exit_code == 0 and "ring3d(t)" in r.output and "spike_mlp(points, values)" in r.output
    r = run("builtins", "padding_block")
    assert "§4.1" in r.output
    r = run("builtins", "spike_ml")
    assert r.exit_code == 1 and "did you mean 'spike_mlp'" in r.output
