"""LOOKUP TABLE (book ch. 3): the §3.6 fitting (fig. 3.4-3.5) and the programs built on it."""

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import taotp
from taotp.builtins import BuiltinContext
from taotp.builtins.encodings import rotation3d
from taotp.builtins.lookup import (fit, fitted_logits, key_hashes, layer_norm_rows, loss_and_grad,
                                   lookup_fit, scatter_add)
from taotp.cli import main
from taotp.engine.reference import forward
from taotp.errors import TaotpError

from solved_shifts import nonzero_range

TABLES = Path(__file__).resolve().parent.parent / "examples" / "tables"


def random_table(rng, n, key_len, vocab):
    """n distinct uniform random keys and uniform values: the book's random tables
    (n is capped at the number of distinct keys there are)."""
    n = min(n, vocab ** key_len)
    keys = {}
    while len(keys) < n:
        keys.setdefault(tuple(rng.integers(0, vocab, key_len).tolist()), None)
    return np.array(list(keys)), rng.integers(0, vocab, n)


def write_table(path, keys, values):
    path.write_text("".join(" ".join(f"t{x}" for x in k) + f"\tt{v}\n" for k, v in zip(keys, values)))
    return path


@lru_cache(maxsize=None)
def compiled(name, table, **sets):
    return taotp.load_program(name, {"table": str(table), **{k: str(v) for k, v in sets.items()}},
                              progress=False)


def keys_text(prog, path):
    lines = [ln.split("\t") for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return [k for k, _ in lines], [v for _, v in lines]


# -- the gradient of fig. 3.4 ------------------------------------------------------------

problems = st.tuples(st.integers(2, 9), st.integers(2, 6), st.integers(1, 4), st.integers(1, 8),
                     st.integers(0, 2**32 - 1))


@settings(max_examples=25, deadline=None)
@given(problems, st.booleans())
def test_gradient_matches_finite_differences(problem, normalised):
    """Also for E whose rows do not sum to 0: there the mean's part of the gradient,
    zero for the layer-normalised E the fit uses, shows."""
    V, d, l, n, seed = problem
    rng = np.random.default_rng(seed)
    E, M = rng.normal(size=(V, d)) + 0.5, rng.normal(size=(l, d, d))
    if normalised:
        E = layer_norm_rows(E)
    keys, values = rng.integers(0, V, (n, l)), rng.integers(0, V, n)
    _, (dE, dM) = loss_and_grad(E, M, keys, values)
    f = lambda E_, M_: loss_and_grad(E_, M_, keys, values)[0]
    h = 1e-6
    for X, dX, at in ((E, dE, lambda X_: f(X_, M)), (M, dM, lambda X_: f(E, X_))):
        num = np.zeros_like(X)
        for idx in np.ndindex(X.shape):
            up, down = X.copy(), X.copy()
            up[idx] += h
            down[idx] -= h
            num[idx] = (at(up) - at(down)) / (2 * h)
        assert np.allclose(dX, num, atol=1e-5 * max(1.0, np.abs(num).max()))


@settings(max_examples=25, deadline=None)
@given(problems, st.sampled_from([1.0, 300.0]))
def test_loss_is_the_cross_entropy_of_the_fitted_logits(problem, scale):
    """scale 300: logits beyond NO_SHIFT, where the softmax subtracts each row's max."""
    V, d, l, n, seed = problem
    rng = np.random.default_rng(seed)
    E, M = scale * layer_norm_rows(rng.normal(size=(V, d))), rng.normal(size=(l, d, d))
    keys, values = rng.integers(0, V, (n, l)), rng.integers(0, V, n)
    z = fitted_logits(E, M, keys)
    log_softmax = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(1, keepdims=True)
    assert np.isclose(loss_and_grad(E, M, keys, values)[0], -log_softmax[np.arange(n), values].sum(),
                      rtol=1e-9, atol=1e-9 * scale)


@settings(max_examples=25, deadline=None)
@given(problems)
def test_a_small_step_against_the_gradient_decreases_the_loss(problem):
    """Fig. 3.5's step direction is a descent direction: some step 2^-k (Armijo's rule)
    lowers the loss by at least half of what the gradient promises. (That a whole fit
    lowers the loss by some fixed fraction is not a property of the method: plain steps
    with the layer norm in between can oscillate; fit keeps its best iterate instead.)"""
    V, d, l, n, seed = problem
    rng = np.random.default_rng(seed)
    E, M = layer_norm_rows(rng.normal(size=(V, d))), rng.normal(size=(l, d, d))
    keys, values = rng.integers(0, V, (n, l)), rng.integers(0, V, n)
    loss, (dE, dM) = loss_and_grad(E, M, keys, values)
    slope = float((dE ** 2).sum() + (dM ** 2).sum())
    assume(slope > 1e-6)  # at a stationary point rounding decides; random starts are far from one
    steps = [2.0 ** -k for k in range(60)]
    assert any(loss_and_grad(E - t * dE, M - t * dM, keys, values)[0] <= loss - 0.5 * t * slope for t in steps)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 40), st.integers(1, 4))
