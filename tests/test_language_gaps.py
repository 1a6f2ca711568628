"""Small language features: bare call statements, `in` / `not in`, gcd / join / split /
reversed / sorted, and model.d_model known as soon as the stream gives it."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taotp
from taotp.errors import TaotpError
from taotp.lang.evaluator import Evaluator
from taotp.lang.parser import parse

HEAD = "vocab chars(\"abc\")\nmodel block=4, heads=1, d_head=3\nstream p:3, q:3\n"
FEW = settings(max_examples=25, deadline=None)


def value_of(expr: str, prelude: str = ""):
    """The value of one expression of the language (after `prelude`'s statements)."""
    src = prelude + f"let value = {expr}\n"
    ev = Evaluator(src, "t.taotp")
    for stmt in parse(src, "t.taotp").children:
        ev.exec(stmt, ev.globals)
    return ev.globals.vars["value"]


def lit(x) -> str:
    """A Python value written in the language."""
    if isinstance(x, str):
        return '"' + x.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(x, list):
        return "[" + ", ".join(lit(v) for v in x) + "]"
    return repr(x)


# -- statements ----------------------------------------------------------------------------

def test_a_bare_call_is_a_statement_that_runs():
    prog = taotp.compile_source(HEAD + "def fill(s):\n  tok_emb[:, s] = eye(3)\nfill(q)\n"
                                "layer 0:\n  head 0:\n    fill(p)\n", "t.taotp")
    assert np.array_equal(prog.params.tok_emb[:, 3:6], np.eye(3))


@pytest.mark.parametrize("line, words", [
    ("x == 3\n", "to assign, write `=`"),
    ("x + 1\n", "computes a value and drops it"),
    ("x.y = 3\n", "can only assign to a name"),
    ("eye(3)[0] = 1\n", "can only assign to a name"),
])
def test_other_expression_statements_are_refused_before_running(line, words):
    with pytest.raises(TaotpError) as info:
        taotp.compile_source(HEAD + "let x = 1\n" + line, "t.taotp")
    assert str(info.value).startswith("t.taotp:5:1:") and words in str(info.value)


def test_compound_assignments_and_equality_lex_apart():
    assert value_of("x", "let x = 2\nx *= 3 * 2\nx -= 1\nx /= 2 // 1\n") == 5.5
    assert value_of("x == 2 and y != 3 and x <= y", "let x = 2\nlet y = 2\n") is True


# -- in / not in ---------------------------------------------------------------------------

@FEW
@given(st.integers(-5, 5), st.lists(st.integers(-5, 5), max_size=6))
def test_in_a_list_of_numbers_is_pythons(x, xs):
    assert value_of(f"{x} in {lit(xs)}") == (x in xs)
    assert value_of(f"{x} not in {lit(xs)}") == (x not in xs)
    assert value_of(f"{x} in array({lit(xs)})") == (x in xs)


@FEW
@given(st.text("abc", max_size=3), st.text("abc", max_size=6), st.lists(st.text("ab", max_size=2), max_size=4))
def test_in_strings_and_lists_of_strings_is_pythons(a, b, words):
    assert value_of(f"{lit(a)} in {lit(b)}") == (a in b)
    assert value_of(f"{lit(a)} not in {lit(words)}") == (a not in words)


def test_in_a_vocabulary_a_slot_and_a_chain():
    assert value_of('["a" in vocab, "z" in vocab, 3 in q, 2 in q, 1 < 2 in [True]]', HEAD) == \
        [True, False, True, False, False]  # 1 < 2 in [True] is (1 < 2) and (2 in [True])
    with pytest.raises(TaotpError, match="cannot test membership in integer"):
        value_of("1 in 2")


# -- builtins ------------------------------------------------------------------------------

@FEW
@given(st.lists(st.integers(-10**6, 10**6), max_size=4))
def test_gcd_is_the_greatest_common_divisor(xs):
    assert value_of(f"gcd({', '.join(map(str, xs))})") == math.gcd(*xs)


@FEW
@given(st.lists(st.text("ab-", min_size=1, max_size=3).filter(lambda w: "-" not in w), max_size=5))
def test_split_undoes_join(words):
    joined = value_of(f'join({lit(words)}, "-")')
    assert joined == "-".join(words)
    if words:
        assert value_of(f'split({lit(joined)}, "-")') == words
    assert value_of(f"split({lit(' '.join(words))})") == words


@FEW
@given(st.lists(st.integers(-9, 9), max_size=6), st.booleans())
def test_reversed_and_sorted_are_pythons(xs, rev):
    assert value_of(f"reversed({lit(xs)})") == xs[::-1]
    assert value_of(f"reversed(reversed({lit(xs)}))") == xs
    assert value_of(f"sorted({lit(xs)}, reverse={rev})") == sorted(xs, reverse=rev)
    assert value_of('reversed("abc")') == "cba"
    assert value_of('join([1, 2.0, "x"])') == "12x"


def test_sequence_builtins_refuse_bad_arguments_with_a_message():
    for expr, words in [("gcd(1.5)", "takes integers"), ('sorted([1, "a"])', "compare with each other"),
                        ('split("a", "")', "must not be empty"), ("join([[1]])", "joins strings and numbers")]:
        with pytest.raises(TaotpError, match=words):
            value_of(expr)


# -- model.d_model -------------------------------------------------------------------------

def test_model_d_model_is_known_once_the_stream_gives_it():
    assert value_of("model.d_model", "vocab ints(3)\nmodel block=4\n") is None
    assert value_of("[model.d_model, model.d_head]", "vocab ints(3)\nmodel block=4\nstream p:3, q:2\n") == [5, 5]
    assert value_of("model.d_model", "vocab ints(3)\nmodel block=4\nstream p:3\nlet s = new_slot(\"s\", 4)\n") == 7
    assert value_of("model.d_model", "vocab ints(3)\nmodel block=4, d_model=9\nstream p:3\n") == 9
