"""One self-contained HTML page of a program's circuits: the text view, then every
heatmap inline (trace's page builder: no scripts, nothing fetched)."""

from __future__ import annotations

from pathlib import Path

from ..trace.render_html import html_page, write_page
from .render_png import rendered
from .render_text import render_plain
from .report import Circuits


def page(c: Circuits, pics=None) -> str:
    pics = rendered(c) if pics is None else pics  # first: fails clearly without matplotlib
    return html_page(f"taotp circuits: {c.program.name}", pics, "Circuits", render_plain(c), text_first=True)


def save_html(c: Circuits, path, pics=None) -> Path:
    return write_page(path, page(c, pics))
