"""A Hypothesis property test for your own program, with a spec of your own.

    python -m pytest examples/test_echo_property.py

A spec is the behaviour a program should have: a plain Python reference function
and a Hypothesis strategy of valid inputs (both given the program's parameters).
Register it once; then `taotp.strategies` draws inputs and `taotp.check` can prove it.
"""

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import taotp
from taotp import specs, strategies


def echo_reference(settings, text):
    tokens = text.split()
    return " ".join([tokens[-1]] * (settings["block"] - len(tokens) + 1))


def echo_inputs(settings):
    letters = list(settings["letters"])
    return st.lists(st.sampled_from(letters), min_size=1, max_size=settings["block"]).map(" ".join)


if "echo" not in specs.names():
    specs.register("echo", echo_reference, echo_inputs, description="repeat the last token")

ECHO = taotp.load_program(str(Path(__file__).with_name("echo.taotp")))
ECHO.spec = "echo"  # or write `spec echo` in the program


@given(strategies.inputs(ECHO))
def test_echo_matches_its_spec(text):
    assert ECHO.run(text) == strategies.expected(ECHO, text)
