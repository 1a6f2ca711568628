"""How fast an in-language spec runs (`spec expected=F, inputs=D`, taotp/spec_lang).

For each program, over the first N inputs of its exhaustive enumeration, in one run
(each rate the best of 3 rounds, the methods taking turns, so that a busy machine
slows them alike):
- enumerate: inputs per second the domain's enumerator gives (texts included);
- expected (compiled): references per second, F compiled to closures (what check uses);
- expected (interpreted): the same through the tree-walking interpreter;
- python spec: the registered Python spec of the same name (taotp/specs.py), for scale.
Every reference is computed fresh (the memo is cleared before each call).

    python benchmarks/spec_functions.py            # N = 200,000
    python benchmarks/spec_functions.py --n 50000
    python benchmarks/spec_functions.py --check    # also: a whole `check --exhaustive` of MIN
                                                   # (n=10, block=6: 1,111,110 inputs), in-language
                                                   # spec against the Python one
"""

from __future__ import annotations

import argparse
import itertools
import time

import taotp
from taotp import specs
from taotp.strategies import spec_of

CASES = [("min", {"n": 10, "block": 6}), ("sort", {"n": 12, "block": 20}), ("add_digit_mod", {})]


def rate(fn, items) -> float:
    start = time.perf_counter()
    for x in items:
        fn(x)
    return len(items) / (time.perf_counter() - start)


def best_rates(methods: dict, rounds: int = 3) -> dict:
    """{name: best inputs/s} of (fn, items) methods run in turn, `rounds` times."""
    best = dict.fromkeys(methods, 0.0)
    for _ in range(rounds):
        for name, (fn, items) in methods.items():
            best[name] = max(best[name], rate(fn, items))
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    n = args.n
    print(f"{'program':<14} {'inputs':>8} {'enumerate/s':>12} {'compiled/s':>11} {'interpreted/s':>14} {'python/s':>9}")
    for name, sets in CASES:
        prog = taotp.load_program(name, sets, progress=False)
        spec, settings = spec_of(prog), specs.settings_of(prog)
        start = time.perf_counter()
        texts = list(itertools.islice(spec.enumerate(settings), n))
        enum_rate = len(texts) / (time.perf_counter() - start)
        reader = spec.reference.__self__
        python = specs.get(name)

        def fresh(text):
            reader.memo.clear()
            return spec.reference(settings, text)

        compiler = reader.rt.compiler

        def interpreted_(text):
            reader.rt.compiler = None
            try:
                return fresh(text)
            finally:
                reader.rt.compiler = compiler

        r = best_rates({"compiled": (fresh, texts), "interpreted": (interpreted_, texts[: max(1, n // 10)]),
                        "python": (lambda t: python.reference(settings, t), texts)})
        compiled, interpreted, py = r["compiled"], r["interpreted"], r["python"]
        print(f"{name:<14} {len(texts):>8,} {enum_rate:>12,.0f} {compiled:>11,.0f} {interpreted:>14,.0f} {py:>9,.0f}")
    if args.check:
        import dataclasses

        from taotp.check import check

        prog = taotp.load_program("min", {"n": 10, "block": 6}, progress=False)
        for label, p in (("in-language spec", prog), ("python spec", dataclasses.replace(prog, spec="min"))):
            r = check(p, exhaustive=True, progress=False)
            print(f"check min --exhaustive, {label}: {r.total:,} inputs, ok={r.ok}, {r.seconds:.1f} s "
                  f"({r.total / r.seconds:,.0f} inputs/s)")


if __name__ == "__main__":
    main()
