"""Point at a cell: a map (or a picture) the student clicks, and the (row, col) of the cell they clicked.

One chart the browser draws (a plain Vega-Lite spec through st.vega_lite_chart, so no Altair validation runs on a
rerun): the picture, encoded once at the size it is shown, as an image layer; outlines (the chosen cell, a kernel
window, a pooling window); on top a grid of invisible cells that take the click and outline the cell under the
pointer (no rerun for that). Big maps are grouped into b × b blocks, averaged (area), so the grid has at most
`max_cells` cells per side; a click on a block maps back to the block's centre pixel, in the map's own coordinates.

    def picked(row: int, col: int) -> None:          # a widget callback: runs before the (fragment) rerun
        page.set(conv_row=row, conv_col=col)

    click_cell(feature_map, "conv_map_0", picked, chosen=(row, col), boxes=[Box(row - 1, col - 1, 3, 3)],
               cache_key=(digest, kernel_name), colorbar=True)
"""

from __future__ import annotations

import base64
import html
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import streamlit as st

from cnn_core import render
from ui.classroom import presenting
from ui.downloads import offer
from ui.strings import t

PARAM = "cell"  # the chart's selection parameter
MAX_CELLS = 96  # cells per side of the click grid (at most; and at least 4 screen pixels each)
PRESENT_SCALE = 1.75  # presentation mode: maps this much bigger, for the back of the room
MIN_BOX = 10  # screen pixels: a smaller outline (a 3×3 window on a big photo) is drawn this big, centred


@dataclass(frozen=True)
class Box:
    """An outline in map coordinates (pixels of the map the student clicks): top, left, height, width."""

    top: float
    left: float
    height: float = 1
    width: float = 1
    color: str = "#ffc800"


@dataclass(frozen=True)
class Layers:
    """What the browser needs of one map, built once per cache key."""

    png: bytes  # the picture at display size
    means: bytes | None  # one value per grid cell (reading order) for the tooltip, Arrow IPC; None for pictures
    block: int  # b: map pixels per grid cell along each axis
    shape: tuple[int, int]  # (H, W) of the map
    scale: tuple[float, float, str] | None  # (lo, hi, colour map) of a 2-D map


def arrow(columns: dict) -> bytes:
    """Columns → Arrow IPC stream bytes, the form Streamlit sends a chart's named datasets in. Bytes made once
    (and cached with the picture) are sent as they are; a DataFrame would be converted again on every rerun."""
    table = pa.table(columns)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


@lru_cache(maxsize=256)
def _picture_row(url: str, W: int, H: int) -> bytes:
    return arrow({"x": [0], "x2": [W], "y": [0], "y2": [H], "url": [url]})


