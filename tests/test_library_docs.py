"""Every program in docs/library.md with `# example: "INPUT" -> "OUTPUT"` lines compiles and
prints those outputs in float64 and float32, through the fast and the reference engines."""

import re
from pathlib import Path

import numpy as np
import pytest

import taotp

DOC = Path(__file__).resolve().parents[1] / "docs" / "library.md"
EXAMPLE = re.compile(r'^# example: "(.*)" -> "(.*)"$', re.M)


def examples():
    blocks = re.findall(r"```\n(.*?)```", DOC.read_text(), re.S)
    return [b for b in blocks if EXAMPLE.search(b)]


def test_the_doc_has_examples():
    assert len(examples()) >= 10


@pytest.mark.parametrize("i", range(len(examples())))
def test_doc_example_runs(i):
    source = examples()[i]
    prog = taotp.compile_source(source, f"library_md_{i}.taotp")
    for text, want in EXAMPLE.findall(source):
        for dtype in (np.float64, np.float32):
            for engine in ("fast", "reference"):
                assert prog.run(text, engine=engine, dtype=dtype) == want, (i, text, dtype, engine)
