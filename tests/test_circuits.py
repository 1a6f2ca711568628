"""taotp circuits (issue 17): the tables are the machine's, the rules say what the
book's constructions do, and every view says the same numbers.

The proofs the issue asks for: SORT's QK table peaks, for every query token, on the
next larger token; SEARCH's layer-0 head h peaks h places back; HELLO's positions
decode to its message. Then: every shipped program reads without error in 80
columns, and the JSON and the text agree."""

from __future__ import annotations

import json
import re
import string

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from taotp import load_program
from taotp.circuits import circuits
from taotp.circuits import rules as R
from taotp.circuits.basis import embedding_basis, layer_inputs
from taotp.circuits.json_out import to_json
from taotp.circuits.render_text import label, render_plain
from taotp.circuits.tables import Table, qk_tables
from taotp.cli import main
from taotp.decoding import DecodeRule
from taotp.engine.reference import layer_norm
from taotp.params import Layer, LayerNorm, Params
from taotp.program import Program
from taotp.resources import shipped_programs
from taotp.trace.cache import forward_with_cache
from taotp.vocab import id_vocab

FEW = settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), database=None)
TABLE = "examples/tables/colors.tsv"
SMALL = {"search": {"vocab_size": "12", "prefix_len": "3", "block": "30"},
         "lookup": {"table": TABLE}, "lookup_untied": {"table": TABLE}}


def ROOT():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent


def small(name: str) -> dict:
    return {k: str(ROOT() / v) if k == "table" else v for k, v in SMALL.get(name, {}).items()}


# -- the three proofs ---------------------------------------------------------------
@FEW
@given(n=st.integers(3, 28))
def test_sort_attends_to_the_next_larger_token(n):
    c = circuits(load_program("sort", {"n": str(n)}), samples=0)
    (head,) = c.heads
    t = head.tables["qk_tokens"]
    assert [int(t.best[a]) for a in range(n - 1)] == list(range(1, n))
    assert head.rules["qk_tokens"].kind == "next"
    assert "next one after it in vocabulary order" in head.summary
    assert head.tables["qk_positions"].flat          # pos_emb is zero: positions play no part


@FEW
@given(prefix=st.integers(2, 5), block=st.integers(12, 40))
def test_search_layer0_head_h_looks_h_back(prefix, block):
    prog = load_program("search", {"vocab_size": "10", "prefix_len": str(prefix), "block": str(block)})
    c = circuits(prog, layer=0, samples=0)
    assert [h.head for h in c.heads] == list(range(prefix + 1))
    for h in c.heads:
        t = h.tables["qk_positions"]
        for i in range(max(h.head, 1), block):     # position 0 sees one key: it prefers nothing
            assert t.best[i] == i - h.head, (h.head, i)
        assert (h.rules["qk_positions"].kind, h.rules["qk_positions"].arg) == ("back", h.head)
        assert h.tables["qk_tokens"].flat           # tokens never steer layer 0
        if h.head:
            assert f"the one {h.head} back" in h.summary and "copies the attended token" in h.summary
    assert "erases" in c.heads[0].summary           # head 0 cleans up (§3.4)


@FEW
@given(message=st.text(string.ascii_letters + string.digits + " !?.,", min_size=1, max_size=24))
def test_hello_positions_spell_the_message(message):
    prog = load_program("hello", {"message": message})
    c = circuits(prog)
    t = c.direct["direct_positions"]
    assert [t.cols[b] for b in t.best] == list(message) + ["<eos>"]
    if len(set(message)) > 1:
        assert repr(message + "<eos>") in c.direct_summary


# -- the tables are the machine's -----------------------------------------------------------------
def random_params(rng, shapes, vocab=5, block=6, d=6) -> Params:
    """Layers of their own shapes: (heads, d_head, d_ff) each."""
    g = lambda *s: rng.normal(size=s)
    layers = [Layer(g(h, d, k), g(h, d, k), g(h, d, k), g(h, d, k), g(d, f), g(f), g(f, d), g(d),
                    LayerNorm(1 + 0.1 * g(d), 0.1 * g(d)), LayerNorm(1 + 0.1 * g(d), 0.1 * g(d)))
              for h, k, f in shapes]
    return Params(g(vocab, d), g(block, d), layers, out_emb=g(vocab, d)).validate()


SHAPES = st.lists(st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(0, 7)), min_size=1, max_size=3)


@FEW
@given(seed=st.integers(0, 2**31 - 1), shapes=SHAPES)
def test_token_table_is_the_mean_score_over_positions(seed, shapes):
    """mean over i, j of score(LN(e_a + p_i), LN(e_b + p_j)) = the table, by bilinearity.
    The two sides sum in different orders: equal to 1e-9 relative (float64)."""
    p = random_params(np.random.default_rng(seed), shapes)
    L = p.layers[0]
    x = layer_norm(p.tok_emb[:, None, :] + p.pos_emb[None], L.ln1)       # (V, n, d)
    for h in range(L.n_heads):
        q, k = x @ L.Q[h], x @ L.K[h]                                       # (V, n, d_head)
        brute = np.einsum("aik,bjk->ab", q, k) / (q.shape[1] * k.shape[1]) / np.sqrt(L.d_head)
        tok, _ = qk_tables(L, h, embedding_basis(p, L.ln1), [str(i) for i in range(p.vocab_size)])
        assert np.allclose(tok.values, brute, rtol=1e-9, atol=1e-9 * np.abs(brute).max())


