"""Reference vs fast engine (and batched PyTorch on the CPU, when installed), side by side.

    python benchmarks/engines.py                 # all cases
    python benchmarks/engines.py --case add --fast-n 1000000
    python benchmarks/engines.py --agree         # answers of both engines, input by input
    python benchmarks/engines.py --gaps          # their largest logit difference against the margins

For each case (3-digit DECIMAL ADDITION, SORT, SEARCH at the shipped defaults) the
same seeded inputs, drawn from the program's spec, run through:
- reference: the book's decode (fig. 1.2), one input at a time, recomputing the
  whole sequence every step; timed on `--ref-n` inputs (it is slow);
- fast: taotp's fast engine, on the reference's inputs and on `--fast-n` inputs;
- torch: the same weights in PyTorch (float64, CPU), batched by input length,
  with a KV cache: what a user would write by hand; timed on `--torch-n` inputs,
  with one thread and with torch's default thread count.
Prints per-case time, generated tokens per second, the ratio to the reference,
and whether the answers agree. Nothing here is asserted: it measures.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

import taotp
from taotp import specs
from taotp.engine import fast, reference
from taotp.strategies import spec_of

CASES = {
    "add": ("add", {"n_digits": 3}),
    "sort": ("sort", {}),
    "search": ("search", {}),
}
DEFAULT_N = {  # (ref_n, fast_n, torch_n)
    "add": (30, 100_000, 2000),
    "sort": (100, 20_000, 2000),
    "search": (40, 5_000, 1000),
}


# -- PyTorch: the straightforward batched forward with a KV cache ----------------------------

def torch_generate(params, prompts, rule, chunk=256):
    """Greedy decoding in PyTorch: prompts grouped by length, each group in chunks,
    one prefill over the prompt, then one position per step with cached keys/values."""
    import torch

    dt = torch.float64
    T = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dt)
    tok, pos, unemb = T(params.tok_emb), T(params.pos_emb), T(params.unembedding)
    layers = [{k: T(getattr(L, k)) for k in ("Q", "K", "V", "P", "M1", "b1", "M2", "b2")}
              for L in params.layers]

    def ln(x):  # the book's LN: (x - mean) / (std + 1e-10), gamma = 1, beta = 0
        mean = x.mean(-1, keepdim=True)
        std = x.var(-1, keepdim=True, unbiased=False).sqrt()
        return (x - mean) / (std + 1e-10)

    def step(x, cache):  # x (B, n, d): the new positions, already embedded
        n = x.shape[1]
        for L, c in zip(layers, cache):
            h = ln(x)
            q, k, v = (torch.einsum("bnd,hdk->bhnk", h, L[m]) for m in ("Q", "K", "V"))
            c["k"] = k if c.get("k") is None else torch.cat([c["k"], k], 2)
            c["v"] = v if c.get("v") is None else torch.cat([c["v"], v], 2)
            s = q @ c["k"].transpose(-1, -2) / L["Q"].shape[-1] ** 0.5        # (B, h, n, t)
            t = s.shape[-1]
            mask = torch.arange(t)[None, :] <= torch.arange(t - n, t)[:, None]
            s = s.masked_fill(~mask, float("-inf"))
            e = torch.exp(s - s.amax(-1, keepdim=True))
            w = e / (e.sum(-1, keepdim=True) + 1e-10)
            x = x + torch.einsum("bhnk,hdk->bnd", w @ c["v"], L["P"])
            x = x + torch.relu(ln(x) @ L["M1"] + L["b1"]) @ L["M2"] + L["b2"]
        return ln(x[:, -1]) @ unemb.T

    out = [None] * len(prompts)
    groups = {}
    for i, p in enumerate(prompts):
        groups.setdefault(len(p) + len(rule.prefix), []).append(i)
    with torch.no_grad():
        for n, idx in groups.items():
            steps = taotp.decoding.plan_steps(rule, n, params.block_size, None)
            for s0 in range(0, len(idx), chunk):
                ids = idx[s0:s0 + chunk]
                toks = torch.tensor([list(rule.prefix) + list(prompts[i]) for i in ids])
                cache = [{} for _ in layers]
                x = tok[toks] + pos[:n]
                gen = []
                for k in range(steps):
                    nxt = step(x, cache).argmax(-1)
                    gen.append(nxt)
                    x = (tok[nxt] + pos[n + k])[:, None] if k + 1 < steps else None
                g = torch.stack(gen, 1).tolist() if gen else [[] for _ in ids]
                for i, row in zip(ids, g):
                    out[i] = row
    return out


# -- timing -----------------------------------------------------------------------------------

def timed(fn, *args):
    """(result, (wall seconds, CPU seconds of this process))."""
    t, c = time.perf_counter(), time.process_time()
    r = fn(*args)
    return r, (time.perf_counter() - t, time.process_time() - c)


def row(name, n, secs, tokens, ref=None, agree=""):
    """One line: per-case wall and CPU time, tokens/s (wall), ratio to the reference
    (wall and CPU: on a busy machine the CPU ratio is the steadier one)."""
    wall, cpu = secs[0] / n, secs[1] / n
    ratio = f"{ref[0] / wall:8,.0f}x {ref[1] / cpu:8,.0f}x" if ref else " " * 19
    print(f"  {name:20s} {n:>8,} cases {secs[0]:8.3f} s {wall * 1e3:10.4f} ms/case "
          f"{cpu * 1e3:10.4f} cpu-ms/case {tokens / secs[0]:12,.0f} tok/s {ratio}  {agree}")
    return wall, cpu


def bench(case, ref_n, fast_n, torch_n, seed):
    name, overrides = CASES[case]
    prog = taotp.load_program(name, overrides, progress=False)
    s = specs.settings_of(prog)
    spec = spec_of(prog)
    rng = np.random.default_rng(seed)
    texts = [spec.sample(s, rng) for _ in range(max(ref_n, fast_n, torch_n))]
    prompts = [prog.encode(t) for t in texts]
    P, rule = prog.params, prog.rule
    print(f"\n{case}: {name} {overrides or ''}  d_model {P.d_model}, {len(P.layers)} layer(s), "
          f"d_ff {P.layers[0].d_ff if P.layers else 0}, block {P.block_size}, "
          f"{P.count()['n_params']:,} parameters")
    ref_out, ref_s = timed(reference.generate_batch, P, prompts[:ref_n], rule)
    ntok = lambda outs: sum(len(o) for o in outs)
    ref_per = row("reference (book)", ref_n, ref_s, ntok(ref_out))
    f_small, fs = timed(fast.generate_batch, P, prompts[:ref_n], rule)
    row("fast, same inputs", ref_n, fs, ntok(f_small), ref_per,
        "answers equal" if f_small == ref_out else "ANSWERS DIFFER")
    f_out, fs = timed(fast.generate_batch, P, prompts[:fast_n], rule)
    ok = sum(spec.reference(s, t) == prog.vocab.decode(o) for t, o in zip(texts, f_out))
    row("fast, batch", fast_n, fs, ntok(f_out), ref_per, f"{ok:,}/{fast_n:,} match the spec")
    try:
        import torch
    except ImportError:
        print("  torch                  (not installed)")
        return
    threads = torch.get_num_threads()
    for n_threads in sorted({1, threads}):  # torch's threads cost more than they save on small products
        torch.set_num_threads(n_threads)
        t_out, ts = timed(torch_generate, P, prompts[:torch_n], rule)
        agree = "answers equal fast" if t_out == f_out[:torch_n] else "ANSWERS DIFFER from fast"
        row(f"torch, {n_threads} thread{'s' if n_threads > 1 else ''}", torch_n, ts, ntok(t_out), ref_per, agree)
    torch.set_num_threads(threads)


AGREE = [  # (program, settings, samples or None for every input)
    ("add", {"n_digits": 1}, None), ("add", {"n_digits": 2}, None), ("add", {"n_digits": 3}, 3000),
    ("add_unpadded", {"n_digits": 1}, None), ("add_unpadded", {"n_digits": 2}, None),
    ("add_unpadded", {"n_digits": 3}, 3000), ("add_mod", {}, None),
    ("add_digit_mod", {}, None), ("sort", {}, 3000), ("sort", {"n": 29}, 3000), ("min", {}, 2000),
    ("max", {}, 2000), ("search", {}, 500), ("lookup", {"table": "examples/tables/random100.tsv"}, 1000),
    ("hello", {}, None),
]


def agreement(seed, only=None):
    """Answers of both engines, input by input, in both dtypes (an overflow is an answer)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name, overrides, n in AGREE:
        if only and name not in only:
            continue
        ov = {k: os.path.join(root, v) if k == "table" else v for k, v in overrides.items()}
        prog = taotp.load_program(name, ov, progress=False)
        s = specs.settings_of(prog)
        spec = spec_of(prog)
        rng = np.random.default_rng(seed)
        texts = list(spec.enumerate(s)) if n is None else [spec.sample(s, rng) for _ in range(n)]
        prompts = [prog.encode(t) for t in texts]
        for dt in (np.float64, np.float32):
            P = prog.params if dt == np.float64 else prog.params.astype(dt)
            res = []
            for eng in (reference, fast):
                try:
                    with np.errstate(over="raise", invalid="raise"):
                        res.append(eng.generate_batch(P, prompts, prog.rule))
                except (FloatingPointError, taotp.TaotpError):
                    res.append("overflow")
            if "overflow" in res:
                what = "both report an overflow" if res[0] == res[1] else f"reference: {res[0] if isinstance(res[0], str) else 'answers'}, fast: {res[1] if isinstance(res[1], str) else 'answers'}"
            else:
                differ = sum(a != b for a, b in zip(*res))
                wrong = sum(prog.vocab.decode(a) != spec.reference(s, t) for a, t in zip(res[0], texts))
                what = f"{differ} answers differ ({wrong} of the reference's are wrong)"
            label = f"{name} {overrides or ''}".strip()
            print(f"  {label:38s} {dt.__name__:8s} {len(prompts):>6,} inputs: {what}")


