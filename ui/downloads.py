"""Downloads: every picture a page shows as a PNG, and every map's numbers as CSV and .npy.

The display helpers (ui/show.py, ui/clickmap.py) register what they show, as they show it:

    offer(caption, feature_map, "map", key=..., vmin=lo, vmax=hi, cmap=cmap)

Registering keeps a reference (an array, PNG bytes, or a function returning the array), nothing is encoded. The
page scaffold (Page.run) starts a new registry for each full run of a page; a fragment's rerun overwrites the
entries it draws again (same key: the element's place on the page). After the experiment, show_downloads() draws
one popover; only while it is open does it hold a select box of the registered pictures and a button per file. A
file is made only when its button is clicked: Streamlit calls the button's `data` function then, in another
thread, so that function reads the registry's dict it closes over (never st.session_state), and gets what the
page shows now.

Kinds: "map" (2-D numbers: PNG coloured with the page's scale at full size, one pixel per number; CSV; .npy),
"picture" (an RGB picture, uint8 or floats in [0, 1]: PNG at its own size; .npy), "png" (ready-made PNG bytes, as
shown: PNG only).
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cnn_core import render
from ui.strings import t

STATE = "_downloads"  # session-state key of the current page's Registry
FORMATS = {"map": ("png", "csv", "npy"), "picture": ("png", "npy"), "png": ("png",)}
MIME = {"png": "image/png", "csv": "text/csv", "npy": "application/octet-stream"}
NAME_LENGTH = 70  # characters of a caption kept as the item's name
SLUG_LENGTH = 48


@dataclass(slots=True)
class Item:
    caption: str | None  # as shown (may hold markdown); None → a numbered name
    number: int  # 1, 2, … in the order the page first showed them
    values: Any  # the array / PNG bytes, or a function returning it
    kind: str  # "map" | "picture" | "png"
    scale: tuple = (None, None, None, None)  # a map's colour scale as shown: (signed, vmin, vmax, cmap)


class Registry:
    """What one page run showed: key → Item, in the order shown."""

    def __init__(self, topic: str):
        self.topic = topic
        self.items: dict[str, Item] = {}


# session id → its registry, weakly (session state holds it): offer() finds it without a session-state lookup,
# which costs ~15 µs, and a page draws dozens of pictures.
_BY_SESSION: dict[str, weakref.ref] = {}
_BY_SESSION_LOCK = threading.Lock()


def _session_id() -> str | None:
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx else None


def start(topic: str) -> Registry:
    """A fresh registry for a full run of `topic` (what the last run or another page showed is gone)."""
    registry = Registry(topic)
    st.session_state[STATE] = registry
    session = _session_id()
    if session is not None:
        with _BY_SESSION_LOCK:
            for gone in [s for s, ref in _BY_SESSION.items() if ref() is None]:  # sessions that ended
                del _BY_SESSION[gone]
            _BY_SESSION[session] = weakref.ref(registry)
    return registry


def current() -> Registry | None:
    """This session's registry (None on a page without the scaffold, before its first run)."""
    ref = _BY_SESSION.get(_session_id())
    registry = ref() if ref else None
    return registry if registry is not None else st.session_state.get(STATE)


def offer(name: str | None, values, kind: str, *, key: str | None = None, signed: bool | None = None,
          vmin: float | None = None, vmax: float | None = None, cmap: str | None = None) -> None:
    """Register a shown picture for download: `values` is a 2-D map (kind "map"), an (H, W, 3) picture ("picture")
    or PNG bytes ("png"), or a zero-argument function returning it (called only when a file is asked for; it runs
    outside the script thread, so it must not use st.*). `key` names the place it is shown (stable across
    fragment reruns); default: the name. signed / vmin / vmax / cmap: a map's colour scale as on the page."""
    registry = current()
    if registry is None:  # no page has run the scaffold yet: nothing offers downloads
        return
    items = registry.items
    key = key or name or f"#{len(items) + 1}"
    old = items.get(key)
    items[key] = Item(name, old.number if old else len(items) + 1, values, kind, (signed, vmin, vmax, cmap))


def slot(element) -> str | None:
    """The place of a drawn element on the page (its delta path, e.g. "[0, 4, 1, 2]"): the same on every fragment
    rerun, so a picture redrawn there replaces its entry. None when Streamlit does not say."""
    try:
        return element._get_delta_path_str()
    except Exception:  # noqa: BLE001  (a private method: without it, the caption is the key)
        return None


# -- names ------------------------------------------------------------------------------------------------------------
_DIRECTIVE = re.compile(r":[a-z-]+\[([^\[\]]*)\]")  # Streamlit's :gray[…], :small[…] (innermost first)
_SEPARATORS = (" — ", "——", " – ", ", ", "，", "; ", "；", ". ", "。")  # clause breaks (a colon is kept: "R: …")


def plain(caption: str) -> str:
    """A caption's text without markdown: its first paragraph, no **, `, $, :gray[…] wrappers, one line."""
    text = caption.strip().split("\n\n")[0]
    while _DIRECTIVE.search(text):
        text = _DIRECTIVE.sub(r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](link) → text
    text = re.sub(r"\*\*|__|[*`$]", "", text)
    return " ".join(text.split())


