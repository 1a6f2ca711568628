"""The standard library's MLPs (taotp/stdlib/mlp.taotp): lookup (a function of one code),
lookup2 (of two codes), all_of (a pattern), spike (the book's spike MLP on one stream
dimension, its points computed after layer norm). Exact in float64 and float32."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stdlib_support import check_outputs, compiled, read_slot, stream

FAST = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
LETTERS = "abcd"
BLOCK = 8
texts_ = st.lists(st.text(alphabet=LETTERS, min_size=1, max_size=BLOCK), min_size=1, max_size=25)

HEAD = f"""import codes
import attend
import mlp
vocab chars("{LETTERS}")
model block={BLOCK}, heads=0
decode steps=1
let tok = codes.token_code()
param shift = 1
def succ(t):
  for i in range(4):
    if "{LETTERS}"[i] == t:
      return "{LETTERS}"[(i + shift) % 4]
def bigger(a, b):
  return a if a > b else b
"""

LOOKUP = HEAD + """layer 0:
  codes.emit(mlp.lookup(tok, succ, "next"))
"""


@FAST
@given(texts_, st.integers(0, 3))
def test_lookup_applies_a_function_to_a_code(texts, shift):
    prog = compiled(LOOKUP, shift=shift)
    want = [LETTERS[(LETTERS.index(t[-1]) + shift) % 4] for t in texts]
    check_outputs(prog, texts, want, margin=16 / 3)


LOOKUP2 = HEAD + """layer 0:
  let prev = attend.shift(1, tok)
layer 1:
  codes.emit(mlp.lookup2(tok, prev, bigger, "bigger"))
"""


@FAST
@given(texts_)
def test_lookup2_applies_a_function_to_two_codes(texts):
    prog = compiled(LOOKUP2)
    want = [max(t[-1], t[max(len(t) - 2, 0)]) for t in texts]
    check_outputs(prog, texts, want, margin=16 / 3)   # max of two letters: every letter, k = 4


PATTERN = HEAD + """layer 0:
  let prev = attend.shift(1, tok)
layer 1:
  let hit = mlp.all_of([prev, tok], ["a", "b"], "hit")
"""


@FAST
@given(texts_)
def test_all_of_detects_a_pattern_at_every_position(texts):
    prog = compiled(PATTERN)
    for dtype, tol in ((np.float64, 1e-9), (np.float32, 1e-5)):
        for t in texts:
            got, err = read_slot(prog, stream(prog, t, dtype), "hit", [False, True])
            assert got == [i > 0 and t[i - 1:i + 1] == "ab" for i in range(len(t))], (dtype, t)
            assert err <= tol, (dtype, err)


SPIKE = """import mlp
vocab chars("abcdef")
model block=1, heads=0
stream x:5, y:3
param seed = 0
tok_emb[:, x] = random_normal([6, 5], seed=seed)   # not codes: layer norm moves them
tok_emb[:, y] = ring3d_array(6)                     # what the output reads
layer 0:
  let out = zeros([6, model.d_model])
  out[:, y] = ring3d_array(6)[[1, 2, 3, 4, 5, 0]] * 1e6
  let m = mlp.spike(x.start, tok_emb, out)
decode steps=1
"""


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 10_000))
def test_spike_reads_the_points_layer_norm_makes(seed):
    """Random token rows (layer norm rescales them): the spike MLP's points are what the MLP
    reads after layer norm, so each token maps to the next token's ring point, times 1e6
    (messy cleanup, §3.4), and the tied output prints the next token."""
    prog = compiled(SPIKE, seed=seed)
    check_outputs(prog, list("abcdef"), list("bcdefa"), margin=0, softest=0, reference_every=1)


POSITION = """import codes
import mlp
vocab chars("abcd") + [str(i) for i in range(12)]
model block=12, heads=0
decode steps=1
param m = 3
def mod(p):
  return str(p % m)
layer 0:
  codes.emit(mlp.lookup_position(codes.position_code(), mod, "p_mod_m"))
"""


@FAST
@given(st.lists(st.text(alphabet=LETTERS, min_size=1, max_size=12), min_size=1, max_size=25), st.integers(2, 12))
def test_lookup_position_maps_each_position(texts, m):
    prog = compiled(POSITION, m=m)
    # the code holds one of m values (p % m); tokens outside it get logit 0: the margin is m
    check_outputs(prog, texts, [str((len(t) - 1) % m) for t in texts], margin=m)
