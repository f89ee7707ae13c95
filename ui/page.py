"""The page scaffold every topic page uses: declare the controls once, get everything else from that.

A page file looks like this (pages/stride_padding.py is the full example):

    PAGE = Page("stride_padding", controls=(
        Slider("sp_kernel", "sp.kernel", 1, 11, default=3),
        Choice("sp_mode", "sp.mode", PADDING_MODES, default="zeros", labels="sp.mode_"),
    ), code=(output_size, conv2d))

    def experiment(page: Page) -> None:
        k = page.draw("sp_kernel")          # the declared widget, drawn here, its value returned
        ...

    if __name__ == "__main__":              # Streamlit runs a page as __main__; tests import PAGE only
        PAGE.run(experiment)

From the one declaration come: the defaults in session state (a value, or a function of the current image,
recomputed for each new image); the cleaning of values set from outside (a lesson's "Try it", a shared link, a
stale value from another image): out-of-range numbers are clamped, unknown options fall back to the default; the
settings in the address bar (a copied link reproduces the view) and kept across page and language switches; the
validation of lessons' ```try blocks and the AppTest extremes (tests/unit/test_pages.py, tests/app/test_pages.py).
The layout is the same on every page: lesson → experiment → proof (the code that made the pictures).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import streamlit as st

from ui import downloads
from ui.classroom import experiment_anchor, share_link
from ui.image_source import current_image, working_digest, working_image
from ui.lesson import show_lesson, shown_values
from ui.shell import ensure_app_shell, is_fragment_rerun
from ui.strings import labels, t

Bound = float | Callable[[np.ndarray], float]  # a number, or a function of the current image (e.g. its height)
SAVED = "_page_values"  # session-state dict: the last value of every control, so a page switch loses nothing


def _resolve(value, image: np.ndarray):
    return value(image) if callable(value) else value


@dataclass(frozen=True)
class Control:
    """One widget of a page. Build it with Slider, Choice, Toggle, Number or Multi below."""

    key: str  # session-state key, URL parameter and ```try name
    label: str  # key of its label in lessons/<lang>/ui/*.toml
    kind: str  # "slider" | "select_slider" | "select" | "radio" | "toggle" | "number" | "multiselect" | "text"
    default: Any = None  # a value, or a function of the current image
    lo: Bound | None = None
    hi: Bound | None = None
    step: float | None = None
    options: Sequence | Callable[[np.ndarray], Sequence] = ()
    labels: str | None = None  # option labels: strings key prefix ("sp.mode_" → sp.mode_zeros)
    labels_suffix: str = ""
    help: str | None = None  # key of a help string
    lesson: bool = True  # a lesson's ```try block may set it
    url: bool = True  # kept in the address bar
    max_selections: int | None = None
    extra: dict = field(default_factory=dict)  # passed on to the Streamlit widget (horizontal=True, …)

    @property
    def is_number(self) -> bool:
        return self.kind in ("slider", "number")

    @property
    def is_float(self) -> bool:
        return any(isinstance(v, float) for v in (self.lo, self.hi, self.step, self.default))

    def choices(self, image: np.ndarray) -> list:
        return list(_resolve(self.options, image))

    def bounds(self, image: np.ndarray) -> tuple[float, float]:
        lo, hi = _resolve(self.lo, image), _resolve(self.hi, image)
        return lo, max(lo, hi)

    def default_for(self, image: np.ndarray):
        return self.clean(_resolve(self.default, image), image, fallback=False)

    def clean(self, value, image: np.ndarray, fallback: bool = True):
        """`value` made valid for this control on this image (clamped, coerced), or the default when it cannot be."""
        def default():
            return self.default_for(image) if fallback else None

        if self.is_number:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                return default()
            lo, hi = self.bounds(image)
            value = min(max(value, lo), hi)
            return float(value) if self.is_float else int(round(value))
        if self.kind == "toggle":
            return value if isinstance(value, bool) else default()
        if self.kind == "text":  # any text is valid here: the page's cnn_core parser says what is wrong with it
            return value if isinstance(value, str) else default()
        options = self.choices(image)
        if self.kind == "multiselect":
            if not isinstance(value, (list, tuple)):
                value = [value]
            kept = [v for v in value if v in options][: self.max_selections]
            return kept if kept or not value else default()
        return value if value in options else (default() if fallback else options[0])

    def extremes(self, image: np.ndarray) -> list:
        """The values an AppTest sets to shake the page: both ends of a range, first and last option."""
        if self.is_number:
            return list(self.bounds(image))
        if self.kind == "toggle":
            return [True, False]
        if self.kind == "text":
            return ["", _resolve(self.default, image) + " 1e9 x"]  # nothing typed; too much and a word
        options = self.choices(image)
        if self.kind == "multiselect":
            return [options[: self.max_selections or len(options)], options[-1:]]
        return [options[0], options[-1]]

    # -- the address bar ------------------------------------------------------------------------------------------
    def to_url(self, value) -> str:
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (list, tuple)):
            return ",".join(map(str, value))
        return f"{value:g}" if isinstance(value, float) else str(value)

    def from_url(self, text: str, image: np.ndarray):
        """A URL parameter → a clean value (None when it makes no sense here)."""
        try:
            if self.is_number:
                value = float(text) if self.is_float else int(float(text))
            elif self.kind == "toggle":
                value = text in ("1", "true", "True")
            else:
                options = self.choices(image)
                # Numeric options arrive as text, written by to_url (3.0 → "3") or by str ("3.0").
                by_text = {text: option for option in options for text in (str(option), self.to_url(option))}
                value = [by_text.get(v, v) for v in text.split(",") if v] if self.kind == "multiselect" \
                    else by_text.get(text, text)
        except ValueError:
            return None
        return self.clean(value, image)


def Slider(key: str, label: str, lo: Bound, hi: Bound, default, step: float | None = None, **more) -> Control:
    return Control(key, label, "slider", default, lo, hi, step, **more)


def Number(key: str, label: str, lo: Bound, hi: Bound, default, step: float | None = None, **more) -> Control:
    return Control(key, label, "number", default, lo, hi, step, **more)


def Choice(key: str, label: str, options, default, style: str = "select", **more) -> Control:
    """style: "select" (a drop-down), "radio", or "select_slider" (a slider over the options)."""
    return Control(key, label, style, default, options=options, **more)


def Multi(key: str, label: str, options, default, **more) -> Control:
    return Control(key, label, "multiselect", default, options=options, **more)


def Toggle(key: str, label: str, default: bool = False, **more) -> Control:
    return Control(key, label, "toggle", default, **more)


def Text(key: str, label: str, default: str = "", **more) -> Control:
    """A line of text the page parses with cnn_core (e.g. numbers typed by the student)."""
    return Control(key, label, "text", default, **more)


class Page:
    """A topic page: its lesson, its declared controls, and the code its proof panel shows."""

    def __init__(self, topic: str, controls: Sequence[Control] = (), code: Sequence[Callable] = (),
                 live_answers: dict[str, Callable[[], float]] | None = None, pixels: int | None = None):
        """pixels: work on a copy of a bigger image shrunk to this many pixels (said on the page)."""
        self.topic = topic
        self.pixels = pixels
        self.controls = {control.key: control for control in controls}
        self.code = tuple(code)
        self.live_answers = live_answers or {}
        self._lesson_shown: tuple = ()  # what the lesson's questions showed in this run (run() sets it)

    def image(self) -> np.ndarray:
        """The image this page works on (ui.image_source.working_image): the controls' bounds and defaults too."""
        return working_image(self.pixels)

    def digest(self) -> str:
        return working_digest(self.pixels)

    # -- state ----------------------------------------------------------------------------------------------------
    def _prepare_state(self) -> None:
        """Every control gets a valid value before anything is drawn: from the address bar when a link brought one,
        else the value it had when the student last saw it, else its default. Functions-of-the-image defaults and
        bounds are re-applied for each new image."""
        image, digest = self.image(), self.digest()
        saved = st.session_state.setdefault(SAVED, {})
        new_image = st.session_state.get(f"_image_of_{self.topic}") != digest
        st.session_state[f"_image_of_{self.topic}"] = digest
        for key, control in self.controls.items():
            from_link = None
            if control.url and key in st.query_params:
                from_link = control.from_url(st.query_params[key], image)
            current = st.session_state.get(key, saved.get(key))
            if from_link is not None and control.to_url(from_link) != control.to_url(saved.get(key)):
                value = from_link
            elif current is None or (new_image and callable(control.default)):
                value = control.default_for(image)
            else:
                value = control.clean(current, image)
            if key not in st.session_state or st.session_state[key] != value:
                st.session_state[key] = value
            saved[key] = value

    def _remember(self, key: str) -> None:
        """After a move: keep the value for later visits and put it in the address bar (only if not the default)."""
        control, value = self.controls[key], st.session_state.get(key)
        st.session_state.setdefault(SAVED, {})[key] = value
        if not control.url:
            return
        if value is None or control.to_url(value) == control.to_url(control.default_for(self.image())):
            st.query_params.pop(key, None)
        elif st.query_params.get(key) != (text := control.to_url(value)):  # each write is a message to the browser
            st.query_params[key] = text

    def _sync_url(self) -> None:
        for key in self.controls:
            self._remember(key)

    def set(self, **values) -> None:
        """Set controls from code (an example button's or a clicked map's callback): cleaned like every value from
        outside, and remembered at once (a fragment's rerun does not reach run()'s bookkeeping)."""
        image = self.image()
        for key, value in values.items():
            st.session_state[key] = self.controls[key].clean(value, image)
            self._remember(key)

    def value(self, key: str):
        return st.session_state[key]

    # -- drawing --------------------------------------------------------------------------------------------------
    def draw(self, key: str, where=st, disabled: bool = False, label: str | None = None, hi: float | None = None,
             only: Sequence | None = None, **more):
        """Draw the declared widget in `where` (st, a column, a container) and return its value.

        `hi` narrows the range for this run when it depends on other controls (the last window position);
        `only` narrows a choice's options the same way (the kernels chosen above); a value outside moves in."""
        control, image = self.controls[key], self.image()
        if st.session_state.get(key) is None:
            st.session_state[key] = control.default_for(image)
        if hi is not None and st.session_state[key] > hi:
            st.session_state[key] = hi
        if only is not None and control.kind != "multiselect" and st.session_state[key] not in only and only:
            st.session_state[key] = list(only)[0]
        common = dict(key=key, disabled=disabled, on_change=self._remember, args=(key,),
                      help=t(control.help) if control.help else None, **control.extra, **more)
        text = label or t(control.label)
        if control.is_number:
            lo, top = self.bounds(key)
            hi = top if hi is None else min(top, hi)
            step = control.step if control.step is not None else (0.01 if control.is_float else 1)
            widget = where.slider if control.kind == "slider" else where.number_input
            if lo == hi:  # a slider with one value cannot be drawn; show the number instead
                where.caption(f"{text}: {lo:g}")
                return st.session_state[key]
            return widget(text, lo, hi, step=step, **common)
        if control.kind == "toggle":
            return where.toggle(text, **common)
        if control.kind == "text":
            return where.text_input(text, **common)
        options = control.choices(image) if only is None else list(only)
        format_func = labels(control.labels, control.labels_suffix) if control.labels else str
        if control.kind == "multiselect":
            return where.multiselect(text, options, format_func=format_func, max_selections=control.max_selections,
                                     **common)
        widget = {"select": where.selectbox, "radio": where.radio, "select_slider": where.select_slider}[control.kind]
        return widget(text, options, format_func=format_func, **common)

    def bounds(self, key: str) -> tuple[float, float]:
        control = self.controls[key]
        lo, hi = control.bounds(self.image())
        return (float(lo), float(hi)) if control.is_float else (int(lo), int(hi))

    def keep_lesson_current(self) -> None:
        """At the end of a fragment's rerun: if a question on the visible lesson step takes a value that this move
        changed (a live answer, a {placeholder}), run the whole page again, so the question never shows stale
        numbers. The experiment panel calls it; a fragment inside it whose controls a question uses calls it too."""
        if self._lesson_shown and is_fragment_rerun() and shown_values(self.topic, self.live_answers) != self._lesson_shown:
            st.rerun(scope="app")

    # -- the page -------------------------------------------------------------------------------------------------
    def run(self, experiment: Callable[[Page], None]) -> None:
        """Lesson at the top, the experiment, its downloads, the proof panel at the bottom."""
        ensure_app_shell()
        downloads.start(self.topic)  # what the last run showed is forgotten; the experiment offers what it shows
        self._prepare_state()
        self._lesson_shown = show_lesson(self.topic, self.live_answers)
        experiment_anchor()
        _experiment_panel(self, experiment)
        downloads.show_downloads()  # outside the fragment: its list is made when it is opened, so it never lags
        if self.code:
            show_source(*self.code)


