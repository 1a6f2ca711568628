"""Using taotp from Python: compile, run, count, save, look inside.

    python examples/api.py
"""

import numpy as np

import taotp

# A shipped program by name (or a path to any .taotp file), with parameters overridden.
sort = taotp.load_program("sort", overrides={"n": 20})
print(sort.run("6 2 12 18 7 0"))                    # 2 6 7 12 18
print(sort.run_batch(["3 1 0", "9 4 5 0"]))         # ['1 3', '4 5 9']

# The book's parameter counts (fig. 1.4).
print(sort.params.count())                          # n_params, tok_emb, pos_emb, non_emb
print(sort.params.count(nonzero=True))

# The weights are plain numpy arrays in the book's layout (fig. 1.3).
layer = sort.params.layers[0]
print(layer.Q.shape, layer.V[0, :3, :3])

# Compile a program from text.
source = """
vocab ints(5)
model block=4
stream tok:3
tok_emb = ring3d_array(5)
decode steps = 2
"""
echo = taotp.compile_source(source, "echo.taotp")
print(echo.run("3"))                                # 3 3

# Save the weights; the .npz loads with allow_pickle=False.
taotp.save_weights(sort, "sort.npz")
with np.load("sort.npz", allow_pickle=False) as z:
    print(sorted(z.files)[:5])

# Look inside: activations by TransformerLens hook names.
logits, cache = sort.run_with_cache("6 2 12 18 7 0")
print(cache["blocks.0.attn.hook_pattern"].shape)    # (heads, query_pos, key_pos)
