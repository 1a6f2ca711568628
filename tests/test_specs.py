"""Specs (taotp.specs) and input strategies (taotp.strategies): the reference
behaviours, their input generators, and the public registration API."""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp import specs, strategies
from taotp.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
TABLE = str(ROOT / "examples" / "tables" / "colors.tsv")
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.lru_cache(maxsize=None)
def program(name, **overrides):
    return taotp.load_program(name, overrides, progress=False)


def small(name):
    """Shipped programs at settings small enough to enumerate or run quickly."""
    return {
        "min": program("min", n=4, block=3), "max": program("max", n=4, block=3),
        "sort": program("sort", n=6, block=10), "hello": program("hello"),
        "add_digit_mod": program("add_digit_mod"), "add_mod": program("add_mod", n_digits=1),
        "add": program("add", n_digits=1), "lookup": program("lookup", table=TABLE),
        "search": program("search", vocab_size=6, prefix_len=2, block=12),
    }[name]


ENUMERABLE = ["min", "max", "sort", "hello", "add_digit_mod", "add_mod", "add", "lookup"]


@pytest.mark.parametrize("name", ENUMERABLE)
def test_enumeration_is_distinct_and_of_the_stated_size(name):
    prog = small(name)
    s = specs.settings_of(prog)
    spec = strategies.spec_of(prog)
    texts = list(spec.enumerate(s))
    assert len(texts) == spec.space_size(s) == len(set(texts))


@pytest.mark.parametrize("name", ENUMERABLE)
def test_samples_and_strategy_stay_inside_the_enumeration(name):
    prog = small(name)
    s = specs.settings_of(prog)
    spec = strategies.spec_of(prog)
    space = set(spec.enumerate(s))
    # lookup enumerates the keys; an input may put any tokens before its key
    essential = (lambda t: " ".join(t.split()[-2:])) if name == "lookup" else (lambda t: t)
    rng = np.random.default_rng(0)
    assert all(essential(spec.sample(s, rng)) in space for _ in range(200))

    @settings(max_examples=30, deadline=None, database=None)
    @given(strategies.inputs(prog))
    def inside(text):
        assert essential(text) in space

    inside()


@pytest.mark.parametrize("name", ENUMERABLE + ["search"])
def test_program_agrees_with_its_spec_through_the_public_strategy(name):
    prog = small(name)

    @settings(max_examples=20, deadline=None, database=None)
    @given(strategies.cases(prog))
    def agrees(case):
        text, expected = case
        assert prog.run(text, engine="fast") == expected

    agrees()


# -- the reference functions, against independent definitions ------------------------------

@FAST
@given(st.lists(st.integers(1, 27), min_size=1, max_size=14, unique=True))
def test_sort_reference_is_the_sorted_permutation(xs):
    s = {"n": 28, "block": 100}
    out = [int(t) for t in specs.get("sort").reference(s, " ".join(map(str, xs + [0]))).split()]
    assert Counter(out) == Counter(xs) and all(a < b for a, b in zip(out, out[1:]))


@FAST
@given(st.lists(st.integers(0, 99), min_size=1, max_size=30))
def test_min_max_reference_bounds_every_number(xs):
    text = " ".join(map(str, xs))
    lo, hi = (int(specs.get(n).reference({"n": 100}, text)) for n in ("min", "max"))
    assert lo in xs and hi in xs and all(lo <= x <= hi for x in xs)


@FAST
@given(st.integers(1, 4), st.data())
def test_addition_references_agree_with_integer_arithmetic(nd, data):
    a, b = data.draw(st.integers(0, 10**nd - 1)), data.draw(st.integers(0, 10**nd - 1))
    text = f"{a:0{nd}d}+{b:0{nd}d}="
    full = specs.get("add").reference({"n_digits": nd}, text)
    assert len(full) == nd + 1 and int(full) == a + b
    assert specs.get("add_mod").reference({"n_digits": nd}, text) == full[-1]


def test_add_digit_mod_reference_over_all_inputs():
    for a, b in itertools.product(range(10), repeat=2):
        assert specs.get("add_digit_mod").reference({}, f"{a}{b}") == str((a + b) % 10)


@FAST
@given(st.data())
def test_search_inputs_hold_one_earlier_occurrence_and_the_answer_follows_it(data):
    prog = small("search")
    s = specs.settings_of(prog)
    m = s["prefix_len"]
    toks = data.draw(strategies.inputs(prog)).split()
    query = toks[-m:]
    starts = [i for i in range(len(toks) - m) if toks[i:i + m] == query]
    assert len(starts) == 1 and starts[0] + 2 * m <= len(toks)
    assert specs.get("search").reference(s, " ".join(toks)) == toks[starts[0] + m]
    assert len(toks) <= s["block"]


def test_lookup_reference_reads_the_table_file():
    prog = small("lookup")
    s = specs.settings_of(prog)
    lines = [ln.split("\t") for ln in Path(TABLE).read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    for key, value in lines:
        assert specs.get("lookup").reference(s, key.split("#")[0].strip()) == value.split("#")[0].strip()


def test_search_reference_refuses_ambiguous_input():
    with pytest.raises(UsageError, match="exactly once"):
        specs.get("search").reference({"prefix_len": 2, "words": True}, "1 2 3 1 2 4 1 2")


# -- the registry API -------------------------------------------------------------------------

def test_register_get_and_use_a_user_spec():
    name = "test_reverse_words"
    specs.REGISTRY.pop(name, None)
    spec = specs.register(name, reference=lambda s, t: " ".join(reversed(t.split())),
                          strategy=lambda s: st.just("a b"), description="reverse")
    assert specs.get(name) is spec and name in specs.names()
    with pytest.raises(UsageError, match="already registered"):
        specs.register(name, reference=spec.reference, strategy=spec.strategy)
    specs.register(name, reference=spec.reference, strategy=spec.strategy, replace=True)
    assert specs.get(name).reference({}, "x y z") == "z y x"
    specs.REGISTRY.pop(name)


def test_unknown_spec_names_the_known_ones():
    with pytest.raises(UsageError) as e:
        specs.get("srot")
    assert "sort" in str(e.value)


def test_program_without_spec_is_a_clear_error():
    prog = program("sort")
    bare = type(prog)(**{**prog.__dict__, "spec": None})
    with pytest.raises(UsageError, match="declares no spec"):
        strategies.inputs(bare)
