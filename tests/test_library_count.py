"""The standard library's counting and averaging (attend.count, attend.count_tokens,
attend.average): a head writes a scalar into a scratch pair, the same layer's MLP turns it
into a code and clears the scratch. Exact (the right code at every position) in float64
and float32, on inputs up to the block size."""

from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stdlib_support import check_outputs, compiled, read_slot, stream

FAST = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
BLOCK = 10
TOL = {np.float64: 1e-9, np.float32: 2e-4}   # float32: the staircase's units sum values of
                                            # size ~ its steepness, rounded to float32 (measured: 6e-5)

COUNT = f"""import codes
import attend
vocab chars("abc0123456789") + ["<bos>"]
model block={BLOCK}, heads=0
decode prefix="<bos>", steps=1
let tok = codes.token_code()
param mode = "smaller"
def smaller(q, k):
  return k in "abc" and k < q
layer 0:
  codes.emit(attend.count(tok, smaller) if mode == "smaller" else attend.count_tokens(["a", "b"]))
"""


def count_ref(s: str, i: int, mode: str) -> int:
    if mode == "smaller":
        return sum(c < s[i] for c in s[:i + 1])
    return sum(c in "ab" for c in s[:i + 1])


texts_ = st.lists(st.text(alphabet="abc", min_size=1, max_size=BLOCK - 1), min_size=1, max_size=25)


@FAST
@given(texts_, st.sampled_from(["smaller", "ab"]))
def test_count_prints_how_many_earlier_tokens_pass(texts, mode):
    prog = compiled(COUNT, mode=mode)
    # the count's code (over 0..9) against the other digits: 10 + 10/9; against letters (0): 10.
    # The counting head's largest weight is <bos>'s, K / (K + count) >= 1/2 (K = block - 1),
    # less the softmax's +1e-10 in its denominator and the rounding of the exponentials (1e-9).
    check_outputs(prog, texts, [str(count_ref(t, len(t) - 1, mode)) for t in texts], margin=10.0,
                  softest=0.5 - 1e-9)


@FAST
@given(texts_, st.sampled_from(["smaller", "ab"]))
def test_count_slot_holds_the_exact_code_at_every_position(texts, mode):
    prog = compiled(COUNT, mode=mode)
    for dtype in (np.float64, np.float32):
        for t in texts:
            x = stream(prog, t, dtype)
            got, err = read_slot(prog, x, "count", list(range(BLOCK)))
            assert got == [0] + [count_ref(t, i, mode) for i in range(len(t))], (dtype, t)
            assert err <= TOL[dtype], (dtype, t, err)
            a, b = prog.slots["scratch"]
            assert np.abs(x[:, a:b] - [1, -1]).max() <= TOL[dtype]        # the scratch is cleared
        # layer norm divides by 1 everywhere but before the MLP that reads the scratch (z, -z),
        # z = 1 + K / (K + count) in [1.5, 2]: there by sqrt(1 + 2 (z^2 - 1) / d_model)
        from taotp.layernorm import measure_scales
        params = prog.params if dtype == np.float64 else prog.params.astype(dtype)
        for s in measure_scales(params, [[prog.vocab.index["<bos>"]] + prog.encode(t) for t in texts]):
            top = np.sqrt(1 + 2 * 3 / prog.params.d_model) if s["where"] == "layer 0 MLP" else 1
            assert 1 - TOL[dtype] <= s["min"] <= s["max"] <= top + TOL[dtype], (dtype, s)


AVERAGE = f"""import codes
import attend
import mlp
vocab chars("abc")
model block={BLOCK}, heads=0
decode steps=1
let tok = codes.token_code()
def is_a(t):
  return 1 if t == "a" else 0
layer 0:
  let a = mlp.lookup(tok, is_a, "is_a")
layer 1:
  let frac = attend.average(attend.everything(), a, attend.fractions({BLOCK}))
"""


@FAST
@given(texts_)
def test_average_holds_the_exact_fraction_at_every_position(texts):
    prog = compiled(AVERAGE)
    fracs = sorted({c / n for n in range(1, BLOCK + 1) for c in range(n + 1)})
    for dtype in (np.float64, np.float32):
        for t in texts:
            x = stream(prog, t, dtype)
            got, err = read_slot(prog, x, "mean", fracs)
            want = [float(Fraction(t[:i + 1].count("a"), i + 1)) for i in range(len(t))]
            assert np.allclose(got, want, rtol=0, atol=1e-12), (dtype, t)
            assert err <= TOL[dtype], (dtype, t, err)
