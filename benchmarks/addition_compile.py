"""DECIMAL ADDITION (book ch. 6): compile and run times of programs/add.taotp for n_digits = 1..4.

For each width: the time to compile the program from source (parse, evaluate, build
the spike MLP; best of --repeat), its size, the spike MLP's min separation, and the
time per sum of each engine on --samples random sums (seeded), with how many were right.
`--all 2` also runs every sum of that width (10,000 at two digits) and checks each.

    python benchmarks/addition_compile.py                      # the table
    python benchmarks/addition_compile.py --all 2 --engine reference
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import taotp
from taotp.engine import ENGINES


def compile_add(n: int):
    return taotp.load_program("add", overrides={"n_digits": n}, progress=False)


def add_input(a: int, b: int, n: int) -> str:
    return f"{a:0{n}d}+{b:0{n}d}="


def check(program, pairs, n: int, engine: str, chunk: int = 1000) -> tuple[int, float]:
    """(number wrong, seconds) for running every pair through `engine`."""
    wrong, start = 0, time.perf_counter()
    for i in range(0, len(pairs), chunk):
        part = pairs[i:i + chunk]
        got = program.run_batch([add_input(a, b, n) for a, b in part], engine=engine)
        wrong += sum(g != f"{a + b:0{n + 1}d}" for g, (a, b) in zip(got, part))
    return wrong, time.perf_counter() - start


def table(args) -> None:
    engines = [e for e in ("reference", "fast") if e in ENGINES]
    head = f"{'N':>2} {'params':>10} {'non-zero':>10} {'min_sep':>9} {'compile s best/worst':>20}"
    for e in engines:
        head += f" {e + ' ms/sum':>18} {'right':>7}"
    print(head)
    compile_add(1)  # load the grammar and builtins once, outside the timings
    rng = np.random.default_rng(args.seed)
    for n in args.digits:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            program = compile_add(n)
            times.append(time.perf_counter() - t)
        count = program.params.count()["n_params"]
        nonzero = program.params.count(nonzero=True)["n_params"]
        min_sep = program.notes["spike_mlps"][0]["min_sep"]
        line = f"{n:>2} {count:>10,} {nonzero:>10,} {min_sep:>9.2e} {min(times):>14.3f}/{max(times):.3f}"
        pairs = [tuple(int(v) for v in rng.integers(0, 10**n, 2)) for _ in range(args.samples)]
        for e in engines:
            # the reference engine recomputes everything per token: fewer samples at N=4
            sample = pairs[: max(1, args.samples // 10)] if (e == "reference" and n >= 4) else pairs
            wrong, secs = check(program, sample, n, e)
            line += f" {1000 * secs / len(sample):>18.2f} {len(sample) - wrong:>3}/{len(sample):<3}"
        print(line, flush=True)


def exhaustive(args) -> int:
    n = args.all
    program = compile_add(n)
    pairs = [(a, b) for a in range(10**n) for b in range(10**n)]
    wrong, secs = check(program, pairs, n, args.engine)
    print(f"n_digits={n}: {len(pairs) - wrong:,}/{len(pairs):,} sums right with the {args.engine} engine "
          f"in {secs:.1f} s ({1000 * secs / len(pairs):.2f} ms/sum)")
    return 1 if wrong else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--samples", type=int, default=50, help="random sums per width (default 50)")
    ap.add_argument("--repeat", type=int, default=3, help="compilations per width; the best is shown")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--all", type=int, metavar="N", help="instead: run every N-digit sum and check it")
    ap.add_argument("--engine", default="reference", choices=ENGINES, help="engine for --all")
    args = ap.parse_args()
    if args.all is not None:
        return exhaustive(args)
    table(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
