"""Input patterns (`input matches REGEX, MESSAGE`): compiled once, matched in bounded time.

Python's `re` backtracks, so a pattern such as `(a+)+b` takes exponential time on
"aaaa...!" - and a pattern is the user's (or comes from a compiled file). Every
match therefore runs under a time limit, MATCH_SECONDS: `re` checks for signals
while it runs, so a SIGALRM timer interrupts it. Where no timer can be set (not
the main thread, or a platform without `setitimer`) the match runs in a child
process with the same limit. Arming the timer costs about 3 microseconds a match
inside `guarded()` (which installs the handler once, for loops over many inputs)
and about 30 outside it.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from contextlib import contextmanager

from .errors import InputError, UsageError, cut

MATCH_SECONDS = 1.0


class PatternTimeout(InputError):
    kind = "input error"


class _Interrupted(Exception):
    pass


class InputPattern(tuple):
    """(regex, message), as programs and compiled files hold them, with the regex compiled."""

    compiled: re.Pattern

    @classmethod
    def make(cls, regex, message, origin: str = "the program") -> "InputPattern":
        """A checked pattern; a bad one is a UsageError naming `origin` (re's wording)."""
        if not isinstance(regex, str) or not (message is None or isinstance(message, str)):
            raise UsageError(f"{origin}: an input pattern is a regular expression and a message (strings)")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # e.g. re's FutureWarning "possible nested set"
                compiled = re.compile(regex)
        except (re.error, FutureWarning, DeprecationWarning) as e:
            raise UsageError(f"{origin}: bad input pattern {cut(regex)}: {e}") from None
        pattern = super().__new__(cls, (regex, message or f"the input must match {cut(regex)}"))
        pattern.compiled = compiled
        return pattern

    @property
    def regex(self) -> str:
        return self[0]

    @property
    def message(self) -> str:
        return self[1]

    def check(self, text: str) -> None:
        """Raise InputError(message) unless the whole text matches."""
        if not fullmatch(self.compiled, text):
            raise InputError(f"{cut(text)}: {self.message}")


# -- bounded matching -------------------------------------------------------------------

_state = threading.local()


def _on_alarm(signum, frame):
    if getattr(_state, "matching", False):
        raise _Interrupted
    outer = getattr(_state, "outer_handler", None)  # a caller's own alarm, between two matches
    if callable(outer):
        outer(signum, frame)


def _timer_available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def guarded():
    """Install the alarm handler once for many matches (a batch, a check run)."""
    if not _timer_available() or getattr(_state, "guarded", False):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    _state.guarded, _state.outer_handler = True, previous
    try:
        yield
    finally:
        _state.guarded, _state.outer_handler = False, None
        signal.signal(signal.SIGALRM, previous)


def fullmatch(compiled: re.Pattern, text: str, seconds: float | None = None) -> bool:
    """Whether the whole text matches, within `seconds` (default MATCH_SECONDS) or PatternTimeout."""
    seconds = MATCH_SECONDS if seconds is None else seconds
    if not _timer_available():
        return _fullmatch_in_child(compiled, text, seconds)
    with guarded():
        start = time.monotonic()
        outer = signal.setitimer(signal.ITIMER_REAL, seconds)  # a caller's timer, if any, resumes below
        _state.matching = True
        try:
            return compiled.fullmatch(text) is not None
        except _Interrupted:
            raise _timeout(compiled, text, seconds) from None
        finally:
            _state.matching = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            if outer[0] > 0:
                signal.setitimer(signal.ITIMER_REAL, max(1e-3, outer[0] - (time.monotonic() - start)), outer[1])


def _timeout(compiled, text, seconds) -> PatternTimeout:
    return PatternTimeout(
        f"{cut(text)}: the program's input pattern {cut(compiled.pattern, 60)} took more than "
        f"{seconds:g} s on this input and was stopped (the pattern backtracks, e.g. a nested "
        f"repetition such as (a+)+; the program should use a simpler pattern)")


_CHILD = ("import json, re, sys; p, f, t = json.load(sys.stdin); "
          "sys.stdout.write('1' if re.fullmatch(re.compile(p, f), t) else '0')")


def _fullmatch_in_child(compiled, text, seconds) -> bool:
    try:
        out = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps([compiled.pattern, compiled.flags, text]),
                             capture_output=True, text=True, timeout=seconds + 2.0)
    except subprocess.TimeoutExpired:
        raise _timeout(compiled, text, seconds) from None
    return out.stdout == "1"
