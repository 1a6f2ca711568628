"""Broken programs get clean errors with a location, never a crash."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp.errors import TaotpError
from taotp.resources import programs_dir

SORT_SRC = (programs_dir() / "sort.taotp").read_text()
HEAD = "param n = 4\nvocab ints(n)\nmodel block=8, heads=1, d_head=3\nstream p:3, q:3\n"


def compile_text(text, **kw):
    return taotp.compile_source(text, "t.taotp", **kw)


@pytest.mark.parametrize("body, where, words", [
    ("tok_emb[:, p] = eye3(3)\n", (5, 17), "did you mean 'eye'"),
    ("layer 0:\n  head 0:\n    Q[q, 0:3] = ones([3, 4])\n", (7, 5), "needs 3x3, got 3x4"),
    ("layer 0\n  Q = 1\n", (5, 8), "expected ':'"),
    ("let x = (1 +\n", None, "unexpected"),
    ("let x = 3 $ 4\n", (5, 11), "unexpected character"),
    ("head 0:\n  Q = 1\n", (5, 1), "inside a `layer"),
    ("Q = 1\n", (5, 1), "layer weight"),
    ("assert n > 10, \"n must exceed 10\"\n", (5, 1), "n must exceed 10"),
    ("layer 0:\n  head 3:\n    Q = 1\n", (6, 8), "head index"),
    ("let x = [1, 2][5]\n", (5, 9), "out of range"),
    ("let y = zeros([100000, 100000])\n", (5, 9), "memory budget"),
    ("tok_emb[:, p] = \"abc\"\n", (5, 1), "needs numbers"),
    ("vocab ints(3)\n", (5, 1), "declared twice"),
    ("let z = undefined_thing + 1\n", (5, 9), "unknown name"),
])
def test_error_names_the_place(body, where, words):
    with pytest.raises(TaotpError) as info:
        compile_text(HEAD + body)
    text = str(info.value)
    assert words in text
    if where is not None:
        assert text.startswith(f"t.taotp:{where[0]}:{where[1]}:"), text


def test_unknown_set_is_an_error_with_a_suggestion():
    with pytest.raises(TaotpError, match="no parameter 'm'"):
        taotp.load_program("sort", {"m": "3"})


def test_set_value_of_the_wrong_type():
    with pytest.raises(TaotpError, match="takes an integer"):
        taotp.load_program("sort", {"n": "abc"})


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_programs_fail_cleanly_or_compile(data):
    """Delete, duplicate or insert characters anywhere in SORT: the compiler either
    builds a program or raises a TaotpError - nothing else escapes."""
    src = SORT_SRC
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(src)))
        op = data.draw(st.sampled_from(["delete", "insert", "dup"]))
        if op == "delete":
            src = src[:i] + src[i + 1:]
        elif op == "insert":
            src = src[:i] + data.draw(st.sampled_from(list("()[]:=,+-*@#\"' \n\tx0.e"))) + src[i:]
        else:
            src = src[:i] + src[i:i + 5] + src[i:]
    try:
        compile_text(src, overrides={})
    except TaotpError as e:
        assert str(e)