GAPS = [("add", {"n_digits": 3}), ("add_unpadded", {"n_digits": 3}), ("add_mod", {}), ("search", {})]


def logit_gaps(seed, n=300):
    """At the read position of each input's first output token: the largest difference
    between the engines' logits, against the smallest top-1 minus top-2 margin (float64).
    Answers can only differ where a margin is within that difference."""
    for name, overrides in GAPS:
        prog = taotp.load_program(name, overrides, progress=False)
        s = specs.settings_of(prog)
        spec = specs.get(prog.spec)
        rng = np.random.default_rng(seed)
        eng = fast.FastEngine(prog.params)
        gap, margin = 0.0, float("inf")
        for _ in range(n):
            toks = list(prog.rule.prefix) + prog.encode(spec.sample(s, rng))
            want = reference.forward(prog.params, toks)[-1]
            got = eng.forward_logits([toks])[0, -1]
            gap = max(gap, float(np.max(np.abs(got - want))))
            top = np.sort(want[eng.out_ids])   # tokens with identical unembedding rows tie harmlessly
            margin = min(margin, float(top[-1] - top[-2]))
        label = f"{name} {overrides or ''}".strip()
        print(f"  {label:38s} {n} inputs: largest logit difference {gap:.2e}, smallest margin {margin:.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=sorted(CASES), action="append")
    ap.add_argument("--ref-n", type=int)
    ap.add_argument("--fast-n", type=int)
    ap.add_argument("--torch-n", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--agree", action="store_true",
                    help="instead of timing: compare both engines' answers on every shipped program")
    ap.add_argument("--only", action="append", metavar="PROGRAM", help="with --agree: only these programs")
    ap.add_argument("--gaps", action="store_true",
                    help="only the engines' largest logit differences against the smallest margins")
    a = ap.parse_args()
    if a.agree:
        agreement(a.seed, a.only)
        if not a.only:
            logit_gaps(a.seed)
        return
    if a.gaps:
        logit_gaps(a.seed)
        return
    try:
        import torch
        tv = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        tv = "torch not installed"
    print(f"python {platform.python_version()}, numpy {np.__version__}, {tv}, "
          f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.2f}")
    print("columns: cases, wall time, per-case wall and CPU time, generated tokens/s (wall), "
          "speed-up over the reference (wall, CPU)")
    for case in a.case or list(CASES):
        r, f, t = DEFAULT_N[case]
        bench(case, a.ref_n or r, a.fast_n or f, a.torch_n or t, a.seed)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
