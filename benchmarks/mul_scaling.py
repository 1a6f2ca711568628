"""DECIMAL MULTIPLICATION (programs/mul.taotp): how the program grows with n_digits.

For each width: compile time (best of --repeat), layers, d_model, heads x d_head, d_ff,
the parameter count (total and non-zero, the book's rules), what the count would be
with per-layer shapes (each layer only as many heads, head columns and hidden units as
it uses; the language's `layer i heads=..., d_ff=...:` of issue 10 part C), the hidden
units each layer uses, and the exponent of the growth between successive widths.
With --samples N it also checks N inputs from the spec's sampler (biased to long
carries) in float64 and float32 with the fast engine and prints the smallest logit
margin and the time per product. With --deviation N it runs N sampled products
through the reference engine's math in both dtypes (teacher forced: the true product
digits as the decoded tokens) and prints how far the digit the last layer writes,
y = out - one, is from the true digit at worst: the error budget left of the 0.5
that would change an answer.

    python benchmarks/mul_scaling.py                       # n = 1..6, counts only
    python benchmarks/mul_scaling.py --digits 7 8 --samples 200 --deviation 50
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import taotp
from taotp import specs
from taotp.check import check
from taotp.engine.reference import layer_norm, mlp, self_attention


def compile_mul(n: int):
    return taotp.load_program("mul", overrides={"n_digits": n}, progress=False)


def used_shapes(params) -> list[tuple[int, int, int]]:
    """Per layer: (heads whose V and P are not all zero, head columns used, hidden units used)."""
    out = []
    for L in params.layers:
        live = [h for h in range(L.n_heads) if np.any(L.V[h]) and np.any(L.P[h])]
        cols = 0
        for h in live:
            used = np.flatnonzero(np.any(L.Q[h] != 0, axis=0) | np.any(L.V[h] != 0, axis=0))
            cols = max(cols, int(used.max()) + 1 if used.size else 0)
        units = np.flatnonzero(np.any(L.M1 != 0, axis=0) | (L.b1 != 0) | np.any(L.M2 != 0, axis=1))
        out.append((len(live), cols, int(units.max()) + 1 if units.size else 0))
    return out


def per_layer_count(params) -> int:
    """The book's count (fig. 1.4) if every layer had only the shape it uses."""
    d = params.d_model
    emb = params.tok_emb.size + params.pos_emb.size + (0 if params.tied else params.unembedding.size)
    layers = sum(4 * h * d * k + d * f + f + f * d + d for h, k, f in used_shapes(params))
    return emb + layers


def digit_deviation(prog, n: int, count: int, seed: int, dtype) -> float:
    """The largest |y - true digit| over `count` sampled products, every output position."""
    spec, s = specs.get("mul"), specs.settings_of(prog)
    rng = np.random.default_rng(seed)
    P = prog.params.astype(dtype)
    one, out = prog.slots["one"][0], prog.slots["out"][0]
    worst = 0.0
    for _ in range(count):
        text = spec.sample(s, rng)
        want = spec.reference(s, text)
        ids = prog.encode(text) + [int(c) for c in want[:-1]]
        x = P.tok_emb[ids] + P.pos_emb[np.arange(len(ids))]
        with np.errstate(over="raise", invalid="raise", under="ignore"):
            for L in P.layers:
                x = x + self_attention(layer_norm(x), L)
                x = x + mlp(layer_norm(x), L)
        y = x[2 * n + 1:, out] - x[2 * n + 1:, one]
        worst = max(worst, float(np.abs(y - np.array([int(c) for c in want])).max()))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--samples", type=int, default=0)
    ap.add_argument("--deviation", type=int, default=0)
    ap.add_argument("--seed", type=int, default=2025)
    args = ap.parse_args()
    compile_mul(1)  # grammar and builtins loaded once, outside the timings
    print(f"{'n':>2} {'compile s':>9} {'layers':>6} {'d_model':>7} {'heads':>7} {'d_ff':>5} "
          f"{'params':>11} {'non-zero':>9} {'per-layer':>10}  units per layer")
    prev = None
    for n in args.digits:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            prog = compile_mul(n)
            times.append(time.perf_counter() - t)
        P = prog.params
        L0 = P.layers[0]
        total, nonzero = P.count()["n_params"], P.count(nonzero=True)["n_params"]
        compact = per_layer_count(P)
        units = "/".join(str(f) for _, _, f in used_shapes(P))
        print(f"{n:>2} {min(times):>9.3f} {len(P.layers):>6} {P.d_model:>7} {L0.n_heads:>3}x{L0.d_head:<3} "
              f"{L0.d_ff:>5} {total:>11,} {nonzero:>9,} {compact:>10,}  {units}")
        if prev is not None:
            m, t0, z0, c0 = prev
            e = lambda a, b: math.log(a / b) / math.log(n / m)
            print(f"{'':>2} growth exponent from n = {m}: total {e(total, t0):.2f}, "
                  f"non-zero {e(nonzero, z0):.2f}, per-layer {e(compact, c0):.2f}")
        prev = (n, total, nonzero, compact)
        if args.samples:
            for dtype in (np.float64, np.float32):
                r = check(prog, samples=args.samples, seed=args.seed, dtype=dtype, progress=False)
                print(f"{'':>2} {np.dtype(dtype).name}: {r.passed}/{r.total} right, smallest margin "
                      f"{r.stats['min_margin']:.4f}, {1000 * r.seconds / r.total:.1f} ms/product")
        if args.deviation:
            devs = [digit_deviation(prog, n, args.deviation, args.seed, dt) for dt in (np.float64, np.float32)]
            print(f"{'':>2} largest |y - digit| over {args.deviation} products: float64 {devs[0]:.2e}, "
                  f"float32 {devs[1]:.2e}")


if __name__ == "__main__":
    main()
