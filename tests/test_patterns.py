"""Input patterns (`input matches`) end in bounded time, whatever the pattern and input,
and inputs outside a program's domain are refused."""

from __future__ import annotations

import re
import signal
import threading
import time

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import taotp
from taotp import patterns
from taotp.cli import main
from taotp.compiler import save_weights
from taotp.errors import InputError, TaotpError

# (a+)+b on "a"*n + "!" backtracks through about 2^n splits: at n = 26 tens of seconds
# without a limit, so a broken limit fails this test by taking long, not by hanging.
EVIL = 'vocab chars("ab!")\nmodel block=40, d_model=3\ninput matches "(a+)+b", "a run of a then b"\n'
EVIL_INPUT = "a" * 26 + "!"


@pytest.fixture
def short_limit(monkeypatch):
    monkeypatch.setattr(patterns, "MATCH_SECONDS", 0.05)


def test_catastrophic_pattern_is_stopped(short_limit):
    prog = taotp.compile_source(EVIL, "evil.taotp")
    with pytest.raises(patterns.PatternTimeout, match=r"pattern '\(a\+\)\+b' took more than 0.05 s"):
        prog.encode(EVIL_INPUT)
    assert prog.encode("aab") == [0, 0, 1]


def test_the_same_pattern_stored_in_a_compiled_file(short_limit, tmp_path):
    out = tmp_path / "evil.npz"
    save_weights(taotp.compile_source(EVIL, "evil.taotp"), out)
    r = CliRunner().invoke(main, ["run", str(out), "--input", EVIL_INPUT])
    assert r.exit_code == 1 and "took more than" in r.output and "internal error" not in r.output


def test_many_matches_under_one_handler_and_a_callers_timer_survives(short_limit):
    """guarded() installs the handler once; an outer SIGALRM timer is re-armed afterwards."""
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        compiled = re.compile("[0-9]+")
        with patterns.guarded():
            assert all(patterns.fullmatch(compiled, str(i)) for i in range(1000))
            with pytest.raises(patterns.PatternTimeout):
                patterns.fullmatch(re.compile("(a+)+b"), EVIL_INPUT)
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < remaining <= 0.3
        time.sleep(remaining + 0.1)
        assert fired == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_outside_the_main_thread_a_child_process_keeps_the_limit(short_limit):
    results = {}

    def work():
        try:
            results["ok"] = patterns.fullmatch(re.compile("a+b"), "aaab")
            patterns.fullmatch(re.compile("(a+)+b"), EVIL_INPUT)
        except patterns.PatternTimeout as e:
            results["timeout"] = str(e)

    t = threading.Thread(target=work)
    t.start()
    t.join(30)
    assert results["ok"] is True and "took more than" in results["timeout"]


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="ab!", max_size=30))
def test_bounded_match_agrees_with_re_where_re_is_quick(text):
    compiled = re.compile("a*b+!?")
    assert patterns.fullmatch(compiled, text) == (compiled.fullmatch(text) is not None)


@pytest.mark.parametrize("source, words", [
    ('input matches "(", "m"\n', "bad regular expression"),
    ('input matches 3, "m"\n', "regular expression string"),
])
def test_bad_patterns_are_located(source, words):
    with pytest.raises(TaotpError) as e:
        taotp.compile_source("vocab ints(3)\nmodel block=3, d_model=3\n" + source, "p.taotp")
    assert str(e.value).startswith("p.taotp:3:") and words in str(e.value)


def test_hello_takes_no_input():
    r = CliRunner().invoke(main, ["run", "hello", "--input", "d"])
    assert r.exit_code == 1 and "hello takes no input" in r.output
    assert CliRunner().invoke(main, ["run", "hello"]).output == "Hello World!\n"


def test_an_error_quoting_a_huge_input_quotes_its_start():
    prog = taotp.load_program("sort", progress=False)
    with pytest.raises(InputError) as e:
        prog.encode("5 " * 500_000)
    assert len(str(e.value)) < 400 and "1,000,000 characters" in str(e.value)
    with pytest.raises(InputError) as e:
        taotp.load_program("min", progress=False).encode("x" * 10**6)
    assert len(str(e.value)) < 600 and "1,000,000 characters" in str(e.value)
