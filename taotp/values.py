"""Values a program can hold besides numbers, strings, lists and arrays."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    """A named range [start, stop) of the residual stream (declared by `stream`).

    Used as an index it is the slice start:stop; `.start`, `.stop`, `.size` read it."""

    name: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    def as_slice(self) -> slice:
        return slice(self.start, self.stop)


class Record:
    """A read-only bundle of named values, returned by builtins that build several
    arrays at once (e.g. a spike MLP's M1, b1, M2, b2). Fields read as `r.name`."""

    def __init__(self, kind: str, /, **fields):
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_fields", dict(fields))

    def get(self, name: str):
        return self._fields[name]

    def has(self, name: str) -> bool:
        return name in self._fields

    @property
    def kind(self) -> str:
        return self._kind

    def field_names(self) -> list[str]:
        return list(self._fields)

    def __setattr__(self, *_):
        raise AttributeError("records are read-only")

    def __repr__(self) -> str:
        def brief(v):
            if v is None or isinstance(v, (bool, int, float, str)):
                return repr(v)
            shape = getattr(v, "shape", None)
            if shape is not None:
                return f"<array {'x'.join(map(str, shape)) or 'scalar'}>"
            return f"<{type(v).__name__} of {len(v)}>" if hasattr(v, "__len__") else f"<{type(v).__name__}>"
        return f"{self._kind}({', '.join(f'{k}={brief(v)}' for k, v in self._fields.items())})"
