"""Reproduce the book's fig. 3.8: LOOKUP TABLE's decoding precision against model width.

For random tables of 10, 100 and 1,000 entries (keys of 5 tokens, as §3.5.1), over
vocabularies of 10 to 1,000 tokens and several seeds, it compiles programs/lookup.taotp
(the §3.6 fitting and the real one-layer transformer), runs every key through it and
counts the keys answered right. Prints a table per setting, the smallest width that
memorises every table of a size, and the parameter counts there (fig. 1.4); writes a
plot when matplotlib is installed.

    python benchmarks/lookup_precision.py                 # the default run: a few minutes
    python benchmarks/lookup_precision.py --full          # the book's grid, 10 seeds (long)
    python benchmarks/lookup_precision.py --entries 100 --vocab 100 --widths 8-16 --seeds 5
    python benchmarks/lookup_precision.py --write-table t.tsv --entries 100 --key-len 4 --vocab 100

Tables have distinct keys drawn uniformly from vocab^key_len and uniform values. The vocabulary is
padded to the full vocab size (lookup's vocab_size parameter), as the book's fixed
vocabulary. Block = key length (the book's counts: 1,408 params for 10 entries at
d_model 8 with vocab 10). BLAS runs single-threaded (faster here on a shared machine).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOOKUP = ROOT / "programs" / "lookup.taotp"
LOOKUP_UNTIED = ROOT / "programs" / "lookup_untied.taotp"

BOOK_WIDTH = {10: 8, 100: 13, 1000: 33}                 # fig. 3.8 / §3.7, d_model
BOOK_PARAMS = {10: (1408, 283), 100: (3588, 733), 1000: (22308, 5033)}

DEFAULT = {  # entries -> d_model widths (a few minutes on 2 cores)
    10: [5, 6, 7, 8],
    100: [7, 9, 11, 13],
    1000: [21, 25, 33],
}
FULL = {
    10: list(range(5, 13)),
    100: list(range(5, 19)),
    1000: list(range(15, 44, 2)),
}


def random_table(n: int, key_len: int, vocab: int, rng: np.random.Generator):
    """n distinct random keys of key_len ids in [0, vocab), and uniform random values."""
    if n > vocab ** key_len:
        raise SystemExit(f"cannot draw {n} distinct keys of {key_len} tokens over {vocab} tokens")
    keys: dict[tuple, None] = {}
    while len(keys) < n:
        for k in rng.integers(0, vocab, (n - len(keys), key_len)):
            keys.setdefault(tuple(int(x) for x in k), None)
    return np.array(list(keys))[:n], rng.integers(0, vocab, n)


def table_text(keys, values, header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [" ".join(f"w{t}" for t in k) + f"\tw{v}" for k, v in zip(keys, values)]
    return "\n".join(lines) + "\n"


def measure(keys, values, vocab: int, d_model: int, seed: int, iters: int, lr: float, tmp: Path,
            untied: bool = False) -> dict:
    """Compile lookup.taotp (or lookup_untied.taotp) on this table at this width and count
    the keys it answers right."""
    import taotp

    path = tmp / "table.tsv"
    path.write_text(table_text(keys, values))
    sets = {"table": str(path), "tok_dims": d_model - 3, "block": keys.shape[1], "seed": seed}
    if not untied:
        sets.update(vocab_size=vocab, iters=iters, lr=lr)
    t0 = time.perf_counter()
    prog = taotp.load_program(str(LOOKUP_UNTIED if untied else LOOKUP), {k: str(v) for k, v in sets.items()},
                              progress=False)
    fit_s = time.perf_counter() - t0
    prompts = [prog.encode(" ".join(f"w{t}" for t in k)) for k in keys]
    out = prog.generate(prompts, engine="fast")
    want = [prog.vocab.id(f"w{v}") for v in values]
    precision = float(np.mean([o == [w] for o, w in zip(out, want)]))
    total, nonzero = prog.params.count(), prog.params.count(nonzero=True)
    return {"precision": precision, "fit_accuracy": prog.notes.get("lookup_fit", {}).get("fit_accuracy"),
            "params": total["n_params"], "nonzero": nonzero["n_params"], "fit_seconds": fit_s}


def parse_widths(text: str) -> list[int]:
    """'5-9,12' -> 5 6 7 8 9 12; '15-33:2' -> 15 17 ... 33."""
    out = []
    for part in text.split(","):
        span, _, step = part.partition(":")
        a, _, b = span.partition("-")
        out += list(range(int(a), int(b) + 1, int(step or 1))) if b else [int(a)]
    return out


def additive_bound(keys, values, vocab: int, steps: int = 20000) -> float:
    """Training accuracy of the best *additive* classifier, score_v(key) = sum_p S_p[key_p, v]
    (multinomial logistic regression on the one-hot key positions, plain gradient descent).

    lookup's logits are additive in this sense: E's rows sum to 0, so
    E @ LN(h, 0, 0, 0)[:d] = (E @ h) / std, and E @ h = sum_p E M_p^T E[k_p]. So no
    width can answer more keys than an additive classifier can (book ex. 3.9)."""
    n, l = keys.shape
    cols = keys + vocab * np.arange(l)          # one-hot column of each key position
    W = np.zeros((l * vocab, vocab))            # one (vocab, vocab) score table per position
    rows = np.arange(n)
    for _ in range(steps):
        z = W[cols].sum(axis=1)                 # (n, vocab)
        z -= z.max(axis=1, keepdims=True)
        s = np.exp(z)
        s /= s.sum(axis=1, keepdims=True)
        s[rows, values] -= 1.0                  # softmax - onehot
        np.add.at(W, cols, np.broadcast_to(s[:, None, :] * (-5.0 / n), (n, l, vocab)))
    return float(np.mean(W[cols].sum(axis=1).argmax(axis=1) == values))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="the book's grid: 10 seeds, every width, vocab 10..1000")
    ap.add_argument("--entries", type=int, nargs="*", help="table sizes (default 10 100 1000)")
    ap.add_argument("--vocab", type=int, nargs="*", help="vocabulary sizes (default 10 100 1000)")
    ap.add_argument("--widths", help="d_model values, e.g. 5-9,12 (default: per table size)")
    ap.add_argument("--seeds", type=int, help="tables (and fits) per setting (default 2; --full 10)")
    ap.add_argument("--key-len", type=int, default=5)
    ap.add_argument("--iters", type=int, default=1000, help="fitting steps (lookup's default 1000)")
    ap.add_argument("--lr", type=float, default=1e-2, help="step size (lookup's default 0.01)")
    ap.add_argument("--untied", action="store_true",
                    help="measure lookup_untied (§3.5: random weights, no fitting) instead")
    ap.add_argument("--additive", action="store_true",
                    help="also print the best additive classifier's accuracy on each table, vocab <= 100 (ex. 3.9)")
    ap.add_argument("--plot", default="lookup_precision.png", help="where to write the plot ('' for none)")
    ap.add_argument("--json", dest="json_path", help="also write every measurement as JSON here")
    ap.add_argument("--write-table", metavar="PATH",
                    help="only write one random table (first --entries, --vocab, --key-len; seed --seeds or 0)")
    args = ap.parse_args(argv)

    entries = args.entries or [10, 100, 1000]
    vocabs = args.vocab or [10, 100, 1000]
    if args.write_table:
        seed = args.seeds or 0
        keys, values = random_table(entries[0], args.key_len, vocabs[0], np.random.default_rng(seed))
        header = (f"A random lookup table: {entries[0]} entries, keys of {args.key_len} tokens over "
                  f"{vocabs[0]} words (seed {seed}).\nMade by: python benchmarks/lookup_precision.py "
                  f"--write-table PATH --entries {entries[0]} --key-len {args.key_len} "
                  f"--vocab {vocabs[0]} --seeds {seed}")
        Path(args.write_table).write_text(table_text(keys, values, header))
        print(f"wrote {args.write_table}: {len(keys)} entries", file=sys.stderr)
        return 0

    if args.widths and min(parse_widths(args.widths)) < 5:
        ap.error("d_model must be at least 5 (2 token dims + 3 for the position)")
    seeds = args.seeds or (10 if args.full else 2)
    grid = FULL if args.full else DEFAULT
    results, bound_cache = [], {}
    how = ("untied (§3.5), random weights" if args.untied
           else f"{args.iters} fitting steps, lr {args.lr}")
    print(f"LOOKUP TABLE precision (fig. 3.8): key length {args.key_len}, {how}, {seeds} seed(s) per setting")
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for n in entries:
            widths = parse_widths(args.widths) if args.widths else grid.get(n, DEFAULT[100])
            book_note = "" if args.untied else f"   (book: 100% from d_model {BOOK_WIDTH.get(n, '?')})"
            print(f"\n{n} entries{book_note}")
            print(f"{'vocab':>6} {'d_model':>7} {'precision mean':>14} {'min':>6} {'max':>6} "
                  f"{'params':>8} {'non-zero':>8} {'fit s':>6}")
            for vocab in vocabs:
                if n > vocab ** args.key_len:
                    continue
                for d in widths:
                    runs = []
                    for seed in range(seeds):
                        rng = np.random.default_rng([n, vocab, seed])
                        keys, values = random_table(n, args.key_len, vocab, rng)
                        runs.append(measure(keys, values, vocab, d, seed, args.iters, args.lr, Path(tmp),
                                            untied=args.untied))
                    p = [r["precision"] for r in runs]
                    row = {"entries": n, "vocab": vocab, "d_model": d, "precision": p,
                           "params": runs[0]["params"], "nonzero": runs[0]["nonzero"],
                           "fit_seconds": float(np.mean([r["fit_seconds"] for r in runs]))}
                    if args.additive and vocab <= 100:  # larger: ample capacity, and slow to fit
                        if (n, vocab) not in bound_cache:  # depends on the tables, not the width
                            bound_cache[n, vocab] = [
                                additive_bound(*random_table(n, args.key_len, vocab,
                                                             np.random.default_rng([n, vocab, seed])), vocab)
                                for seed in range(seeds)]
                        row["additive_bound"] = bound_cache[n, vocab]
                    results.append(row)
                    print(f"{vocab:>6} {d:>7} {np.mean(p):>14.3f} {min(p):>6.3f} {max(p):>6.3f} "
                          f"{row['params']:>8,} {row['nonzero']:>8,} {row['fit_seconds']:>6.1f}"
                          + (f"   additive bound {np.mean(row['additive_bound']):.3f}"
                             if "additive_bound" in row else ""),
                          flush=True)

    untied = args.untied
    print("\nSmallest d_model answering every key of every table (all seeds), per vocabulary size:")
    for n in entries:
        rows = [r for r in results if r["entries"] == n]
        parts = []
        for vocab in vocabs:
            ok = [r for r in rows if r["vocab"] == vocab and min(r["precision"]) == 1.0]
            parts.append(f"vocab {vocab}: " + (f"{ok[0]['d_model']} ({ok[0]['params']:,} params, "
                                               f"{ok[0]['nonzero']:,} non-zero)" if ok else "none tried"))
        book = BOOK_WIDTH.get(n)
        print(f"  {n:>5} entries: " + "; ".join(parts))
        if book and not untied:
            print(f"  {'':>5}          book: {book} ({BOOK_PARAMS[n][0]:,} params, {BOOK_PARAMS[n][1]:,} non-zero, "
                  f"vocab 10)")
    print(f"\ntotal time {time.perf_counter() - t_start:.0f} s")

    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1))
    if args.plot:
        plot(results, entries, args.plot)
    return 0


def plot(results, entries, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        print("(matplotlib not installed: no plot)", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, len(entries), figsize=(4.5 * len(entries), 3.6), squeeze=False)
    for ax, n in zip(axes[0], entries):
        for vocab in sorted({r["vocab"] for r in results if r["entries"] == n}):
            rows = sorted((r for r in results if r["entries"] == n and r["vocab"] == vocab),
                          key=lambda r: r["d_model"])
            x = [r["d_model"] for r in rows]
            ax.plot(x, [np.mean(r["precision"]) for r in rows], marker="o", ms=3, label=f"vocab {vocab}")
            ax.fill_between(x, [min(r["precision"]) for r in rows], [max(r["precision"]) for r in rows],
                            alpha=0.2)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{n} entries")
        ax.set_xlabel("d_model")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("decoding precision")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