@st.fragment
def _experiment_panel(page: Page, experiment: Callable[[Page], None]) -> None:
    """The experiment and its link. A fragment: moving one of its controls reruns this panel alone, not
    the navigation, the sidebar and the lesson (together about half of a full run's cost, and unchanged by a
    move). Only when a question on the visible lesson step takes a value that this move changed (a live answer, a
    {placeholder}) does the whole page run again, so the question never shows stale numbers."""
    head = st.container(horizontal=True, vertical_alignment="bottom")  # the link's button as wide as its label
    head.header(t("common.experiment"))
    if page.pixels is not None and (shown := page.image()) is not (image := current_image()):
        st.caption(t("common.working_copy", h=shown.shape[0], w=shown.shape[1], H=image.shape[0], W=image.shape[1]))
    experiment(page)
    page._sync_url()
    share_link(head)  # after the sync, so the link carries every setting of this run
    page.keep_lesson_current()


@lru_cache(maxsize=256)
def _source(function: Callable) -> str:
    """inspect.getsource tokenizes the whole module each call (~2 ms): once per function is enough."""
    return inspect.getsource(function)


def show_source(*functions: Callable) -> None:
    """'Show the code': the real cnn_core source that produced the pictures on screen."""
    with st.expander(t("common.show_code"), icon=":material/code:"):
        for function in functions:
            st.code(_source(function), language="python")