def test_fit_returns_an_iterate_at_least_as_good_as_its_first(seed, n, l):
    """fit keeps the iterate that answered the most keys, so what it returns answers at least
    as many as its starting point LN(E0), M0 (drawn from the same seed)."""
    keys, values = random_table(np.random.default_rng(seed), n, l, 20)
    E, M, losses = fit(keys, values, 20, 6, iters=60, lr=1e-3, seed=seed)
    start = np.random.default_rng(seed)
    E0 = layer_norm_rows(start.normal(0.0, 0.1, (20, 6)))
    M0 = start.normal(0.0, 0.1, (l, 6, 6))
    right = lambda E_, M_: int(np.count_nonzero(fitted_logits(E_, M_, keys).argmax(axis=1) == values))
    assert right(E, M) >= right(E0, M0)
    assert len(losses) == 60 and np.all(np.isfinite(losses))


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 40), st.integers(1, 4), st.sampled_from([0.1, 0.5, 1.0, 2.0, 1e3]))
def test_early_stop_is_the_books_loop_cut_short(seed, n, l, stop):
    """With stop_margin > 0 the fit returns the first iterate whose fitted logits give every
    key's value a lead of at least stop_margin - bit for bit what the book's loop (stop_margin
    0) returns when run for that many steps; without such an iterate, all `iters` steps."""
    keys, values = random_table(np.random.default_rng(seed), n, l, 20)
    run = {}
    E, M, losses = fit(keys, values, 20, 8, iters=150, lr=1e-2, seed=seed, stop_margin=stop, report=run)
    z = fitted_logits(E, M, keys)
    rows = np.arange(len(keys))
    lead = z[rows, values] - np.where(np.arange(20) == values[:, None], -np.inf, z).max(axis=1)
    steps = run["steps"]
    book = {}
    E_b, M_b, losses_b = fit(keys, values, 20, 8, iters=steps, lr=1e-2, seed=seed, report=book)
    assert book["steps"] == steps
    if steps < 150:
        assert lead.min() >= stop - 1e-9          # the fit's logits and fitted_logits: same sums, grouped otherwise
        assert np.array_equal(E, E_b) and np.array_equal(M, M_b)
        assert len(losses) == steps + 1 and np.array_equal(losses[:steps], losses_b)
        if steps:                                  # what the book's loop returns a step earlier falls short
            z = fitted_logits(*fit(keys, values, 20, 8, iters=steps - 1, lr=1e-2, seed=seed)[:2], keys)
            lead = z[rows, values] - np.where(np.arange(20) == values[:, None], -np.inf, z).max(axis=1)
            assert lead.min() < stop + 1e-9
    else:
        assert np.array_equal(E, E_b) and np.array_equal(M, M_b) and len(losses) == 150


class Recorder:
    def __init__(self):
        self.updates, self.postfixes = 0, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def update(self, n=1):
        self.updates += n

    def set_postfix(self, text):
        self.postfixes.append(text)


def test_fit_reports_progress_and_notes(tmp_path):
    bar = Recorder()
    ctx = BuiltinContext(base_dir=tmp_path)
    ctx.progress = lambda total, desc="", unit="it": bar
    keys, values = random_table(np.random.default_rng(0), 10, 3, 12)
    rec = lookup_fit(ctx, keys, values, 12, 5, iters=120, lr=1e-3, seed=1)
    assert bar.updates == 120 and bar.postfixes[-1].startswith("loss=")
    assert ctx.notes["lookup_fit"]["iters"] == 120 and rec.get("E").shape == (12, 5)
    assert rec.get("M").shape == (3, 5, 5)
    assert np.allclose(rec.get("E").mean(1), 0) and np.allclose((rec.get("E") ** 2).mean(1), 1)


