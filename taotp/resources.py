"""Where the grammar, the shipped programs and the standard library live.

In a source checkout (or an editable install) the grammar and programs are the
top-level grammar/ and programs/ folders; a wheel carries them as taotp/_data/
(pyproject.toml). The standard library is part of the package: taotp/stdlib/."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"taotp's {name}/ folder is missing from the installation")


def grammar_path(name: str = "taotp.lark") -> Path:
    return data_dir("grammar") / name


def programs_dir() -> Path:
    return data_dir("programs")


def shipped_programs() -> list[str]:
    return sorted(p.stem for p in programs_dir().glob("*.taotp"))


def stdlib_dir() -> Path:
    """The standard library's .taotp modules (`import NAME`)."""
    return _PACKAGE / "stdlib"


def stdlib_modules() -> list[str]:
    return sorted(p.stem for p in stdlib_dir().glob("*.taotp"))
