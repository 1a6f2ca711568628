"""`taotp check PROGRAM --expect pairs.tsv`: check a program against listed examples.

One example a line: the input, a TAB, the output `taotp run` should print. Lines
starting with `#` and blank lines are skipped; a line without a TAB (or with two), or
an input listed twice with different outputs, is reported with its line number -
every such line at once. The pairs become a Spec (taotp.specs) that the program
carries, so `check` runs them as it runs a spec, with the same report.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import ErrorList, Span, UsageError
from ..specs import Spec


def read_pairs(path: Path) -> list[tuple[int, str, str]]:
    """(line number, input, expected output) of every example in the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text (expected: input TAB output, one pair a line)") from None
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror}") from None
    pairs, problems, first = [], [], {}
    for n, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = Span(str(path), n, 1, line, len(line))
        tabs = line.count("\t")
        if tabs != 1:
            problems.append(UsageError(
                "no TAB between the input and the expected output" if tabs == 0 else
                f"{tabs} TABs; a line holds one: the input, TAB, the expected output", where))
            continue
        given, expected = line.split("\t")
        if given in first:
            m, before = first[given]
            if before != expected:
                problems.append(UsageError(f"the input {given!r} is listed on line {m} with the output {before!r}, "
                                           f"and here with {expected!r}", where))
            continue
        first[given] = (n, expected)
        pairs.append((n, given, expected))
    if problems:
        raise ErrorList(problems)
    if not pairs:
        raise UsageError(f"{path} lists no examples (one a line: the input, a TAB, the expected output)")
    return pairs


def expect_spec(path: Path) -> Spec:
    pairs = read_pairs(path)
    table = {given: expected for _, given, expected in pairs}
    inputs = [given for _, given, _ in pairs]

    def strategy(settings):
        import hypothesis.strategies as st

        return st.sampled_from(inputs)

    return Spec(name=Path(path).name, reference=lambda settings, text: table[text], strategy=strategy,
                enumerate=lambda settings: iter(inputs), size=lambda settings: len(inputs),
                sample=lambda settings, rng: inputs[int(rng.integers(len(inputs)))],
                description=f"the {len(inputs)} examples of {path}")


def with_expectations(program, path: Path):
    """A copy of the program that carries the file's examples as its spec."""
    spec = expect_spec(path)
    return dataclasses.replace(program, spec=spec.name, own_spec=spec)
