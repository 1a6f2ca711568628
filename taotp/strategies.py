"""Hypothesis strategies for a program's inputs, from its spec (taotp.specs).

    import taotp
    from hypothesis import given
    prog = taotp.load_program("sort")

    @given(taotp.strategies.inputs(prog))
    def test_sort(text):
        assert prog.run(text, engine="fast") == taotp.strategies.expected(prog, text)
"""

from __future__ import annotations

from . import specs
from .errors import UsageError


def spec_of(program) -> specs.Spec:
    """The spec the program names: its own (`spec expected=F, inputs=D`, or --expect
    pairs), or else a registered one."""
    own = getattr(program, "own_spec", None)
    if own is not None and own.name == program.spec:
        return own
    if not program.spec:
        raise UsageError(f"program {program.name!r} declares no spec: add a `spec NAME` line, "
                         f"or register one with taotp.specs.register")
    return specs.get(program.spec)


def inputs(program):
    """A Hypothesis strategy of valid input texts for `program` (by its spec and settings)."""
    return spec_of(program).strategy(specs.settings_of(program))


def cases(program):
    """A strategy of (input, expected output) pairs."""
    spec, settings = spec_of(program), specs.settings_of(program)
    return spec.strategy(settings).map(lambda text: (text, spec.reference(settings, text)))


def expected(program, text: str) -> str:
    """What the spec says `program` should print for `text`."""
    return spec_of(program).reference(specs.settings_of(program), text)
