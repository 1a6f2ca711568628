"""The domain builtins read three ways (taotp/spec_lang/readers.py): every enumeration has
the stated size (or at most it, with a filter), and the sampler and the Hypothesis
strategy only give values the enumeration has. Domains are drawn at random as language
text; a compiled spec function gives what the interpreter gives (compiled.py)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from taotp.errors import TaotpError
from taotp.lang.evaluator import Evaluator
from taotp.lang.parser import parse
from taotp.spec_lang import readers
from taotp.spec_lang.capture import capture
from taotp.spec_lang.domain import Domain, Fixed
from taotp.spec_lang.restore import rebuild
from taotp.spec_lang.runtime import SpecRuntime
from taotp.vocab import Vocab

FAST = settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
VOCAB = Vocab(tuple("0123456789ab"), "words")
HELPERS = textwrap.dedent('''
    def wrap(v):
      return [v, v]
    def keep(v):
      return not ("b" in [v] or 2 in [v])
''')


def evaluator(source: str) -> Evaluator:
    ev = Evaluator(source, "helpers.taotp", progress=False)
    for stmt in parse(source).children:
        ev.exec(stmt, ev.globals)
    return ev


HELPER_ENV = evaluator(HELPERS)


def domain_of(text: str) -> Domain:
    tree = parse(text + "\n")
    return HELPER_ENV.eval(tree.children[0].children[0], HELPER_ENV.globals)


leaves = st.sampled_from(['fixed(["a"])', "fixed([])", 'one_of(["a", "b", "0"])', "integers(0, 3)",
                          "one_of(range(2))"])


def composite(children):
    two = st.tuples(children, children)
    return st.one_of(
        two.map(lambda ab: f"seq({ab[0]}, {ab[1]})"),
        two.map(lambda ab: f"tuples({ab[0]}, {ab[1]})"),
        two.map(lambda ab: f"one_of({ab[0]}, {ab[1]})"),
        two.map(lambda ab: f"weighted([(1, {ab[0]}), (3.5, {ab[1]})])"),
        st.tuples(children, st.integers(0, 2), st.integers(0, 2), st.booleans()).map(
            lambda t: f"lists({t[0]}, {min(t[1], t[2])}, {max(t[1], t[2])}{', unique=True' if t[3] else ''})"),
        children.map(lambda d: f"map({d}, wrap)"),
        children.map(lambda d: f"filter({d}, keep)"),
    )


domains = st.recursive(leaves, composite, max_leaves=5)


def frozen(values):
    return [readers.freeze(v) for v in values]


@FAST
@given(domains, st.data())
def test_enumeration_sampler_and_strategy_agree(text, data):
    try:
        d = domain_of(text)
    except TaotpError as e:                       # unique lists of too few values: refused when built
        assert "different values" in e.message
        return
    n, exact = readers.size(d)
    assume(n <= 3000)
    rt = SpecRuntime(VOCAB)
    try:
        values = list(readers.enumerate_values(d, rt))
    except TaotpError as e:
        assert "different values" in e.message      # a unique list over a filtered or mapped element
        return
    assert len(values) == n if exact else len(values) <= n
    space = set(frozen(values))
    if not values:
        return                                      # a filter refused everything: nothing to draw
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    draw = readers.sampler(d, rt)
    try:
        assert all(readers.freeze(draw(rng)) in space for _ in range(30))
    except TaotpError as e:
        assert "refused" in e.message or "could not draw" in e.message   # a filter that rarely passes
    for _ in range(3):
        assert readers.freeze(data.draw(readers.strategy(d, rt))) in space


@FAST
@given(st.integers(1, 4), st.integers(0, 3), st.data())
def test_unique_lists_hold_distinct_values_and_count_permutations(k, extra, data):
    d = domain_of(f"lists(integers(1, {k + extra}), 0, {k}, unique=True)")
    rt = SpecRuntime(VOCAB)
    values = list(readers.enumerate_values(d, rt))
    assert all(len(set(v)) == len(v) for v in values)
    assert len(values) == len(set(frozen(values))) == readers.size(d)[0]
    drawn = data.draw(readers.strategy(d, rt))
    assert len(set(drawn)) == len(drawn) <= k


def test_weights_steer_the_sampler():
    d = domain_of('weighted([(9, fixed(["a"])), (1, fixed(["b"]))])')
    draw = readers.sampler(d, SpecRuntime(VOCAB))
    rng = np.random.default_rng(0)
    share = sum(draw(rng) == ["a"] for _ in range(4000)) / 4000
    assert abs(share - 0.9) < 0.03   # 4000 draws: the standard error is 0.005


def test_large_integers_are_drawn_inside_their_range():
    d = domain_of(f"integers({-10**30}, {10**30})")
    draw = readers.sampler(d, SpecRuntime(VOCAB))
    rng = np.random.default_rng(1)
    xs = [draw(rng) for _ in range(200)]
    assert all(-10**30 <= x <= 10**30 for x in xs) and len(set(xs)) == 200
    assert readers.size(d) == (2 * 10**30 + 1, True)


# -- compiled spec functions give what the interpreter gives -------------------------------------

FUNCTIONS = textwrap.dedent('''
    def rev(toks):
      return reversed(toks[:-1])
    def digits_desc(toks):
      return sorted([int(t) for t in toks if t in "0123456789"], reverse=True)
    def walk(toks):
      let n = 0
      for t in toks:
        if t == "a":
          return [str(n)]
        elif t == "b":
          n = n + 2
        else:
          n += 1
      return [str(n % 10)]
    def logic(toks):
      return [t if (t > "4" and t != "a") or not t < "b" else "z" for t in toks]
    def arith(toks):
      let x = len(toks)
      return [str(-x ** 2 + 2 ** x // 3 % 7), x / 4, 1.5 * x, x * 1e300 * 1e10]
    def nested(toks):
      def count(xs):
        if len(xs) == 0:
          return 0
        return 1 + count(xs[1:])
      return [str(count(toks))]
    def arrays(toks):
      let a = array([int(t) for t in toks if t in "0123456789"] + [0])
      return [str(int(sum(a * 2))), str(argmax(a)), a.shape[0], a[a > 2], a.T]
    def writes(toks):
      let xs = [1, 2, 3]
      xs[0] = len(toks)
      return [str(xs[0]), xs]
    def strings(toks):
      return [join([p[0], p[1]], "-") for p in zip(toks, reversed(toks))][:2] + split("x y  z")
    def slices(toks):
      return toks[::-2] + toks[1:-1:2] + [toks[-1]]
    def member(toks):
      return ["a" in toks, "b" not in toks, 3 in [int(t) for t in toks if t < "a"], "1" in join(toks)]
    def vocabulary(toks):
      return [str(token(toks[0])), str(len(vocab.tokens)), vocab.size, tokens(toks)]
    def checked(toks):
      assert len(toks) > 2, "short"
      return toks[1:3]
    def fails(toks):
      return [toks[3]]
    def keyword(toks):
      return sorted(x=toks, reverse=len(toks) > 3)
    def mapped(toks):
      return [int(t) for t in toks]
    def lengths(toks):
      return [len(t) for t in toks] + [str(t) for t in reversed(toks)] + [abs(x) for x in range(-2, 2)]
    def calls(toks):
      return [walk(toks), rev(toks + ["0"]), logic(toks)[0]]
''')
NAMES = [line.split("(")[0][4:] for line in FUNCTIONS.splitlines() if line.startswith("def ")]
FUNCTION_ENV = evaluator(FUNCTIONS)


def outcome(run):
    try:
        return ("value", run())
    except TaotpError as e:
        return ("error", e.message)


def same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype \
            and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and (a == b or (a != a and b != b))


def captured(name):
    """The function as a spec keeps it: captured as text and rebuilt over a spec runtime,
    whose names from outside it are fixed (compiled.py reads them once)."""
    rt = SpecRuntime(VOCAB)
    data = capture(FUNCTION_ENV.globals.vars[name], Fixed([]), VOCAB, None)
    return rebuild(data, rt, "test")[0], rt


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kept", [False, True])
@settings(max_examples=12, deadline=None, database=None)
@given(st.lists(st.sampled_from(list("0123456789ab")), min_size=1, max_size=12))
def test_compiled_function_matches_the_interpreter(name, kept, toks):
    fn, rt = captured(name) if kept else (FUNCTION_ENV.globals.vars[name], SpecRuntime(VOCAB))
    kind, interpreted = outcome(lambda: rt.interpreted(fn, [toks], "test"))
    try:
        compiled = ("value", rt.compiler.call(fn, [toks]))
    except Exception:
        compiled = ("error", None)
    assert compiled[0] == kind, (name, toks, interpreted)
    if kind == "value":
        assert same(compiled[1], interpreted), (name, toks, compiled[1], interpreted)
