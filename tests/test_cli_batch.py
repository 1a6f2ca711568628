"""`taotp run --batch`: every good line is answered, every bad line reported with its
number, and the exit status says whether any line was bad."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from taotp.cli import main
from taotp.cli.run import MAX_LINE_BYTES


def run(*args, input=None):
    try:
        runner = CliRunner(mix_stderr=False)   # click 8.1: keep stderr apart
    except TypeError:
        runner = CliRunner()                   # click 8.2+: always apart
    return runner.invoke(main, list(args), input=input)


GOOD = {b"6 2 12 0": "2 6 12", b"3 1 0": "1 3", b"5 0": "5"}
BAD = [b"", b"3 3 0", b"1 x 0", b"\xff\xfe 0", b"1 2", b"  "]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(sorted(GOOD) + BAD), min_size=1, max_size=12))
def test_good_lines_answered_bad_lines_reported(lines):
    r = run("run", "sort", "--batch", "-", input=b"\n".join(lines) + b"\n")
    out = r.stdout.split("\n")[:-1]
    assert len(out) == len(lines)                        # one output line per input line, in order
    bad = [i for i, line in enumerate(lines, 1) if line not in GOOD]
    for i, line in enumerate(lines, 1):
        if line in GOOD:
            assert out[i - 1] == GOOD[line]
        else:
            assert out[i - 1] == ""
            assert f"line {i}: " in r.stderr
    assert r.exit_code == (1 if bad else 0)
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr


def test_messages_say_what_is_wrong_with_each_line():
    r = run("run", "sort", "--batch", "-", input=b"3 1 0\n\xff 0\n1 x 0\n\n")
    assert r.exit_code == 1 and r.stdout == "1 3\n\n\n\n"
    assert "line 2: not UTF-8 text (byte 0xff at column 1)" in r.stderr
    assert "line 3: '1 x 0': expected distinct numbers" in r.stderr
    assert "line 4: ''" in r.stderr and "3 line(s) of the batch" in r.stderr


def test_json_batch_marks_errors():
    r = run("run", "sort", "--batch", "-", "--json", input=b"3 1 0\n1 1 0\n")
    first, second = (json.loads(line) for line in r.stdout.splitlines())
    assert first == {"line": 1, "input": "3 1 0", "output": "1 3", "tokens": ["1", "3"], "ids": [1, 3]}
    assert second["line"] == 2 and "distinct numbers" in second["error"] and r.exit_code == 1


def test_a_line_longer_than_the_limit_is_reported_not_read():
    long = b"1 " * (MAX_LINE_BYTES // 2 + 10) + b"0"
    r = run("run", "sort", "--batch", "-", input=b"3 1 0\n" + long + b"\n2 0\n")
    assert r.stdout == "1 3\n\n2\n" and r.exit_code == 1
    assert f"line 2: longer than {MAX_LINE_BYTES:,} bytes" in r.stderr


def test_crlf_and_no_final_newline():
    r = run("run", "sort", "--batch", "-", input=b"3 1 0\r\n2 0")
    assert r.exit_code == 0 and r.stdout == "1 3\n2\n"


def test_a_long_input_is_quoted_cut():
    text = "7 " * 300_000 + "0"
    r = run("run", "sort", "--input", text)
    assert r.exit_code == 1 and len(r.stderr) < 600 and "600,001 characters" in r.stderr


@pytest.mark.parametrize("args", [("--seed", "-1"), ("--samples", "0"), ("--show", "-2")])
def test_check_refuses_bad_numbers(args):
    r = run("check", "sort", *args)
    assert r.exit_code in (1, 2) and "internal error" not in r.stderr and args[0] in (r.stderr + r.stdout)
