"""SORT OF INTEGERS (programs/sort_ints.taotp): compile time, size and time per list.

For each setting (values, longest list): the parameter counts, the time to compile, and
the time per list of the fast engine in float64 and float32 on --lists random lists
drawn by the spec's sampler (seeded; many repeats and neighbouring values), full-length
lists separately (the slowest case), with how many came out right and the smallest
logit margin. CPU seconds (this process, one BLAS thread) and wall seconds: on a shared
machine the wall time is what the other jobs leave.

    python benchmarks/sort_ints.py                   # 10/8, 100/50, 1000/100
    python benchmarks/sort_ints.py --lists 2000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import taotp
from taotp import specs
from taotp.checking.stats import Stats
from taotp.engine.fast import FastEngine

SETTINGS = [(10, 8), (100, 50), (1000, 100)]


def load(values: int, max_len: int):
    lo = -(values // 2)
    return taotp.load_program("sort_ints", {"lo": lo, "hi": lo + values - 1, "max_len": max_len},
                              progress=False)


def timed_run(prog, texts, dtype):
    params = prog.params if dtype == np.float64 else prog.params.astype(dtype)
    eng, stats = FastEngine(params), Stats()
    prompts = [prog.encode(t) for t in texts]
    cpu, wall = time.process_time(), time.perf_counter()
    outs = eng.generate(prompts, prog.rule, stats=stats)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    spec, s = specs.get(prog.spec), specs.settings_of(prog)
    right = sum(prog.vocab.decode(o) == spec.reference(s, t) for o, t in zip(outs, texts))
    return right, cpu, wall, stats.margin


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lists", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(f"{'values':>6} {'len':>4} {'non-emb':>8} {'total':>8} {'compile s':>9}  "
          f"{'dtype':>7} {'lists':>10} {'right':>6} {'ms/list cpu':>11} {'wall':>6} {'margin':>8}")
    load(10, 8)  # grammar and builtins, outside the timings
    for values, max_len in SETTINGS:
        t = time.perf_counter()
        prog = load(values, max_len)
        compile_s = time.perf_counter() - t
        c = prog.params.count()
        rng = np.random.default_rng(a.seed)
        sample = specs.get("sort_ints").sample
        s = specs.settings_of(prog)
        mixed = [sample(s, rng) for _ in range(a.lists)]
        full = [" ".join(str(int(v)) for v in rng.integers(s["lo"], s["hi"] + 1, max_len)) + " ="
                for _ in range(max(1, a.lists // 5))]
        for dtype in (np.float64, np.float32):
            for kind, texts in (("sampled", mixed), ("full", full)):
                right, cpu, wall, margin = timed_run(prog, texts, dtype)
                print(f"{values:>6} {max_len:>4} {c['non_emb']:>8,} {c['n_params']:>8,} {compile_s:>9.2f}  "
                      f"{np.dtype(dtype).name:>7} {kind + ' ' + str(len(texts)):>10} {right:>6} "
                      f"{1000 * cpu / len(texts):>11.2f} {1000 * wall / len(texts):>6.1f} {margin:>8.4f}",
                      flush=True)


if __name__ == "__main__":
    main()