@lru_cache(maxsize=2048)  # the same captions come back on every rerun
def short_name(caption: str | None) -> str:
    """The caption's plain text up to its first clause break outside brackets ("Sobel x: feature map 256 × 256,
    the image's size …" → "Sobel x: feature map 256 × 256"), at most NAME_LENGTH characters; "" without a caption."""
    if not caption:
        return ""
    text, depth, cut = plain(caption), 0, None
    for i, char in enumerate(text):
        depth += (char in "([（【") - (char in ")]）】")
        if depth <= 0 and i > 0 and text.startswith(_SEPARATORS, i):
            cut = i
            break
    text = text[:cut].rstrip() if cut else text
    return text if len(text) <= NAME_LENGTH else text[: NAME_LENGTH - 1].rstrip() + "…"


def name_of(item: Item, unnamed: str = "Picture {n}", sized: str = "Picture {n} ({h} × {w})") -> str:
    """The caption's short name; without one `unnamed` ("Picture 6"), or `sized` with the size when it is known
    without work (an array)."""
    name = short_name(item.caption)
    if name:
        return name
    values = item.values
    if isinstance(values, np.ndarray) and values.ndim >= 2:
        return sized.format(n=item.number, h=values.shape[0], w=values.shape[1])
    return unnamed.format(n=item.number)


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")


def slug(name: str, number: int) -> str:
    """An ASCII file-name part: "Sobel x: feature map 256 × 256" → "sobel-x-feature-map-256x256"; a Chinese name
    (or one with no letter left) → "picture-<number>"."""
    if _CJK.search(name):
        return f"picture-{number}"
    text = re.sub(r"\s*×\s*", "x", name).replace("−", "-")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:SLUG_LENGTH].strip("-")
    return text if re.search(r"[a-z]", text) else f"picture-{number}"


def file_name(topic: str, name: str, number: int, fmt: str) -> str:
    """cnnlab-<topic>-<slug>.<fmt>, e.g. cnnlab-convolution-sobel-x-feature-map-256x256.png"""
    return f"cnnlab-{topic}-{slug(name, number)}.{fmt}"


def distinct(names: list[str]) -> list[str]:
    """Names made distinct for the select box: a repeated one gets " (2)", " (3)" …"""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


# -- files (made on click) --------------------------------------------------------------------------------------------
def _values(item: Item):
    return item.values() if callable(item.values) else item.values


def encode(item: Item, fmt: str) -> bytes:
    """One file of an item: "png", "csv" or "npy" (see FORMATS for which kind has which)."""
    if fmt not in FORMATS[item.kind]:
        raise ValueError(f"a {item.kind} has no {fmt} file")
    values = _values(item)
    if item.kind == "png":
        return bytes(values)
    values = np.asarray(values)
    if fmt == "npy":
        buffer = io.BytesIO()
        np.save(buffer, values, allow_pickle=False)
        return buffer.getvalue()
    if item.kind == "picture":
        return render.to_png(values if values.dtype == np.uint8 else render.image_to_uint8(values))
    numbers = np.atleast_2d(values.astype(np.float32, copy=False))
    if fmt == "csv":
        buffer = io.StringIO()
        np.savetxt(buffer, numbers, fmt="%.9g", delimiter=",")  # 9 digits: every float32 reads back exactly
        return buffer.getvalue().encode("ascii")
    signed, vmin, vmax, cmap = item.scale
    return render.to_png(render.colorize(np.nan_to_num(numbers), signed, vmin, vmax, cmap)[0])


def make_file(items: dict[str, Item], key: str, fmt: str) -> bytes:
    """The download button's `data` function (with the arguments bound): looks the item up when clicked, so a
    fragment rerun that redrew it since is downloaded as shown now."""
    return encode(items[key], fmt)


# -- the popover ------------------------------------------------------------------------------------------------------
def show_downloads() -> None:
    """The page's one download control (after the experiment): nothing when the page showed no picture."""
    registry = current()
    if registry is not None and registry.items:
        _panel()


@st.fragment
def _panel() -> None:
    """The popover, in a fragment: opening it, closing it or choosing a picture reruns only this. Its content is
    drawn only while it is open (on_change="rerun"), so a closed popover costs a page run almost nothing, and the
    list, made when it opens, holds what the page shows then (the page's own fragments may have redrawn since)."""
    registry = current()
    if registry is None or not registry.items:
        return
    popover = st.popover(t("downloads.button"), icon=":material/download:", on_change="rerun",
                         key=f"_downloads_open_{registry.topic}")
    if popover.open:
        with popover:
            _choices(registry)


def _choices(registry: Registry) -> None:
    """The select box of what the page shows and a button per file of the chosen one, made when clicked."""
    items = registry.items
    keys = list(items)
    unnamed, sized = t("downloads.picture_n"), t("downloads.picture_shape")  # templates: filled in per item
    names = dict(zip(keys, distinct([name_of(items[k], unnamed, sized) for k in keys]), strict=True))
    choice, last = f"_downloads_pick_{registry.topic}", f"_downloads_last_{registry.topic}"
    if st.session_state.get(choice) not in names:  # a closed popover's select box forgets: this remembers
        st.session_state[choice] = st.session_state.get(last) if st.session_state.get(last) in names else keys[0]
    key = st.selectbox(t("downloads.which"), keys, format_func=names.get, key=choice, width=440)
    st.session_state[last] = key
    item = items[key]
    buttons = st.container(horizontal=True)
    for fmt in FORMATS[item.kind]:
        data: Callable[[], bytes] = partial(make_file, items, key, fmt)  # run when clicked, in another thread
        buttons.download_button(t(f"downloads.{fmt}"), data=data,
                                file_name=file_name(registry.topic, names[key], item.number, fmt),
                                mime=MIME[fmt], on_click="ignore", key=f"_downloads_{fmt}",
                                icon=":material/download:", help=t(f"downloads.help_{fmt}_{item.kind}"))
