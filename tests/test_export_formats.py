"""`taotp export`: the files it writes, read back without taotp (issue 15).

safetensors + config.json round-trip every shipped program's weights, layer by layer;
the ONNX file is a valid graph of primitive operators with dynamic batch and sequence
axes; the torch folder's module imports without taotp and decodes as `taotp run`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from taotp.cli import main
from taotp.export import TORCH_MODULE_FILE, export, layout, safetensors

import export_cases as E

ONNX_OPS = {"Add", "Sub", "Mul", "Div", "Sqrt", "Exp", "ReduceSum", "ReduceMax", "MatMul", "Relu", "Gather",
            "Shape", "Squeeze", "Unsqueeze", "Range", "LessOrEqual", "Reshape", "Transpose", "Where"}


def same_params(a, b):
    assert a.tied == b.tied and len(a.layers) == len(b.layers)
    for x, y in [(a.tok_emb, b.tok_emb), (a.pos_emb, b.pos_emb), (a.unembedding, b.unembedding)]:
        assert np.array_equal(x, y)
    for La, Lb in zip(a.layers, b.layers):
        for k, v in La.matrices().items():
            assert np.array_equal(v, getattr(Lb, k)), k


@pytest.mark.parametrize("name", sorted(E.SHIPPED))
def test_safetensors_round_trip_every_shipped_program(name, tmp_path):
    prog = E.program(name)
    export(prog, "safetensors", tmp_path / "out")
    weights, cfg = safetensors.read(tmp_path / "out")
    same_params(layout.params_from(weights, cfg), prog.params)
    assert cfg["vocab"] == list(prog.vocab.tokens) and cfg["vocab_mode"] == prog.vocab.mode
    assert cfg["layers"] == [{"n_heads": L.n_heads, "d_head": L.d_head, "d_ff": L.d_ff} for L in prog.params.layers]
    assert cfg["decode"].get("prefix", []) == list(prog.rule.prefix) and cfg["decode"].get("stop") == prog.rule.stop
    assert ("out_emb" in weights) == (not prog.params.tied)
    raw = (tmp_path / "out" / "model.safetensors").read_bytes()      # u64 header length, JSON header
    header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    assert json.loads(header["__metadata__"]["taotp_config"]) == cfg


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(E.machines())
def test_each_layer_is_written_from_its_own_arrays(tmp_path, params):
    """Layers of different heads / d_head / d_ff (0 heads and d_ff 0 included) round-trip."""
    prog = E.program("hello")
    prog = type(prog)(name="m", params=params, vocab=E.taotp.vocab.id_vocab(params.vocab_size), rule=prog.rule)
    export(prog, "safetensors", tmp_path / "m", np.float32)
    weights, cfg = safetensors.read(tmp_path / "m")
    assert all(w.dtype == np.float32 for w in weights.values())
    back = layout.params_from(weights, cfg)
    same_params(back, params.astype(np.float32))
    assert [L.Q.shape for L in back.layers] == [L.Q.shape for L in params.layers]


def test_config_states_the_machines_formulas():
    cfg = layout.config(E.program("sort"))
    assert "(std + 1e-10)" in cfg["machine"]["layer_norm"] and cfg["machine"]["layer_norm_epsilon"] == 1e-10
    assert "+ 1e-10" in cfg["machine"]["softmax"] and cfg["machine"]["activation"] == "relu"
    assert cfg["decode"]["steps_by_input_len"][6] == 5   # sort: input_len - 1


def test_onnx_file_is_a_checked_graph_of_primitive_operators(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    prog = E.program("add_unpadded")
    out = tmp_path / "p.onnx"
    assert CliRunner().invoke(main, ["export", "add_unpadded", "--set", "n_digits=1", "--format", "onnx",
                                     "-o", str(out), "--dtype", "float32"]).exit_code == 0
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert {n.op_type for n in model.graph.node} <= ONNX_OPS        # no LayerNormalization, no Softmax
    cfg = json.loads({p.key: p.value for p in model.metadata_props}["taotp_config"])
    assert cfg["dtype"] == "float32" and cfg["vocab"] == list(prog.vocab.tokens)
    sess = ort.InferenceSession(str(out))
    for B, n in [(1, 1), (3, 4), (2, prog.params.block_size)]:       # dynamic batch and sequence
        toks = np.random.default_rng(n).integers(0, prog.params.vocab_size, (B, n))
        logits = sess.run(None, {"tokens": toks})[0]
        assert logits.shape == (B, n, prog.params.vocab_size) and logits.dtype == np.float32


TORCH_SCRIPT = """
import json, sys
sys.modules["taotp"] = None          # taotp is not importable here
from taotp_model import load, encode, generate, decode
for folder, texts in json.loads(sys.argv[1]).items():
    sys.path.insert(0, folder)
    model, config = load(folder)
    for text in texts:
        print(decode(config, generate(model, config, encode(config, text))))
"""
TORCH_CASES = {"sort": ["6 2 11 7 0", "3 1 0"], "add_unpadded": ["4+8=", "9+9="], "hello": [""],
               "lookup_untied": ["red blue yellow"]}


def test_torch_folders_run_without_taotp(tmp_path):
    """One interpreter (torch imports once), taotp made unimportable, the copied module."""
    pytest.importorskip("torch")
    cases = {str(tmp_path / name): texts for name, texts in TORCH_CASES.items()}
    for name in TORCH_CASES:
        export(E.program(name), "torch", tmp_path / name)
    run = subprocess.run([sys.executable, "-c", TORCH_SCRIPT, json.dumps(cases)], cwd=tmp_path / "sort",
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [E.program(n).run(t) for n, texts in TORCH_CASES.items() for t in texts]


def test_torch_module_imports_nothing_of_taotp():
    from taotp.export import torch_module

    tree = ast.parse(open(torch_module.__file__).read())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "." for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [m for m in names if m.startswith(("taotp", "."))], names
    assert TORCH_MODULE_FILE == "taotp_model.py"


@pytest.mark.parametrize("engine", ["onnxruntime", "torch"])
def test_run_with_a_runtime_engine_prints_what_fast_prints(engine):
    args = ["run", "sort", "--input", "6 2 12 18 7 0"]
    fast = CliRunner().invoke(main, args)
    got = CliRunner().invoke(main, args + ["--engine", engine])
    assert got.exit_code == 0 and got.output == fast.output == "2 6 7 12 18\n"


def test_export_errors_are_messages(tmp_path):
    run = lambda *a: CliRunner().invoke(main, ["export", *a])
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("x")
    r = run("sort", "--format", "onnx", "-o", str(tmp_path / "folder"))
    assert r.exit_code == 1 and "is a folder" in r.output
    r = run("sort", "--format", "safetensors", "-o", str(tmp_path / "file"))
    assert r.exit_code == 1 and "is a file" in r.output
    r = run("sort", "--format", "onnx", "-o", str(tmp_path / "missing" / "x.onnx"))
    assert r.exit_code == 1 and "cannot write" in r.output
    r = run("sortt", "--format", "onnx", "-o", str(tmp_path / "x.onnx"))
    assert r.exit_code == 1 and "did you mean 'sort'" in r.output
    r = run("sort", "--format", "pt", "-o", str(tmp_path / "x"))
    assert r.exit_code == 2 and "'pt' is not one of" in r.output
    assert "Traceback" not in r.output


def test_a_missing_runtime_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)       # `import onnxruntime` fails
    r = CliRunner().invoke(main, ["run", "sort", "--input", "3 1 0", "--engine", "onnxruntime"])
    assert r.exit_code == 1 and 'pip install "taotp[onnx]"' in r.output and "Traceback" not in r.output
