"""One self-contained HTML page of a trace: the text view and every picture,
the images embedded as base64 data URIs. No scripts, fonts or styles are
fetched from the network, so the file can be mailed or opened offline."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from ..errors import UsageError
from .cache import Trace
from .render_png import rendered
from .render_text import render_plain

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 13px; line-height: 1.3; }
figure { margin: 2em 0; } figcaption { color: #555; font-size: 14px; margin-bottom: .5em; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


def page(t: Trace, pics=None) -> str:
    pics = rendered(t) if pics is None else pics  # first: fails clearly without matplotlib
    return html_page(f"taotp trace: {t.program.name}", pics, "Step by step", render_plain(t))


def html_page(title: str, pics: list[tuple[str, str, bytes]], text_title: str, text: str,
              text_first: bool = False) -> str:
    """A page: the title, each (stem, caption, PNG bytes) picture inline, and a text
    view under its own heading (before the pictures when text_first)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    figures = []
    for stem, caption, data in pics:
        b64 = base64.b64encode(data).decode("ascii")
        figures.append(f'<figure id="{html.escape(stem)}"><figcaption>{html.escape(caption)}</figcaption>'
                       f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{b64}"></figure>')
    body = [f"<h2>{html.escape(text_title)}</h2>", f"<pre>{html.escape(text)}</pre>"]
    parts += body + figures if text_first else figures + body
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def save_html(t: Trace, path, pics=None) -> Path:
    return write_page(path, page(t, pics))


def write_page(path, text: str) -> Path:
    p = Path(path)
    try:
        p.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write {str(p)!r}: {e.strerror or e}") from None
    return p
