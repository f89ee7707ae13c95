"""Open one page of the app under Streamlit's AppTest, with the shared sidebar working.

Workaround (streamlit 1.67): AppTest resets `PagesManager.uses_pages_directory` to None before every run, and a
new PagesManager then sets it to True because a folder named `pages/` sits beside app.py. The script runner
then reruns our `st.navigation` app as a *legacy* multipage app, so after the first run the sidebar and the
navigation vanish. The real server does not do this (st.navigation sets the flag to False once and nothing
resets it). We keep the folder name the product card fixes and force the flag back to False after each
PagesManager is built — only in tests.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
_original_init = PagesManager.__init__


def _init_as_navigation_app(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    PagesManager.uses_pages_directory = False


PagesManager.__init__ = _init_as_navigation_app


def open_page(topic: str, lang: str = "en", timeout: float = 120) -> AppTest:
    """An AppTest that ran app.py in `lang` and switched to pages/<topic>.py (topic 'home' stays on home)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    if topic != "home":
        at.switch_page(f"pages/{topic}.py").run()
        assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Everything the page wrote as text (markdown, captions, alerts, LaTeX, metrics, picture captions)."""
    parts = []
    for kind in ("markdown", "caption", "success", "info", "warning", "error", "latex", "title", "header", "subheader"):
        parts.extend(str(element.value) for element in getattr(at, kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    parts.extend(caption for image in at.get("image") for caption in image.captions if caption)
    return "\n".join(parts)


def latex(at: AppTest) -> list[str]:
    """The bodies of every st.latex on the page (Streamlit stores them wrapped in $$ … $$)."""
    return [element.value.strip().strip("$").strip() for element in at.latex]


def png_bytes(array: np.ndarray) -> bytes:
    """An (H, W, 3) uint8 picture as PNG bytes, for uploads."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()
