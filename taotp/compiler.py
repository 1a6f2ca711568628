"""The pipeline's driver: source -> parse -> evaluate -> validated Program.

Also the other ways a program arrives: a shipped program by name, the book's
ch. 8 literal, and weights written by `taotp compile` (.npz / .json)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from .decoding import DecodeRule
from .errors import TaotpError, UsageError, did_you_mean
from .lang.budget import BudgetError, active as active_budget
from .lang.checks import check_file
from .lang.evaluator import Evaluator
from .lang.parser import parse
from .literal import looks_like_literal, params_from_literal, parse_literal
from .params import Params
from .program import Program
from .resources import programs_dir, shipped_programs
from .vocab import Vocab, id_vocab
from .weights_file import (MAX_JSON_BYTES, MAX_SOURCE_BYTES, check_decode, check_file_size, check_meta,
                           check_vocab, json_of, read_npz, text_of)


def compile_source(source: str, filename: str = "<program>", overrides: dict | None = None,
                   base_dir: Path | None = None, progress: bool = True, name: str | None = None) -> Program:
    tree = parse(source, filename)
    evaluator = Evaluator(source, filename, overrides, base_dir=base_dir, progress=progress)
    check_file(tree, evaluator.source)
    # The compilation's budget is the one builtins and operators charge; numpy's overflow
    # and NaN are reported after compilation (NaN/inf weights), and any other warning
    # (a complex number cast to a weight, a deprecation) is an error at its line.
    with active_budget(evaluator.budget), np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        return evaluator.run(tree, name or Path(filename).stem)


def resolve(ref: str) -> Path:
    """A program reference: a path to a file, or the name of a shipped program."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise UsageError(f"{ref} is a folder, not a program file")
    if "/" not in ref and "\\" not in ref:
        shipped = programs_dir() / (ref if ref.endswith(".taotp") else ref + ".taotp")
        if shipped.is_file():
            return shipped
    names = shipped_programs()
    hint = did_you_mean(Path(ref).stem, names)
    raise UsageError(f"no program file or shipped program named {ref!r} (shipped: {', '.join(names)})", hint=hint)


def load_program(ref: str, overrides: dict | None = None, progress: bool = True) -> Program:
    path = resolve(ref)
    if path.suffix == ".npz":
        _no_overrides(overrides, path)
        return load_weights(path)
    check_file_size(path, MAX_JSON_BYTES if path.suffix == ".json" else MAX_SOURCE_BYTES,
                    "weights file (.json)" if path.suffix == ".json" else "program file")
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a text file (a .taotp program, a ch. 8 literal, .json or .npz)") from None
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    if path.suffix == ".json":
        _no_overrides(overrides, path)
        try:
            data = json.loads(source)
        except json.JSONDecodeError as e:
            raise UsageError(f"{path}:{e.lineno}:{e.colno}: not valid JSON: {e.msg}") from None
        except RecursionError:
            raise UsageError(f"{path}: not valid JSON (nested too deeply)") from None
        if not isinstance(data, dict):
            raise UsageError(f"{path}: a weights file holds a JSON object {{...}}")
        return program_from_literal(data, path)
    if looks_like_literal(source):
        _no_overrides(overrides, path)
        return program_from_literal(parse_literal(source, str(path)), path)
    return compile_source(source, str(path), overrides, base_dir=path.parent, progress=progress, name=path.stem)


def _no_overrides(overrides, path):
    if overrides:
        raise UsageError(f"{path} holds fixed weights; --set {next(iter(overrides))}=... applies only to .taotp programs")


def program_from_literal(data: dict, path: Path) -> Program:
    params = params_from_literal(data)
    vocab = None
    if "vocab" in data:
        check_vocab(data["vocab"], data.get("vocab_mode", "words"), path)
        vocab = Vocab(tuple(data["vocab"]), data.get("vocab_mode", "words"))
    return _program(params, vocab, data.get("decode"), data.get("meta"), path)


