"""Damaged or hostile weights files (.npz / .json) are refused with a message naming the
file and the problem - never an internal error, never a huge allocation."""

from __future__ import annotations

import copy
import io
import json
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taotp
from taotp.cli import main
from taotp.compiler import program_from_literal, save_weights
from taotp.errors import TaotpError


def write(tmp_path, flat, name="w.npz"):
    path = tmp_path / name
    with open(path, "wb") as f:
        np.savez(f, **flat)
    return path


def run(*args):
    return CliRunner().invoke(main, list(args))


def refused(result, *words):
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    for w in words:
        assert w in result.output, result.output


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "sort.npz"
    save_weights(taotp.load_program("sort", {"n": 10}, progress=False), path)
    return path


def test_a_good_file_runs(good):
    r = run("run", str(good), "--input", "3 1 0")
    assert r.exit_code == 0 and r.output == "1 3\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 10_000))
def test_truncated_npz(tmp_path, good, keep):
    data = good.read_bytes()
    bad = tmp_path / "t.npz"
    bad.write_bytes(data[:keep % len(data)])
    r = run("run", str(bad), "--input", "3 1 0")
    refused(r, str(bad))


def test_weights_that_hold_strings_or_complex_numbers(tmp_path, good):
    with np.load(good, allow_pickle=False) as z:
        flat = {k: z[k] for k in z.files}
    for value, words in ((np.array([["a", "b"]]), "holds text"), (flat["tok_emb"] * 1j, "complex numbers"),
                         (np.array([b"x"]), "bytes")):
        refused(run("run", str(write(tmp_path, {**flat, "tok_emb": value})), "-i", "3 1 0"), "'tok_emb'", words)


def test_a_stored_input_pattern_that_is_not_a_regex(tmp_path, good):
    with np.load(good, allow_pickle=False) as z:
        flat = {k: z[k] for k in z.files}
    meta = json.loads(str(flat["meta"]))
    meta["input_patterns"] = [["(", "x"]]
    refused(run("run", str(write(tmp_path, {**flat, "meta": np.array(json.dumps(meta))})), "-i", "3 1 0"),
            "bad input pattern", "missing )")


@pytest.mark.parametrize("key, value, words", [
    ("decode", {"prefix": [99]}, "token ids in [0, 10)"),
    ("decode", {"stop": "x"}, "token ids"),
    ("decode", {"steps_by_input_len": "many"}, "steps_by_input_len"),
    ("decode", [1, 2], "should be a JSON object"),
    ("meta", {"slots": {"p": 3}}, "[start, stop] pairs"),
    ("meta", {"exact_in": ["float16"]}, "unknown dtype 'float16'"),
    ("meta", {"input_patterns": "abc"}, "[regex, message] pairs"),
    ("meta", "not json", "not valid JSON"),
])
def test_bad_decode_or_meta(tmp_path, good, key, value, words):
    with np.load(good, allow_pickle=False) as z:
        flat = {k: z[k] for k in z.files}
    text = value if isinstance(value, str) else json.dumps(value)
    refused(run("run", str(write(tmp_path, {**flat, key: np.array(text)})), "-i", "3 1 0"), words)


def test_huge_arrays_are_refused_from_their_headers(tmp_path):
    """A .npy header announcing 10^10 numbers: refused before reading (or unpacking) anything."""
    path = tmp_path / "big.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (100_000, 100_000)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("tok_emb.npy", header.getvalue())
    refused(run("run", str(path), "-i", "1"), "80,000,000,000 bytes")


def test_not_a_zip_and_not_an_npy(tmp_path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"hello")
    refused(run("run", str(path), "-i", "1"), "not an .npz archive")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("tok_emb.npy", b"not an array")
    refused(run("run", str(path), "-i", "1"), "not a valid .npy array")


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(vocab=5), "'vocab' should be a list of token strings"),
    (lambda d: d.update(vocab_mode="bytes"), "'vocab_mode'"),
    (lambda d: d.update(tok_emb="abc"), "tok_emb"),
    (lambda d: d["decode"].update(prefix=[1000]), "token ids"),
    (lambda d: d.update(layers=7), "layers"),
    (lambda d: d.update(meta={"input_patterns": [["(a", "m"]]}), "bad input pattern"),
])
def test_bad_json_weights(tmp_path, change, words):
    path = tmp_path / "w.json"
    save_weights(taotp.load_program("sort", {"n": 10}, progress=False), path)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    refused(run("run", str(path), "-i", "3 1 0"), words)


def test_deeply_nested_json(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    refused(run("run", str(path), "-i", "1"), str(path))


JUNK = st.sampled_from([None, "x", -1, 0, 3, 1e308, True, [], {}, [[1.0]], [1, "a"], {"gamma": "x"}])


def _paths(value, prefix=()):
    """Every place in a JSON value (dict keys and list indices), shallow lists of numbers once."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list) and value and isinstance(value[0], (list, dict)):
        for i, v in enumerate(value[:3]):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_mutated_json_weights_load_or_are_refused(data):
    """Replace any part of a compiled .json (a weight, a layer, the vocabulary, the decoding
    rule, the metadata) by junk: loading and running either work or raise a TaotpError."""
    value = json.loads(_sort_json())
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_paths(value))[1:]))
        node = value
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = copy.deepcopy(data.draw(JUNK))  # junk is shared between examples
    try:
        program_from_literal(value, Path("m.json")).run("3 1 0")
    except TaotpError:
        pass


@lru_cache(maxsize=None)
def _sort_json() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.json"
        save_weights(taotp.load_program("sort", {"n": 4, "block": 6}, progress=False), path)
        return path.read_text()
