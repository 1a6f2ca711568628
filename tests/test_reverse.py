"""REVERSE (programs/reverse.taotp), written with the standard library: at most 25 lines
of code, exact in float64 and float32 on every input up to length 6 (enumerated) and on
random inputs of every length up to 20, smaller than tracr's make_reverse.

(Every input up to 20 letters: `taotp check reverse --set letters=ab --exhaustive` runs
all 2,097,151 of them; docs/library.md gives the times and margins.)"""

import itertools
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp.check import check

from stdlib_support import check_outputs

PROGRAM = Path(__file__).resolve().parents[1] / "programs" / "reverse.taotp"
MARGIN = 25 / 4          # the copied letter's code against the other tokens: k + k / (k - 1), k = 5


def lines_of_code(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.strip().startswith("#"))


def test_reverse_is_at_most_25_lines_of_code():
    assert lines_of_code(PROGRAM) <= 25


def test_every_input_up_to_length_6_in_both_dtypes():
    prog = taotp.load_program("reverse", progress=False)
    texts = ["".join(p) + "=" for n in range(7) for p in itertools.product("abcd", repeat=n)]
    check_outputs(prog, texts, [t[:-1][::-1] for t in texts], MARGIN, reference_every=200)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.text(alphabet="abcd", min_size=7, max_size=20), min_size=1, max_size=30))
def test_random_inputs_up_to_length_20_in_both_dtypes(letters):
    prog = taotp.load_program("reverse", progress=False)
    texts = [t + "=" for t in letters]
    check_outputs(prog, texts, [t[::-1] for t in letters], MARGIN, reference_every=10)


def test_check_proves_it_with_its_spec_and_layer_norm_stays_the_identity():
    prog = taotp.load_program("reverse", {"n": "8", "letters": "ab"}, progress=False)
    for dtype in (np.float64, np.float32):
        r = check(prog, exhaustive=True, dtype=dtype, progress=False)
        assert r.ok and r.total == 2 ** 9 - 1, r.as_dict()
        assert r.stats["min_margin"] >= 8 / 3 * (1 - 1e-6)          # k = 3 tokens: 3 + 3/2
        assert r.stats["layer_norm"]["warning"] is None and r.stats["layer_norm"]["library"]


def test_smaller_than_tracr_at_its_size():
    """tracr's make_reverse at 4 letters, length 10: 92,465 parameters, 641 non-zero."""
    prog = taotp.load_program("reverse", {"n": "10"}, progress=False)
    assert prog.params.count()["n_params"] < 92_465 and prog.params.count(nonzero=True)["n_params"] < 641
