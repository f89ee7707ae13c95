"""Point at a cell: a map (or a picture) the student clicks, and the (row, col) of the cell they clicked.

One chart the browser draws (Vega-Lite through st.altair_chart): the picture, encoded at the size it is shown,
as an image layer; on top a grid of invisible cells that take the click (and show the cell's value on hover);
then outlines (the chosen cell, a kernel window, a pooling window). Big maps are grouped into b × b blocks,
averaged (area), so the grid has at most `max_cells` cells per side; a click on a block maps back to the block's
centre pixel, in the map's own coordinates.

    def picked(row: int, col: int) -> None:          # a widget callback: runs before the (fragment) rerun
        page.set(conv_row=row, conv_col=col)

    click_cell(feature_map, "conv_map_0", picked, chosen=(row, col), boxes=[Box(row - 1, col - 1, 3, 3)],
               cache_key=(digest, kernel_name))
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from cnn_core import render
from ui.strings import t

PARAM = "cell"  # the chart's selection parameter
MAX_CELLS = 96  # cells per side of the click grid: enough to point, light enough for the browser


@dataclass(frozen=True)
class Box:
    """An outline in map coordinates (pixels of the map the student clicks): top, left, height, width."""

    top: float
    left: float
    height: float = 1
    width: float = 1
    color: str = "#ffc800"


def block_centre(index: np.ndarray, b: int, n: int) -> np.ndarray:
    """The map pixel a click on block `index` (b pixels per block, n pixels in all) stands for: its centre."""
    return np.minimum(np.asarray(index) * b + b // 2, n - 1).astype(np.int32)


def _picture(values: np.ndarray, signed, vmin, vmax, cmap) -> np.ndarray:
    """(H, W, 3) uint8: a picture as it is, a 2-D map coloured like every other map of the app."""
    if values.ndim == 3:
        return values if values.dtype == np.uint8 else render.image_to_uint8(values)
    return render.colorize(values, signed, vmin, vmax, cmap)[0]


def _layers(values: np.ndarray, signed, vmin, vmax, cmap, max_cells: int, width: int) -> tuple[str, pd.DataFrame, int]:
    """(PNG data URL at display size, the click grid's cells, block size b)."""
    picture = _picture(values, signed, vmin, vmax, cmap)
    shown, _ = render.fit_box(picture, width)  # never send more pixels than the chart shows
    factor = max(1, width // max(shown.shape[:2]))  # small maps enlarged with hard pixel edges, up to the width
    shown = np.repeat(np.repeat(shown, factor, axis=0), factor, axis=1) if factor > 1 else shown
    url = "data:image/png;base64," + base64.b64encode(render.to_png(shown)).decode("ascii")
    H, W = values.shape[:2]
    b = max(1, -(-max(H, W) // max_cells))
    blocks = values if values.ndim == 2 else None
    means = render.area_mean(blocks, b) if blocks is not None else None
    i, j = np.meshgrid(np.arange(-(-H // b)), np.arange(-(-W // b)), indexing="ij")
    cells = pd.DataFrame({"i": i.ravel().astype(np.int32), "j": j.ravel().astype(np.int32),
                          "row": block_centre(i.ravel(), b, H), "col": block_centre(j.ravel(), b, W)})
    if means is not None:
        cells["value"] = np.round(means.ravel().astype(np.float64), 4)
    return url, cells, b


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_layers(cache_key: tuple, signed, vmin, vmax, cmap, max_cells: int, width: int, _values: np.ndarray):
    return _layers(_values, signed, vmin, vmax, cmap, max_cells, width)


def chart(values: np.ndarray, boxes: Sequence[Box] = (), signed: bool | None = None, vmin: float | None = None,
          vmax: float | None = None, cmap: str | None = None, max_cells: int = MAX_CELLS, width: int = 360,
          cache_key: tuple | None = None) -> tuple[alt.LayerChart, int]:
    """The clickable chart and its block size (1 = every map pixel is a cell)."""
    values = np.asarray(values)
    if cache_key is None:
        url, cells, b = _layers(values, signed, vmin, vmax, cmap, max_cells, width)
    else:
        url, cells, b = _cached_layers(cache_key, signed, vmin, vmax, cmap, max_cells, width, values)
    H, W = values.shape[:2]
    height = max(40, round(width * H / W))
    if height > 1.5 * width:  # a tall map: keep it on the screen
        width, height = max(40, round(1.5 * width * W / H)), round(1.5 * width)
    x = alt.Scale(domain=[0, W], nice=False, zero=False)
    y = alt.Scale(domain=[0, H], nice=False, zero=False, reverse=True)
    no_axis = alt.Axis(title=None, labels=False, ticks=False, grid=False, domain=False)

    def at(chart_, x_field="x", y_field="y"):
        return chart_.encode(x=alt.X(f"{x_field}:Q", scale=x, axis=no_axis), x2=f"{x_field}2:Q",
                             y=alt.Y(f"{y_field}:Q", scale=y, axis=no_axis), y2=f"{y_field}2:Q")

    image = at(alt.Chart(pd.DataFrame({"x": [0], "x2": [W], "y": [0], "y2": [H], "url": [url]}))
               .mark_image(aspect=False, smooth=False, align="left", baseline="top")).encode(url="url:N")
    pick = alt.selection_point(name=PARAM, fields=["row", "col"], on="click", empty=False, clear=False)
    hover = alt.selection_point(name="hover", fields=["row", "col"], on="pointerover", empty=False, clear="pointerout")
    tooltip = [alt.Tooltip("row:Q", title=t("common.row")), alt.Tooltip("col:Q", title=t("common.col"))]
    if "value" in cells:
        tooltip.append(alt.Tooltip("value:Q", title=t("common.axis_value"), format=".4~f"))
    grid = at(alt.Chart(cells).transform_calculate(
        x=f"datum.j * {b}", x2=f"min(datum.j * {b} + {b}, {W})", y=f"datum.i * {b}", y2=f"min(datum.i * {b} + {b}, {H})",
    ).mark_rect(fill="transparent", cursor="pointer")).encode(
        stroke=alt.condition(hover, alt.value("#ffffff"), alt.value("transparent")), strokeWidth=alt.value(1.5),
        tooltip=tooltip).add_params(pick, hover)
    layers = [image, grid]
    if boxes:
        outline = pd.DataFrame([{"x": box.left, "x2": box.left + box.width, "y": box.top, "y2": box.top + box.height,
                                 "color": box.color} for box in boxes])
        layers.append(at(alt.Chart(outline).mark_rect(fill=None, strokeWidth=2.5))
                      .encode(stroke=alt.Stroke("color:N", scale=None)))
    layered = alt.layer(*layers).properties(width=width, height=height, padding=0)
    return layered.configure_view(stroke=None, continuousWidth=width, continuousHeight=height), b


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


def click_cell(values: np.ndarray, key: str, on_pick: Callable[[int, int], None] | None = None, *,
               chosen: tuple[int, int] | None = None, boxes: Sequence[Box] = (), caption: str | None = None,
               **options) -> tuple[int, int] | None:
    """Draw a clickable map (2-D values, or an (H, W, 3) picture) and return the last cell clicked on it.

    `on_pick(row, col)` runs on a click, before the rerun (set the page's controls there); `chosen` is the cell
    the page explains now: when it changes, the chart starts afresh, so clicking the same cell again still counts.
    options: signed, vmin, vmax, cmap (the colour scale, as render.colorize), max_cells, width (px), cache_key
    (a hashable tuple that identifies `values`, e.g. (image digest, settings): the picture is then encoded once).
    """
    layered, _ = chart(values, boxes, **options)
    chart_key = f"{key}@{chosen[0]},{chosen[1]}" if chosen is not None else key
    # st.altair_chart's callback takes no arguments (1.67): a closure carries them.
    st.altair_chart(layered, key=chart_key, selection_mode=[PARAM], width="content",
                    on_select=lambda: _on_select(chart_key, key, on_pick))
    if caption:
        st.caption(caption)
    return st.session_state.get(f"_picked_{key}")

