"""What a spec's function reads and binds, found in its syntax tree (capture.py keeps
what it reads from outside; compiled.py reads those names once)."""

from __future__ import annotations

from lark import Token, Tree

WEIGHTS = ("tok_emb", "pos_emb", "out_emb", "Q", "K", "V", "P", "M1", "b1", "M2", "b2")


def read_names(node: Tree):
    """(name, first node, attributes read as name.attr or None) for every name a function
    reads that it does not bind itself (parameters, let, for, comprehension variables,
    nested defs are its own)."""
    own, seen = own_names(node)
    for name, (first, attrs, plain) in seen.items():
        if name not in own:
            yield name, first, (None if plain else sorted(attrs))


def own_names(node: Tree) -> tuple[set, dict]:
    """(the names a function binds itself, {name read: [first node, attributes, read plainly]})."""
    own: set = set()
    seen: dict[str, list] = {}
    _collect(node, own, seen, top=True)
    return own, seen


def rebound_outside(node: Tree):
    """Assignments (`x = ...`) to names the function does not bind itself: a spec's
    function may not change what it sees from outside (checks would depend on order)."""
    own, _ = own_names(node)
    for sub in node.iter_subtrees_topdown():
        if sub.data == "assign_stmt" and sub.children[0].data == "name" and str(sub.children[0].children[0]) not in own \
                and str(sub.children[0].children[0]) not in WEIGHTS:
            yield sub.children[0], str(sub.children[0].children[0])


def machine_statements(node: Tree):
    """(node, what it does) for each statement of a function that builds the machine."""
    for sub in node.iter_subtrees_topdown():
        if sub.data in ("layer_block", "head_block"):
            yield sub, f"open a `{sub.data.split('_')[0]}` block"
        elif sub.data == "assign_stmt":
            target = sub.children[0]
            base = target.children[0] if target.data == "index" else target
            if isinstance(base, Tree) and base.data == "name" and str(base.children[0]) in WEIGHTS:
                yield sub, f"write the weight {base.children[0]}"


def _collect(node, own: set, seen: dict, top: bool = False):
    if isinstance(node, Token) or node is None:
        return
    kind = node.data
    if kind == "def_block":
        name, *params, body = node.children
        if not top:
            own.add(str(name))
        own.update(str(p) for p in params if p is not None)
        _collect(body, own, seen)
        return
    if kind in ("let_stmt", "for_block"):
        own.add(str(node.children[0]))
    elif kind == "listcomp":
        own.add(str(node.children[1]))
    elif kind == "attr" and isinstance(node.children[0], Tree) and node.children[0].data == "name":
        _note(seen, node.children[0], attr=str(node.children[1]))
        return
    elif kind == "name":
        _note(seen, node)
        return
    elif kind == "kwarg":
        _collect(node.children[1], own, seen)
        return
    for child in node.children:
        if isinstance(child, Tree):
            _collect(child, own, seen)


def _note(seen: dict, name_node: Tree, attr: str | None = None):
    name = str(name_node.children[0])
    entry = seen.setdefault(name, [name_node, set(), False])
    if attr is None:
        entry[2] = True
    else:
        entry[1].add(attr)
