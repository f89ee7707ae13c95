"""ui.clickmap: the clickable map's grid maps every click back into the map's own coordinates."""

from __future__ import annotations

import base64
import io
import math
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnn_core import render
from ui.clickmap import Box, block_centre, layers, spec


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), b=st.integers(1, 40))
def test_a_click_on_a_block_lands_on_a_pixel_inside_that_block(n, b):
    blocks = np.arange(-(-n // b))
    centre = block_centre(blocks, b, n)
    assert (centre >= blocks * b).all() and (centre < np.minimum((blocks + 1) * b, n)).all()


def table(data: bytes):
    """A chart's named dataset (Arrow IPC bytes, as Streamlit sends it) as a DataFrame."""
    return pa.ipc.open_stream(data).read_all().to_pandas()


def run_transforms(transforms: list[dict], k: int) -> SimpleNamespace:
    """The grid layer's Vega `calculate` expressions, evaluated for cell number k (what the browser does)."""
    datum = SimpleNamespace(k1=k + 1, k=k)
    for step in transforms:
        if "calculate" in step:
            setattr(datum, step["as"], eval(step["calculate"], {"floor": math.floor, "min": min}, {"datum": datum}))
    return datum


@pytest.mark.parametrize("shape, max_cells", [((512, 768), 96), ((1024, 1024), 96), ((7, 5), 96), ((300, 40), 32)])
def test_every_cell_of_the_grid_returns_its_block_centre(shape, max_cells):
    values = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    drawn = layers(values, max_cells=max_cells, width=360)
    chart, b = spec(drawn, width=360), drawn.block
    grid = chart["layer"][-1]
    H, W = shape
    rows, cols = -(-H // b), -(-W // b)
    assert b == max(1, -(-max(H, W) // max_cells)) and rows <= max_cells and cols <= max_cells
    means = table(chart["datasets"]["cells"])["value"].to_numpy()
    assert len(means) == rows * cols  # one tooltip value per cell: the block's mean
    np.testing.assert_allclose(means, render.area_mean(values, b).ravel(), atol=1e-4)
    for k in {0, cols - 1, rows * cols // 2, rows * cols - 1}:
        cell = run_transforms(grid["transform"], k)
        i, j = divmod(k, cols)
        assert (cell.row, cell.col) == (block_centre(i, b, H), block_centre(j, b, W))
        assert cell.x <= cell.col < cell.x2 <= W and cell.y <= cell.row < cell.y2 <= H
    assert grid["params"][0]["name"] == "cell"  # the selection Streamlit reports
    png = base64.b64decode(table(chart["datasets"]["picture"])["url"][0].split(",", 1)[1])
    assert max(Image.open(io.BytesIO(png)).size) <= 360  # encoded at (at most) the size it is shown


def test_a_picture_needs_no_values_and_boxes_are_drawn_where_asked():
    picture = np.zeros((40, 60, 3), np.uint8)
    drawn = layers(picture, width=600)  # 10 screen pixels per map pixel: boxes are drawn at their true size
    chart = spec(drawn, boxes=[Box(3, 4, 5, 6, "#ff0000")], width=600)
    grid = chart["layer"][-1]
    assert drawn.block == 1 and drawn.scale is None and "cells" not in chart["datasets"]
    assert grid["data"] == {"sequence": {"start": 0, "stop": 2400, "as": "k"}}
    assert table(chart["datasets"]["boxes"]).to_dict("records") == [{"x": 4, "x2": 10, "y": 3, "y2": 8,
                                                                     "color": "#ff0000"}]
    small = table(spec(drawn, boxes=[Box(3, 4, 1, 1)], width=60)["datasets"]["boxes"]).iloc[0]
    assert small.x2 - small.x == 10 and (small.x + small.x2) / 2 == 4.5  # grown to 10 px, centred
    assert chart["width"] == 600 and chart["height"] == 400
    moved = spec(drawn, boxes=[Box(9, 9, 5, 6, "#ff0000")], width=600)
    assert {k: v for k, v in moved.items() if k != "datasets"} == {k: v for k, v in chart.items() if k != "datasets"}
    # another outline changes only the data, never the spec: the browser then updates the chart in place