@pytest.mark.parametrize("args, words", [
    (dict(lr=-1.0), "lr must be a positive number"),
    (dict(tok_dims=1), "tok_dims must be at least 2"),
    (dict(values=[0, 99]), r"values must be token ids in \[0, 5\)"),
    (dict(keys=[1, 2]), "keys must be a non-empty"),
    (dict(vocab_size=30_000_000), "logits per step, more than the limit"),
    (dict(stop_margin=-1), "stop_margin must be a number >= 0"),
    (dict(stop_margin=float("nan")), "stop_margin must be a number >= 0"),
])
def test_fit_rejects_bad_arguments(tmp_path, args, words):
    call = dict(keys=[[0, 1], [2, 3]], values=[1, 2], vocab_size=5, tok_dims=4, iters=3, lr=1e-3, seed=0)
    call.update(args)
    with pytest.raises(TaotpError, match=words):
        lookup_fit(BuiltinContext(base_dir=tmp_path, progress_enabled=False), **call)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 4), st.integers(1, 6))
def test_hashes_and_scatter_add_against_loops(seed, n, l, d):
    rng = np.random.default_rng(seed)
    E, M = rng.normal(size=(7, d)), rng.normal(size=(l, d, d))
    keys, values = rng.integers(0, 7, (n, l)), rng.integers(0, 7, n)
    H = key_hashes(E, M, keys)
    for i in range(n):
        assert np.allclose(H[i], sum(E[keys[i, p]] @ M[p] for p in range(l)))
    out = scatter_add(7, values, H)
    for v in range(7):
        assert np.allclose(out[v], sum((H[i] for i in range(n) if values[i] == v), np.zeros(d)))


# -- the compiled programs ------------------------------------------------------------------

def test_built_transformer_computes_the_fitted_logits():
    """The weights lookup.taotp writes make the machine's last-position logits exactly
    E @ LN(hash, 0, 0, 0), the model the fitting optimised."""
    path = TABLES / "random100.tsv"
    prog = compiled("lookup", path)
    P, dims = prog.params, prog.params.d_model - 3
    l = P.layers[0].n_heads
    E = P.tok_emb[:, :dims]
    M = np.stack([P.layers[0].P[l - 1 - p][:dims, :dims].T + (np.eye(dims) if p == l - 1 else 0)
                  for p in range(l)])
    keys = np.array([prog.encode(k) for k in keys_text(prog, path)[0]])
    machine = np.stack([forward(P, k)[-1] for k in keys[:20]])
    assert np.allclose(machine, fitted_logits(E, M, keys[:20]), atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(5, 60), st.integers(1, 4), st.integers(10, 60))
def test_lookup_memorises_random_tables(tmp_path_factory, seed, n, key_len, vocab):
    """At its default width (sqrt(entries) token dims, at least 8) and fitting settings, lookup
    answers every key of a random table. Tables are kept within the construction's
    capacity: its logits are a sum of one score table per key position (docs/lookup.md),
    so entries are capped at key_len * vocab (the book's 1,000 entries over 10 tokens
    are far past it, and fail)."""
    keys, values = random_table(np.random.default_rng(seed), min(n, key_len * vocab), key_len, vocab)
    path = write_table(tmp_path_factory.mktemp("t") / "table.tsv", keys, values)
    prog = taotp.load_program("lookup", {"table": str(path), "seed": str(seed % 1000)}, progress=False)
    texts, want = keys_text(prog, path)
    assert prog.run_batch(texts, engine="fast") == want


def test_done_criterion_random100_from_the_cli():
    """A random 100-entry table, 4-token keys over 100 words, given by file: every key
    answered, one line per key with --batch -."""
    path = TABLES / "random100.tsv"
    texts, want = keys_text(None, path)
    assert len(texts) == 100 and len({w for t in texts for w in t.split()} | set(want)) == 100
    r = CliRunner().invoke(main, ["run", "lookup", "--set", f"table={path}", "--batch", "-"],
                           input="\n".join(texts) + "\n")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == want


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["red", "blue", "yellow", "white", "black", "grey", "pink"]), max_size=30),
       st.integers(0, 9))
def test_prefix_before_the_key_is_ignored(prefix, entry):
    path = TABLES / "colors.tsv"
    texts, want = keys_text(None, path)
    assert compiled("lookup", path).run(" ".join(prefix + [texts[entry]])) == want[entry]


def test_same_seed_same_weights_other_seed_other_weights():
    path = TABLES / "colors.tsv"
    a = taotp.load_program("lookup", {"table": str(path), "seed": "3"}, progress=False).params.to_flat()
    b = taotp.load_program("lookup", {"table": str(path), "seed": "3"}, progress=False).params.to_flat()
    c = taotp.load_program("lookup", {"table": str(path), "seed": "4"}, progress=False).params.to_flat()
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["tok_emb"], c["tok_emb"])