@FEW
@given(seed=st.integers(0, 2**31 - 1), shapes=SHAPES)
def test_layers_of_their_own_shapes_read_and_render(seed, shapes):
    p = random_params(np.random.default_rng(seed), shapes)
    prog = Program("rand", p, id_vocab(p.vocab_size), DecodeRule(steps=lambda k: 1))
    c = circuits(prog)
    assert [(h.layer, h.head) for h in c.heads] + c.idle == [
        (l, h) for l, L in enumerate(p.layers) for h in range(L.n_heads)]
    for h in c.heads:
        assert h.tables["qk_positions"].values.shape == (p.block_size, p.block_size)
        assert h.basis.kind == ("embeddings" if h.layer == 0 else "direct")    # no spec: direct path
    assert max(len(line) for line in render_plain(c).splitlines()) <= 80
    json.dumps(to_json(c), allow_nan=False)


def test_sampled_stream_is_the_engines():
    prog = load_program("add", {"n_digits": "1"})
    ids = [4, 10, 7, 11, 1]
    _, cache = forward_with_cache(prog.params, ids)
    (h1, h2), = layer_inputs(prog.params, ids)
    assert np.array_equal(h1, cache["blocks.0.ln1.hook_normalized"])
    assert np.array_equal(h2, cache["blocks.0.ln2.hook_normalized"])


# -- rules ---------------------------------------------------------------------------------------------
def _table(kind, values, rows_axis="tokens", cols_axis="tokens") -> Table:
    n, m = values.shape
    return Table(kind, rows_axis, cols_axis, values.astype(float), [str(i) for i in range(n)],
                 [str(i) for i in range(m)])


@given(n=st.integers(4, 30), k=st.integers(0, 3), scale=st.sampled_from([1.0, 1e6, 1e20]))
def test_back_rule_on_a_causal_ring(n, k, scale):
    """Scores peaking k back on a ring; the rule needs two rows that can see k back
    (with one, "any position to position 0" reads the table as well)."""
    assume(n >= k + 2)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    v = scale * np.cos(2 * np.pi * (j - (i - k)) / (2 * n))
    v[j > i] = np.nan
    rule = R.find_rule(_table("qk_positions", v, "positions", "positions"))
    assert (rule.kind, rule.arg) == ("back", k) and rule.holds == rule.of == n - max(k, 1)


@given(n=st.integers(3, 40), shift=st.integers(-3, 3))
def test_token_rules(n, shift):
    assume(n >= abs(shift) + 2)          # two rows that have a token `shift` away
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    rule = R.find_rule(_table("ov", -np.abs(j - i - shift)))
    assert (rule.kind, rule.arg) == (("same", None) if shift == 0 else ("shift", shift))
    assert R.find_rule(_table("qk_tokens", -j + 0 * i)).kind == "first"        # MIN
    assert R.find_rule(_table("qk_tokens", j + 0 * i)).kind == "last"          # MAX
    assert R.find_rule(_table("ov", 1.0 * (j == 1) + 0 * i)).kind == "alike"
    assert R.find_rule(_table("ov", np.zeros((n, n)))) is None                 # flat: no rule


# -- every program, and the views agree ------------------------------------------------------------
PAIR = re.compile(r"((?:'[^']*')|[^\s→']+)→((?:'[^']*')|[^\s→']+)")


def text_sections(text: str) -> dict[str, list[str]]:
    """Section title ("layer 0 head 1", "embeddings alone") -> its lines."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"(layer \d+ head \d+|layer \d+ MLP|embeddings alone|summary)\b", line)
        if m:
            cur = m.group(1)
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return out


def pairs_of(lines: list[str], title: str) -> list[tuple[str, str]]:
    """The row→column pairs listed under a table's line (until the next table)."""
    out, on = [], False
    for line in lines:
        if re.match(r"  \S", line):
            on = line.startswith(f"  {title} ")
            continue
        if on and "not following" not in line:
            out += PAIR.findall(line)
    return out


def summaries(lines: list[str]) -> dict[str, str]:
    """'head 0.1' / 'mlp 0' / 'embeddings' -> its summary, continuation lines joined."""
    out, key = {}, None
    for line in lines:
        m = re.match(r"  ((?:head|mlp) [\d.]+|embeddings|idle): (.*)", line)
        if m:
            key = m.group(1)
            out[key] = m.group(2)
        elif key and line.startswith("        "):
            out[key] += " " + line.strip()
    return out


