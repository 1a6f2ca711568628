"""The proofs of long_add, long_sub and long_add_unpadded (programs/long_*.taotp), in float64
and float32.

    python benchmarks/long_arith_proof.py exhaustive     # every input at n_digits = 1, 2, 3
    python benchmarks/long_arith_proof.py samples        # 10,000 spec samples at 10 (seed 2025)
    python benchmarks/long_arith_proof.py edges          # the edge cases at 10, 20, 40
    python benchmarks/long_arith_proof.py margins        # every n_digits 1..40: samples + edges
    python benchmarks/long_arith_proof.py all
    python benchmarks/long_arith_proof.py exhaustive --ops unpadded --widths 1 2 --jobs 2

Each line: program, n_digits, dtype, inputs, failures, the smallest logit margin (top-1
minus top-2, over every output token) and the softest attention (the smallest max weight
of a head), with the seconds it took. Samples come from the spec's sampler
(taotp/spec_arith.py: uniform pairs and long carry / borrow chains; for long_add_unpadded,
numbers of every length). Exits 1 on any failure. Use `--ops add`, `--dtypes float32`,
`--max-n`, `--samples`, `--per-n`, `--widths` to narrow it (`--ops unpadded` for
long_add_unpadded); `--jobs` spreads exhaustive and sample checks over processes.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import taotp
from taotp import spec_arith, specs
from taotp.check import check
from taotp.decoding import numeric_guard
from taotp.checking.stats import Stats
from taotp.engine.fast import FastEngine

PROGRAMS = {"add": "long_add", "sub": "long_sub", "unpadded": "long_add_unpadded"}


def text_of(a: int, b: int, n: int, op: str) -> str:
    return spec_arith.unpadded_text(a, b) if op == "unpadded" else spec_arith.text_of(a, b, n, op)


def result_of(a: int, b: int, n: int, op: str) -> str:
    return str(a + b) if op == "unpadded" else spec_arith.result_of(a, b, n, op)


def edge_pairs(n: int, op: str):
    return spec_arith.unpadded_edge_pairs(n) if op == "unpadded" else spec_arith.edge_pairs(n, op)


def parse(text: str, op: str):
    return spec_arith._parse(text, "add" if op == "unpadded" else op)
DTYPES = {"float64": np.float64, "float32": np.float32}


def compile_(op: str, n: int):
    return taotp.load_program(PROGRAMS[op], overrides={"n_digits": n}, progress=False)


def run_texts(prog, texts, dtype):
    """(outputs, stats) of the fast engine on the texts, in dtype."""
    params = prog.params if dtype == np.float64 else prog.params.astype(dtype)
    stats = Stats()
    with numeric_guard(dtype):
        outs = FastEngine(params).generate([prog.encode(t) for t in texts], prog.rule, stats=stats)
    return [prog.vocab.decode(o) for o in outs], stats.as_dict()


def line(op, n, dtype, total, failed, margin, soft, secs, what):
    print(f"{PROGRAMS[op]:17} n={n:<3} {dtype:8} {what:22} {total:>9,} inputs  {failed:>3} failed  "
          f"margin {margin:.6f}  softest {soft:.6f}  {secs:7.1f}s", flush=True)
    return failed


def by_check(op, n, dtype, what, **kw):
    prog = compile_(op, n)
    r = check(prog, dtype=DTYPES[dtype], progress=False, **kw)
    return line(op, n, dtype, r.total, r.failed, r.stats["min_margin"], r.stats["softest_attention"],
                r.seconds, what)


def by_pairs(op, n, dtype, pairs, what, prog=None):
    prog = prog or compile_(op, n)
    texts = [text_of(a, b, n, op) for a, b in pairs]
    start = time.perf_counter()
    got, st = run_texts(prog, texts, DTYPES[dtype])
    failed = sum(g != result_of(a, b, n, op) for g, (a, b) in zip(got, pairs))
    return line(op, n, dtype, len(pairs), failed, st["min_margin"], st["softest_attention"],
                time.perf_counter() - start, what)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["exhaustive", "samples", "edges", "margins", "all"])
    ap.add_argument("--ops", nargs="+", default=["add", "sub"], choices=list(PROGRAMS),
                    help="add, sub (the default) and unpadded (long_add_unpadded: slower, its layers grow)")
    ap.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    ap.add_argument("--max-n", type=int, default=40, help="margins: n_digits 1..max-n (default 40)")
    ap.add_argument("--samples", type=int, default=10_000, help="samples at n_digits = 10 (default 10,000)")
    ap.add_argument("--per-n", type=int, default=300, help="margins: spec samples per n_digits (default 300)")
    ap.add_argument("--widths", nargs="+", type=int, default=[1, 2, 3],
                    help="exhaustive: the n_digits to check (default 1 2 3)")
    ap.add_argument("--jobs", type=int, default=1, help="exhaustive, samples: local processes (default 1)")
    args = ap.parse_args()
    todo = ["exhaustive", "samples", "edges", "margins"] if args.what == "all" else [args.what]
    failed = 0
    for op in args.ops:
        for dtype in args.dtypes:
            if "exhaustive" in todo:
                for n in args.widths:
                    failed += by_check(op, n, dtype, "every input", exhaustive=True, jobs=args.jobs)
            if "samples" in todo:
                failed += by_check(op, 10, dtype, "spec samples, seed 2025", samples=args.samples, seed=2025,
                                   jobs=args.jobs)
            if "edges" in todo:
                for n in (10, 20, 40):
                    failed += by_pairs(op, n, dtype, edge_pairs(n, op), "edge cases")
            if "margins" in todo:
                for n in range(1, args.max_n + 1):
                    prog = compile_(op, n)
                    rng = np.random.default_rng(n)
                    settings = specs.settings_of(prog)
                    spec = specs.get(PROGRAMS[op])
                    pairs = [parse(spec.sample(settings, rng), op) for _ in range(args.per_n)]
                    failed += by_pairs(op, n, dtype, pairs + edge_pairs(n, op),
                                       "samples + edges", prog)
    print("OK" if failed == 0 else f"FAILED: {failed} inputs")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