def test_book_parameter_counts(tmp_path):
    """§3.7: 1,408 / 3,588 / 22,308 params at d_model 8 / 13 / 33 for 10 entries, vocab 10,
    keys of 5 - exactly. The book's non-zero counts (283 / 733 / 5,033) come from fig.
    3.1's solved shift matrices, whose zeros LAPACK's rounding decides (solved_shifts.py):
    the count is fixed up to those five 3x3 blocks, and the book's lies in the range the
    construction allows. Everything else (the fitted E and M are non-zero almost surely)
    is as with exact rotations."""
    keys, values = random_table(np.random.default_rng(0), 10, 5, 10)
    path = write_table(tmp_path / "t.tsv", keys, values)
    thetas = [-h * 2 * np.pi / 5 for h in range(5)]           # head h reads h back, block 5
    for dims, total, book_nonzero in ((5, 1408, 283), (10, 3588, 733), (30, 22308, 5033)):
        sets = {"table": str(path), "tok_dims": str(dims), "vocab_size": "10", "block": "5", "iters": "1"}
        solved = taotp.load_program("lookup", sets, progress=False).params
        exact = taotp.load_program("lookup", {**sets, "book_shift": "false"}, progress=False).params
        assert solved.count()["n_params"] == exact.count()["n_params"] == total
        exact_nz = exact.count(nonzero=True)["n_params"]
        lo, hi = nonzero_range(exact_nz, thetas)
        assert lo <= book_nonzero <= hi
        blocks = [solved.layers[0].Q[h][-3:, -3:] for h in range(5)]   # Q[pos, pos] of head h
        for h, B in enumerate(blocks):   # the solved matrix is the rotation plus 1 c^T
            R = rotation3d(thetas[h]) * 1e8
            assert np.allclose(B - R, (B - R)[0], atol=1e-6 * 1e8)
        here = solved.count(nonzero=True)["n_params"]
        assert here == exact_nz - sum(np.count_nonzero(rotation3d(t)) for t in thetas) + \
            sum(int(np.count_nonzero(B)) for B in blocks)
        assert lo <= here <= hi


@pytest.mark.parametrize("table", ["colors.tsv", "random100.tsv"])
def test_untied_lookup_answers_every_key(table):
    path = TABLES / table
    prog = compiled("lookup_untied", path)
    assert not prog.params.tied
    texts, want = keys_text(prog, path)
    assert prog.run_batch(texts, engine="fast") == want


def test_untied_orthogonal_hashes():
    path = TABLES / "colors.tsv"
    prog = compiled("lookup_untied", path, hash="orthogonal")
    dims = prog.params.d_model - 3
    G = prog.params.layers[0].P[1][:dims, :dims]
    assert np.allclose(G @ G.T, np.eye(dims))
    texts, want = keys_text(prog, path)
    assert prog.run_batch(texts) == want


@pytest.mark.parametrize("program", ["lookup", "lookup_untied"])
@pytest.mark.parametrize("sets, words", [
    ([], "pass the lookup table file"),
    (["--set", "table=no/such/table.tsv"], "table file 'no/such/table.tsv' not found"),
])
def test_cli_missing_table(program, sets, words):
    r = CliRunner().invoke(main, ["run", program, "--input", "a b", *sets])
    assert r.exit_code == 1 and words in r.output and "Traceback" not in r.output


def test_cli_bad_table_names_the_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("# ok\na b\tc\na b c\td\n")
    r = CliRunner().invoke(main, ["run", "lookup", "--set", f"table={bad}", "--input", "a b"])
    assert r.exit_code == 1 and f"{bad}:3:" in r.output and "Traceback" not in r.output


def test_cli_short_and_unknown_input():
    path = TABLES / "colors.tsv"
    r = CliRunner().invoke(main, ["run", "lookup", "--set", f"table={path}", "--input", "red"])
    assert r.exit_code == 1 and "a key of 2 tokens" in r.output
    r = CliRunner().invoke(main, ["run", "lookup", "--set", f"table={path}", "--input", "red magenta"])
    assert r.exit_code == 1 and "unknown token 'magenta'" in r.output


def test_cli_relative_table_path_is_read_from_the_current_folder(monkeypatch):
    monkeypatch.chdir(TABLES)
    r = CliRunner().invoke(main, ["run", "lookup", "--set", "table=colors.tsv", "--input", "blue yellow"])
    assert r.exit_code == 0 and r.output == "green\n"
