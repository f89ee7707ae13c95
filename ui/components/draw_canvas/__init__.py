"""A small drawing pad (Streamlit components v2: plain HTML, CSS and JavaScript in this folder, no build step).

    png = draw_canvas("wc_canvas", hint=t("wc.draw_hint"), clear=t("wc.clear"), on_change=remember)

The student draws with the mouse or a finger; after each stroke the browser sends the picture as a PNG data URL.
`draw_canvas` returns it (None while the pad is empty). `decode_png` turns it back into bytes for load_image.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent
PREFIX = "data:image/png;base64,"
SIDE = 224  # CSS pixels; the PNG has the same size
PEN = 18  # pixels: about the stroke width of the UCI bitmaps once a digit is scaled to 32 pixels

_COMPONENT = st.components.v2.component(
    "cnn_lab.draw_canvas",
    html=(HERE / "canvas.html").read_text(encoding="utf-8"),
    css=(HERE / "canvas.css").read_text(encoding="utf-8"),
    js=(HERE / "canvas.js").read_text(encoding="utf-8"),
)


def draw_canvas(key: str, hint: str, clear: str, png: str | None = None,
                on_change: Callable[[], None] | None = None) -> str | None:
    """Show the pad; return the latest drawing as a data URL (or None). `png` redraws a kept drawing on mount."""
    result = _COMPONENT(key=key, data={"hint": hint, "clear": clear, "pen": PEN, "png": png},
                        default={"png": None}, on_png_change=on_change or (lambda: None), width="content")
    return result.get("png")


def decode_png(data_url: str | None) -> bytes | None:
    """A PNG data URL → the PNG's bytes; None for anything else (an empty pad, a foreign value)."""
    if not isinstance(data_url, str) or not data_url.startswith(PREFIX):
        return None
    try:
        return base64.b64decode(data_url[len(PREFIX):], validate=True)
    except ValueError:
        return None
