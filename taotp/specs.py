"""Specs: the behaviour a program claims to implement (`spec NAME` in a .taotp file).

A Spec is plain Python, independent of any transformer:

- reference(settings, input_text) -> expected output text (as `taotp run` prints it);
- strategy(settings) -> a Hypothesis strategy of valid input texts;
- sample(settings, rng) -> one random valid input (numpy Generator; fast, for
  `taotp check --samples`); optional, the strategy is used when absent;
- enumerate(settings) -> iterator over every valid input, or None when the space
  is not finite/enumerable; size(settings) -> how many inputs enumerate yields.

`settings` is the program's parameter values plus what the program itself fixes
(see `settings_of`): block, vocab_size, tokens, words (True when the vocabulary
splits on spaces). Register your own with `taotp.specs.register(...)`, or write it in
the program itself (`spec expected=F, inputs=D`: taotp/spec_lang builds its Spec).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Iterable

from .errors import UsageError, did_you_mean


@dataclass(frozen=True)
class Spec:
    name: str
    reference: Callable[[dict, str], str]
    strategy: Callable[[dict], object]
    enumerate: Callable[[dict], Iterable[str]] | None = None
    size: Callable[[dict], int | None] | None = None
    sample: Callable[[dict, object], str] | None = None
    description: str = ""
    complete: bool = True  # enumerate covers every valid input (not just the essential ones)

    def space_size(self, settings: dict) -> int | None:
        return None if self.size is None or self.enumerate is None else self.size(settings)


REGISTRY: dict[str, Spec] = {}


def register(name: str, reference, strategy, enumerate=None, size=None, sample=None,
             description: str = "", complete: bool = True, replace: bool = False) -> Spec:
    """Register a spec under `name` (refuses to replace one unless replace=True)."""
    if name in REGISTRY and not replace:
        raise UsageError(f"a spec named {name!r} is already registered (pass replace=True)")
    spec = Spec(name, reference, strategy, enumerate, size, sample, description, complete)
    REGISTRY[name] = spec
    return spec


def get(name: str) -> Spec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown spec {name!r}; known specs: {', '.join(sorted(REGISTRY))}",
                         hint=did_you_mean(name, REGISTRY)) from None


def names() -> list[str]:
    return sorted(REGISTRY)


def settings_of(program) -> dict:
    """The settings a spec sees: the program's params, plus block, vocab_size, tokens
    (the vocabulary without the decode rule's prefix/stop tokens) and words."""
    s = dict(program.settings)
    specials = set(program.rule.prefix) | ({program.rule.stop} if program.rule.stop is not None else set())
    s.setdefault("block", program.params.block_size)
    s.setdefault("vocab_size", program.params.vocab_size)
    s["tokens"] = [t for i, t in enumerate(program.vocab.tokens) if i not in specials]
    s["words"] = program.vocab.mode == "words"
    s["input_room"] = program.params.block_size - len(program.rule.prefix)
    if program.source_path:
        from pathlib import Path

        s["_base_dir"] = str(Path(program.source_path).parent)
    return s


def _st():
    import hypothesis.strategies as st  # a test dependency: imported only when a strategy is asked for

    return st


def _int(settings: dict, key: str, default=None) -> int:
    if key not in settings and default is None:
        raise UsageError(f"this spec needs the program parameter {key!r}")
    try:
        return int(settings.get(key, default))
    except (TypeError, ValueError):
        raise UsageError(f"parameter {key!r} should be an integer, got {settings[key]!r}") from None


def _words(xs) -> str:
    return " ".join(str(x) for x in xs)


def _ints(text: str) -> list[int]:
    return [int(t) for t in text.split()]


# -- hello (ch. 2) -----------------------------------------------------------------------

register(
    "hello",
    reference=lambda s, text: str(s["message"]),
    strategy=lambda s: _st().just(""),
    enumerate=lambda s: iter([""]),
    size=lambda s: 1,
    sample=lambda s, rng: "",
    description="no input; prints the message (book ch. 2)",
)


# -- min / max (§5.1): words of ints in [0, n), repeats allowed ------------------------------

def _minmax_len(s) -> int:
    return max(1, min(_int(s, "block", _int(s, "n")), s.get("input_room", 10**9)))


def _minmax_size(s) -> int:
    n, L = _int(s, "n"), _minmax_len(s)
    return sum(n ** k for k in range(1, L + 1))


def _minmax_enum(s):
    n, L = _int(s, "n"), _minmax_len(s)
    for k in range(1, L + 1):
        for xs in itertools.product(range(n), repeat=k):
            yield _words(xs)


def _minmax_strategy(s):
    st = _st()
    return st.lists(st.integers(0, _int(s, "n") - 1), min_size=1, max_size=_minmax_len(s)).map(_words)


def _minmax_sample(s, rng):
    k = int(rng.integers(1, _minmax_len(s) + 1))
    return _words(rng.integers(0, _int(s, "n"), k))


for _name, _fn in (("min", min), ("max", max)):
    register(
        _name,
        reference=lambda s, text, fn=_fn: str(fn(_ints(text))),
        strategy=_minmax_strategy, enumerate=_minmax_enum, size=_minmax_size, sample=_minmax_sample,
        description=f"the {_name}imum of 1..block numbers in [0, n) (book §5.1)",
    )


# -- sort (ch. 5): distinct ints in [1, n), then 0 ------------------------------------------

def _sort_max_k(s) -> int:
    # k numbers + the 0, then k - 1 more positions: 2k <= block (decode steps = input_len - 1)
    return max(1, min(_int(s, "n") - 1, s.get("input_room", _int(s, "block")) // 2))


def _sort_size(s) -> int:
    m = _int(s, "n") - 1
    return sum(math.perm(m, k) for k in range(1, _sort_max_k(s) + 1))


def _sort_enum(s):
    m = _int(s, "n") - 1
    for k in range(1, _sort_max_k(s) + 1):
        for xs in itertools.permutations(range(1, m + 1), k):
            yield _words(xs + (0,))


def _sort_strategy(s):
    st = _st()
    return st.lists(st.integers(1, _int(s, "n") - 1), min_size=1, max_size=_sort_max_k(s),
                    unique=True).map(lambda xs: _words(xs + [0]))


def _sort_sample(s, rng):
    k = int(rng.integers(1, _sort_max_k(s) + 1))
    return _words(list(rng.permutation(_int(s, "n") - 1)[:k] + 1) + [0])


register(
    "sort", reference=lambda s, text: _words(sorted(x for x in _ints(text) if x != 0)),
    strategy=_sort_strategy, enumerate=_sort_enum, size=_sort_size, sample=_sort_sample,
    description="distinct numbers in [1, n) followed by 0 -> them in ascending order (book ch. 5)",
)


# -- search (ch. 4) ---------------------------------------------------------------------------

def _join(s, toks) -> str:
    return " ".join(toks) if s.get("words", True) else "".join(toks)


def _split(s, text) -> list[str]:
    if s.get("words", True):
        return text.split()
    return list(text)


def _search_occurrences(toks: list, m: int) -> list[int]:
    """Start indices of every earlier occurrence of the last m tokens."""
    t = len(toks)
    q = toks[t - m:]
    first = q[0] if m else None
    return [i for i in range(0, t - m) if (not m or toks[i] == first) and toks[i:i + m] == q]


def _search_found(toks: list, m: int) -> int | None:
    """Where the one earlier occurrence of the query starts, if the input is valid (book
    ch. 4): the query occurs exactly once earlier, and that occurrence (with the token
    after it) ends before the final occurrence begins. Position j < m has fewer than m
    tokens before it; the construction's relative attention then reads the first token
    in their place, so the query must not match such a padded window either."""
    occ = _search_occurrences(toks, m)
    if len(occ) != 1 or occ[0] > len(toks) - 2 * m:
        return None
    q = toks[len(toks) - m:]
    if m and toks and q[0] != toks[0]:   # every padded window starts with the first token
        return occ[0]
    if any([toks[max(0, x)] for x in range(j - m, j)] == q for j in range(min(m, len(toks)))):
        return None
    return occ[0]


def _search_valid(toks: list, m: int) -> bool:
    return _search_found(toks, m) is not None


def _search_reference(s, text):
    toks = _split(s, text)
    m = _int(s, "prefix_len")
    at = _search_found(toks, m)
    if at is None:
        raise UsageError(f"search input {text!r}: the last {m} tokens must occur exactly once earlier, "
                         f"not overlapping their last occurrence")
    return toks[at + m]


def _search_len_range(s):
    m = _int(s, "prefix_len")
    return 2 * m + 1, max(2 * m + 1, s.get("input_room", _int(s, "block")))


def _search_build(s, choose_len, choose_toks, choose_pos, tries=100):
    """choose_toks(k): k token indices (one draw each, in order)."""
    m = _int(s, "prefix_len")
    vocab = s["tokens"]
    for _ in range(tries):
        L = choose_len()
        body = [vocab[i] for i in choose_toks(L - m)]
        q = [vocab[i] for i in choose_toks(m)]
        i = choose_pos(L - 2 * m)          # earlier occurrence at i..i+m-1, then a following token
        body[i:i + m] = q
        toks = body + q
        if _search_valid(toks, m):
            return _join(s, toks)
    raise UsageError("could not build a SEARCH input with a unique earlier occurrence "
                     "(is the vocabulary too small for prefix_len?)")


def _search_sample(s, rng):
    lo, hi = _search_len_range(s)
    V = len(s["tokens"])
    # rng.integers(V, size=k) draws what k calls of rng.integers(V) draw, in one call
    return _search_build(s, lambda: int(rng.integers(lo, hi + 1)), lambda k: rng.integers(V, size=k).tolist(),
                         lambda n: int(rng.integers(n + 1)))


def _search_strategy(s):
    st = _st()
    lo, hi = _search_len_range(s)
    m, vocab = _int(s, "prefix_len"), s["tokens"]

    @st.composite
    def draw_input(draw):
        L = draw(st.integers(lo, hi))
        body = draw(st.lists(st.sampled_from(vocab), min_size=L - m, max_size=L - m))
        q = draw(st.lists(st.sampled_from(vocab), min_size=m, max_size=m))
        i = draw(st.integers(0, L - 2 * m))
        body[i:i + m] = q
        toks = body + q
        from hypothesis import assume

        assume(_search_valid(toks, m))
        return _join(s, toks)

    return draw_input()


register(
    "search", reference=_search_reference, strategy=_search_strategy, sample=_search_sample,
    description="the token that followed the one earlier occurrence of the last prefix_len tokens (book ch. 4)",
)


# -- lookup (ch. 3) -----------------------------------------------------------------------------

def _table(s):
    """The program's table: settings['table'] is the file it was compiled from."""
    cached = s.get("_table")
    if cached is not None:
        return cached
    from pathlib import Path

    from .builtins.table import read_table_file

    if "table" not in s:
        raise UsageError("the lookup spec needs the program parameter 'table' (the table file)")
    path = Path(str(s["table"])).expanduser()
    if not path.is_absolute() and s.get("_base_dir") and not path.exists():
        path = Path(s["_base_dir"]) / path
    rec = read_table_file(path, str(s["table"]))
    toks = rec.get("tokens")
    table = {tuple(toks[i] for i in k): toks[v] for k, v in zip(rec.get("keys"), rec.get("values"))}
    s["_table"] = table
    return table


def _lookup_key_len(s) -> int:
    return len(next(iter(_table(s))))


def _lookup_reference(s, text):
    toks = _split(s, text)
    key = tuple(toks[-_lookup_key_len(s):])
    try:
        return _table(s)[key]
    except KeyError:
        raise UsageError(f"lookup input {text!r}: its last tokens {' '.join(key)!r} are not a key of the table")


def _lookup_keys(s) -> list:
    return sorted(_table(s))


def _lookup_max_prefix(s) -> int:
    return max(0, int(s.get("input_room", _lookup_key_len(s))) - _lookup_key_len(s))


def _lookup_strategy(s):
    st = _st()
    keys = _lookup_keys(s)
    prefix = st.lists(st.sampled_from(s["tokens"]), max_size=min(_lookup_max_prefix(s), 8))
    return st.tuples(prefix, st.sampled_from(keys)).map(lambda pk: _join(s, list(pk[0]) + list(pk[1])))


def _lookup_sample(s, rng):
    keys = _lookup_keys(s)
    key = keys[int(rng.integers(len(keys)))]
    n_pre = int(rng.integers(0, min(_lookup_max_prefix(s), 8) + 1)) if rng.random() < 0.5 else 0
    pre = [s["tokens"][int(i)] for i in rng.integers(0, len(s["tokens"]), n_pre)]
    return _join(s, pre + list(key))


for _name in ("lookup", "lookup_untied"):
    register(
        _name, reference=_lookup_reference, strategy=_lookup_strategy,
        enumerate=lambda s: (_join(s, list(k)) for k in _lookup_keys(s)),
        size=lambda s: len(_table(s)), sample=_lookup_sample, complete=False,  # keys without prefixes
        description="the value of the table's key formed by the last tokens (book ch. 3)",
    )


# -- addition (ch. 6) -----------------------------------------------------------------------------

def _digits(s) -> int:
    return _int(s, "n_digits")


def _add_parse(text: str, nd: int) -> tuple[int, int]:
    a, _, b = text.rstrip("=").partition("+")
    return int(a), int(b)


def _pair_text(a: int, b: int, nd: int) -> str:
    return f"{a:0{nd}d}+{b:0{nd}d}="


def _pairs_spec(name, nd_of, text_of, out_of, description):
    def enum(s):
        nd = nd_of(s)
        top = 10 ** nd
        return (text_of(a, b, nd) for a in range(top) for b in range(top))

    def strategy(s):
        st = _st()
        top = 10 ** nd_of(s) - 1
        return st.tuples(st.integers(0, top), st.integers(0, top)).map(lambda ab: text_of(*ab, nd_of(s)))

    def sample(s, rng):
        nd = nd_of(s)
        a, b = (int(v) for v in rng.integers(0, 10 ** nd, 2))
        return text_of(a, b, nd)

    register(name, reference=lambda s, text: out_of(text, nd_of(s)), strategy=strategy,
             enumerate=enum, size=lambda s: 10 ** (2 * nd_of(s)), sample=sample, description=description)


_pairs_spec("add_digit_mod", lambda s: 1, lambda a, b, nd: f"{a}{b}",
            lambda text, nd: str((int(text[0]) + int(text[1])) % 10),
            "two digits 'ab' -> (a + b) mod 10 (book §6.4-6.6)")
_pairs_spec("add_mod", _digits, _pair_text,
            lambda text, nd: str(sum(_add_parse(text, nd)) % 10),
            "'12+33=' -> last digit of the sum, n_digits-digit numbers (book §6.7)")
_pairs_spec("add", _digits, _pair_text,
            lambda text, nd: f"{sum(_add_parse(text, nd)):0{nd + 1}d}",
            "'45+78=' -> '123': zero-padded n_digits-digit numbers, n_digits+1-digit sum (book §6.8)")


# -- addition without zero padding (exercise 6.20) ------------------------------------------------

def _unpadded_enum(s):
    top = 10 ** _digits(s)
    return (f"{a}+{b}=" for a in range(top) for b in range(top))


def _unpadded_strategy(s):
    st = _st()
    top = 10 ** _digits(s) - 1
    # numbers of every length are likely: draw the length, then the number
    num = st.integers(1, _digits(s)).flatmap(
        lambda k: st.integers(0 if k == 1 else 10 ** (k - 1), 10 ** k - 1)) | st.integers(0, top)
    return st.tuples(num, num).map(lambda ab: f"{ab[0]}+{ab[1]}=")


def _unpadded_sample(s, rng):
    nd = _digits(s)
    ab = []
    for _ in range(2):
        k = int(rng.integers(1, nd + 1))
        ab.append(int(rng.integers(0 if k == 1 else 10 ** (k - 1), 10 ** k)))
    return f"{ab[0]}+{ab[1]}="


register(
    "add_unpadded", reference=lambda s, text: str(sum(_add_parse(text, _digits(s)))),
    strategy=_unpadded_strategy, enumerate=_unpadded_enum, size=lambda s: 10 ** (2 * _digits(s)),
    sample=_unpadded_sample,
    description="'84+88=' -> '172', '4+8=' -> '12': numbers of 1..n_digits digits, no padding "
                "(book exercise 6.20)",
)


from . import spec_arith  # noqa: E402,F401  (long_add, long_sub: arithmetic at any length)
from . import spec_sorting  # noqa: E402,F401  sort_ints, min_ints, max_ints (registers on import)
from . import spec_mul  # noqa: E402,F401  (multiplication, book exercise 6.21)
