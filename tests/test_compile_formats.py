"""`taotp compile` output is exact enough for an independent implementation, and the
book's ch. 8 literals load and run."""

import json
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import taotp
from taotp.compiler import load_program, save_weights

from book_forward import decode

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@settings(max_examples=15)
@given(st.lists(st.integers(1, 20), unique=True, min_size=1, max_size=12).flatmap(st.permutations))
def test_npz_weights_sort_under_an_independent_forward_pass(tmp_path_factory, xs):
    """Numbers up to 20: there SORT's margin (4e-12) dwarfs any difference in rounding
    between two implementations; above 24 it is a few ulps (docs/ERRATA.md)."""
    out = tmp_path_factory.mktemp("w") / "sort.npz"
    save_weights(taotp.load_program("sort"), out)
    with np.load(out, allow_pickle=False) as z:
        w = {k: z[k] for k in z.files}
    vocab = list(w["vocab"])
    ids = [vocab.index(str(x)) for x in xs + [0]]
    got = [int(vocab[i]) for i in decode(w, ids, steps=len(xs))]
    assert got == sorted(xs)


def test_json_is_the_book_literal_and_round_trips(tmp_path):
    prog = taotp.load_program("sort")
    out = tmp_path / "sort.json"
    save_weights(prog, out)
    data = json.loads(out.read_text())
    assert {"tok_emb", "pos_emb", "layers", "lnf", "vocab"} <= set(data)
    assert "out_emb" not in data  # tied
    again = load_program(str(out))
    assert np.array_equal(again.params.tok_emb, prog.params.tok_emb)
    assert again.run("6 2 12 18 7 0") == prog.run("6 2 12 18 7 0")


def test_fig_8_2_literal_runs_as_the_book_says():
    prog = load_program(str(EXAMPLES / "fig8_2_hello.literal"))
    out = prog.run("0", max_steps=12)
    # The same weights through the independent forward pass.
    w = {k: v for k, v in prog.params.to_flat().items()}
    assert out.split() == [str(i) for i in decode(w, [0], steps=12)]
    assert out == "1 8 0 0 7 2 4 7 3 0 6 5"  # the book's fig. 8.2, read through set() order


def test_fig_8_3_literal_with_an_empty_mlp_loads():
    prog = load_program(str(EXAMPLES / "fig8_3_mystery.literal"))
    assert prog.params.layers[0].d_ff == 0
    assert prog.params.count()["n_params"] == 20 * 3 + 8 * 3 + 4 * 9 + 3
