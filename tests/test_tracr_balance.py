"""tracr's prefix-fraction and balance programs (issue 11, group "balance"): frac_prevs,
pair_balance, dyck1, dyck2 (programs/*.taotp), each held against the spec it states in the
language, in float64 and float32: every input at a small size, Hypothesis-drawn inputs at
the shipped size; and smaller than tracr at tracr's size. Also the library entries they
added: attend.mean, codes.emit_nearest, codes.emit_sign.

(The exhaustive runs at tracr's size and beyond, `taotp check NAME --exhaustive`, are in
docs/tracr.md with their times.)"""

from __future__ import annotations

from fractions import Fraction
from math import sqrt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taotp.check import check
from taotp.errors import TaotpError
from taotp.strategies import expected, inputs

from stdlib_support import check_outputs, compiled, shipped

DTYPES = (np.float64, np.float32)
FEW = settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))


program = shipped                 # a shipped program at settings, compiled once (stdlib_support)


# The smallest logit margin each program guarantees. The printed token's logit beats the
# others by at least 1 (emit_nearest, emit_sign) divided by the scale s final layer norm
# divides by: the stream is codes (sum of squares = their size) plus pairs (1 + x, -1 - x)
# holding averages x, so s^2 <= (d - 2 pairs + 2 sum (1 + max|x|)^2) / d.
def scale_bound(d, pairs_max):
    return sqrt((d - 2 * len(pairs_max) + sum(2 * (1 + x) ** 2 for x in pairs_max)) / d)


MARGIN = {
    "frac_prevs": 1 / scale_bound(7, [1]),            # d 7: kind 3, one 2, the share's pair (f <= 1)
    "pair_balance": 1 / scale_bound(8, [1]),          # d 8: kind 4, one 2, the balance's pair
    "dyck1": 1 / scale_bound(11, [1, 1]),             # d 11: kind 3, one 2, neg 2, two pairs
    "dyck2": 1 / scale_bound(17, [1, 1, 1]),          # d 17: kind 5, one 2, neg 4, three pairs
}


def softest(prog):
    """The averaging heads are soft by design: each of the n + 1 keys gets 1 / (n + 1)."""
    return (1 - 1e-6) / prog.params.pos_emb.shape[0]


# -- every input at a small size, through `taotp check` and the program's own spec ---------

