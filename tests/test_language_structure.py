"""The evaluator's structure: the static pass, call stacks in errors, and the decoding
rule's independence from the evaluator that built it."""

import gc
import weakref

import pytest

import taotp
from taotp.errors import ErrorList, TaotpError
from taotp.lang.checks import check_file
from taotp.lang.evaluator import Evaluator
from taotp.lang.parser import parse

HEAD = "vocab ints(4)\nmodel block=8, heads=1, d_head=3\nstream p:3, q:3\n"  # 3 lines


def compile_text(text, **kw):
    return taotp.compile_source(text, "t.taotp", **kw)


def error_of(text) -> TaotpError:
    with pytest.raises(TaotpError) as info:
        compile_text(text)
    return info.value


def test_the_static_pass_reports_every_problem_at_once_in_source_order():
    body = ("let vocab = 3\n"          # 4: a machine name
            "def f(a, a):\n"           # 5: parameter twice
            "  vocab ints(3)\n"        # 6: declaration in a block
            "  return 1\n"
            "return 5\n"               # 8: return outside def
            "for i in range(2):\n"
            "  model block=3\n"        # 10: declaration in a block
            "let tok_emb = 1\n")       # 11: a weight
    err = error_of(HEAD + body)
    assert isinstance(err, ErrorList)
    places = [(e.span.line, e.span.column) for e in err.errors]
    assert places == [(4, 1), (5, 10), (6, 3), (8, 1), (10, 3), (11, 1)]
    text = str(err)
    assert text.startswith("t.taotp:4:1: error: 'vocab' is one of the machine's own names")
    assert text.endswith("6 errors")


def test_the_static_pass_runs_before_anything_is_evaluated():
    # the assertion on line 4 would fail when run; the structural problem on line 5 is reported instead
    err = error_of(HEAD + "assert False, \"ran\"\nreturn 1\n")
    assert "return outside a function" in str(err) and "ran" not in str(err)


@pytest.mark.parametrize("name", ["vocab", "model", "token", "tokens", "input_len", "Q"])
def test_predefined_names_cannot_be_rebound_with_let(name):
    err = error_of(HEAD + f"let {name} = 1\n")
    assert str(err).startswith("t.taotp:4:1:")


def test_check_file_accepts_every_shipped_program():
    from taotp.resources import programs_dir
    from taotp.lang.source import SourceFile

    for path in sorted(programs_dir().glob("*.taotp")):
        text = path.read_text()
        check_file(parse(text, str(path)), SourceFile(str(path), text))


def test_an_error_inside_a_function_names_every_caller():
    body = ("def inner(x):\n"          # 4
            "  return eye3(x)\n"       # 5
            "def wrap(x):\n"           # 6
            "  return inner(x) + 1\n"  # 7
            "let y = wrap(3)\n")       # 8
    text = str(error_of(HEAD + body))
    lines = text.splitlines()
    assert lines[0] == "t.taotp:5:10: error: unknown name 'eye3'"
    assert "  called from t.taotp:7:10: return inner(x) + 1" in lines
    assert lines[-1] == "  called from t.taotp:8:9: let y = wrap(3)"


def test_a_runaway_recursion_folds_its_call_stack():
    text = str(error_of(HEAD + "def f(n):\n  return f(n + 1)\nlet y = f(1)\n"))
    assert "more than 40 nested calls" in text
    assert len(text.splitlines()) < 10
    assert "more time(s)" in text


def test_the_decoding_rule_does_not_keep_the_evaluator_alive():
    src = HEAD + "def twice(n):\n  return 2 * n\ndecode steps = twice(input_len) - 1\n"
    ev = Evaluator(src, "t.taotp")
    program = ev.run(parse(src, "t.taotp"), "t")
    ref = weakref.ref(ev)
    del ev
    gc.collect()
    assert ref() is None
    assert program.rule.steps(3) == 5


def test_decode_steps_errors_point_at_the_steps_expression():
    program = compile_text(HEAD + "decode steps = [1, 2][input_len]\n")
    assert program.rule.steps(1) == 2
    with pytest.raises(TaotpError, match=r"t.taotp:4:16: .*out of range"):
        program.rule.steps(5)


def test_a_program_may_shadow_a_builtin():
    """A program's own names win over builtins (as in Python), so a builtin added to taotp
    later never breaks a program that already used the name."""
    prog = compile_text(HEAD + "let fixed = 2\ndef sum(x):\n  return fixed * 10\nassert sum(1) == 20, \"shadowed\"\n")
    assert prog is not None
