"""Where the grammar and the shipped programs live.

In a source checkout (or an editable install) they are the top-level grammar/
and programs/ folders; a wheel carries them as taotp/_data/ (pyproject.toml)."""

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