def check_agree(text: str, js: dict) -> None:
    assert max(len(line) for line in text.splitlines()) <= 80
    sec = text_sections(text)
    said = summaries(sec["summary"])
    vocab = js["vocab"]
    col_label = lambda t, b: label(vocab[b]) if t["col_axis"] == "tokens" else str(b)
    row_label = lambda t, r: label(vocab[r]) if t["row_axis"] == "tokens" else str(r)

    def agree(section, tables, titles):
        for kind, title in titles.items():
            t = tables[kind]
            best = {row_label(t, r): col_label(t, b["col"]) for r, b in enumerate(t["best"]) if b}
            listed = pairs_of(sec[section], title)
            assert all(best.get(r) == c for r, c in listed), (section, title)
            assert bool(listed) == (not t["flat"]) or (t["rule"] or {}).get("kind") == "alike"

    if js["direct"]:
        assert said["embeddings"] == js["direct"]["summary"]
        agree("embeddings alone", js["direct"]["tables"], {"direct_tokens": "tokens", "direct_positions": "positions"})
    for h in js["heads"]:
        name = f"{h['layer']}.{h['head']}"
        assert said[f"head {name}"] == h["summary"]
        agree(f"layer {h['layer']} head {h['head']}", h["tables"],
              {"qk_tokens": "QK tokens", "qk_positions": "QK positions", "ov": "OV tokens"})
    for m in js["mlps"]:
        assert said[f"mlp {m['layer']}"] == m["summary"]
        rows = [ln for ln in sec[f"layer {m['layer']} MLP"] if re.match(r"  #\d+ ", ln)]
        for ln in rows:                                   # each listed spike: its units and token
            j = int(ln.split()[0][1:])
            s = m["spikes"]
            assert ln.split()[1] == f"{s['first_unit'][j]}-{s['first_unit'][j] + 2}"
            assert label(vocab[s["writes"][j]], 5) in ln and str(s["fired"][j]) in ln.split()
            assert f"({s['fired_at_output'][j]})" in ln.split()


@pytest.mark.parametrize("name", shipped_programs())
def test_every_shipped_program_reads_and_views_agree(name):
    prog = load_program(name, small(name))
    c = circuits(prog, samples=8)
    js = json.loads(json.dumps(to_json(c), allow_nan=False))
    check_agree(render_plain(c), js)
    assert len(js["heads"]) + len([i for i in js["idle"] if "head" in i]) == sum(
        L.n_heads for L in prog.params.layers)


def test_cli_text_and_json_agree():
    run = CliRunner().invoke
    args = ["circuits", "add_digit_mod", "--samples", "8"]
    text, js = run(main, args), run(main, args + ["--json"])
    assert text.exit_code == 0 and js.exit_code == 0, text.output + js.output
    check_agree(text.output, json.loads(js.output))


def test_spikes_of_add_digit_mod_write_each_sum_mod_10():
    """§6.4-6.6: spike s (s = 0..18) maps the layer-normed sum s to the embedding of s mod 10;
    run on all 100 inputs, every spike fires, at the sums it was placed for."""
    c = circuits(load_program("add_digit_mod"), samples=100)
    (m,) = c.mlps
    assert c.samples.mode == "exhaustive"
    s = m.spikes
    assert [c.tokens[w] for w in s.writes] == [str(k % 10) for k in range(19)]
    assert np.all(s.fired > 0)


@pytest.mark.parametrize("args, message", [
    (["sort", "--layer", "1"], "--layer 1: the program has only layer 0"),
    (["sort", "--head", "1"], "--head 1: no such head"),
    (["hello", "--layer", "0"], "the program has no layers"),
    (["sortt"], "did you mean 'sort'"),
])
def test_cli_refuses_what_the_program_lacks(args, message):
    r = CliRunner().invoke(main, ["circuits", *args])
    assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output


def test_cli_pictures_and_page(tmp_path):
    r = CliRunner().invoke(main, ["circuits", "sort", "--set", "n=6", "--set", "block=12", "--png",
                                  str(tmp_path / "png"), "--html", str(tmp_path / "sort.html")])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["embeddings.png", "head_L0_H0.png"]
    page = (tmp_path / "sort.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<script" not in page and "http" not in page
    assert "each token to the next one after it" in page


@given(read=st.integers(0, 4), write=st.integers(0, 4))
def test_a_neuron_reads_and_writes_its_tokens(read, write):
    """A hand-set neuron (not a spike): its input row is token `read`'s layer-normed
    embedding, its output row token `write`'s embedding. With attention writing nothing,
    the MLP is read on the embeddings exactly."""
    V, d = 5, 5
    tok = np.eye(V) * 3 - 0.6                          # rows of mean 0: LN leaves their direction
    L = Layer.zeros(1, d, 1, 2)
    L.M1[:, 0] = layer_norm(tok[read])
    L.b1[0] = -1.0
    L.M2[0] = tok[write]
    prog = Program("neuron", Params(tok, np.zeros((3, d)), [L]).validate(), id_vocab(V),
                   DecodeRule(steps=lambda k: 1))
    c = circuits(prog)
    (m,) = c.mlps
    assert m.basis.kind == "embeddings" and m.spikes is None
    assert m.neurons.units.tolist() == [0]                  # unit 1 is all zero: not listed
    assert (m.neurons.reads[0], m.neurons.writes[0]) == (read, write)
    assert c.idle == [(0, 0)]
