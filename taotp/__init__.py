"""taotp: a compiler and interpreter for transformer programs.

    import taotp
    prog = taotp.load_program("sort")              # a shipped program, or a path
    prog.run("6 2 12 18 7 0")                      # '2 6 7 12 18'
    prog.params.count()                            # the book's parameter count (fig. 1.4)
    prog = taotp.compile_source(text, overrides={"n": 20})
"""

__version__ = "0.1.0"

from .compiler import compile_source, load_program, save_weights  # noqa: E402
from .errors import TaotpError  # noqa: E402
from .params import Layer, LayerNorm, Params  # noqa: E402
from .program import Program  # noqa: E402
from . import specs, strategies  # noqa: E402  (taotp.strategies.inputs(program) for @given)

__all__ = ["compile_source", "load_program", "save_weights", "TaotpError", "Params", "Layer", "LayerNorm", "specs", "strategies",
           "Program", "__version__"]
