"""Where the chunks of a check run: this process, N local processes, or a Dask cluster.

Every backend runs the same chunks (shards.chunk_size) through the same code
(shards.Checker) and merges their results the same way, so the report is the same.
Local processes are forked where the system allows it (they inherit the compiled
program); otherwise, and on Dask workers, each worker compiles the program itself
from its ProgramRef and checks that it got the same weights.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque

from ..errors import UsageError
from .shards import _CHECKERS, ChunkResult, check_chunk, from_plain

CONNECT_TIMEOUT = 10   # seconds to reach a scheduler


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def run_here(checker, chunks, show: int, bar) -> ChunkResult:
    total = ChunkResult()
    for start, texts in chunks:
        total.merge(checker.check(texts, start), show)
        _tick(bar, total, len(texts))
    return total


def run_processes(checker, key: tuple, chunks, show: int, jobs: int, bar) -> ChunkResult:
    """Chunks on `jobs` local processes (at most 2 per process in flight)."""
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    _CHECKERS[key] = checker            # inherited by forked workers: no recompiling
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        submit = lambda start, texts: pool.submit(check_chunk, *key, texts, start)
        return _drain(chunks, submit, lambda f: f.result(), show, 2 * jobs, bar)


def connect(address: str):
    """A Dask distributed client of the scheduler at `address`."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs Dask distributed: pip install 'taotp[dask]'") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as e:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {e}") from None


def dask_workers(client) -> int:
    """Threads of the cluster's workers (each runs one chunk at a time)."""
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


def run_dask(key: tuple, chunks, show: int, client, bar) -> ChunkResult:
    """Chunks as tasks of a Dask distributed cluster (at most 2 per worker thread in flight)."""
    submit = lambda start, texts: client.submit(check_chunk, *key, texts, start, pure=False)
    return _drain(chunks, submit, lambda f: f.result(), show, 2 * dask_workers(client), bar)


def _drain(chunks, submit, result, show: int, in_flight: int, bar) -> ChunkResult:
    """Submit chunks keeping at most in_flight running; merge results as they finish
    (in submission order: the merge does not depend on it, the progress bar reads better)."""
    total = ChunkResult()
    pending: deque = deque()
    for start, texts in chunks:
        pending.append((submit(start, texts), len(texts)))
        while len(pending) >= in_flight:
            _collect(pending, result, total, show, bar)
    while pending:
        _collect(pending, result, total, show, bar)
    return total


def _collect(pending, result, total: ChunkResult, show: int, bar) -> None:
    fut, n = pending.popleft()
    total.merge(from_plain(result(fut)), show)
    _tick(bar, total, n)


def _tick(bar, total: ChunkResult, n: int) -> None:
    bar.set_postfix(f"failed {total.failed:,}")
    bar.update(n)
