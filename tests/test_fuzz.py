"""Fuzz: every shipped program, mutated (tests/mutations.py: numbers, names, operators,
strings, indentation, lines, characters, hostile statements), compiles or fails with an
error at file:line:col; what compiles runs on random inputs and answers or refuses with
a TaotpError. Nothing else escapes, and nothing runs away: the compilation budget is set
small here so that a runaway case ends in well under a second (the longer campaign,
tools/fuzz_campaign.py, uses the default budget)."""

from __future__ import annotations

import random
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mutations
from fuzz_target import compile_case, round_trip, run_input, shipped_source, valid_inputs
from taotp.resources import shipped_programs

GUARD_SECONDS = 60   # a hang detector, not a speed measurement: a case takes well under 1 s


@pytest.fixture(autouse=True)
def small_budget(monkeypatch):
    monkeypatch.setenv("TAOTP_MAX_STEPS", "50000")
    monkeypatch.setenv("TAOTP_MAX_WORK", "3e8")
    monkeypatch.setenv("TAOTP_MAX_MEMORY", "128M")
    monkeypatch.setenv("TAOTP_QUIET", "1")


class _Hung(Exception):
    pass


def _guard(*_):
    raise _Hung(f"a fuzz case ran for more than {GUARD_SECONDS} s")


@pytest.mark.parametrize("name", shipped_programs())
@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**64 - 1))
def test_mutated_program_compiles_or_fails_at_a_line(tmp_path_factory, name, seed):
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("fuzz")
    previous = signal.signal(signal.SIGALRM, _guard)
    signal.alarm(GUARD_SECONDS)
    try:
        outcome, result = compile_case(name, mutations.mutate(rng, shipped_source(name)), folder, quick=True)
        assert outcome in ("compiled", "program error (located)", "usage error (--set)"), result
        if outcome == "compiled":
            texts = valid_inputs(name, result)
            for _ in range(2):
                text = mutations.random_input(rng, list(result.vocab.tokens), result.vocab.mode == "words", texts)
                said, detail = run_input(result, text)
                assert said != "internal error", detail
            said, detail = round_trip(result, folder)
            assert said != "internal error", detail
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
