"""Check a program against its spec (`taotp check`), usable from Python:

    import taotp
    from taotp.check import check
    result = check(taotp.load_program("add", {"n_digits": 2}), exhaustive=True)
    result.ok, result.passed, result.failures[:3], result.stats

Inputs come from the spec (taotp.specs): every input (`exhaustive`) or `samples`
random ones (seeded). They run in chunks through the engine (the fast one by
default, reusing its prepared weights and MLP memo across chunks), in this process,
on `jobs` local processes or on a Dask cluster (`scheduler`), with the same result
(taotp.checking); each output is compared with the spec's reference. The fast
engine also reports the smallest logit margin (top-1 minus top-2) and the softest
attention it saw at the read positions, and the input where each happened.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from . import layernorm, specs
from .decoding import plan_steps
from .errors import InputError, NumericError, UsageError
from .progress import Progress
from .strategies import spec_of

EXHAUSTIVE_LIMIT = 10**7   # refuse larger --exhaustive runs
SHOW_FAILURES = 5


@dataclass
class Failure:
    input: str
    expected: str
    actual: str

    def as_dict(self) -> dict:
        return {"input": self.input, "expected": self.expected, "actual": self.actual}


@dataclass
class CheckResult:
    program: str
    spec: str
    mode: str                 # "exhaustive" | "samples"
    total: int = 0
    passed: int = 0
    failed: int = 0
    failures: list[Failure] = field(default_factory=list)   # the first few
    stats: dict = field(default_factory=dict)
    seconds: float = 0.0
    engine: str = "fast"
    dtype: str = "float64"
    exact_in: tuple = ()      # the dtypes the program declares itself exact in (`exact in ...`)
    exact_where: str = ""

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.total > 0

    @property
    def declared(self) -> bool | None:
        """Whether the program claims exactness in the checked dtype (None: it states no precision)."""
        return (self.dtype in self.exact_in) if self.exact_in else None

    @property
    def decided_by_rounding(self) -> bool:
        """The smallest logit margin is within floating-point rounding of a tie (see NEAR_TIE)."""
        m = self.stats.get("min_margin")
        return m is not None and m < near_tie(self.dtype)

    def as_dict(self) -> dict:
        return {
            "program": self.program, "spec": self.spec, "mode": self.mode, "engine": self.engine,
            "dtype": self.dtype, "total": self.total, "passed": self.passed, "failed": self.failed,
            "ok": self.ok, "decided_by_rounding": self.decided_by_rounding,
            "failures": [f.as_dict() for f in self.failures], **self.stats,
            "exact_in": list(self.exact_in), "declared": self.declared, "seconds": round(self.seconds, 3),
        }


def _inputs(spec, settings, exhaustive: bool, samples: int | None, seed: int, limit: int):
    """(total, iterator of input texts, mode)."""
    if exhaustive:
        size = spec.space_size(settings)
        if size is None:
            raise UsageError(f"spec {spec.name!r} cannot enumerate its inputs; use --samples N instead")
        if size > limit:
            shown = f"{size:,}" if size < 10**15 else f"about {float(size):.2e}"
            raise UsageError(
                f"the input space of spec {spec.name!r} has {shown} inputs, more than the "
                f"--exhaustive limit of {limit:,}; use --samples N instead (or raise --limit)")
        return size, iter(spec.enumerate(settings)), "exhaustive"
    n = 1000 if samples is None else samples
    if n < 1:
        raise UsageError("--samples must be at least 1")
    if seed < 0:
        raise UsageError(f"--seed must be 0 or more, got {seed}")
    size = spec.space_size(settings)
    if spec.complete and size is not None and size <= n:  # fewer inputs than samples: all of them
        return size, iter(spec.enumerate(settings)), "exhaustive"
    if spec.sample is not None:
        rng = np.random.default_rng(seed)
        return n, (spec.sample(settings, rng) for _ in range(n)), "samples"
    return n, iter(_hypothesis_examples(spec.strategy(settings), n, seed)), "samples"


def _hypothesis_examples(strategy, n: int, seed: int) -> list:
    """n examples drawn from a Hypothesis strategy (for specs without a sampler)."""
    from hypothesis import HealthCheck, given, settings, seed as hseed

    out = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(x):
        out.append(x)

    collect()
    return out[:n]


def _chunks(texts, total: int, chunk: int):
    """(start index, list of texts) of about `chunk` inputs each."""
    start = 0
    while True:
        batch = list(itertools.islice(texts, chunk))
        if not batch:
            return
        yield start, batch
        start += len(batch)


def check(program, exhaustive: bool = False, samples: int | None = None, seed: int = 0,
          engine: str = "fast", dtype=np.float64, progress: bool = True,
          limit: int = EXHAUSTIVE_LIMIT, show: int = SHOW_FAILURES, chunk: int | None = None,
          jobs: int = 1, scheduler: str | None = None, source: str | None = None,
          overrides: dict | None = None) -> CheckResult:
    """Run `program` on its spec's inputs and compare with the spec's reference.

    jobs: local processes to use (chunks are spread over them); scheduler: the address
    of a Dask distributed scheduler to run the chunks on instead. Workers other than
    forked local processes compile the program themselves, from `source` and
    `overrides` (what `load_program` was given; by default the program's file and
    settings). The result is the same on any of them."""
    from .checking.backends import connect, dask_workers, run_dask, run_here, run_processes
    from .checking.shards import Checker, ProgramRef, chunk_size

    spec = spec_of(program)
    settings = specs.settings_of(program)
    total, texts, mode = _inputs(spec, settings, exhaustive, samples, seed, limit)
    dtype = np.dtype(dtype)
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    result = CheckResult(program.name, spec.name, mode, engine=engine, dtype=dtype.name,
                         exact_in=tuple(program.exact_in), exact_where=program.exact_where)
    start = time.perf_counter()
    client = connect(scheduler) if scheduler is not None else None
    workers = dask_workers(client) if client is not None else jobs
    size = chunk or chunk_size(total, workers)
    chunks = _chunks(texts, total, size)
    with Progress(total, f"check {program.name}", enabled=progress, unit="inputs") as bar:
        if client is not None or (jobs > 1 and total > size):
            ref = ProgramRef.of(program, source, overrides)
            key = (ref, engine, dtype.name, show)
            if client is not None:
                with client:
                    merged = run_dask(key, chunks, show, client, bar)
            else:
                merged = run_processes(Checker(program, engine, dtype, show), key, chunks, show, jobs, bar)
        else:
            merged = run_here(Checker(program, engine, dtype, show), chunks, show, bar)
    result.seconds = time.perf_counter() - start
    result.total = merged.passed + merged.failed
    result.passed, result.failed = merged.passed, merged.failed
    result.failures = [Failure(t, e, a) for _, t, e, a in merged.failures]
    s = merged.stats
    if s is not None:
        result.stats = {
            "min_margin": s.as_dict()["min_margin"],
            "min_margin_input": s.margin_input,
            "min_margin_step": s.margin_where[1] if s.margin_where else None,
            "softest_attention": s.as_dict()["softest_attention"],
            "softest_attention_layer": s.attention_layer,
            "softest_attention_head": s.attention_head,
            "softest_attention_input": s.attention_input,
            "softest_attention_step": s.attention_where[1] if s.attention_where else None,
        }
    result.stats["layer_norm"] = _layer_norm_report(program, spec, settings, exhaustive, samples, seed, limit, dtype)
    return result


def _layer_norm_report(program, spec, settings, exhaustive, samples, seed, limit, dtype) -> dict:
    """The layer-norm report (taotp/layernorm.py), measured on the first few inputs of
    the same draw as the machine saw them (the last generated token is never fed back)."""
    _, texts, _ = _inputs(spec, settings, exhaustive, samples, seed, limit)
    params = program.params if dtype == np.float64 else program.params.astype(dtype)
    block, prefix = program.params.block_size, len(program.rule.prefix)
    prompts, planned = [], []
    for _, t in zip(range(layernorm.MEASURED_SAMPLES), texts):
        try:
            ids = program.encode(t)
            planned.append(plan_steps(program.rule, len(ids) + prefix, block, None))
        except InputError:
            continue
        prompts.append(ids)
    try:
        outs = program.generate(prompts, engine="fast", dtype=dtype, measure=True) if prompts else []
    except NumericError:
        outs = []
    measured = [list(program.rule.prefix) + ids + (out[:-1] if len(out) == steps else out)
                for ids, out, steps in zip(prompts, outs, planned)]
    return layernorm.report(program, measured, params)


# Logit margins below these are rounding, not a decision: about 1e7 ulps of a unit logit in
# float64, 1e3 in float32 (where logits of a few units carry 1e-6 of rounding).
NEAR_TIE = {"float64": 1e-9, "float32": 1e-4}


def near_tie(dtype: str) -> float:
    return NEAR_TIE.get(str(dtype), NEAR_TIE["float32"])
SMALL_MARGIN = 1e-6  # the project's bar: a smaller margin is a defect (HELPERS.md, quality bar)


def format_result(r: CheckResult) -> str:
    """The human-readable report `taotp check` prints."""
    lines = [f"{r.program} (spec {r.spec}, {r.mode}, engine {r.engine}, {r.dtype}): "
             f"{r.passed:,} passed, {r.failed:,} failed of {r.total:,} in {r.seconds:.1f}s"]
    for f in r.failures:
        lines.append(f"  FAIL {f.input!r}: expected {f.expected!r}, got {f.actual!r}")
    if r.failed > len(r.failures):
        lines.append(f"  ... and {r.failed - len(r.failures):,} more failures")
    s = r.stats
    if s.get("min_margin") is not None:
        lines.append(f"smallest logit margin (top-1 minus top-2): {s['min_margin']:.6g}"
                     f" on {s['min_margin_input']!r} (output token {s['min_margin_step']})")
        if r.decided_by_rounding:
            lines.append(f"warning: a margin below {near_tie(r.dtype):g} is within {r.dtype} rounding of a tie; "
                         f"such an answer is decided by rounding, not by the construction")
        elif s["min_margin"] < SMALL_MARGIN:
            lines.append(f"warning: a margin below {SMALL_MARGIN:g} is close to floating-point rounding; "
                         f"another machine's arithmetic could decide such an answer differently")
    if s.get("softest_attention") is not None:
        lines.append(f"softest attention (smallest max weight of a head): {s['softest_attention']:.12g}"
                     f" at layer {s['softest_attention_layer']} head {s['softest_attention_head']}"
                     f" on {s['softest_attention_input']!r} (output token {s['softest_attention_step']})")
    elif r.engine != "fast":
        lines.append("(margins and attention statistics are reported by the fast engine only)")
    if s.get("layer_norm"):
        lines += layernorm.lines(s["layer_norm"])
    if r.exact_in:
        where = f" ({r.exact_where})" if r.exact_where else ""
        if r.declared:
            close = s.get("min_margin") is not None and s["min_margin"] < SMALL_MARGIN
            verdict = ("contradicts that" if not r.ok else
                       "passes, with a margin near rounding (above)," if close else "supports that")
            lines.append(f"precision: the program declares itself exact in {', '.join(r.exact_in)}{where}; "
                         f"this check {verdict} in {r.dtype}")
        else:
            lines.append(f"precision: {r.dtype} is outside the program's declared precision "
                         f"({', '.join(r.exact_in)}{where}); `taotp run` refuses it")
    if not r.ok:
        lines.append("FAILED")
    elif r.decided_by_rounding:
        lines.append(f"OK, but decided by rounding: the smallest margin ({s['min_margin']:.3g}) is "
                     f"below {near_tie(r.dtype):g} in {r.dtype}, so this is not a proof")
    else:
        lines.append("OK")
    return "\n".join(lines)