def block_centre(index: np.ndarray, b: int, n: int) -> np.ndarray:
    """The map pixel a click on block `index` (b pixels per block, n pixels in all) stands for: its centre."""
    return np.minimum(np.asarray(index) * b + b // 2, n - 1).astype(np.int32)


def layers(values: np.ndarray, signed=None, vmin=None, vmax=None, cmap=None, max_cells: int = MAX_CELLS,
           width: int = 360) -> Layers:
    """Picture and grid of a 2-D map (coloured like every map of the app: render.colorize on the whole map's
    scale, after averaging its values down to the display size) or of an (H, W, 3) picture (area-averaged)."""
    values = np.asarray(values)
    H, W = values.shape[:2]
    scale = None
    if values.ndim == 3:
        shown = render.fit_box(values if values.dtype == np.uint8 else render.image_to_uint8(values), width)[0]
    else:
        signed = bool(values.size and np.nanmin(values) < 0) if signed is None else signed
        lo, hi = render.value_range(values, signed)
        small = render.fit_box(np.asarray(values, dtype=np.float32), width)[0]
        shown, lo, hi, cmap = render.colorize(small, signed, lo if vmin is None else vmin,
                                              hi if vmax is None else vmax, cmap)
        scale = (lo, hi, cmap)
    factor = max(1, width // max(shown.shape[:2]))  # small maps enlarged with hard pixel edges, up to the width
    shown = np.repeat(np.repeat(shown, factor, axis=0), factor, axis=1) if factor > 1 else shown
    png = render.to_png(shown)
    b = max(1, -(-max(H, W) // max_cells))
    means = None
    if values.ndim == 2:
        means = arrow({"value": render.area_mean(values.astype(np.float32), b).ravel().round(4).astype(np.float64)})
    return Layers(png, means, b, (H, W), scale)


_LAYERS: OrderedDict[tuple, Layers] = OrderedDict()  # the last 96 maps drawn, for every session
_LAYERS_LOCK = threading.Lock()


def _cached_layers(cache_key: tuple, signed, vmin, vmax, cmap, max_cells: int, width: int, values) -> Layers:
    """layers(...) once per key. A plain LRU, not st.cache_data: on a rerun the page draws several maps, and
    st.cache_data's argument hashing and copy of the result cost ~2 ms a map where a dict lookup costs nothing.
    Layers are immutable, so every session may share them."""
    key = (cache_key, signed, vmin, vmax, cmap, max_cells, width)
    with _LAYERS_LOCK:
        if key in _LAYERS:
            _LAYERS.move_to_end(key)
            return _LAYERS[key]
    drawn = layers(values() if callable(values) else values, signed, vmin, vmax, cmap, max_cells, width)
    with _LAYERS_LOCK:
        _LAYERS[key] = drawn
        while len(_LAYERS) > 96:
            _LAYERS.popitem(last=False)
    return drawn


def picture_url(png: bytes, key: str) -> str:
    """Where the browser fetches the picture: served like st.image's pictures (/media/…), so it is fetched and
    decoded once and a rerun's message carries only its address; a data URL when no server runs (tests)."""
    try:
        from streamlit import runtime

        if runtime.exists():
            base = st.get_option("server.baseUrlPath").strip("/")
            url = runtime.get_instance().media_file_mgr.add(png, "image/png", f"clickmap.{key}")
            return f"/{base}{url}" if base and url.startswith("/") else url
    except Exception:  # noqa: BLE001  (any trouble with Streamlit's media store: the data URL always works)
        pass
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def spec(drawn: Layers, boxes: Sequence[Box] = (), width: int = 360, url: str | None = None) -> dict:
    """The clickable chart as a Vega-Lite spec (a plain dict); `url`: the picture's address (default: a data URL)."""
    (H, W), b = drawn.shape, drawn.block
    rows, cols = -(-H // b), -(-W // b)
    height = max(40, round(width * H / W))
    if height > 1.5 * width:  # a tall map: keep it on the screen
        width, height = max(40, round(1.5 * width * W / H)), round(1.5 * width)
    per_pixel = width / W  # screen pixels per map pixel

    def at() -> dict:
        return {"x": {"field": "x", "type": "quantitative", "axis": None,
                      "scale": {"domain": [0, W], "nice": False, "zero": False}},
                "x2": {"field": "x2"},
                "y": {"field": "y", "type": "quantitative", "axis": None,
                      "scale": {"domain": [0, H], "nice": False, "zero": False, "reverse": True}},
                "y2": {"field": "y2"}}

    # What changes from one rerun to the next (the picture, the outlines) travels as named datasets: with the
    # spec itself unchanged, the browser only swaps the data in the chart it has, instead of building it again.
    url = url or "data:image/png;base64," + base64.b64encode(drawn.png).decode("ascii")
    datasets = {"picture": _picture_row(url, W, H)}
    image = {"data": {"name": "picture"},
             "mark": {"type": "image", "aspect": False, "smooth": False, "align": "left", "baseline": "top"},
             "encoding": {**at(), "url": {"field": "url", "type": "nominal"}}}
    # The click grid: cell k (reading order) is block (i, j) = (k // cols, k % cols); a click returns the block's
    # centre pixel (block_centre, written again in Vega's expression language; a unit test runs both).
    number = [{"window": [{"op": "row_number", "as": "k1"}]}, {"calculate": "datum.k1 - 1", "as": "k"}] \
        if drawn.means is not None else []
    cells = {"name": "cells"} if drawn.means is not None else {"sequence": {"start": 0, "stop": rows * cols, "as": "k"}}
    geometry = [
        {"calculate": f"floor(datum.k / {cols})", "as": "i"}, {"calculate": f"datum.k % {cols}", "as": "j"},
        {"calculate": f"datum.j * {b}", "as": "x"}, {"calculate": f"min(datum.j * {b} + {b}, {W})", "as": "x2"},
        {"calculate": f"datum.i * {b}", "as": "y"}, {"calculate": f"min(datum.i * {b} + {b}, {H})", "as": "y2"},
        {"calculate": f"min(datum.i * {b} + {b // 2}, {H - 1})", "as": "row"},
        {"calculate": f"min(datum.j * {b} + {b // 2}, {W - 1})", "as": "col"},
    ]
    tooltip = [{"field": "row", "type": "quantitative", "title": t("common.row")},
               {"field": "col", "type": "quantitative", "title": t("common.col")}]
    if drawn.means is not None:
        tooltip.append({"field": "value", "type": "quantitative", "title": t("common.axis_value"), "format": ".4~f"})
    grid = {"data": cells, "transform": number + geometry,
            "params": [{"name": PARAM, "select": {"type": "point", "fields": ["row", "col"], "on": "click",
                                                  "clear": False}},
                       {"name": "hover", "select": {"type": "point", "fields": ["row", "col"], "on": "pointerover",
                                                    "clear": "pointerout"}}],
            # Invisible but hit: a fill with opacity 0 is never painted yet still takes the click; the stroke is
            # painted only under the pointer. (A "transparent" colour would be painted, cell by cell, every frame.)
            "mark": {"type": "rect", "fill": "#000000", "fillOpacity": 0, "stroke": "#ffffff", "strokeWidth": 1.5,
                     "cursor": "pointer", "aria": False},
            "encoding": {**at(), "tooltip": tooltip,
                         "strokeOpacity": {"condition": {"param": "hover", "empty": False, "value": 1}, "value": 0}}}
    outline = []
    for box in boxes:
        grow_h = max(0.0, MIN_BOX / per_pixel - box.height) / 2
        grow_w = max(0.0, MIN_BOX / per_pixel - box.width) / 2
        outline.append({"x": box.left - grow_w, "x2": box.left + box.width + grow_w, "y": box.top - grow_h,
                        "y2": box.top + box.height + grow_h, "color": box.color})
    datasets["boxes"] = arrow({name: [float(o[name]) for o in outline] for name in ("x", "x2", "y", "y2")}
                              | {"color": [o["color"] for o in outline]})
    # The outlines lie below the grid, so a click inside one still reaches the cell under it.
    chart_layers = [image, {"data": {"name": "boxes"}, "mark": {"type": "rect", "fill": None, "strokeWidth": 2.5,
                                                               "clip": True},
                            "encoding": {**at(), "stroke": {"field": "color", "type": "nominal", "scale": None}}},
                    grid]
    # autosize none: exactly width × height, so the picture keeps its aspect and a click maps back exactly.
    # Canvas, not SVG: thousands of invisible cells as SVG elements would cost the browser far more per rerun.
    chart = {"width": width, "height": height, "padding": 0, "autosize": {"type": "none"},
             "config": {"view": {"stroke": None}}, "layer": chart_layers,
             "usermeta": {"embedOptions": {"renderer": "canvas"}}}
    if drawn.means is not None:
        datasets["cells"] = drawn.means
    chart["datasets"] = datasets
    return chart


def _on_select(chart_key: str, key: str, on_pick: Callable[[int, int], None] | None) -> None:
    try:
        points = st.session_state[chart_key]["selection"][PARAM]
    except (KeyError, TypeError):
        return
    if points:
        row, col = int(points[0]["row"]), int(points[0]["col"])
        st.session_state[f"_picked_{key}"] = (row, col)
        if on_pick is not None:
            on_pick(row, col)


def click_cell(values, key: str, on_pick: Callable[[int, int], None] | None = None, *,
               chosen: tuple[int, int] | None = None, boxes: Sequence[Box] = (), caption: str | None = None,
               colorbar: bool = False, width: int = 360, cache_key: tuple | None = None, signed: bool | None = None,
               vmin: float | None = None, vmax: float | None = None, cmap: str | None = None,
               max_cells: int = MAX_CELLS, download_name: str | None = None) -> tuple[int, int] | None:
    """Draw a clickable map and return the last cell clicked on it ((row, col) in the map's coordinates) or None.

    values: a 2-D map, an (H, W, 3) picture, or a function returning one (called only when `cache_key`, a hashable
    tuple naming the values, e.g. (image digest, settings), is not cached yet: the picture is encoded once).
    on_pick(row, col) runs on a click, before the rerun: set the page's controls there. `chosen` is the cell the
    page explains now, in this map's coordinates: a chart whose last click disagrees with it starts afresh, so
    clicking that cell again still counts.
    signed / vmin / vmax / cmap: the colour scale, as render.colorize; colorbar: show it under the map.
    download_name: the name it is offered under for download (ui/downloads.py), when the caption alone does not
    tell it from the maps beside it; default: the caption.
    """
    if presenting():  # a projector: one map per row (ui/classroom.py), and big enough to read from the back
        width = round(width * PRESENT_SCALE)
    max_cells = min(max_cells, max(8, width // 4))  # a cell of at least 4 screen pixels is enough to point at
    if cache_key is None:
        drawn = layers(values() if callable(values) else values, signed, vmin, vmax, cmap, max_cells, width)
    else:
        drawn = _cached_layers(cache_key, signed, vmin, vmax, cmap, max_cells, width, values)
    # The browser keeps a chart's last selection: clicking that cell again would not count. So a chart whose
    # selection no longer agrees with `chosen` (the page moved on: another map was clicked, a number typed) gets a
    # new key, which starts it afresh; every other chart keeps its key and only swaps its data (fast).
    picked, generation = st.session_state.get(f"_picked_{key}"), f"_generation_{key}"
    if chosen is not None and picked is not None and tuple(picked) != tuple(chosen):
        st.session_state[generation] = st.session_state.get(generation, 0) + 1
        del st.session_state[f"_picked_{key}"]
    chart_key = f"{key}-{st.session_state.get(generation, 0)}"
    # The chart's callback takes no arguments (Streamlit 1.67): a closure carries them.
    st.vega_lite_chart(spec=spec(drawn, boxes, width, picture_url(drawn.png, key)), key=chart_key, selection_mode=[PARAM], width="content",
                       theme=None, on_select=lambda: _on_select(chart_key, key, on_pick))
    # Colour bar and caption in one element: every element costs a message to the browser.
    below = render.colorbar_html(*drawn.scale, width_px=min(width, 240)) if colorbar and drawn.scale else ""
    if caption:  # our own sentences (lessons' strings); their only markdown is **bold**
        text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(caption, quote=False))
        below += f'<div style="font-size:0.875rem;color:rgba(49,51,63,0.6);line-height:1.4">{text}</div>'
    if below:
        st.markdown(below, unsafe_allow_html=True)
    # For download: the map itself (or the function that makes it: called only if a file is asked for), coloured
    # on the scale shown.
    name = download_name or caption
    if drawn.scale:
        offer(name, values, "map", key=f"clickmap:{key}", vmin=drawn.scale[0], vmax=drawn.scale[1],
              cmap=drawn.scale[2])
    else:
        offer(name, values, "picture", key=f"clickmap:{key}")
    return st.session_state.get(f"_picked_{key}")
