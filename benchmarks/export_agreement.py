"""Where each export adapter is bit-exact with the reference engine, and where only the
argmax agrees: the table in docs/export.md.

    python benchmarks/export_agreement.py                    # every shipped program, defaults
    python benchmarks/export_agreement.py --n 200 --program add --set n_digits=3
    python benchmarks/export_agreement.py --check      # the proof: taotp check per engine
    python benchmarks/export_agreement.py --padding 50 # TransformerLens's zero padding

For each program and dtype, `--n` seeded inputs from the program's spec are decoded by
the reference engine (taotp.engine.reference, the book's fig. 1.2); the sequences it
read are then run through each adapter — the ONNX graph in ONNX Runtime, the PyTorch
module, the TransformerLens HookedTransformer — and their logits are compared with the
reference's:

- read: the positions whose argmax decoding read; |d| read: the largest absolute
  logit difference there; bit-exact: every logit there identical;
- near-ties: read positions whose reference margin (top-1 minus top-2, tokens with
  identical unembedding rows counted once, as `taotp check` does) is below 1e-6, where
  rounding decides (a defect of the program);
- argmax: read positions (near-ties included) where the adapter's decoded token
  differs from the reference's;
- |d| all: the largest difference over every position of the sequences (prompt
  positions included, which decoding never reads);
- max |logit|: the reference's largest logit at read positions (the scale of |d|).
With --check, it runs `taotp check` (the spec's default 1000 samples, or every input
when there are fewer) with the fast, onnxruntime and torch engines in both dtypes and
prints passed / failed per engine. Nothing is asserted: it measures. Missing runtimes
are skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np

import taotp
from taotp import specs
from taotp.decoding import plan_steps
from taotp.engine import reference
from taotp.engine.batched import distinct_rows
from taotp.errors import NumericError
from taotp.strategies import spec_of

TABLE = "examples/tables/colors.tsv"
PROGRAMS = {"hello": {}, "min": {}, "max": {}, "sort": {}, "search": {}, "add_digit_mod": {},
            "add_mod": {}, "add": {}, "add_unpadded": {}, "lookup": {"table": TABLE},
            "lookup_untied": {"table": TABLE}}
NEAR_TIE = 1e-6


def adapters(params, dtype):
    """name -> logits function over a (B, n) batch, for the runtimes installed."""
    out = {}
    if importlib.util.find_spec("onnxruntime"):
        from taotp.engine.onnxruntime import OnnxEngine
        out["onnxruntime"] = OnnxEngine(params).logits
    if importlib.util.find_spec("torch"):
        from taotp.engine.torch import TorchEngine
        out["torch"] = TorchEngine(params).logits
    if importlib.util.find_spec("transformer_lens"):
        import torch

        from taotp.export.transformer_lens import hooked_transformer
        model = hooked_transformer(params, dtype)

        def tl(toks):
            with torch.no_grad():
                return model(torch.as_tensor(toks)).numpy()
        out["tlens"] = tl
    return out


def sequences(prog, p, dtype, n: int, seed: int):
    """(sequence, read positions) for n seeded spec inputs, decoded by the reference."""
    spec, settings = spec_of(prog), specs.settings_of(prog)
    rng = np.random.default_rng(seed)
    if spec.sample is not None:
        texts = [spec.sample(settings, rng) for _ in range(n)]
    else:
        texts = list(spec.enumerate(settings))[:n]
    out = []
    for t in texts:
        ids = list(prog.rule.prefix) + prog.encode(t)
        with np.errstate(over="raise", invalid="raise"):
            gen = reference.generate_batch(p, [prog.encode(t)], prog.rule)[0]
        planned = plan_steps(prog.rule, len(ids), p.block_size, None)
        reads = len(gen) + (1 if len(gen) < planned else 0)
        out.append(((ids + gen)[:p.block_size], list(range(len(ids) - 1, len(ids) - 1 + reads))))
    return out


def measure(prog, dtype, n: int, seed: int) -> list[str]:
    p = prog.params.astype(dtype)
    try:
        seqs = sequences(prog, p, dtype, n, seed)
    except (FloatingPointError, NumericError):
        return [f"| {prog.name} | {np.dtype(dtype).name} | all | reference overflows: not exact in this dtype |"]
    ids = distinct_rows(p.unembedding)
    want = [reference.forward(p, s) for s, _ in seqs]
    rows = []
    for name, fn in adapters(p, dtype).items():
        t0 = time.perf_counter()
        got = [fn(np.array([s]))[0] for s, _ in seqs]
        secs = time.perf_counter() - t0
        d_read = d_all = scale = 0.0
        exact, ties, flips, reads = True, 0, 0, 0
        for (s, r), g, w in zip(seqs, got, want):
            gr, wr = g[r], w[r]
            top2 = np.sort(wr[:, ids], axis=-1)[:, -2:]      # identical rows tie harmlessly
            ties += int((top2[:, 1] - top2[:, 0] < NEAR_TIE).sum())
            flips += int((ids[gr[:, ids].argmax(-1)] != ids[wr[:, ids].argmax(-1)]).sum())
            reads += len(r)
            d_read = max(d_read, float(np.abs(gr - wr).max()))
            d_all = max(d_all, float(np.nanmax(np.abs(g - w))))
            scale = max(scale, float(np.abs(wr).max()))
            exact &= bool(np.array_equal(gr, wr))
        rows.append(f"| {prog.name} | {np.dtype(dtype).name} | {name} | {reads} | {d_read:.3g} | "
                    f"{'yes' if exact else 'no'} | {ties} | {flips} | {d_all:.3g} | {scale:.3g} | {secs:.1f} |")
    return rows


def check_table(prog, samples: int) -> list[str]:
    """`taotp check` per engine and dtype: passed/total, and the time it took."""
    from taotp.check import check

    rows = []
    for dtype in (np.float64, np.float32):
        cells = []
        for engine in ("fast", "onnxruntime", "torch"):
            r = check(prog, samples=samples, engine=engine, dtype=dtype, progress=False)
            cells.append(f"{r.passed:,}/{r.total:,} {'OK' if r.ok else 'FAILED'} ({r.seconds:.1f} s)")
        rows.append(f"| {prog.name} | {np.dtype(dtype).name} | " + " | ".join(cells) + " |")
    return rows


def padding_table(n_machines: int, seed: int) -> list[str]:
    """TransformerLens pads every layer to the widest heads / d_head / d_mlp. Isolated on
    random machines M of uniform layers: TL(M) against TL(M plus an all-zero layer wider
    in heads, d_head and d_ff), which pads M's layers and otherwise adds exact zeros
    (the reference's logits of both are the same bits). Also: the alternative of one
    attn_scale with Q rescaled by sqrt(K / d_head) per layer, against per-layer attn_scale."""
    import torch

    from taotp.export.transformer_lens import hooked_transformer
    from taotp.params import Layer, Params

    rng = np.random.default_rng(seed)
    run = lambda model, toks: model(torch.as_tensor(toks)).numpy()
    rows = []
    for dtype in (np.float64, np.float32):
        same = 0
        d_pad = d_resc = d_ref = 0.0
        for _ in range(n_machines):
            d, V, T = int(rng.integers(4, 12)), int(rng.integers(5, 30)), int(rng.integers(4, 16))
            h, k, f = int(rng.integers(1, 4)), int(rng.integers(1, 7)), int(rng.integers(1, 30))
            layers = [Layer(*(rng.standard_normal(s) for s in [(h, d, k)] * 4 + [(d, f), (f,), (f, d), (d,)]))
                      for _ in range(int(rng.integers(1, 4)))]
            p = Params(tok_emb=rng.standard_normal((V, d)), pos_emb=rng.standard_normal((T, d)),
                       layers=layers).validate().astype(dtype)
            wide = Params(tok_emb=p.tok_emb, pos_emb=p.pos_emb,
                          layers=p.layers + [Layer.zeros(h + 2, d, k + 3, f + 7, dtype)]).validate()
            toks = rng.integers(0, V, (4, T))
            with torch.no_grad():
                plain = run(hooked_transformer(p, dtype), toks)
                model = hooked_transformer(wide, dtype)
                padded = run(model, toks)
                K = model.cfg.d_head
                for block, L in zip(model.blocks, wide.layers):   # the alternative: rescale Q
                    block.attn.W_Q *= (K / L.d_head) ** 0.5
                    block.attn.attn_scale = K ** 0.5
                rescaled = run(model, toks)
            same += bool(np.array_equal(padded, plain))
            d_pad = max(d_pad, float(np.abs(padded - plain).max()))
            d_resc = max(d_resc, float(np.abs(rescaled - padded).max()))
            d_ref = max(d_ref, float(np.abs(plain - np.stack([reference.forward(p, t) for t in toks])).max()))
        rows.append(f"| {np.dtype(dtype).name} | {n_machines} | {same} | {d_pad:.3g} | {d_resc:.3g} | {d_ref:.3g} |")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--program", action="append", help="a shipped program (repeatable); default: all")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--n", type=int, default=100, help="inputs per program and dtype")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="run taotp check per engine instead")
    ap.add_argument("--samples", type=int, default=1000, help="with --check: inputs per check")
    ap.add_argument("--padding", type=int, metavar="N", help="measure TransformerLens's padding on N random machines")
    args = ap.parse_args()
    if args.padding:
        print("| dtype | machines | padded = unpadded, bit for bit | max \\|padded - unpadded\\| | "
              "max \\|Q rescaled - per-layer scale\\| | max \\|unpadded - reference\\| |\n|---|---|---|---|---|---|")
        for row in padding_table(args.padding, args.seed):
            print(row, flush=True)
        return
    names = args.program or list(PROGRAMS)
    if args.check:
        print("| program | dtype | fast | onnxruntime | torch |\n|---|---|---|---|---|")
        for name in names:
            sets = dict(PROGRAMS.get(name, {}))
            sets.update(s.split("=", 1) for s in args.set)
            for row in check_table(taotp.load_program(name, sets, progress=False), args.samples):
                print(row, flush=True)
        return
    print("| program | dtype | adapter | read | \\|d\\| read | bit-exact | near-ties | argmax differs | "
          "\\|d\\| all | max \\|logit\\| | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        sets = dict(PROGRAMS.get(name, {}))
        sets.update(s.split("=", 1) for s in args.set)
        prog = taotp.load_program(name, sets, progress=False)
        for dtype in (np.float64, np.float32):
            for row in measure(prog, dtype, args.n, args.seed):
                print(row, flush=True)


if __name__ == "__main__":
    main()
