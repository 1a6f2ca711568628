"""SEARCH (book ch. 4) against a plain Python search, and its counts against the book's §4.3."""

from functools import lru_cache

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import taotp
from taotp.builtins.encodings import ring3d
from taotp.builtins.lookup import rotation3d_solved
from taotp.cli import main
from taotp.errors import TaotpError

from solved_shifts import nonzero_range

BLOCK = 100
# (vocab_size, prefix_len, book_shift): the book's two settings, a short query, exact rotations
CONFIGS = [(1000, 10, True), (10, 3, True), (30, 2, True), (10, 3, False)]


@lru_cache(maxsize=None)
def search(vocab_size, prefix_len, book_shift=True):
    return taotp.load_program("search", {"vocab_size": str(vocab_size), "prefix_len": str(prefix_len),
                                         "book_shift": str(book_shift).lower()})


def plain_search(xs, p):
    """The token after the only earlier occurrence of the last p tokens, or None when
    they occur earlier (followed by a token) not exactly once."""
    query = xs[-p:]
    found = [s for s in range(len(xs) - p) if xs[s:s + p] == query]
    return xs[found[0] + p] if len(found) == 1 else None


def pseudo_match(xs, p):
    """True if the query also matches a key of the first p positions. Those positions have
    fewer than p tokens before them; the relative attention of a missing slot lands on
    position 0, so they hold (x[j-1], ..., x[0], x[0], ...): undefined in the book."""
    query = xs[-p:]
    padded = [xs[0]] * p + xs
    return any(padded[j:j + p] == query for j in range(p))


@st.composite
def search_inputs(draw):
    vocab_size, p, book_shift = draw(st.sampled_from(CONFIGS))
    n = draw(st.integers(p + 1, BLOCK))
    xs = draw(st.lists(st.integers(0, vocab_size - 1), min_size=n - p, max_size=n - p))
    start = draw(st.integers(0, len(xs) - 1))
    query = (xs + xs)[start:start + p][:p]
    xs = xs + query
    return vocab_size, p, book_shift, xs


@settings(max_examples=150, deadline=None)
@given(search_inputs())
def test_search_finds_the_token_after_the_earlier_occurrence(case):
    vocab_size, p, book_shift, xs = case
    want = plain_search(xs, p)
    assume(want is not None and not pseudo_match(xs, p))
    got = search(vocab_size, p, book_shift).run(" ".join(map(str, xs)))
    assert got == str(want)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 999), min_size=11, max_size=89, unique=True), st.data())
def test_search_on_distinct_tokens_uses_any_position(xs, data):
    """With all-distinct tokens every query of length 10 occurs once; any start works."""
    start = data.draw(st.integers(0, len(xs) - 11))
    query = xs[start:start + 10]
    assert search(1000, 10).run(" ".join(map(str, xs + query))) == str(xs[start + 10])


def test_book_example():
    r = CliRunner().invoke(main, ["run", "search", "--input", "1 2 3 4 5 6 1 2 3",
                                  "--set", "prefix_len=3", "--set", "vocab_size=10"])
    assert r.exit_code == 0 and r.output == "4\n"


@pytest.mark.parametrize("vocab_size, prefix_len, total, nonzero", [
    (1000, 10, 123_486, 30_734),   # §4.3
    (10, 3, 4_800, 535),
])
def test_counts_as_the_book(vocab_size, prefix_len, total, nonzero):
    """The totals exactly. The non-zero counts depend on LAPACK's rounding in fig. 3.1's
    solved shift matrices (one per layer-0 head, solved_shifts.py): fixed up to those
    blocks, and the book's count lies in the range the construction allows."""
    book, exact = search(vocab_size, prefix_len, True).params, search(vocab_size, prefix_len, False).params
    assert book.count()["n_params"] == exact.count()["n_params"] == total
    thetas = [-h * 2 * np.pi / BLOCK for h in range(prefix_len + 1)]
    lo, hi = nonzero_range(exact.count(nonzero=True)["n_params"], thetas)
    assert lo <= nonzero <= hi and lo <= book.count(nonzero=True)["n_params"] <= hi
    assert book.count(nonzero=True)["tok_emb"] == vocab_size * (3 * prefix_len) - 1  # one ring coordinate is 0


def test_exact_rotations_change_only_the_shift_blocks():
    """book_shift changes layer 0's query shifts (by 1 c^T, solved_shifts.py) and nothing else."""
    book, exact = search(10, 3, True).params, search(10, 3, False).params
    assert book.count() == exact.count()
    a, b = book.to_flat(), exact.to_flat()
    assert all(np.array_equal(a[k], b[k]) for k in a if k != "layers.0.Q")
    diff = a["layers.0.Q"] - b["layers.0.Q"]                          # (heads, d_model, d_head)
    assert np.allclose(diff[:, -3:, :3], diff[:, -3:, :3][:, :1], atol=1e-6 * 1e8)  # rows equal: 1 c^T
    diff[:, -3:, :3] = 0
    assert not diff.any()


@settings(max_examples=40, deadline=None)
@given(st.floats(-10, 10), st.floats(-np.pi, np.pi))
def test_solved_shift_turns_ring_points(t, theta):
    """Fig. 3.1: the solved matrix moves every ring point by theta, like rotation3d."""
    assert np.allclose(ring3d(t) @ rotation3d_solved(theta), ring3d(t + theta), atol=1e-9)


@pytest.mark.parametrize("text, words", [
    ("1 2 3", "at least 4 token ids"),
    ("1 2 3 4 5 6 1 2 10", "unknown token '10'"),
    ("1 2 x 4 5", "at least 4 token ids"),
])
def test_bad_inputs_are_clear(text, words):
    with pytest.raises(TaotpError, match=words):
        search(10, 3).run(text)


def test_cli_bad_input_and_settings():
    r = CliRunner().invoke(main, ["run", "search", "--set", "prefix_len=1", "--input", "1 2"])
    assert r.exit_code != 0 and "prefix_len must be at least 2" in r.output
    assert "Traceback" not in r.output
    r = CliRunner().invoke(main, ["run", "search", "--input", "1 2 3"])
    assert r.exit_code != 0 and "at least 11 token ids" in r.output
