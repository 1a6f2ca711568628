"""`taotp circuits`: read a program's weights through its vocabulary (issue 17).

basis.py     the vectors each sub-layer is read on (embeddings; spec samples after layer 0)
tables.py    QK over tokens and positions, OV, the direct path: tables with per-row bests
rules.py     rules the tables follow ("each position to the one 3 back") in plain words
writes.py    the slots a head reads and writes, and whether it copies or erases there
neurons.py   MLP neurons and spikes (§6.3): the token each reads and writes
report.py    all of it for a program, with a summary per head
render_text, render_png, render_html, json_out: the views
"""

from .report import Circuits, circuits

__all__ = ["Circuits", "circuits"]
