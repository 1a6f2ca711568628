"""Running a spec's functions (expected, and the domain's maps and filters) at check time.

A spec runs without the machine: its functions see the builtins, `vocab`, `token`,
`tokens` and the values they captured (capture.py), nothing else. Each function is
compiled once into Python closures (compiled.py) and run that way, fast enough for
millions of inputs; when a compiled run raises, the same call runs again in the
tree-walking interpreter, whose error points at the line (and the input) - the
compiled form never has to locate an error itself.

Every call has its own step limit (the program's compilation budget is not spent on
it): a spec function that loops too long stops with a message naming the input.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..builtins import Builtin, BuiltinContext, load_all
from ..errors import CompileError, Span, TaotpError, UsageError
from ..lang.evaluator import Interpreter
from ..lang.operators import describe as describe_error
from ..lang.scope import UserFunction, base_env
from ..lang.source import SourceFile
from .compiled import Counter, FunctionCompiler
from .domain import brief, function_name

CALL_STEPS = 2_000_000      # statements and expression nodes of one call (one input)


class _NoMachine:
    """What the interpreter records about the machine while a spec's function runs: the
    statement being run and the calls in progress (for messages); there are no weights."""

    def __init__(self):
        self.here = None
        self.calls: list = []


class SpecInterpreter(Interpreter):
    """The language's interpreter without a machine, counting steps per call."""

    def __init__(self, ctx: BuiltinContext, source: SourceFile):
        super().__init__(_NoMachine(), ctx, source)
        self.steps = 0

    def tick(self, node):
        self.steps += 1
        if self.steps > CALL_STEPS:
            raise self.error(node, f"the spec's function ran more than {CALL_STEPS:,} steps on one input; "
                                   f"is a loop too long?")


class SpecRuntime:
    """Calls a spec's functions; `where` (a Span) is the `spec` statement, for messages."""

    def __init__(self, vocab, base_dir: Path | None = None, where: Span | None = None, compile: bool = True):
        self.vocab = vocab
        self.where = where
        ctx = BuiltinContext(Path(base_dir) if base_dir else Path.cwd(), progress_enabled=False)
        self.interp = SpecInterpreter(ctx, SourceFile("<spec>", ""))
        self.base = base_env(load_all(), self._machine_names(vocab))
        self.compiler = FunctionCompiler(self.interp, Counter(CALL_STEPS), self.base) if compile else None

    @staticmethod
    def _machine_names(vocab) -> dict:
        index = vocab.index

        def ids(names):
            out = []
            for t in names:
                if not isinstance(t, str) or t not in index:
                    raise CompileError(f"{t!r} is not a token of the vocabulary {vocab.describe()}")
                out.append(index[t])
            return out

        def token(name):
            """The id of a token of the vocabulary: token("<eos>")."""
            return ids([name])[0]

        def tokens(names):
            """The ids of a list of tokens, as an array: tokens(["a", "b"])."""
            return np.array(ids(list(names)), dtype=np.int64)

        return {"vocab": vocab, "token": Builtin("token", token, False, token.__doc__),
                "tokens": Builtin("tokens", tokens, False, tokens.__doc__)}

    # -- calls ----------------------------------------------------------------------------
    def call(self, fn, args: list, context: str):
        """fn(*args). `context` says, in an error, what the call was for ("expected() for
        the input 'ab='")."""
        if self.compiler is not None and isinstance(fn, UserFunction):
            counter = self.compiler.counter
            counter.n = counter.depth = 0
            self.interp.steps = 0
            try:
                return self.compiler.call(fn, list(args))
            except Exception:       # run it again, interpreted, for the located error
                pass
        return self.interpreted(fn, args, context)

    def interpreted(self, fn, args: list, context: str):
        interp = self.interp
        interp.steps = 0
        interp.call_depth = 0
        try:
            if isinstance(fn, UserFunction):
                return interp.call_user(None, fn, list(args), {})
            if isinstance(fn, Builtin):
                return interp.call_builtin(None, fn, list(args), {})
            raise CompileError(f"{brief(fn)} is not a function")
        except TaotpError as e:
            raise self.located(e, context) from None
        except RecursionError:
            raise self.error(f"{context}: too deeply nested") from None
        except Exception as e:        # a builtin's own failure that escaped its wrapper
            raise self.error(f"{context}: {describe_error(e)}") from None

    def apply(self, fn, value, role: str):
        """A domain's map or filter function on one value."""
        return self.call(fn, [value], f"{role} {function_name(fn)}() on the value {brief(value)}")

    def truth(self, value, fn) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, np.integer)) or (isinstance(value, np.ndarray) and value.size == 1):
            return bool(value)
        raise self.error(f"the filter {function_name(fn)}() must return True or False, got {brief(value)}")

    # -- errors -----------------------------------------------------------------------------
    def located(self, e: TaotpError, context: str) -> TaotpError:
        e.add_frame(f"in the spec's {context}; the spec is at", self.where)
        if self.where is None:
            e.message = f"{e.message} (in the spec's {context})"
        return e

    def error(self, message: str) -> TaotpError:
        return UsageError(message, self.where)
