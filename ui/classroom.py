"""What a class needs from every page: a link that reproduces the view, presentation mode, and after a lesson's
"Try it" a jump to the figure that changed. Used by the page scaffold (ui/page.py) and app.py."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.lesson import TRIED
from ui.strings import t

EXPERIMENT_ANCHOR = "cnnlab-experiment"
TRY_IT_SELECTOR = '[class*="st-key-try_"]'  # the lesson's Try-it buttons (ui/lesson.py: key try_<topic>_<step>_<n>)
COMPONENTS = Path(__file__).resolve().parent / "components"
_link = st.components.v2.component("cnnlab_link", html="<div></div>",
                                   css=(COMPONENTS / "link.css").read_text(encoding="utf-8"),
                                   js=(COMPONENTS / "link.js").read_text(encoding="utf-8"))
_focus = st.components.v2.component("cnnlab_focus", js=(COMPONENTS / "focus.js").read_text(encoding="utf-8"))

# Our own CSS (no user text). Long formulas scroll sideways on a phone. The flash outlines the figure a Try-it
# changed; presentation mode enlarges type for a projector and gives every column that holds a figure its own row.
_FLASH_CSS = """<style>
.katex-display { overflow-x: auto; overflow-y: hidden; padding-bottom: 4px; }  /* long formulas scroll, never cut */
/* A paragraph with an inline formula too wide for its column (a heading over a half-width chart) scrolls too. */
[data-testid="stMarkdownContainer"] p:has(.katex) { overflow-x: auto; overflow-y: hidden; padding-block: 0.15em; }
/* A column of formulas is never narrower than 24rem: side by side when there is room, else on its own row. */
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] .katex-display) { flex-wrap: wrap; }
[data-testid="stHorizontalBlock"] > [data-testid="stColumn"]:has(.katex-display) { min-width: min(100%, 24rem); }
/* A column holding a clickable map is never narrower than the map: it wraps instead. (On a phone the columns are
   stacked anyway, and the map shrinks to the screen: clickmap.css.) */
@media (min-width: 641px) {
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] .cnnlab-cm) { flex-wrap: wrap; }
  [data-testid="stHorizontalBlock"] > [data-testid="stColumn"]:has(.cnnlab-cm) { min-width: min-content; } }
/* A checkbox's or toggle's label wraps in a narrow column instead of ending in '…' (Streamlit's default). */
:is([data-testid="stCheckbox"], [data-testid="stToggle"]) [data-testid="stWidgetLabel"] :is(.stMarkdownEllipsis, p) {
  white-space: normal; overflow: visible; text-overflow: clip; }
/* A row of many controls (a container keyed controls_…) wraps when each control would be narrower than 8rem. */
[class*="st-key-controls_"] [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
[class*="st-key-controls_"] [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] { min-width: 8rem; }
/* On a phone the layer builder's rows wrap: each input shows its own label, the header row goes. */
@media (max-width: 640px) {
  .st-key-rf_builder_head { display: none; }
  .st-key-rf_builder [data-testid="stWidgetLabel"] { display: flex !important; } }
/* The layer table's one-glyph buttons (move up, down, remove) are narrow, so a row fits one line at 1024 px. */
:is([class*="st-key-rf_up_"], [class*="st-key-rf_down_"], [class*="st-key-rf_remove_"]) button {
  padding-left: 0.15rem; padding-right: 0.15rem; min-width: 1.75rem; }
/* A page link's title and a metric's label wrap instead of ending in '…' (the course map, pooling at 1024 px). */
:is([data-testid="stPageLink-NavLink"], [data-testid="stMetricLabel"]) :is(span, p, div) {
  white-space: normal; overflow: visible; text-overflow: clip; }
/* Histograms (ui.show.histogram_html): bars in an SVG stretched to the plot, labels in HTML so they keep their size. */
.cnnlab-hist { margin: 0 0 0.75rem 0; font-size: 0.75rem; line-height: 1; color: rgba(49, 51, 63, 0.75); }
.cnnlab-hist-body { display: flex; padding-top: 0.5rem; }  /* room for the top label, centred on the top line */
.cnnlab-hist-ytitle { margin-bottom: 0.1rem; }
.cnnlab-hist-y { position: relative; width: 2.3rem; flex: none; }
.cnnlab-hist-y span { position: absolute; right: 0.3rem; transform: translateY(50%); white-space: nowrap; }
.cnnlab-hist-plot { position: relative; flex: 1; border-left: 1px solid #9aa0a6; border-bottom: 1px solid #9aa0a6; }
.cnnlab-hist-plot i { position: absolute; left: 0; right: 0; border-top: 1px solid #e8e8e8; }
.cnnlab-hist-plot svg { position: absolute; inset: 0; width: 100%; height: 100%; display: block; }
.cnnlab-hist-x { position: relative; height: 1.1rem; margin-left: 2.3rem; }
.cnnlab-hist-x span { position: absolute; top: 0.25rem; transform: translateX(-50%); white-space: nowrap; }
.cnnlab-hist figcaption { text-align: center; margin-top: 0.2rem; }
.cnnlab-flash { outline: 3px solid #f97316; outline-offset: 8px; border-radius: 6px; transition: outline-color 1.5s;
  scroll-margin: calc(3.75rem + 16px); }  /* scrolled to just below the app's top bar (3.75rem high) */
</style>"""
_PRESENT_CSS = """<style>
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 2rem; padding-right: 2rem; }
[data-testid="stHorizontalBlock"]:has([data-testid="stImage"], [data-testid="stVegaLiteChart"], .cnnlab-cm) { flex-wrap: wrap; }
[data-testid="stHorizontalBlock"]:has([data-testid="stImage"], [data-testid="stVegaLiteChart"], .cnnlab-cm) > [data-testid="stColumn"] {
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
    """Marks where the experiment starts. After a Try-it, the browser part (components/focus.js) scrolls to the first
    figure the new settings changed and outlines it, or to the experiment's start when no figure changed.

    The component is drawn on every run (data.go marks the run after a Try-it), so that it is loaded when the button
    is pressed (it fingerprints the figures then) and the elements below keep their places from run to run."""
    tried = st.session_state.pop(TRIED, False)
    if tried:
        st.session_state["_focus_count"] = st.session_state.get("_focus_count", 0) + 1
    with st.container(gap=None):
        st.html(f'<div id="{EXPERIMENT_ANCHOR}"></div>')
        _focus(data={"target": EXPERIMENT_ANCHOR, "tryIt": TRY_IT_SELECTOR, "n": st.session_state.get("_focus_count", 0),
                     "go": tried}, key="cnnlab_focus", height=0)


def share_link(slot) -> None:
    """'Link to this view': the address bar as it is (every setting, the lesson step, the sample), with a copy
    button, and its presentation-mode twin. Read by the browser (ui/components/link.js) when shown, because the
    lesson and the experiment rerun on their own and each updates its part of the address."""
    labels = {name: t(f"common.{name}") for name in ("share_help", "present_help", "copy", "copied", "select")}
    with slot.popover(t("common.share"), icon=":material/link:"):
        _link(data={"labels": labels}, key="cnnlab_link")
