"""What a class needs from every page: a link that reproduces the view, presentation mode, and after a lesson's
"Try it" a jump to the experiment that changed. Used by the page scaffold (ui/page.py) and app.py."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import streamlit as st

from ui.lesson import TRIED
from ui.strings import t

EXPERIMENT_ANCHOR = "cnnlab-experiment"
_focus = st.components.v2.component(
    "cnnlab_focus", js=(Path(__file__).resolve().parent / "components" / "focus.js").read_text(encoding="utf-8"))

# Our own CSS (no user text). Long formulas scroll sideways on a phone. The flash outlines the experiment after a Try-it; presentation mode enlarges type
# for a projector and gives every column that holds a figure its own row (one figure per row).
_FLASH_CSS = """<style>
.katex-display { overflow-x: auto; overflow-y: hidden; padding-bottom: 4px; }  /* long formulas scroll, never cut */
.cnnlab-flash { outline: 3px solid #f97316; outline-offset: 8px; border-radius: 6px; transition: outline-color 1.5s; }
</style>"""
_PRESENT_CSS = """<style>
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 2rem; padding-right: 2rem; }
[data-testid="stHorizontalBlock"]:has([data-testid="stImage"], [data-testid="stVegaLiteChart"]) { flex-wrap: wrap; }
[data-testid="stHorizontalBlock"]:has([data-testid="stImage"], [data-testid="stVegaLiteChart"]) > [data-testid="stColumn"] {
  min-width: 100% !important; flex: 1 1 100% !important; }
</style>"""


def presenting() -> bool:
    """?present=1 in the address bar: larger type, sidebar collapsed, one figure per row. It lasts for the session
    (page switches clear the address bar's parameters), until ?present=0."""
    asked = st.query_params.get("present")
    if asked is not None:
        st.session_state["_present"] = asked in ("1", "true")
    if st.session_state.get("_present"):
        st.query_params["present"] = "1"
    return bool(st.session_state.get("_present"))


def style_page() -> None:
    st.html(_FLASH_CSS + (_PRESENT_CSS if presenting() else ""))


def experiment_anchor() -> None:
    """Marks where the experiment starts; after a Try-it, scrolls there and outlines it."""
    st.html(f'<div id="{EXPERIMENT_ANCHOR}"></div>')
    if st.session_state.pop(TRIED, False):
        st.session_state["_focus_count"] = st.session_state.get("_focus_count", 0) + 1
        _focus(data={"target": EXPERIMENT_ANCHOR, "n": st.session_state["_focus_count"]}, key="cnnlab_focus",
               height=0)


def share_link(slot) -> None:
    """'Link to this view': the address with every setting, to copy (st.code has a copy button)."""
    base = st.context.url or ""
    query = urlencode({key: value for key, value in st.query_params.to_dict().items()})
    with slot.popover(t("common.share"), icon=":material/link:"):
        st.caption(t("common.share_help"))
        st.code(f"{base}?{query}" if query else base, language=None, wrap_lines=True)
        present = {**st.query_params.to_dict(), "present": "1"}
        st.caption(t("common.present_help"))
        st.code(f"{base}?{urlencode(present)}", language=None, wrap_lines=True)
