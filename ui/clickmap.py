"""Point at a cell: a map (or a picture) the student clicks, and the (row, col) of the cell they clicked.

A small component of our own (ui/components/clickmap.js, plain JS): the picture, encoded once at the size it is
shown and served like st.image's pictures (fetched once, then cached by the browser), with the outlines (the chosen
cell, a kernel window, a pooling window) drawn on top. Under the pointer the browser outlines the cell and shows its
row, column and value, with no rerun; a click (or the arrow keys and Enter) reports the cell. Big maps are grouped
into b × b blocks, averaged (area), so the grid has at most `max_cells` cells per side; a click on a block maps
back to the block's centre pixel, in the map's own coordinates. A rerun sends only addresses and a few numbers:
the browser swaps the outlines in place instead of drawing a chart again (a Vega chart of the same map cost
0.5–1.5 s in Chromium per move).

    def picked(row: int, col: int) -> None:          # a widget callback: runs before the (fragment) rerun
        page.set(conv_row=row, conv_col=col)

    click_cell(feature_map, "conv_map_0", picked, chosen=(row, col), boxes=[Box(row - 1, col - 1, 3, 3)],
               cache_key=(digest, kernel_name), colorbar=True)
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from cnn_core import render
from ui.classroom import presenting
from ui.downloads import offer
from ui.shared_cache import SharedCache
from ui.strings import t

COMPONENTS = Path(__file__).resolve().parent / "components"
_mount = st.components.v2.component(  # not style-isolated: the Try-it focus (focus.js) and tests find its picture
    "cnnlab_clickmap", html="<div></div>", css=(COMPONENTS / "clickmap.css").read_text(encoding="utf-8"),
    js=(COMPONENTS / "clickmap.js").read_text(encoding="utf-8"), isolate_styles=False)
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
    means: bytes | None  # one value per grid cell (reading order) for the tooltip, float32; None for pictures
    block: int  # b: map pixels per grid cell along each axis
    shape: tuple[int, int]  # (H, W) of the map
    scale: tuple[float, float, str] | None  # (lo, hi, colour map) of a 2-D map


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
        shown, lo, hi, cmap = render.color_indices(small, signed, lo if vmin is None else vmin,
                                                   hi if vmax is None else vmax, cmap)
        scale = (lo, hi, cmap)
    factor = max(1, width // max(shown.shape[:2]))  # small maps enlarged with hard pixel edges, up to the width
    shown = np.repeat(np.repeat(shown, factor, axis=0), factor, axis=1) if factor > 1 else shown
    png = render.to_png(shown, scale[2] if scale else None)  # a 2-D map: a palette PNG of its colour map
    b = max(1, -(-max(H, W) // max_cells))
    means = None
    if values.ndim == 2:
        means = render.area_mean(values.astype(np.float32), b).astype("<f4").tobytes()
    return Layers(png, means, b, (H, W), scale)


_LAYERS = SharedCache(96)  # the last 96 maps drawn, for every session (Layers are immutable)


def _cached_layers(cache_key: tuple, signed, vmin, vmax, cmap, max_cells: int, width: int, values) -> Layers:
    """layers(...) once per key (ui.shared_cache: cheaper than st.cache_data for several maps a rerun)."""
    return _LAYERS.get((cache_key, signed, vmin, vmax, cmap, max_cells, width),
                       lambda: layers(values() if callable(values) else values, signed, vmin, vmax, cmap, max_cells,
                                      width))


def media_url(data: bytes, key: str, mimetype: str = "image/png") -> str:
    """Where the browser fetches a picture (or the cells' values): served like st.image's pictures (/media/…), so
    it is fetched once and a rerun's message carries only its address; a data URL when no server runs (tests)."""
    try:
        from streamlit import runtime

        if runtime.exists():
            base = st.get_option("server.baseUrlPath").strip("/")
            url = runtime.get_instance().media_file_mgr.add(data, mimetype, f"clickmap.{key}.{mimetype}")
            return f"/{base}{url}" if base and url.startswith("/") else url
    except Exception:  # noqa: BLE001  (any trouble with Streamlit's media store: the data URL always works)
        pass
    return f"data:{mimetype};base64," + base64.b64encode(data).decode("ascii")


def screen_size(shape: tuple[int, int], width: int) -> tuple[int, int]:
    """(width, height) on screen of a map of `shape` drawn `width` pixels wide; a tall map is kept on the screen."""
    H, W = shape
    height = max(40, round(width * H / W))
    if height > 1.5 * width:
        width, height = max(40, round(1.5 * width * W / H)), round(1.5 * width)
    return width, height


def chart_data(drawn: Layers, boxes: Sequence[Box] = (), width: int = 360, src: str | None = None,
               values: str | None = None, chosen: tuple[int, int] | None = None,
               labels: dict[str, str] | None = None) -> dict:
    """What clickmap.js draws: the picture's address, its size on screen, the map's size, the grid's block, the
    outlines in map pixels (an outline smaller than MIN_BOX screen pixels grown to it, around its centre)."""
    (H, W), b = drawn.shape, drawn.block
    width, height = screen_size(drawn.shape, width)
    per_pixel = width / W  # screen pixels per map pixel
    outlines = []
    for box in boxes:
        grow_h = max(0.0, MIN_BOX / per_pixel - box.height) / 2
        grow_w = max(0.0, MIN_BOX / per_pixel - box.width) / 2
        outlines.append({"top": float(box.top - grow_h), "left": float(box.left - grow_w),
                         "height": float(box.height + 2 * grow_h), "width": float(box.width + 2 * grow_w),
                         "color": box.color})
    src = src or "data:image/png;base64," + base64.b64encode(drawn.png).decode("ascii")
    return {"src": src, "width": width, "height": height, "H": H, "W": W, "b": b, "boxes": outlines,
            "values": values, "chosen": list(chosen) if chosen is not None else None, "labels": labels or {}}


def _on_click(component_key: str, on_pick: Callable[[int, int], None] | None) -> None:
    cell = (st.session_state.get(component_key) or {}).get("cell")  # a trigger: set for the run after one click
    if cell and on_pick is not None:
        on_pick(int(cell["row"]), int(cell["col"]))


def click_cell(values, key: str, on_pick: Callable[[int, int], None] | None = None, *,
               chosen: tuple[int, int] | None = None, boxes: Sequence[Box] = (), caption: str | None = None,
               colorbar: bool = False, width: int = 360, cache_key: tuple | None = None, signed: bool | None = None,
               vmin: float | None = None, vmax: float | None = None, cmap: str | None = None,
               max_cells: int = MAX_CELLS, download_name: str | None = None) -> None:
    """Draw a clickable map; a click on it calls on_pick(row, col), in the map's coordinates.

    values: a 2-D map, an (H, W, 3) picture, or a function returning one (called only when `cache_key`, a hashable
    tuple naming the values, e.g. (image digest, settings), is not cached yet: the picture is encoded once).
    on_pick(row, col) runs on a click, before the rerun: set the page's controls there. `chosen` is the cell the
    page explains now, in this map's coordinates: where the keyboard's cursor starts.
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
    component_key = f"{key}-map"
    labels = {"row": t("common.row"), "col": t("common.col"), "value": t("common.axis_value"),
              "aria": re.sub(r"\*\*", "", caption or download_name or "")}
    data = chart_data(drawn, boxes, width, media_url(drawn.png, key), chosen=chosen, labels=labels,
                      values=media_url(drawn.means, key, "application/octet-stream") if drawn.means else None)
    # The callback takes no arguments (Streamlit 1.67): a closure carries them.
    _mount(data=data, key=component_key, on_cell_change=lambda: _on_click(component_key, on_pick))
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
