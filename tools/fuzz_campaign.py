"""Fuzz campaign (issue 9): mutate every shipped program and feed random inputs; count
the outcomes. Done when there are 0 internal errors, 0 runs over 10 s, 0 processes over
1 GB, and every program error carries file:line:col.

    nice python tools/fuzz_campaign.py --programs 10000 --inputs 5000 --seed 1 --out results.jsonl

Cases run in worker processes (one at a time: this uses one core), each worker taking a
chunk of cases and restarted after it, so that each case's peak memory is its own. A
worker reports every case as a JSON line (outcome, seconds of wall and CPU time, the
worker's peak RSS so far); the parent kills a worker that is silent for --hang seconds
(the case is counted as a hang) and one whose RSS passes --kill-rss, and goes on.
Results are appended to --out, so an interrupted campaign resumes (`--resume`).

A program case: a shipped program mutated 1-3 times (tests/mutations.py), compiled, run
on one random input if it compiled, and every 10th one written to .npz and loaded back.
An input case: one random input to a shipped program through the command line
(`taotp run NAME --input TEXT`), whose exit status and message are checked.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from taotp.resources import shipped_programs  # noqa: E402 (after the tests folder is on the path)

PROGRAMS = shipped_programs()   # every program in programs/ (taotp/resources.py)
SLOW_SECONDS = 10.0
BIG_RSS = 1 << 30


# -- the worker --------------------------------------------------------------------------

def worker(cases: list[dict]) -> None:
    import resource
    import tempfile

    os.environ.setdefault("TAOTP_QUIET", "1")
    limit = 4 << 30   # a safety net for the machine: past it an allocation fails (and is counted)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from click.testing import CliRunner

    import mutations
    from fuzz_target import SETS, compile_case, round_trip, run_input, shipped_source, valid_inputs
    from taotp.cli import main

    originals, valid = {}, {}
    for name in PROGRAMS:
        originals[name] = shipped_source(name)
    for case in cases:
        start, cpu = time.perf_counter(), time.process_time()
        rng = random.Random(case["seed"])
        name = case["program"]
        out = {"id": case["id"], "kind": case["kind"], "program": name, "seed": case["seed"]}
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if case["kind"] == "program":
                if name not in valid:
                    ok, prog = compile_case(name, originals[name], folder)
                    valid[name] = (valid_inputs(name, prog), list(prog.vocab.tokens), prog.vocab.mode == "words") \
                        if ok == "compiled" else ([], [], True)
                src = mutations.mutate(rng, originals[name])
                outcome, result = compile_case(name, src, folder)
                out["outcome"] = outcome
                if outcome == "compiled":
                    texts, tokens, words = valid[name]
                    text = mutations.random_input(rng, list(result.vocab.tokens) or tokens,
                                                  result.vocab.mode == "words", texts)
                    out["input_outcome"], detail = run_input(result, text)
                    if case["id"] % 10 == 0:
                        out["file_outcome"], detail2 = round_trip(result, folder)
                        detail = detail or detail2
                else:
                    detail = result
                if "internal" in json.dumps(out) or out["outcome"] == "program error (NOT located)":
                    out["source"] = src
                    out["detail"] = detail if isinstance(detail, str) else ""
            else:
                if name not in valid:
                    ok, prog = compile_case(name, originals[name], folder)
                    valid[name] = (valid_inputs(name, prog), list(prog.vocab.tokens), prog.vocab.mode == "words")
                texts, tokens, words = valid[name]
                text = mutations.random_input(rng, tokens, words, texts)
                sets = [a for k, v in SETS.get(name, {}).items() for a in ("--set", f"{k}={v}")]
                r = CliRunner().invoke(main, ["run", name, "--input", text, *sets])
                said = r.output
                if r.exit_code == 0:
                    out["outcome"] = "ok"
                elif r.exit_code == 1 and said.split(":", 1)[0] in ("input error", "error", "numeric error"):
                    out["outcome"] = "refused with a message"
                elif r.exit_code == 2 and "internal error" in said:
                    out["outcome"] = "internal error"
                else:
                    out["outcome"] = f"exit {r.exit_code}"
                if out["outcome"] not in ("ok", "refused with a message"):
                    out["detail"] = said[-2000:]
                    out["input"] = text[:500]
        out["wall"] = round(time.perf_counter() - start, 3)
        out["cpu"] = round(time.process_time() - cpu, 3)
        out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps(out), flush=True)


# -- the parent ----------------------------------------------------------------------------

def plan(n_programs: int, n_inputs: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    cases = [{"id": i, "kind": "program", "program": PROGRAMS[i % len(PROGRAMS)], "seed": rng.getrandbits(64)}
             for i in range(n_programs)]
    cases += [{"id": n_programs + i, "kind": "input", "program": PROGRAMS[i % len(PROGRAMS)],
               "seed": rng.getrandbits(64)} for i in range(n_inputs)]
    return cases


def rss_of(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_chunk(chunk: list[dict], hang: float, kill_rss: int, out_file) -> None:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", TAOTP_QUIET="1")
    proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, text=True)
    proc.stdin.write(json.dumps(chunk))
    proc.stdin.close()
    pending = {c["id"]: c for c in chunk}
    last, peak = time.perf_counter(), 0
    while pending:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        peak = max(peak, rss_of(proc.pid))
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            result = json.loads(line)
            result["rss"] = max(result["rss"], peak)
            peak = 0
            pending.pop(result["id"], None)
            out_file.write(json.dumps(result) + "\n")
            out_file.flush()
            last = time.perf_counter()
            continue
        stuck = time.perf_counter() - last > hang
        if stuck or peak > kill_rss:
            proc.kill()
            proc.wait()
            case = pending.pop(min(pending))        # the worker runs cases in order
            out_file.write(json.dumps({**case, "outcome": "hang" if stuck else "killed: memory",
                                       "wall": time.perf_counter() - last, "cpu": None, "rss": peak}) + "\n")
            out_file.flush()
            if pending:
                run_chunk(sorted(pending.values(), key=lambda c: c["id"]), hang, kill_rss, out_file)
            return
    proc.wait()
    for case in pending.values():           # a worker that died without a word
        out_file.write(json.dumps({**case, "outcome": f"worker died (exit {proc.returncode})",
                                   "wall": None, "cpu": None, "rss": peak}) + "\n")


def summarize(path: Path) -> int:
    results = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by_kind = collections.defaultdict(collections.Counter)
    for r in results:
        by_kind[r["kind"]][r["outcome"]] += 1
        if r.get("input_outcome"):
            by_kind["input of a compiled mutant"][r["input_outcome"]] += 1
        if r.get("file_outcome"):
            by_kind[".npz round trip"][r["file_outcome"]] += 1
    for kind, counts in by_kind.items():
        print(f"{kind} ({sum(counts.values()):,}):")
        for outcome, n in counts.most_common():
            print(f"  {n:>7,}  {outcome}")
    walls = [r["wall"] for r in results if r.get("wall") is not None]
    cpus = [r["cpu"] for r in results if r.get("cpu") is not None]
    internal = sum(1 for r in results if "internal" in (r["outcome"] + r.get("input_outcome", "") +
                                                         r.get("file_outcome", "")))
    unlocated = sum(1 for r in results if r["outcome"] == "program error (NOT located)")
    slow = sum(1 for r in results if (r.get("wall") or 0) > SLOW_SECONDS or r["outcome"] == "hang")
    slow_cpu = sum(1 for r in results if (r.get("cpu") or 0) > SLOW_SECONDS)
    big = sum(1 for r in results if (r.get("rss") or 0) > BIG_RSS or r["outcome"].startswith("killed"))
    print(f"cases: {len(results):,}; wall time per case: max {max(walls, default=0):.2f} s, "
          f"mean {sum(walls) / max(1, len(walls)):.3f} s; CPU max {max(cpus, default=0):.2f} s; "
          f"peak RSS max {max((r.get('rss') or 0) for r in results) / 2**20:.0f} MB")
    print(f"internal errors: {internal}; program errors without file:line:col: {unlocated}; "
          f"cases over {SLOW_SECONDS:g} s (wall, or hung): {slow} (CPU: {slow_cpu}); "
          f"processes over 1 GB: {big}")
    return 0 if internal == unlocated == slow == big == 0 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", type=int, default=10_000, help="mutated programs")
    ap.add_argument("--inputs", type=int, default=5_000, help="random inputs to shipped programs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=250, help="cases per worker process")
    ap.add_argument("--hang", type=float, default=60.0, help="seconds of silence before a worker is killed")
    ap.add_argument("--kill-rss", type=float, default=3.0, help="GB of RSS at which a worker is killed")
    ap.add_argument("--out", type=Path, default=Path("fuzz_results.jsonl"))
    ap.add_argument("--resume", action="store_true", help="skip cases already in --out")
    ap.add_argument("--only", type=str, default=None, help="run cases START:STOP of the plan (chunks of work)")
    ap.add_argument("--summary", action="store_true", help="only print the counts of --out")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(json.loads(sys.stdin.read()))
        return 0
    if args.summary:
        return summarize(args.out)
    cases = plan(args.programs, args.inputs, args.seed)
    if args.only:
        a, b = (int(x) for x in args.only.split(":"))
        cases = cases[a:b]
    done = set()
    if args.resume and args.out.exists():
        done = {json.loads(line)["id"] for line in args.out.read_text().splitlines() if line.strip()}
    cases = [c for c in cases if c["id"] not in done]
    start = time.perf_counter()
    with open(args.out, "a") as out_file:
        for i in range(0, len(cases), args.chunk):
            run_chunk(cases[i:i + args.chunk], args.hang, int(args.kill_rss * 2**30), out_file)
            print(f"{min(i + args.chunk, len(cases)):,}/{len(cases):,} cases, {time.perf_counter() - start:,.0f} s",
                  file=sys.stderr, flush=True)
    return summarize(args.out)


if __name__ == "__main__":
    sys.exit(main())
