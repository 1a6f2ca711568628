"""Time per sum (difference) of long_add, long_sub and long_add_unpadded at each n_digits, by
engine and dtype.

    python benchmarks/long_arith_speed.py                        # n_digits 1 2 3 4 10 20 40
    python benchmarks/long_arith_speed.py --digits 10 40 100 --fast-n 500
    python benchmarks/long_arith_speed.py --ops unpadded --fast-n 200 --ref-n 5

For each width: compile time, parameters (total / non-zero), then per-sum time of the
fast engine on --fast-n spec samples (batched) and of the reference engine (the book's
decode, fig. 1.2: every step recomputes the whole sequence, one input at a time) on
--ref-n of the same samples, in float64 and float32, pinned to one BLAS thread; the ratio
of the two is measured in the same run. Every answer is also checked against Python's
integers (the "right" columns). Nothing is asserted: it measures.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import taotp
from taotp import spec_arith, specs
from taotp.blas import one_blas_thread

PROGRAMS = {"add": "long_add", "sub": "long_sub", "unpadded": "long_add_unpadded"}


def timed_run(prog, texts, engine, dtype):
    start = time.perf_counter()
    got = prog.run_batch(texts, engine=engine, dtype=dtype)
    return got, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", type=int, nargs="+", default=[1, 2, 3, 4, 10, 20, 40])
    ap.add_argument("--ops", nargs="+", default=["add", "sub"], choices=list(PROGRAMS))
    ap.add_argument("--fast-n", type=int, default=2000, help="sums per width for the fast engine")
    ap.add_argument("--ref-n", type=int, default=20, help="sums per width for the reference engine")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    taotp.load_program("long_add", overrides={"n_digits": 1}, progress=False)  # warm up the parser
    print(f"{'program':17} {'n':>3} {'compile s':>9} {'params':>8} {'non-zero':>8} "
          f"{'dtype':>7} {'fast ms/sum':>11} {'right':>11} {'reference ms/sum':>16} {'right':>7} {'ratio':>6}")
    wrong = 0
    with one_blas_thread():
        for op in args.ops:
            for n in args.digits:
                start = time.perf_counter()
                prog = taotp.load_program(PROGRAMS[op], overrides={"n_digits": n}, progress=False)
                compile_s = time.perf_counter() - start
                spec, settings = specs.get(PROGRAMS[op]), specs.settings_of(prog)
                rng = np.random.default_rng(args.seed)
                texts = [spec.sample(settings, rng) for _ in range(args.fast_n)]
                want = [spec.reference(settings, t) for t in texts]
                count, nonzero = prog.params.count()["n_params"], prog.params.count(nonzero=True)["n_params"]
                for dtype in (np.float64, np.float32):
                    got, fast_s = timed_run(prog, texts, "fast", dtype)
                    ok = sum(g == w for g, w in zip(got, want))
                    k = min(args.ref_n, len(texts))
                    rgot, ref_s = timed_run(prog, texts[:k], "reference", dtype)
                    rok = sum(g == w for g, w in zip(rgot, want[:k]))
                    wrong += (len(texts) - ok) + (k - rok)
                    fast_ms, ref_ms = 1000 * fast_s / len(texts), 1000 * ref_s / k
                    print(f"{PROGRAMS[op]:17} {n:>3} {compile_s:>9.2f} {count:>8,} {nonzero:>8,} "
                          f"{np.dtype(dtype).name:>7} {fast_ms:>11.3f} {ok:>5}/{len(texts):<5} "
                          f"{ref_ms:>16.2f} {rok:>3}/{k:<3} {ref_ms / fast_ms:>6.0f}", flush=True)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
