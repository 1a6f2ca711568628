"""`taotp check` on several processes and on a Dask cluster: the same report as one process.

What makes it so is held here piece by piece: inputs encode as Program.encode does,
outputs decode as Vocab.decode does, extremes merge the same in any order, and the
report does not depend on how the inputs are cut into chunks; then whole runs on 2
local processes and on a local Dask cluster of 2 workers are compared with one process.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp.check import check
from taotp.checking import backends
from taotp.checking.batches import Codec
from taotp.checking.shards import ProgramRef, checker_for
from taotp.checking.stats import Stats
from taotp.cli import main
from taotp.errors import InputError, UsageError

ROOT = Path(__file__).resolve().parent.parent
QUICK = settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@functools.lru_cache(maxsize=None)
def program(name, **sets):
    return taotp.load_program(name, sets, progress=False)


def broken_min(tmp_path) -> Path:
    """MIN computing MAX while claiming `spec min`: it fails on most inputs."""
    src = (ROOT / "programs" / "min.taotp").read_text()
    path = tmp_path / "broken_min.taotp"
    path.write_text(src.replace("K[:, 0] = ring3d(0)", "K[:, 0] = ring3d(pi)"))
    return path


def report(r) -> dict:
    return r.as_dict() | {"seconds": None}


# -- the pieces ------------------------------------------------------------------------------

TEXTS = {  # program -> characters its random inputs are made of (valid and not)
    ("add", 2): "0123456789+=x ",
    ("add_unpadded", 2): "0123456789+=<bos>e",
    ("sort", None): "0123456789 x",
}


@QUICK
@given(st.sampled_from(sorted(TEXTS, key=str)), st.data())
def test_codec_encodes_as_program_encode(key, data):
    name, nd = key
    prog = program(name) if nd is None else program(name, n_digits=nd)
    texts = data.draw(st.lists(st.text(alphabet=TEXTS[key], max_size=14), min_size=1, max_size=12))
    if name == "add":   # some valid ones too
        texts += data.draw(st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99))
                                    .map(lambda ab: f"{ab[0]:02d}+{ab[1]:02d}="), max_size=4))
    groups, rejected = Codec(prog).encode(texts)
    got = {i: list(ids) for n, (idx, arr) in groups.items() for i, ids in zip(idx, arr.tolist())}
    assert set(got) | set(rejected) == set(range(len(texts))) and not set(got) & set(rejected)
    for i, t in enumerate(texts):
        try:
            want = list(prog.rule.prefix) + prog.encode(t)
            taotp.decoding.plan_steps(prog.rule, len(want), prog.params.block_size, None)
        except InputError as e:
            assert rejected.get(i) == e.message
        else:
            assert got.get(i) == want


@QUICK
@given(st.sampled_from(["add", "add_unpadded", "sort"]), st.data())
def test_codec_decodes_as_vocab_decode(name, data):
    prog = program(name)
    V = prog.params.vocab_size
    B, S = data.draw(st.integers(1, 6)), data.draw(st.integers(0, 5))
    gen = np.array(data.draw(st.lists(st.lists(st.integers(0, V - 1), min_size=S, max_size=S),
                                      min_size=B, max_size=B)), dtype=np.int64).reshape(B, S)
    length = np.array(data.draw(st.lists(st.integers(0, S), min_size=B, max_size=B)))
    out = Codec(prog).decode(gen, length)
    assert [str(o) for o in out] == [prog.vocab.decode(g[:m].tolist()) for g, m in zip(gen, length)]


events = st.lists(st.tuples(st.sampled_from([0.5, 0.25, 1.0, 2.0]), st.integers(0, 30), st.integers(0, 3)),
                  min_size=1, max_size=40)


@QUICK
@given(events, st.randoms(use_true_random=False))
def test_stats_merge_in_any_order_keeps_the_earliest_of_the_smallest(evs, rnd):
    """Extremes merged from chunks in any order = the smallest value at the earliest input."""
    one = Stats()
    parts = [Stats() for _ in range(3)]
    for k, (v, row, step) in enumerate(evs):
        for s in (one, parts[k % 3]):
            s.merge_margin(np.array([[0.0, v]]), np.array([row]), step)
            s.merge_peaks(np.array([[v]]), 0, np.array([0]), np.array([row]), step)
    rnd.shuffle(parts)
    merged = Stats()
    for p in parts:
        merged.merge(p)
    best = min((v, (row, step)) for v, row, step in evs)
    assert (merged.margin, merged.margin_where) == (one.margin, one.margin_where) == best
    assert (merged.attention, merged.attention_where) == best


@settings(max_examples=6, deadline=None, database=None)
@given(size=st.integers(1, 400), which=st.sampled_from(["broken_min", "sort32"]))
def test_how_inputs_are_cut_into_chunks_does_not_change_the_report(tmp_path_factory, size, which):
    """Failures, overflow failures (SORT's 1e20 in float32: pinned to the inputs that
    overflow) and extremes come out the same for any chunk size."""
    if which == "broken_min":
        prog = taotp.load_program(str(broken_min(tmp_path_factory.mktemp("p"))), progress=False)
        kw = {}
    else:
        prog, kw = program("sort", n=10), {"dtype": np.float32}
    whole = check(prog, samples=400, seed=2, progress=False, **kw)
    assert not whole.ok
    assert report(check(prog, samples=400, seed=2, progress=False, chunk=size, **kw)) == report(whole)


def test_a_worker_that_compiles_other_weights_is_refused():
    """A worker loads `add` with n_digits=2, the caller checks n_digits=1: refused."""
    ref = ProgramRef("add", (("n_digits", "2"),), ProgramRef.of(program("add", n_digits=1)).fingerprint)
    with pytest.raises(UsageError, match="other weights"):
        checker_for(ref, "fast", "float64", 5)


# -- whole runs --------------------------------------------------------------------------------

def test_two_processes_give_the_single_process_report(tmp_path):
    cases = [(program("add", n_digits=2), {"exhaustive": True}),
             (taotp.load_program(str(broken_min(tmp_path)), progress=False), {"samples": 600, "seed": 4}),
             (program("sort", n=10), {"samples": 100, "dtype": np.float32})]
    for prog, kw in cases:
        one = check(prog, progress=False, **kw)
        two = check(prog, progress=False, jobs=2, chunk=one.total // 4 + 1, **kw)  # 4 chunks on 2 processes
        assert report(two) == report(one)


def test_a_local_dask_cluster_of_two_workers_gives_the_single_process_report(tmp_path):
    """The workers compile the program themselves (a shipped one, a file) and check
    chunks of it; the report is the single process's."""
    from distributed import LocalCluster

    path = broken_min(tmp_path)
    cases = [(program("add", n_digits=1), {"exhaustive": True}, "add", {"n_digits": "1"}),
             (taotp.load_program(str(path), progress=False), {"samples": 300, "seed": 1}, str(path), {})]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for prog, kw, source, overrides in cases:
            one = check(prog, progress=False, **kw)
            dist = check(prog, progress=False, scheduler=cluster.scheduler_address, chunk=one.total // 4 + 1,
                         source=source, overrides=overrides, **kw)
            assert report(dist) == report(one)


def test_cli_jobs_and_scheduler(monkeypatch):
    run = lambda *a: CliRunner().invoke(main, list(a))
    one = run("check", "add", "--set", "n_digits=2", "--exhaustive", "--jobs", "1", "--json")
    two = run("check", "add", "--set", "n_digits=2", "--exhaustive", "--jobs", "2", "--json")
    assert one.exit_code == two.exit_code == 0
    import json
    assert json.loads(one.output) | {"seconds": 0} == json.loads(two.output) | {"seconds": 0}
    monkeypatch.setattr(backends, "CONNECT_TIMEOUT", 1)
    for args in (["--jobs", "0"], ["--jobs", "2", "--scheduler", "tcp://127.0.0.1:9"],
                 ["--scheduler", "tcp://127.0.0.1:9"]):
        res = run("check", "sort", "--samples", "20", *args)
        assert res.exit_code != 0 and "Traceback" not in res.output, res.output
    assert "cannot reach the Dask scheduler" in res.output
