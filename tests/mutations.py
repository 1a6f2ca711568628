"""Mutations of .taotp programs and random inputs, for the fuzz test (tests/test_fuzz.py)
and the longer campaign (tools/fuzz_campaign.py). Plain functions of a random.Random, so
both can draw from them: a mutation changes a number, a name, an operator, a string, a
line's indentation, deletes/duplicates/swaps lines or characters, or inserts a statement
known to be hostile (a 10^12-step loop, a gigabyte string, a catastrophic regex...)."""

from __future__ import annotations

import random
import re

NUMBERS = ["0", "1", "-1", "2", "3", "7", "28", "100", "0.5", "-0.5", "1e-300", "1e300", "10**6", "10**9",
           "10**12", "2**62", "1e20", "3.5", "999999999999999999999"]
NAMES = ["n", "block", "vocab", "model", "tok_emb", "pos_emb", "out_emb", "Q", "K", "V", "P", "M1", "b1", "M2",
         "b2", "eye", "zeros", "ones", "ring3d", "ring3d_array", "len", "range", "arange", "spike_mlp",
         "layer_norm", "token", "tokens", "input_len", "pi", "inf", "x", "undefined_name"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "@", "**", "==", "<", ">=", "and", "or", ",", ":", "="]
STRINGS = ['""', '"x"', '"<bos>"', '"(a+)+b"', '"(("', '"\\\\q"', '"' + "z" * 300 + '"', '"[0-9]+"']
HOSTILE = [
    "for i in range(10**12):\n  for j in range(10**12):\n    let x = i\n",
    'let s = "0" * 10**9\n',
    'let s = "ab"\nfor i in range(64):\n  s = s + s\n',
    "let r = ring3d_array(10**9)\n",
    "let m = spike_mlp(arange(10**8), zeros(10**8))\n",
    "let m = spike_mlp(arange(10**7), zeros(10**7))\n",
    'let t = read_table("/dev/zero")\n',
    'let t = read_table("/etc/passwd")\n',
    'let t = read_table("../../../../../../etc/hostname")\n',
    "let a = ones([3000, 3000])\nlet b = a @ a @ a @ a @ a\n",
    "let z = [zeros([1000, 1000]) for i in range(1000)]\n",
    "let a1 = zeros([6000, 6000])\nlet a2 = zeros([6000, 6000])\nlet a3 = zeros([6000, 6000])\n",
    "let big = list(range(10**9))\n",
    "let p = product(range(10**5), range(10**5))\n",
    'input matches "(a+)+b", "x"\n',
    'input matches "(.*)*x", "x"\n',
    'input matches "(", "x"\n',
    "let y = (-8) ** 0.5\n",
    "let q = 10 ** 10 ** 10\n",
    "let q = 2.0 ** 5000\n",
    "def f(k):\n  return f(k + 1)\nlet w = f(0)\n",
    "let u = len()\n",
    "let u = eye(3)[7]\n",
    "let u = eye(3)[0, 0, 0]\n",
    "assert False, [zeros(3), 2.5]\n",
    "let v = ints(10**7)\n",
    "let v = sqrt(-1)\n",
    "print zeros([3, 3])\n",
    "exact in float32\n",
    "exact in float16\n",
    "decode steps = 10**9\n",
    "let k = int(inf)\n",
    "let k = tile(ones(10), [10**5, 10**5])\n",
    "let k = solve(ones([3000, 3000]), ones(3000))\n",
]
_NUMBER = re.compile(r"(?<![\w.])\d[\d_]*(\.\d*)?([eE][-+]?\d+)?")
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")
_OP = re.compile(r"\*\*|//|==|>=|<=|[-+*/%@<>=,:]")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def _replace_match(rng: random.Random, src: str, pattern: re.Pattern, choices) -> str:
    found = list(pattern.finditer(src))
    if not found:
        return src
    m = rng.choice(found)
    return src[:m.start()] + rng.choice(choices) + src[m.end():]


def _lines(src: str) -> list[str]:
    return src.split("\n")


def mutate_once(rng: random.Random, src: str) -> str:
    op = rng.choice(["number", "number", "number", "name", "operator", "string", "indent", "delete_line",
                     "dup_line", "swap_lines", "char", "hostile", "hostile"])
    if op == "number":
        return _replace_match(rng, src, _NUMBER, NUMBERS)
    if op == "name":
        names = list({m.group() for m in _NAME.finditer(src)}) + NAMES
        return _replace_match(rng, src, _NAME, names)
    if op == "operator":
        return _replace_match(rng, src, _OP, OPERATORS)
    if op == "string":
        return _replace_match(rng, src, _STRING, STRINGS)
    lines = _lines(src)
    i = rng.randrange(len(lines))
    if op == "indent":
        lines[i] = rng.choice(["  ", " ", "\t", "    "]) + lines[i] if rng.random() < 0.6 else lines[i].lstrip()
    elif op == "delete_line":
        del lines[i]
    elif op == "dup_line":
        lines.insert(i, lines[i])
    elif op == "swap_lines" and i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    elif op == "hostile":
        indent = re.match(r"[ \t]*", lines[i]).group() if rng.random() < 0.3 else ""
        snippet = "".join(indent + line + "\n" for line in rng.choice(HOSTILE).splitlines())
        lines.insert(i, snippet.rstrip("\n"))
    elif op == "char":
        text = "\n".join(lines)
        j = rng.randrange(len(text) + 1)
        kind = rng.choice(["delete", "insert", "dup"])
        if kind == "delete":
            return text[:j] + text[j + 1:]
        if kind == "insert":
            return text[:j] + rng.choice(list("()[]:=,+-*@#\"' \n\tx0.e")) + text[j:]
        return text[:j] + text[j:j + 5] + text[j:]
    return "\n".join(lines)


def mutate(rng: random.Random, src: str, max_ops: int = 3) -> str:
    for _ in range(rng.randint(1, max_ops)):
        src = mutate_once(rng, src)
    return src


def random_input(rng: random.Random, tokens: list[str], words: bool, valid: list[str]) -> str:
    """An input for a program: a valid one (or one changed a little), tokens of its vocabulary
    in random order, random characters, or something long or odd."""
    kind = rng.choice(["valid", "valid", "changed", "tokens", "tokens", "chars", "long", "odd"])
    if kind == "valid" and valid:
        return rng.choice(valid)
    if kind == "changed" and valid:
        text = rng.choice(valid)
        j = rng.randrange(len(text) + 1)
        return text[:j] + rng.choice(["", " ", "0", "x", "=", "<bos>"]) + text[j + 1:]
    if kind in ("tokens", "changed") and tokens:
        picked = [rng.choice(tokens) for _ in range(rng.randint(0, 30))]
        return (" " if words else "").join(picked)
    if kind == "long":
        base = rng.choice(tokens) if tokens else "a"
        return ((base + " ") if words else base) * rng.choice([200, 5000, 200_000])
    if kind == "odd":
        return rng.choice(["", " ", "\t", "é", "\u202e", "\x00", "0 " * 3, "-1", "1e5", "((((", "a" * 40 + "!"])
    return "".join(rng.choice("0123456789+= abcxyz!<>") for _ in range(rng.randint(0, 40)))
