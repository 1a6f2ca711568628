"""taotp circuits on a newcomer's own program: a layer without attention is said to be
one (not "0 heads of 11"), a summary that lists some of the tokens says there are more,
and a spec whose inputs the program refuses is reported on stderr, naming the input,
instead of silently reading later layers on the direct path."""

from __future__ import annotations

import re
import textwrap
from collections import Counter

from click.testing import CliRunner

from taotp import load_program
from taotp.circuits import circuits
from taotp.circuits.render_text import layer_shape, render_plain
from taotp.cli import main

# SUCC: the letter after the one before the last. Layer 0 (one head of 4) copies the
# previous token's code into `prev`; layer 1 (no attention, 4 neurons) moves that code to
# the next letter. Codes are centred one-hots (stdlib codes): layer norm is the identity.
SUCC = """
import codes
param letters = "abcd"
param block = 8
vocab words(chars_of(letters))
model block=block
stream tok:4, pos:3, prev:4
tok_emb[:, tok] = codes.onehot_codes(len(vocab))
pos_emb[:, pos] = ring3d_array(block)
codes.fill_padding(prev)
out_emb[:, prev] = codes.onehot_codes(len(vocab))
layer 0 heads=1, d_head=4, d_ff=0:
  head 0:
    Q[pos, 0:3] = harden(shift3d(-1, block), 1000)
    K[pos, 0:3] = eye(3)
    V[tok, 0:4] = eye(4)
    V[prev, 0:4] = -eye(4)
    P[prev, 0:4] = eye(4)
layer 1 heads=0, d_ff=4:
  let c = codes.onehot_codes(4)
  for k in range(4):
    M1[prev, k] = c[k] / 4
    M2[k, prev] = c[(k + 1) % 4] - c[k]
decode steps = 1
def succ_of_prev(toks):
  let k = token(toks[len(toks) - 2 if len(toks) >= 2 else 0])
  return [chars_of(letters)[(k + 1) % 4]]
spec expected=succ_of_prev, inputs=lists(one_of(chars_of(letters)), 1, MAX_LEN)
"""


def succ(tmp_path, max_len="block"):
    path = tmp_path / "succ.taotp"
    path.write_text(textwrap.dedent(SUCC).replace("MAX_LEN", max_len))
    return path


def test_a_layer_without_attention_is_said_to_have_none(tmp_path):
    c = circuits(load_program(str(succ(tmp_path)), progress=False), samples=8)
    text = render_plain(c)
    assert "layers  0: 1 head of 4, d_ff 0; 1: no attention, d_ff 4" in text
    assert "0 heads" not in text
    assert layer_shape(2, 3, 0) == "2 heads of 3, d_ff 0"


def test_the_neuron_summary_says_when_it_lists_only_some_tokens(tmp_path):
    c = circuits(load_program(str(succ(tmp_path)), progress=False), samples=8)
    (mlp,) = c.mlps
    summary = c.mlp_summaries[1]
    tokens = c.program.vocab.tokens
    # each neuron reads a letter and writes the next one: four different tokens each way
    assert [tokens[t] for t in mlp.neurons.reads] == list("abcd")
    assert [tokens[t] for t in mlp.neurons.writes] == list("bcda")
    for ids, word in ((mlp.neurons.reads, "read"), (mlp.neurons.writes, "write")):
        listed = re.search(rf"{word} ('[a-d]' x\d+(?:, '[a-d]' x\d+)*)(, \.\.\.)?", summary)
        assert listed is not None, summary
        shown = re.findall(r"'([a-d])' x(\d+)", listed.group(1))
        counts = Counter(tokens[t] for t in ids)
        assert all(counts[t] == int(k) for t, k in shown)
        assert (listed.group(2) is not None) == (len(shown) < len(counts))


def test_spec_inputs_the_program_refuses_are_reported_on_stderr(tmp_path):
    res = CliRunner().invoke(main, ["circuits", str(succ(tmp_path, max_len="block + 3"))])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert res.stderr.startswith("warning: could not run spec samples: the spec's input '")
    assert "tokens long (with the program's prefix), but the block size is 8" in res.stderr
    assert "read on the embeddings instead" in res.stderr
    assert "direct path" in res.stdout            # the header says which basis the layer was read on
    fine = CliRunner().invoke(main, ["circuits", str(succ(tmp_path))])
    assert fine.exit_code == 0 and "warning" not in fine.stderr
