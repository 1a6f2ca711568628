"""`taotp params`: the book's parameter counts (fig. 1.4), total and non-zero."""

from __future__ import annotations

import json

import click
import numpy as np

from .. import layernorm
from .options import json_option, load, program_argument, set_option


def counts(prog) -> dict:
    p = prog.params
    out = p.count()
    out["nonzero"] = p.count(nonzero=True)
    out["layers"] = [
        {"attn": a["attn"], "mlp": a["mlp"], "attn_nonzero": z["attn"], "mlp_nonzero": z["mlp"],
         "heads": L.n_heads, "d_head": L.d_head, "d_ff": L.d_ff}
        for a, z, L in zip(p.count_by_layer(), p.count_by_layer(nonzero=True), p.layers)
    ]
    # heads, d_head, d_ff: every layer's, or None when layers differ (then see "layers")
    same = lambda key: {L[key] for L in out["layers"]}.pop() if len({L[key] for L in out["layers"]}) == 1 else None
    out["shape"] = {"vocab": p.vocab_size, "block": p.block_size, "d_model": p.d_model,
                    "layers": len(p.layers), "heads": same("heads") if p.layers else 0,
                    "d_head": same("d_head") if p.layers else 0,
                    "d_ff": same("d_ff") if p.layers else 0, "tied": p.tied}
    if prog.notes.get("spike_mlps"):
        out["spike_mlps"] = prog.notes["spike_mlps"]
    stream = prog.notes.get("stream", {})
    out["layer_norm"] = {"embeddings": layernorm.embedding_scales(p), "adds": list(stream.get("adds", [])),
                         "library": bool(stream.get("library"))}
    return out


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:5.1f}%" if whole else "    -"


def table(prog, c: dict) -> str:
    s = c["shape"]
    rows = [("total", c["n_params"], c["nonzero"]["n_params"]),
            ("tok_emb", c["tok_emb"], c["nonzero"]["tok_emb"]),
            ("pos_emb", c["pos_emb"], c["nonzero"]["pos_emb"])]
    if "out_emb" in c:
        rows.append(("out_emb", c["out_emb"], c["nonzero"]["out_emb"]))
    rows.append(("non-embedding", c["non_emb"], c["nonzero"]["non_emb"]))
    uniform = all(s[k] is not None for k in ("heads", "d_head", "d_ff"))
    for i, L in enumerate(c["layers"]):
        attn = "" if uniform else f" ({L['heads']} head(s) of {L['d_head']})"
        mlp = "" if uniform else f" (d_ff {L['d_ff']})"
        rows.append((f"  layer {i} attention{attn}", L["attn"], L["attn_nonzero"]))
        rows.append((f"  layer {i} MLP{mlp}", L["mlp"], L["mlp_nonzero"]))
    mlp = sum(L["mlp"] for L in c["layers"])
    mlp_nz = sum(L["mlp_nonzero"] for L in c["layers"])
    if mlp:
        rows.append(("MLP share", f"{_pct(mlp, c['n_params']).strip()}", f"{_pct(mlp_nz, c['nonzero']['n_params']).strip()}"))
    shape = (f"{s['heads']} head(s) of {s['d_head']}, d_ff {s['d_ff']}" if uniform
             else "shapes by layer below")
    head = (f"{prog.name}: vocab {s['vocab']}, block {s['block']}, d_model {s['d_model']}, "
            f"{s['layers']} layer(s), {shape}, {'tied' if s['tied'] else 'untied'} embeddings")
    width = max(len(r[0]) for r in rows)
    lines = [head, "", f"{'':<{width}}  {'params':>12}  {'non-zero':>12}"]
    for name, a, b in rows:
        fa = f"{a:,}" if isinstance(a, int) else a
        fb = f"{b:,}" if isinstance(b, int) else b
        lines.append(f"{name:<{width}}  {fa:>12}  {fb:>12}")
    for mlp in c.get("spike_mlps", []):
        lines.append(f"spike MLP: {mlp['points']:,} points, minimum separation {mlp['min_sep']:.3g} (book §6.3)")
    lines.append(layernorm.embedding_line(c["layer_norm"]["embeddings"]))
    lines += layernorm.adds_lines(c["layer_norm"]["adds"])
    for i, L in enumerate(prog.params.layers):
        idle = [h for h in range(L.n_heads) if not any(np.any(getattr(L, w)[h]) for w in ("Q", "K", "V", "P"))]
        if idle:
            lines.append(f"note: layer {i} head(s) {', '.join(map(str, idle))} all zero "
                         f"({4 * prog.params.d_model * L.d_head:,} parameters each; a program whose heads come from "
                         f"new_head declares `model ..., heads=0`)")
    return "\n".join(lines)



@click.command("params")
@program_argument
@set_option
@json_option
def command(program, sets, as_json):
    """Count PROGRAM's parameters as the book does: embeddings (out_emb only when untied)
    plus every layer matrix, never layer-norm gamma/beta; and the non-zero ones."""
    prog = load(program, sets)
    c = counts(prog)
    if as_json:
        click.echo(json.dumps(c))
    else:
        click.echo(table(prog, c))