def _program(params: Params, vocab: Vocab | None, decode: dict | None, meta: dict | None, path: Path) -> Program:
    """A Program from saved weights: the vocabulary (token ids when there is none), the
    decoding rule and what `taotp compile` recorded of the source program."""
    vocab = vocab if vocab is not None else id_vocab(params.vocab_size)
    if len(vocab) != params.vocab_size:
        raise TaotpError(f"{path}: the vocabulary has {len(vocab)} tokens but tok_emb has {params.vocab_size} rows")
    meta = check_meta(meta, path)
    decode = check_decode(decode, params.vocab_size, params.block_size, path)
    program = Program(name=meta.get("name", path.stem), params=params, vocab=vocab, rule=_rule_from(decode),
                      slots={k: tuple(v) for k, v in meta.get("slots", {}).items()}, spec=meta.get("spec"),
                      settings=meta.get("settings", {}), source_path=str(path),
                      input_patterns=[tuple(p) for p in meta.get("input_patterns", [])],
                      exact_in=tuple(meta.get("exact_in", ())), exact_where=meta.get("exact_where", ""))
    if meta.get("spec_source") is not None:  # `spec expected=F, inputs=D`, kept as the language's text
        from .spec_lang.spec import build

        program.own_spec = build(meta["spec_source"], program, origin=str(path))
    return program


def _meta(program: Program) -> dict:
    """What a compiled file keeps of its program besides weights and decoding."""
    plain = (str, int, float, bool)
    meta = {"name": program.name, "spec": program.spec,
            "settings": {k: v for k, v in program.settings.items() if isinstance(v, plain)},
            "slots": {k: list(v) for k, v in program.slots.items()},
            "input_patterns": [list(p) for p in program.input_patterns],
            "exact_in": list(program.exact_in), "exact_where": program.exact_where}
    source = getattr(program.own_spec, "source", None)
    if source is not None:  # an in-language spec (spec_lang/capture.py)
        meta["spec_source"] = source
    return meta


def _rule_from(decode: dict | None) -> DecodeRule:
    decode = decode or {}
    prefix = tuple(int(t) for t in decode.get("prefix", []))
    stop = decode.get("stop")
    table = decode.get("steps_by_input_len")
    steps = None
    if table is not None:
        def steps(input_len, _table=tuple(table)):
            value = _table[input_len] if input_len < len(_table) else None
            return -1 if value is None else value
    return DecodeRule(steps=steps, stop=None if stop is None else int(stop), prefix=prefix,
                      steps_text="the saved step table")


def _decode_dict(program: Program) -> dict:
    """The decoding rule as data. A `decode steps=...` expression is saved as its value
    for every input length that fits the block."""
    rule, d = program.rule, {}
    if rule.stop is not None:
        d["stop"] = rule.stop
    if rule.prefix:
        d["prefix"] = list(rule.prefix)
    if rule.steps is not None:
        table = []
        for n in range(program.params.block_size + 1):
            try:
                table.append(int(rule.steps(n)))
            except BudgetError:   # not a property of this length: the rule is too costly to tabulate
                raise
            except TaotpError:
                table.append(None)
        d["steps_by_input_len"] = table
    return d


def save_weights(program: Program, out: Path) -> None:
    """`taotp compile`'s output: .npz (flat names, loadable with allow_pickle=False) or the
    book's ch. 8 literal as JSON plus the vocabulary."""
    out = Path(out)
    if out.suffix not in (".npz", ".json"):
        raise UsageError(f"choose an output ending in .npz or .json, not {out.name!r}")
    try:
        if out.suffix == ".npz":
            flat = program.params.to_flat()
            flat["vocab"] = np.array(program.vocab.tokens, dtype=str)
            flat["vocab_mode"] = np.array(program.vocab.mode)
            flat["decode"] = np.array(json.dumps(_decode_dict(program)))
            flat["meta"] = np.array(json.dumps(_meta(program)))
            with open(out, "wb") as f:  # a file object: np.savez would append .npz to a bare name
                np.savez(f, **flat)
        else:
            data = program.params.to_book_dict()
            data.update(vocab=list(program.vocab.tokens), vocab_mode=program.vocab.mode,
                        decode=_decode_dict(program), meta=_meta(program))
            out.write_text(json.dumps(data))
    except OSError as e:
        raise UsageError(f"cannot write {out}: {e.strerror}") from None


def load_weights(path: Path) -> Program:
    flat = read_npz(path)
    vocab_arr = flat.pop("vocab", None)
    mode = text_of(flat, "vocab_mode", "words", path)
    decode, meta = json_of(flat, "decode", path), json_of(flat, "meta", path)
    vocab = None
    if vocab_arr is not None:
        tokens = [str(t) for t in np.atleast_1d(vocab_arr)]
        check_vocab(tokens, mode, path)
        vocab = Vocab(tuple(tokens), mode)
    return _program(Params.from_flat(flat), vocab, decode, meta, path)
