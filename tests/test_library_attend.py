"""The standard library's attention entries (taotp/stdlib/attend.taotp): select + copy,
find_last, at_position, shift, ring_shift. Each is exact in float64 and float32, through
the fast and reference engines, on its stated domain (inputs up to the block size)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taotp.errors import TaotpError

from stdlib_support import check_outputs, compiled, layer_norm_scales, stream

FAST = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
LETTERS = "abcx"
BLOCK = 12
MARGIN_4 = 16 / 3                # emit over 4 tokens: k + k / (k - 1)


def batches(alphabet=LETTERS, min_size=1, max_size=BLOCK):
    return st.lists(st.text(alphabet=alphabet, min_size=min_size, max_size=max_size), min_size=1, max_size=25)


HEAD = f"""import codes
import attend
vocab chars("{LETTERS}")
model block={BLOCK}, heads=0
decode steps=1
let tok = codes.token_code()
"""

FIND_LAST = HEAD + """layer 0:
  let prev = attend.shift(1, tok)
layer 1:
  codes.emit(attend.find_last(tok, ["x"], prev))
"""


def find_last_ref(s: str) -> str:
    """The token before the last 'x' (position 0's for an 'x' at 0); no 'x': before the last token."""
    i = s.rfind("x")
    i = len(s) - 1 if i < 0 else i
    return s[max(i - 1, 0)]


@FAST
@given(batches())
def test_find_last_with_its_fallback_and_shift(texts):
    prog = compiled(FIND_LAST)
    check_outputs(prog, texts, [find_last_ref(t) for t in texts], MARGIN_4)


FIND_LAST_ON_A_RING = FIND_LAST.replace('attend.find_last(tok, ["x"], prev)',
                                         'attend.find_last(codes.ring_token_code(), ["x"], prev)')


@FAST
@given(batches())
def test_find_last_on_a_ring_code(texts):
    """The same answers when the token is read off its ring point (gap 1 - cos(2 pi / 4)),
    on inputs holding an 'x' (without one, the ring's nearest token is found instead)."""
    texts = [t if "x" in t else ("x" + t)[:BLOCK] for t in texts]     # an 'x' within the block
    prog = compiled(FIND_LAST_ON_A_RING)
    check_outputs(prog, texts, [find_last_ref(t) for t in texts], MARGIN_4)


def test_find_last_on_a_ring_code_finds_one_token():
    with pytest.raises(TaotpError, match="find_last on a ring code finds one token, got 2"):
        compiled(FIND_LAST_ON_A_RING.replace('["x"]', '["x", "a"]'))


SELECT = HEAD + """param first = False
def later(q, k):
  return k > q
layer 0:
  let sel = attend.select(tok, tok, later)
  codes.emit(attend.copy_first(sel, tok) if first else attend.copy(sel, tok))
"""


def select_ref(s: str, first: bool) -> str:
    """The latest (earliest) token greater than the last one; none: the last (the first) token."""
    bigger = [c for c in s if c > s[-1]]
    if not bigger:
        return s[0] if first else s[-1]
    return bigger[0] if first else bigger[-1]


@FAST
@given(batches(), st.booleans())
def test_select_then_copy_the_latest_or_the_earliest(texts, first):
    prog = compiled(SELECT, first=first)
    check_outputs(prog, texts, [select_ref(t, first) for t in texts], MARGIN_4)


AT_POSITION = HEAD + """param w = 1
param offset = -1
let pos = codes.position_code()
layer 0:
  codes.emit(attend.at_position([[pos, w]], offset, tok))
"""


@FAST
@given(batches(), st.integers(0, 2), st.integers(-BLOCK, BLOCK))
def test_at_position_reads_the_computed_position_clamped_to_the_past(texts, w, offset):
    prog = compiled(AT_POSITION, w=w, offset=offset)
    want = [t[min(max(w * (len(t) - 1) + offset, 0), len(t) - 1)] for t in texts]
    check_outputs(prog, texts, want, MARGIN_4)


RING = HEAD + """param k = 1
let ring = codes.ring_position_code()
layer 0:
  codes.emit(attend.ring_shift(ring, k, tok))
"""


@FAST
@given(batches(), st.integers(0, BLOCK - 1))
def test_ring_shift_reads_k_back_and_position_0_before_the_start(texts, k):
    prog = compiled(RING, k=k)
    check_outputs(prog, texts, [t[max(len(t) - 1 - k, 0)] for t in texts], MARGIN_4)


@FAST
@given(batches(min_size=BLOCK - 2))
def test_copies_are_exact_codes_and_layer_norm_stays_the_identity(texts):
    """The copied slot holds the exact code of the token read (float64: to rounding; float32:
    to float32's rounding), and every layer norm divides by 1."""
    prog = compiled(FIND_LAST)
    for dtype, tol in ((np.float64, 1e-9), (np.float32, 1e-5)):
        lo, hi = layer_norm_scales(prog, texts, dtype)
        assert 1 - tol <= lo <= hi <= 1 + tol, (dtype, lo, hi)
        for t in texts:
            x = stream(prog, t, dtype)
            a, b = prog.slots["token_2"]                   # prev = shift(1, tok)
            k = b - a
            codes = (np.eye(k) - 1 / k) * k / np.sqrt(k - 1)
            want = codes[[LETTERS.index(c) for c in t[:1] + t[:-1]]]
            assert np.abs(x[:, a:b] - want).max() <= tol, dtype


POSITIONS = HEAD + """let p1 = codes.position_onehot_code()
def two_back_or_first(q, k):
  return k == max(q - 2, 0)
layer 0:
  codes.emit(attend.copy(attend.select(p1, p1, two_back_or_first), tok))
"""


@FAST
@given(batches())
def test_select_on_onehot_positions_takes_any_relation(texts):
    prog = compiled(POSITIONS)
    check_outputs(prog, texts, [t[max(len(t) - 3, 0)] for t in texts], MARGIN_4)


RING_TOKENS = f"""import codes
import attend
vocab chars("{LETTERS}")
model block={BLOCK}, heads=0
decode steps=1
param kind = "ring"
let q = codes.ring_token_code() if kind == "ring" else codes.token_code()
layer 0:
  let prev = attend.shift(1, q)
layer 1:
  codes.emit(attend.copy(attend.same(q, prev), q))
"""


def induction_ref(t: str, kind: str) -> str:
    """The token that followed the latest occurrence of the last token (an induction head);
    none: the last token (one-hot codes), or the token after the latest occurrence of the
    nearest token on the ring (ring codes). (shift(1) at position 0 reads position 0.)"""
    prevs = [t[max(j - 1, 0)] for j in range(len(t))]
    js = [j for j in range(len(t)) if prevs[j] == t[-1]]
    if js or kind == "onehot":
        return t[js[-1]] if js else t[-1]
    ring = lambda a, b: min((LETTERS.index(a) - LETTERS.index(b)) % 4, (LETTERS.index(b) - LETTERS.index(a)) % 4)
    near = min(ring(p, t[-1]) for p in prevs)
    return t[[j for j in range(len(t)) if ring(prevs[j], t[-1]) == near][-1]]


@FAST
@given(batches(), st.sampled_from(["ring", "onehot"]))
def test_same_matches_equal_values_of_ring_and_onehot_codes(texts, kind):
    prog = compiled(RING_TOKENS, kind=kind)
    margin = 3 - 3 * np.cos(2 * np.pi / 4) if kind == "ring" else MARGIN_4
    check_outputs(prog, texts, [induction_ref(t, kind) for t in texts], margin)
