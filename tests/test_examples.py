"""The examples a newcomer copies keep working."""

import runpy
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import taotp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ECHO = taotp.load_program(str(EXAMPLES / "echo.taotp"))


@given(st.lists(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=1, max_size=8))
def test_echo_repeats_the_last_token_to_the_end_of_the_block(letters):
    out = ECHO.run(" ".join(letters)).split()
    assert out == [letters[-1]] * (8 - len(letters) + 1)


def test_api_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(EXAMPLES / "api.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "2 6 7 12 18" in out and (tmp_path / "sort.npz").exists()


def test_property_test_example_passes():
    namespace = runpy.run_path(str(EXAMPLES / "test_echo_property.py"))
    namespace["test_echo_matches_its_spec"]()
