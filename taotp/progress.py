"""Progress on stderr for long work (lookup fitting, exhaustive checks).

Plain text with a rate and an ETA, redrawn in place on a terminal and printed
sparsely otherwise; silent when TAOTP_QUIET is set or `enabled=False`."""

from __future__ import annotations

import os
import sys
import time


class Progress:
    def __init__(self, total: int | None, desc: str = "", enabled: bool = True, unit: str = "it",
                 stream=None, min_interval: float = 0.25):
        self.total, self.desc, self.unit = total, desc, unit
        self.stream = stream or sys.stderr
        self.enabled = enabled and not os.environ.get("TAOTP_QUIET")
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.min_interval = min_interval if self.tty else max(min_interval, 5.0)
        self.count, self.postfix = 0, ""
        self.start = self.last = time.perf_counter()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def update(self, n: int = 1) -> None:
        self.count += n
        now = time.perf_counter()
        if self.enabled and now - self.last >= self.min_interval:
            self.last = now
            self._draw(now)

    def set_postfix(self, text: str) -> None:
        self.postfix = text

    def line(self, now: float | None = None) -> str:
        now = time.perf_counter() if now is None else now
        elapsed = now - self.start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        if self.total:
            pct = 100.0 * self.count / self.total
            eta = (self.total - self.count) / rate if rate > 0 else float("nan")
            body = f"{self.count:,}/{self.total:,} ({pct:5.1f}%) {rate:,.0f} {self.unit}/s, ETA {eta:,.1f}s"
        else:
            body = f"{self.count:,} {self.unit} {rate:,.0f} {self.unit}/s"
        post = f" {self.postfix}" if self.postfix else ""
        return f"{self.desc}: {body}{post}" if self.desc else body + post

    def _draw(self, now: float) -> None:
        end = "\r" if self.tty else "\n"
        self.stream.write(self.line(now) + end)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and (self.tty or time.perf_counter() - self.start > 1.0):
            self.stream.write(self.line() + "\n")
            self.stream.flush()
