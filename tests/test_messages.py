"""Messages a user reads: located, in the language's terms, without Python or NumPy
internals, warnings or file paths of the installation."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import taotp
from taotp.cli import main
from taotp.errors import TaotpError

HEAD = "vocab ints(3)\nmodel block=3, d_model=3\n"
INTERNALS = ("np.float64", "np.int64", "array(", "len_(", "int_(", "float_(", "Traceback", "site-packages",
             "Warning", "numpy", "bounds for axis", "were indexed", "dtype=")


def error_of(source: str) -> str:
    with pytest.raises(TaotpError) as e:
        taotp.compile_source(source, "m.taotp")
    return str(e.value)


def clean(text: str) -> bool:
    return not any(word in text for word in INTERNALS)


@pytest.mark.parametrize("body, where, words", [
    ("let x = len()\n", (3, 9), "len() missing 1 required positional argument"),
    ("let x = eye(3)[5]\n", (3, 9), "index 5 is out of range for axis 0, which has 3 entries (the array's shape is 3x3)"),
    ("let x = eye(3)[0, 0, 0]\n", (3, 9), "3 indices for an array with 2 axes"),
    ("stream a:2.5\n", (3, 8), "got 2.5"),
    ("stream a:sqrt(5)\n", (3, 8), "got 2.236"),
    ("assert False, [sqrt(4), 1]\n", (3, 1), "assertion failed: [2.0, 1]"),
    ("let x = (-8) ** 0.5\n", (3, 9), "(-8) ** 0.5 is not a real number"),
    ('input matches "[[a]", "m"\n', (3, 1), "nested set"),
    ('input matches "x", 3\n', (3, 20), "the message must be a string"),
    ("let x = int(sqrt(-1))\n", (3, 9), "int() of nan is not a number"),
    ("let x = range(1, 2, 0)\n", (3, 9), "step must not be 0"),
    ("let x = zeros([2, 2.5])\n", (3, 9), "must be an integer, got 2.5"),
])
def test_messages_speak_the_language(body, where, words):
    text = error_of(HEAD + body)
    assert text.startswith(f"m.taotp:{where[0]}:{where[1]}:"), text
    assert words in text and clean(text), text


@pytest.mark.parametrize("source, where, words", [
    ("let x = 1\n  let y = 2\n", (2, 3), "unexpected indentation"),
    ("layer 0:\n    let x = 1\n  let y = 2\n", (3, 3), "line it up with one of them"),
    ("layer 0:\n\tlet x = 1\n  let y = 2\n", (3, 3), "columns 1 and 9"),
    ("if True:\n  if True:\n      let x = 1\n    let y = 2\n", (4, 5), "columns 1, 3 and 7"),
])
def test_indentation_errors_point_at_the_line(source, where, words):
    text = error_of(source)
    assert text.startswith(f"m.taotp:{where[0]}:{where[1]}: syntax error"), text
    assert words in text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["let x = 1", "if True:", "layer 0:", "for i in range(2):"])),
                min_size=1, max_size=8))
def test_any_indentation_is_compiled_or_located(lines):
    """Lines at random indentation: every syntax error names a line and a column."""
    source = "".join(" " * indent + text + "\n" for indent, text in lines)
    try:
        taotp.compile_source(HEAD + source, "m.taotp")
    except TaotpError as e:
        assert e.span is not None and str(e).startswith(f"m.taotp:{e.span.line}:{e.span.column}:"), str(e)


@pytest.mark.parametrize("body, words", [
    ("", "ends without declaring its vocabulary"),
    ("vocab ints(3)\n", "ends without declaring its model"),
    ("vocab ints(3)\nmodel block=3\n", "ends without giving the model's width"),
])
def test_whole_program_errors_point_at_its_end(body, words):
    text = error_of("# a program\n" + body + "let z = 1\n")
    last = (body + "let z = 1\n").count("\n") + 1
    assert text.startswith(f"m.taotp:{last}:1:") and words in text, text


def test_no_warning_reaches_the_user(tmp_path):
    prog = tmp_path / "w.taotp"
    prog.write_text(HEAD + "let a = sqrt(-1)\nlet b = log(0)\nlet c = array([1e300]) * 1e300\ntok_emb[0, 0] = 1\n")
    r = CliRunner().invoke(main, ["run", str(prog), "-i", "1"])
    assert r.exit_code == 0 and "Warning" not in r.output and "warning" not in r.output


def test_nan_written_into_a_weight_is_named_at_the_end(tmp_path):
    text = error_of(HEAD + "tok_emb[0, 0] = sqrt(-1)\n")
    assert "tok_emb holds NaN or infinity" in text and text.startswith("m.taotp:3:1:")


def test_set_errors_name_the_program_not_its_file():
    for sets, words in ((["--set", "n=oops"], "--set n=oops: sort's parameter 'n' takes an integer (its default is 28)"),
                        (["--set", "nn=3"], "--set nn: sort has no parameter 'nn'"),
                        (["--set", "n=1e400"], "takes an integer")):
        r = CliRunner().invoke(main, ["run", "sort", *sets, "-i", "1 0"])
        assert r.exit_code == 1 and words in r.output and ".taotp" not in r.output, r.output
    r = CliRunner().invoke(main, ["run", "hello", "--set", "scale=nan"])
    assert "takes an integer" in r.output