@pytest.mark.parametrize("name, overrides, count", [
    ("frac_prevs", {"n": 6}, sum(3 ** k for k in range(1, 7))),
    ("pair_balance", {"n": 6}, sum(3 ** k for k in range(1, 7))),
    # all bracket strings up to n, then the spec's balanced words and near misses (built
    # from lists up to n / 2, a near miss for each of n + 1 positions)
    ("dyck1", {"n": 10}, (2 ** 11 - 1) + (2 ** 6 - 1) * (1 + 11)),
    ("dyck2", {"n": 5}, (4 ** 6 - 1) // 3 + (4 ** 3 - 1) // 3 * (1 + 6)),
])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_input_at_a_small_size(name, overrides, count, dtype):
    prog = program(name, **overrides)
    r = check(prog, exhaustive=True, dtype=dtype, progress=False)
    assert r.ok and r.total == count, r.as_dict()
    assert r.stats["min_margin"] >= MARGIN[name] * (1 - 1e-3), r.stats
    assert r.stats["softest_attention"] >= softest(prog) * (1 - 1e-6), r.stats


# -- Hypothesis-drawn inputs at the shipped size (tracr's), both dtypes, both engines ------

@pytest.mark.parametrize("name", sorted(MARGIN))
def test_random_inputs_at_the_shipped_size(name):
    prog = program(name)

    @FEW
    @given(st.lists(inputs(prog), min_size=1, max_size=40))
    def holds(texts):
        check_outputs(prog, texts, [expected(prog, t) for t in texts], MARGIN[name],
                      softest=softest(prog), reference_every=8)

    holds()


def test_frac_prevs_prints_the_reduced_share():
    prog = program("frac_prevs")
    for text, share in [("abxx=", "1/2"), ("x=", "1"), ("ab=", "0"), ("xxxxxxxxxa=", "9/10"),
                        ("xaaaaa=", "1/6")]:
        assert prog.run(text) == share
    # the spec agrees with Python's fractions on a few hundred inputs
    rng = np.random.default_rng(1)
    for _ in range(300):
        letters = "".join(rng.choice(list("abx"), size=int(rng.integers(1, 11))))
        f = Fraction(letters.count("x"), len(letters))
        assert expected(prog, letters + "=") == (str(f.numerator) if f.denominator == 1 else str(f))


def test_pair_balance_prints_the_signed_reduced_balance():
    prog = program("pair_balance")
    rng = np.random.default_rng(2)
    for _ in range(300):
        text = "".join(rng.choice(list("()a"), size=int(rng.integers(1, 11))))
        f = Fraction(text.count("(") - text.count(")"), len(text))
        want = str(f.numerator) if f.denominator == 1 else str(f)
        assert expected(prog, text + "=") == want
    texts = ["a()((=", "))=", ")a((a)))a)=", "a="]
    assert [prog.run(t) for t in texts] == ["2/5", "-1", "-3/10", "0"]


def test_dyck_spec_is_tracrs_shuffle_dyck():
    """tracr's docstring examples: shuffle_dyck2("({)}") is 1, ("(){)}") is 0; the spec's
    balanced words are balanced and its near misses are not."""
    d1, d2 = program("dyck1"), program("dyck2")
    assert [d2.run(t) for t in ["({)}=", "(){)}=", "=", "}{=", "({}){}()="]] == ["1", "0", "1", "0", "1"]
    assert [d1.run(t) for t in ["(())()=", "())(=", "(=", "(((((((())))))))="]] == ["1", "0", "0", "1"]

    def balanced(text, pairs):
        for o, c in zip(pairs[::2], pairs[1::2]):
            depth = 0
            for t in text:
                depth += (t == o) - (t == c)
                if depth < 0:
                    return "0"
            if depth:
                return "0"
        return "1"

    rng = np.random.default_rng(3)
    for prog, pairs in [(d1, "()"), (d2, "(){}")]:
        for _ in range(300):
            text = "".join(rng.choice(list(pairs), size=int(rng.integers(0, 9))))
            assert expected(prog, text + "=") == balanced(text, pairs)


# -- sizes -----------------------------------------------------------------------------

# tracr at HEAD 9ce2b8c (issue 11): params / non-zero at its vocabulary and length
TRACR = {"frac_prevs": (2_234, 91), "dyck1": (934_359, 2_955), "dyck2": (1_525_796, 3_141)}


def size(vocab, block, d, layers):
    """The book's count: tok_emb, pos_emb, the untied out_emb, and per layer
    4 H d K + 2 d F + F + d (fig. 1.4)."""
    return 2 * vocab * d + block * d + sum(4 * h * d * k + 2 * d * f + f + d for h, k, f in layers)


@pytest.mark.parametrize("name, vocab, block, d, layers", [
    # 3 letters, '=', 33 fractions c/d (d <= 10); one head of 2
    ("frac_prevs", 3 + 1 + 33, 11, 7, [(1, 2, 0)]),
    # '(' ')' 'a' '=' and 65 signed fractions
    ("pair_balance", 3 + 1 + 65, 11, 8, [(1, 2, 0)]),
    # ( ) = 0 1; a head and 2 units, then a head
    ("dyck1", 5, 17, 11, [(1, 2, 2), (1, 2, 0)]),
    # ( ) { } = 0 1; two heads and 4 units, then a head
    ("dyck2", 7, 13, 17, [(2, 2, 4), (1, 2, 0)]),
])
def test_parameter_count_and_smaller_than_tracr(name, vocab, block, d, layers):
    prog = program(name)
    n = prog.params.count()["n_params"]
    assert n == size(vocab, block, d, layers)
    if name in TRACR:
        assert n < TRACR[name][0]


# -- the library entries these programs added ------------------------------------------

def test_attend_mean_and_emit_nearest_print_every_share():
    """A share of b's among all tokens so far, printed as the nearest of the fractions
    c / d (d <= block) through the output embedding alone: every input up to length 6."""
    src = """
import codes
import attend
let fr = []
let names = []
for d in range(1, 7):
  for c in range(d + 1):
    if gcd(c, d) == 1:
      fr = fr + [c / d]
      names = names + [str(c) + ":" + str(d)]
vocab chars("ab") + names
model block=6, heads=0
stream f:2
decode steps=1
let tok = codes.token_code()
codes.fill_padding(f)
layer 0:
  let share = attend.mean(attend.everything(), codes.indicator(tok, ["b"]), f)
codes.emit_nearest(share, fr, names)
"""
    import itertools
    prog = compiled(src)
    texts = ["".join(p) for n in range(1, 7) for p in itertools.product("ab", repeat=n)]
    want = []
    for t in texts:
        f = Fraction(t.count("b"), len(t))
        want.append(f"{f.numerator}:{f.denominator}")
    d = prog.params.d_model            # the token code, one, the pair
    check_outputs(prog, texts, want, 1 / scale_bound(d, [1]), softest=(1 - 1e-6) / 6, reference_every=7)


@given(st.lists(st.sampled_from("ab"), min_size=1, max_size=9))
@settings(max_examples=30, deadline=None)
def test_emit_sign_prints_the_majority(letters):
    """emit_sign on (share of b's) - 1/2 - 1/40: 'y' when b's are more than half."""
    src = """
import codes
import attend
vocab chars("abyn")
model block=10, heads=0
stream f:2
decode steps=1
let tok = codes.token_code()
codes.fill_padding(f)
layer 0:
  let share = attend.mean(attend.everything(), codes.indicator(tok, ["b"]), f)
codes.emit_sign(share + codes.constant(-1 / 2 - 1 / 40), 1 / 40, ["n", "y"])
"""
    prog = compiled(src)
    text = "".join(letters)
    want = "y" if 2 * text.count("b") > len(text) else "n"
    # |share - 21/40| >= 1/40 for any share c / d with d <= 9
    check_outputs(prog, [text], [want], 1 / scale_bound(prog.params.d_model, [1]), softest=(1 - 1e-6) / 9,
                  reference_every=1)


def test_emit_nearest_refuses_equal_values():
    src = """
import codes
vocab chars("ab")
model block=4, heads=0
codes.emit_nearest(codes.constant(1), [0.5, 0.5], ["a", "b"])
"""
    with pytest.raises(TaotpError, match="two are equal"):
        compiled(src)
