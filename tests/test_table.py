"""The lookup-table file format (taotp/builtins/table.py): round trips and clean errors."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taotp.builtins import BuiltinContext
from taotp.builtins.table import parse_table, read_table, read_table_file
from taotp.errors import TaotpError

# Tokens: any whitespace-free strings not starting with '#' (which would start a comment).
token = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=6) \
    .filter(lambda t: not t.startswith("#") and not any(c.isspace() for c in t))


@st.composite
def tables(draw, min_size=1):
    key_len = draw(st.integers(1, 4))
    keys = draw(st.lists(st.tuples(*[token] * key_len), min_size=min_size, max_size=12, unique=True))
    values = draw(st.lists(token, min_size=len(keys), max_size=len(keys)))
    return key_len, keys, values


def render(keys, values, comments=(), blank_every=0):
    """Table text with optional comment lines and blank lines sprinkled in."""
    lines = []
    for i, (k, v) in enumerate(zip(keys, values)):
        if comments:
            lines.append(f"# {comments[i % len(comments)]}")
        if blank_every and i % blank_every == 0:
            lines.append("   ")
        sep = "  " if i % 2 else " "
        lines.append(sep.join(k) + "\t" + v + ("   # trailing" if i % 3 == 0 else ""))
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None)
@given(tables(), st.lists(st.text(st.characters(blacklist_characters="\n"), max_size=10), max_size=3),
       st.integers(0, 3))
def test_round_trip(table, comments, blank_every):
    key_len, keys, values = table
    rec = parse_table(render(keys, values, comments, blank_every), "t.tsv")
    toks = rec.get("tokens")
    assert rec.get("key_len") == key_len and rec.get("size") == len(keys)
    assert [tuple(toks[i] for i in row) for row in rec.get("keys")] == keys
    assert [toks[i] for i in rec.get("values")] == values
    # the vocabulary: every token used, once, in order of first appearance
    order = list(dict.fromkeys(t for k, v in zip(keys, values) for t in (*k, v)))
    assert toks == order


@settings(max_examples=30, deadline=None)
@given(tables(), st.data())
def test_identical_duplicates_are_kept_once(table, data):
    _, keys, values = table
    i = data.draw(st.integers(0, len(keys) - 1))
    rec = parse_table(render(keys + [keys[i]], values + [values[i]]), "t.tsv")
    assert rec.get("size") == len(keys)


BAD_LINES = {
    "no tab": ("a b c", "no TAB on this line"),
    "three fields": ("a b\tc\td", "expected 2 TAB-separated fields"),
    "two values": ("a b\tc d", "the value must be exactly one token, got 2 tokens"),
    "no value": ("a b\t", "the value must be exactly one token, got nothing"),
    "empty key": ("\tc", "the key is empty"),
}


@settings(max_examples=40, deadline=None)
@given(tables(min_size=2), st.sampled_from(sorted(BAD_LINES)), st.data())
def test_bad_line_is_named(table, kind, data):
    _, keys, values = table
    text_lines = render(keys, values).splitlines()
    at = data.draw(st.integers(0, len(text_lines)))
    bad, words = BAD_LINES[kind]
    text_lines.insert(at, bad)
    with pytest.raises(TaotpError) as e:
        parse_table("\n".join(text_lines), "my.tsv")
    assert f"my.tsv:{at + 1}: " in str(e.value) and words in str(e.value)


@settings(max_examples=30, deadline=None)
@given(tables(min_size=2), st.data())
def test_key_of_another_length_is_named(table, data):
    key_len, keys, values = table
    text_lines = render(keys, values).splitlines()
    at = data.draw(st.integers(1, len(text_lines)))
    text_lines.insert(at, " ".join(["x"] * (key_len + 1)) + "\ty")
    with pytest.raises(TaotpError, match=rf"my.tsv:{at + 1}: this key has {key_len + 1} tokens but the key on line 1"):
        parse_table("\n".join(text_lines), "my.tsv")


@settings(max_examples=30, deadline=None)
@given(tables(), st.data())
def test_conflicting_duplicate_is_named(table, data):
    _, keys, values = table
    i = data.draw(st.integers(0, len(keys) - 1))
    other = values[i] + "x"
    text = render(keys, values) + " ".join(keys[i]) + "\t" + other + "\n"
    with pytest.raises(TaotpError) as e:
        parse_table(text, "my.tsv")
    msg = str(e.value)
    assert f"my.tsv:{len(keys) + 1}: " in msg and f"on line {i + 1}" in msg and repr(other) in msg


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n   \n# another\n"])
def test_empty_table(text):
    with pytest.raises(TaotpError, match="my.tsv: the table has no entries"):
        parse_table(text, "my.tsv")


def test_comment_only_when_it_starts_a_field():
    rec = parse_table("C# b\tx#y  # a comment\n", "t.tsv")
    assert rec.get("tokens") == ["C#", "b", "x#y"]


def test_file_errors(tmp_path):
    with pytest.raises(TaotpError, match="not found"):
        read_table_file(tmp_path / "missing.tsv")
    with pytest.raises(TaotpError, match="is a folder"):
        read_table_file(tmp_path)
    binary = tmp_path / "bin.tsv"
    binary.write_bytes(b"a\tb\n\xff\xfe\x00")
    with pytest.raises(TaotpError, match="not UTF-8"):
        read_table_file(binary)


def test_paths_from_the_command_line_current_folder_first_then_program_folder(tmp_path, monkeypatch):
    """A path given with --set is the user's: looked up in the current folder, then next to
    the program."""
    prog_dir, cwd = tmp_path / "prog", tmp_path / "cwd"
    prog_dir.mkdir()
    cwd.mkdir()
    (prog_dir / "t.tsv").write_text("a\tb\n")
    (prog_dir / "both.tsv").write_text("p\tq\n")
    (cwd / "both.tsv").write_text("c\td\n")
    monkeypatch.chdir(cwd)
    ctx = BuiltinContext(base_dir=prog_dir, given_paths=frozenset({"t.tsv", "both.tsv", "nope.tsv"}))
    assert read_table(ctx, "t.tsv").get("tokens") == ["a", "b"]
    assert read_table(ctx, "both.tsv").get("tokens") == ["c", "d"]
    with pytest.raises(TaotpError, match="'nope.tsv' not found"):
        read_table(ctx, "nope.tsv")
    with pytest.raises(TaotpError, match="needs a file path"):
        read_table(ctx, "")


def test_a_program_reads_only_inside_its_own_folder(tmp_path, monkeypatch):
    """A path the program writes itself is relative to its folder and must stay inside it:
    no /etc/passwd, no ../secret, no /dev/zero - unless the user names the file with --set."""
    prog_dir = tmp_path / "prog"
    (prog_dir / "sub").mkdir(parents=True)
    (prog_dir / "sub" / "t.tsv").write_text("a\tb\n")
    (tmp_path / "secret.tsv").write_text("s\tt\n")
    (prog_dir / "cwd.tsv").write_text("p\tq\n")
    monkeypatch.chdir(tmp_path)
    ctx = BuiltinContext(base_dir=prog_dir)
    assert read_table(ctx, "sub/t.tsv").get("tokens") == ["a", "b"]
    for path in ("/etc/passwd", "../secret.tsv", str(tmp_path / "secret.tsv"), "/dev/zero", "sub/../../secret.tsv"):
        with pytest.raises(TaotpError, match="only inside its own folder") as e:
            read_table(ctx, path)
        assert "root:" not in str(e.value)
    given = BuiltinContext(base_dir=prog_dir, given_paths=frozenset({"secret.tsv"}))
    assert read_table(given, "secret.tsv").get("tokens") == ["s", "t"]


def test_devices_and_huge_files_are_refused(tmp_path):
    ctx = BuiltinContext(base_dir=tmp_path, given_paths=frozenset({"/dev/zero"}))
    with pytest.raises(TaotpError, match="not a regular file"):
        read_table(ctx, "/dev/zero")
    big = tmp_path / "big.tsv"
    with open(big, "wb") as f:
        f.truncate(2**36)                       # 64 GB, sparse: nothing is written
    with pytest.raises(TaotpError, match="memory budget"):
        read_table(BuiltinContext(base_dir=tmp_path), "big.tsv")


def test_the_cli_reads_only_what_the_program_or_the_user_names(tmp_path):
    from click.testing import CliRunner

    from taotp.cli import main

    prog = tmp_path / "p.taotp"
    prog.write_text('let t = read_table("/etc/passwd")\nvocab words(t.tokens)\nmodel block=2, d_model=2\n')
    r = CliRunner().invoke(main, ["run", str(prog), "-i", "a"])
    assert r.exit_code == 1 and f"{prog}:1:9:" in r.output and "only inside its own folder" in r.output
    assert "root:x" not in r.output and ":/bin/" not in r.output   # no line of the file


def test_example_tables_parse():
    folder = Path(__file__).resolve().parent.parent / "examples" / "tables"
    for path in folder.glob("*.tsv"):
        rec = read_table_file(path)
        assert rec.get("size") >= 1 and np.all(rec.get("values") < len(rec.get("tokens")))


@settings(max_examples=20, deadline=None)
@given(tables())
def test_windows_line_endings(table):
    _, keys, values = table
    text = render(keys, values).replace("\n", "\r\n")
    rec = parse_table(text, "t.tsv")
    toks = rec.get("tokens")
    assert [toks[i] for i in rec.get("values")] == values
