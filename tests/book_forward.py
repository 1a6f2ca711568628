"""An independent implementation of the book's forward pass (fig. 1.1) and greedy
decode (fig. 1.2), written against the flat weight names of `taotp compile`'s .npz,
without importing taotp. Tests hold taotp's output against it."""

import numpy as np


def _ln(x, gamma=1.0, beta=0.0):
    return beta + gamma * (x - x.mean(-1, keepdims=True)) / (x.var(-1, keepdims=True) ** 0.5 + 1e-10)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / (e.sum(axis=axis, keepdims=True) + 1e-10)


def forward(w, tokens):
    n = len(tokens)
    x = w["tok_emb"][tokens] + w["pos_emb"][:n]
    i = 0
    while f"layers.{i}.Q" in w:
        g = lambda k: w[f"layers.{i}.{k}"]
        h = _ln(x, g("ln1.gamma"), g("ln1.beta"))
        q, k, v = (np.einsum("nj,hjk->nhk", h, g(m)) for m in "QKV")
        s = np.einsum("nhk,mhk->nmh", q, k) / np.sqrt(g("Q").shape[-1])
        s = np.where(np.tril(np.ones((n, n)))[..., None] == 1, s, -np.inf)
        x = x + np.einsum("nhk,hdk->nd", np.einsum("nmh,mhk->nhk", _softmax(s, 1), v), g("P"))
        h = _ln(x, g("ln2.gamma"), g("ln2.beta"))
        x = x + np.maximum(h @ g("M1") + g("b1"), 0) @ g("M2") + g("b2")
        i += 1
    return _ln(x, w["lnf.gamma"], w["lnf.beta"]) @ w["out_emb"].T


def decode(w, tokens, steps, stop=None):
    tokens = list(tokens)
    out = []
    for _ in range(steps):
        nxt = int(np.argmax(forward(w, np.array(tokens))[-1]))
        if nxt == stop:
            break
        out.append(nxt)
        tokens.append(nxt)
    return out
