"""`taotp trace`: look inside a program while it runs.

cache.py      the activation cache (TransformerLens hook names), reference-engine math
readout.py    residual vectors read slot by slot through the vocabulary; logit lens; spikes
render_text   the terminal view (rich when installed)
render_png    pictures (matplotlib, the `plot` extra)
render_html   one self-contained page with the pictures
"""

from .cache import Trace, forward_with_cache, hook_names, run_with_cache, trace_program

__all__ = ["Trace", "forward_with_cache", "hook_names", "run_with_cache", "trace_program"]
