"""Checking one chunk of inputs: the unit of work of every backend.

A run is cut into chunks, each giving a `ChunkResult` (counts, its first failures, its
extremes). What an input gives does not depend on the other inputs of its chunk (the
engine computes every row on its own; an overflow is pinned to the inputs that raise
it, see Checker.check), so the merged result is the same however the inputs were cut
and wherever the chunks ran - this process, N local processes, a Dask cluster:
counts add up, failures are ordered by input index, and ties between extremes go to
the earlier input (Stats).

A worker knows the program by `ProgramRef` (what `load_program` needs: the program
reference and its settings) and checks that it compiled the same weights (their
fingerprint) before checking anything.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .. import specs
from ..decoding import numeric_guard
from ..errors import NumericError, UsageError
from ..strategies import spec_of
from .batches import Codec
from .stats import Stats

MAX_CHUNK = 50_000       # inputs per chunk
MIN_CHUNK = 2_000        # smaller chunks cost more in per-call overhead than they share out
CHUNKS_PER_WORKER = 4    # with several workers: enough chunks to share the work out evenly


def chunk_size(total: int, workers: int = 1) -> int:
    if workers <= 1:
        return MAX_CHUNK
    return int(min(MAX_CHUNK, max(MIN_CHUNK, -(-total // (workers * CHUNKS_PER_WORKER)))))


@dataclass(frozen=True)
class ProgramRef:
    """How a worker loads the program: `load_program(source, overrides)`."""

    source: str
    overrides: tuple = ()            # ((name, value text), ...)
    fingerprint: str = ""            # of the weights the caller checks

    @classmethod
    def of(cls, program, source: str | None = None, overrides: dict | None = None) -> "ProgramRef":
        src = source or program.source_path or program.name
        ov = overrides if overrides is not None else ({} if program.source_path is None and source is None
                                                      else program.settings)
        return cls(str(src), tuple(sorted((k, str(v)) for k, v in ov.items())), fingerprint(program.params))


def fingerprint(params) -> str:
    h = hashlib.sha256()
    for name, arr in sorted(params.to_flat().items()):
        h.update(name.encode())
        h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


@dataclass
class ChunkResult:
    passed: int = 0
    failed: int = 0
    failures: list = field(default_factory=list)   # (index, input, expected, actual), index order
    stats: Stats | None = None

    def merge(self, other: "ChunkResult", show: int) -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.failures = sorted(self.failures + other.failures)[:show]
        if other.stats is not None:
            if self.stats is None:
                self.stats = Stats()
            self.stats.merge(other.stats)


class Checker:
    """One process's means to check chunks of a program: its spec, engine and codec."""

    def __init__(self, program, engine: str, dtype, show: int):
        from ..engine import get_engine
        from ..engine.fast import FastEngine

        self.program = program
        self.spec = spec_of(program)
        self.settings = specs.settings_of(program)
        self.dtype = np.dtype(dtype)
        self.params = program.params if self.dtype == np.float64 else program.params.astype(self.dtype)
        self.engine, self.show = engine, show
        self.fast = FastEngine(self.params) if engine == "fast" else None
        self.generate = None if self.fast else get_engine(engine).generate_batch
        self.codec = Codec(program)

    def check(self, texts: list[str], start: int) -> ChunkResult:
        """Check texts, the inputs start, start+1, ... of the run."""
        res = ChunkResult(stats=Stats(offset=start) if self.fast else None)
        expected = [self.spec.reference(self.settings, t) for t in texts]
        got: list = [None] * len(texts)
        groups, rejected = self.codec.encode(texts)
        for i, why in rejected.items():
            got[i] = f"<input rejected: {why}>"
        for n, (idx, toks) in groups.items():
            for i, o in zip(idx, self._run_rows(toks, n, list(idx), res.stats)):
                got[i] = o
        ok = np.asarray(got, dtype=object) == np.asarray(expected, dtype=object)
        res.passed = int(ok.sum())
        res.failed = len(texts) - res.passed
        for i in np.flatnonzero(~ok)[:self.show]:
            res.failures.append((start + int(i), texts[i], expected[i], str(got[i])))
        if res.stats is not None:
            res.stats.note_inputs(texts, start)
        return res

    def _run_rows(self, toks: np.ndarray, n: int, idx: list[int], stats: Stats | None) -> list:
        """Outputs of the rows toks (prefix included) of inputs idx. An overflow is the
        failure of the inputs that raise it alone: a group that raises is split in two
        and each half run again (what a row gives does not depend on its neighbours)."""
        seen = None if stats is None else Stats(offset=stats.offset)
        try:
            with numeric_guard(self.dtype):
                outs = self._run(toks, n, idx, seen)
        except NumericError as e:
            if len(idx) == 1:
                return [f"<{e.kind}: {e.message}>"]
            half = len(idx) // 2
            return self._run_rows(toks[:half], n, idx[:half], stats) + \
                self._run_rows(toks[half:], n, idx[half:], stats)
        if stats is not None:
            stats.merge(seen)
        return outs

    def _run(self, toks: np.ndarray, n: int, idx: list[int], stats):
        if self.fast is not None:
            steps = self.codec.steps(n)
            gen, length = self.fast.generate_tokens(toks, steps, self.program.rule.stop, stats, np.asarray(idx))
            return self.codec.decode(gen, length).tolist()
        prefix = len(self.program.rule.prefix)
        outs = self.generate(self.params, [list(t[prefix:]) for t in toks.tolist()], self.program.rule)
        return [self.program.vocab.decode(o) for o in outs]


# -- the worker side of other processes and of Dask --------------------------------------------

_CHECKERS: dict = {}


def checker_for(ref: ProgramRef, engine: str, dtype: str, show: int, program=None) -> Checker:
    """This process's Checker for ref (built once per process and reused: tables, memo)."""
    key = (ref, engine, dtype, show)
    if key not in _CHECKERS:
        if program is None:
            from ..compiler import load_program

            program = load_program(ref.source, dict(ref.overrides), progress=False)
            if ref.fingerprint and fingerprint(program.params) != ref.fingerprint:
                raise UsageError(f"a worker compiled {ref.source} to other weights than this process did "
                                 f"(are the program and its data files the same on every worker?)")
        _CHECKERS[key] = Checker(program, engine, dtype, show)
    return _CHECKERS[key]


def check_chunk(ref: ProgramRef, engine: str, dtype: str, show: int, texts: list[str], start: int) -> dict:
    """A task for another process: check texts and return the result as plain data."""
    return to_plain(checker_for(ref, engine, dtype, show).check(texts, start))


def to_plain(r: ChunkResult) -> dict:
    return {"passed": r.passed, "failed": r.failed, "failures": [list(f) for f in r.failures],
            "stats": None if r.stats is None else r.stats.to_plain()}


def from_plain(d: dict) -> ChunkResult:
    return ChunkResult(d["passed"], d["failed"], [tuple(f) for f in d["failures"]],
                       None if d["stats"] is None else Stats.from_plain(d["stats"]))
