"""`taotp check` at scale: per-case time against the reference engine, processes, Dask.

    python benchmarks/check.py                          # add (3 digits, every sum), add_unpadded, search
    python benchmarks/check.py --case add --jobs 1,2 --dask 1,2
    python benchmarks/check.py --case long_add          # 4-digit long_add, every sum, --jobs 2 (when shipped)
    python benchmarks/check.py --case lookup1000        # compiling LOOKUP TABLE on 1,000 random entries
    python benchmarks/check.py --case lookup1000 --stop-margin 0   # ... with all 1,000 fitting steps
    python benchmarks/check.py --case long_add --jobs 2 --fraction 0.01   # the first 1% of 10^8 sums,
                                                        # and the whole run extrapolated from it

For each case, in one run: the reference engine (the book's decode, BLAS pinned to one
thread) on --ref-n inputs spread over the case's inputs, then `check` (the fast engine
and everything around it: the spec's expected outputs, encoding, decoding, comparing)
on all of them with each --jobs value, and on a local Dask cluster of each --dask
worker count (1 thread each). Prints wall and CPU seconds (CPU includes child
processes; Dask workers' CPU is not seen), per-case microseconds and the ratio to the
reference per case, wall over wall. The machine is shared: it prints the load average
before and after; repeat runs (--repeat) and read the spread. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import taotp
from taotp import specs
from taotp.blas import one_blas_thread
from taotp import check as check_module
from taotp.check import check
from taotp.engine import reference

ROOT = Path(__file__).resolve().parent.parent
CASES = {  # name -> (program, settings, check arguments)
    "add": ("add", {"n_digits": 3}, {"exhaustive": True}),
    "add_unpadded": ("add_unpadded", {"n_digits": 3}, {"exhaustive": True}),
    "search": ("search", {}, {"samples": 20_000}),
    # The 4-digit long addition (10^8 sums) is the target of --jobs on one machine; the
    # program is being written: this case runs once programs/long_add.taotp exists.
    "long_add": ("long_add", {"n_digits": 4}, {"exhaustive": True, "limit": 10**8}),
}
DEFAULT = ["add", "add_unpadded", "search"]


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def reference_per_case(prog, texts) -> float:
    """Seconds per input of the reference engine, one BLAS thread."""
    prompts = [prog.encode(t) for t in texts]
    with one_blas_thread():
        t = time.perf_counter()
        reference.generate_batch(prog.params, prompts, prog.rule)
        return (time.perf_counter() - t) / len(texts)


def inputs_of(prog, kw, n: int, seed: int, fraction: float = 1.0) -> list[str]:
    """n of the case's inputs: spread evenly over an exhaustive space (over its first
    `fraction`, the part that is checked), else samples."""
    s = specs.settings_of(prog)
    spec = specs.get(prog.spec)
    if kw.get("exhaustive"):
        size = max(1, int(spec.space_size(s) * min(1.0, fraction)))
        step = max(1, size // n)
        return list(itertools.islice(spec.enumerate(s), 0, None, step))[:n]
    rng = np.random.default_rng(seed)
    return [spec.sample(s, rng) for _ in range(n)]


def line(label, total, wall, cpu, ref, fraction=1.0):
    per = wall / total
    print(f"  {label:28s} {total:>11,} inputs {wall:9.2f} s wall {cpu:9.2f} s cpu "
          f"{per * 1e6:10.2f} us/case {ref / per:9,.0f}x the reference", flush=True)
    if fraction < 1:
        print(f"  {'':28s} extrapolated to all {total / fraction:,.0f} inputs (not run): "
              f"{wall / fraction:,.0f} s wall, {cpu / fraction:,.0f} s cpu", flush=True)


@contextlib.contextmanager
def first_fraction(fraction: float):
    """An exhaustive check runs only the first `fraction` of the enumeration (the same
    inputs in the same order as the whole run would start with)."""
    if fraction >= 1:
        yield
        return
    original = check_module._inputs

    def part(spec, settings, exhaustive, samples, seed, limit):
        total, texts, mode = original(spec, settings, exhaustive, samples, seed, limit)
        n = max(1, int(total * fraction))
        return n, itertools.islice(texts, n), mode

    check_module._inputs = part
    try:
        yield
    finally:
        check_module._inputs = original


def bench(case, jobs_list, dask_list, ref_n, seed, fraction=1.0, dtype="float64"):
    name, sets, kw = CASES[case]
    kw = {**kw, "dtype": dtype}
    if not (ROOT / "programs" / f"{name}.taotp").exists():
        print(f"\n{case}: programs/{name}.taotp is not shipped yet (skipped)")
        return
    prog = taotp.load_program(name, sets, progress=False)
    print(f"\n{case}: {name} {sets or ''} {kw}   load average {load()}")
    ref = reference_per_case(prog, inputs_of(prog, kw, ref_n, seed, fraction))
    print(f"  {'reference (1 BLAS thread)':28s} {ref_n:>11,} inputs {ref * ref_n:9.2f} s wall "
          f"{'':>15} {ref * 1e6:10.2f} us/case", flush=True)
    for jobs in jobs_list:
        frac = fraction if kw.get("exhaustive") else 1.0
        c, t = cpu_seconds(), time.perf_counter()
        with first_fraction(frac):
            r = check(prog, progress=False, jobs=jobs, seed=seed, **kw)
        line(f"check --jobs {jobs}", r.total, time.perf_counter() - t, cpu_seconds() - c, ref, frac)
        if not r.ok:
            print(f"    {r.failed:,} FAILED")
    for workers in dask_list:
        from distributed import LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            src = {"source": name, "overrides": {k: str(v) for k, v in sets.items()}}
            check(prog, progress=False, scheduler=cluster.scheduler_address, seed=seed, **src,
                  **{**kw, "exhaustive": False, "samples": 2000})          # workers compile and warm up
            c, t = cpu_seconds(), time.perf_counter()
            r = check(prog, progress=False, scheduler=cluster.scheduler_address, seed=seed, **src, **kw)
            line(f"check on Dask, {workers} worker{'s' if workers > 1 else ''}", r.total,
                 time.perf_counter() - t, cpu_seconds() - c, ref)
    print(f"  load average after: {load()}")


def bench_lookup(seed, stop_margin=None):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from lookup_precision import random_table, table_text

    keys, values = random_table(1000, 5, 100, np.random.default_rng(seed))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.tsv"
        path.write_text(table_text(keys, values))
        c, t = cpu_seconds(), time.perf_counter()
        sets = {"table": str(path)} if stop_margin is None else {"table": str(path), "stop_margin": stop_margin}
        prog = taotp.load_program("lookup", sets, progress=False)
        wall = time.perf_counter() - t
    fit = prog.notes["lookup_fit"]
    print(f"\nlookup1000: compiling LOOKUP TABLE on 1,000 random entries (keys of 5 over 100 words, "
          f"{fit['tok_dims']} dims, {fit['steps']} of at most {fit['iters']} steps, stop margin {fit['stop_margin']:g}): "
          f"{wall:.2f} s wall, {cpu_seconds() - c:.2f} s cpu, fit accuracy {fit['fit_accuracy']:.3f}, "
          f"fit margin {fit['fit_margin']:.4g}   load average {load()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", action="append", choices=sorted(CASES) + ["lookup1000"])
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values (default 1,2)")
    ap.add_argument("--dask", default="", help="comma-separated Dask worker counts, e.g. 1,2 (default none)")
    ap.add_argument("--ref-n", type=int, default=100, help="inputs the reference engine runs (default 100)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"],
                    help="the dtype `check` runs in (the reference runs in float64)")
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="exhaustive cases: check only the first FRACTION of the inputs and "
                         "extrapolate the whole run's time (printed as such)")
    ap.add_argument("--stop-margin", help="lookup1000: the fit's stop_margin (default: the program's; "
                                           "0: all 1,000 steps, the book's loop)")
    a = ap.parse_args()
    ints = lambda text: [int(x) for x in text.split(",") if x]
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cpus")
    for _ in range(a.repeat):
        for case in a.case or DEFAULT:
            if case == "lookup1000":
                bench_lookup(a.seed, a.stop_margin)
            else:
                bench(case, ints(a.jobs), ints(a.dask), a.ref_n, a.seed, a.fraction, a.dtype)


if __name__ == "__main__":
    main()
