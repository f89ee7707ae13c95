"""ui.clickmap: the clickable map's grid maps every click back into the map's own coordinates."""

from __future__ import annotations

import base64
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnn_core import render
from ui.clickmap import Box, block_centre, chart_data, layers


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), b=st.integers(1, 40))
def test_a_click_on_a_block_lands_on_a_pixel_inside_that_block(n, b):
    blocks = np.arange(-(-n // b))
    centre = block_centre(blocks, b, n)
    assert (centre >= blocks * b).all() and (centre < np.minimum((blocks + 1) * b, n)).all()


JS = (Path(__file__).resolve().parents[2] / "ui" / "components" / "clickmap.js").read_text(encoding="utf-8")


def js_centre(index: int, b: int, n: int) -> int:
    """clickmap.js's own rule for the pixel a click on block `index` reports, evaluated here as the browser would."""
    body = re.search(r"const centre = \(index, n\) => (.+);", JS).group(1)
    expression = body.replace("Math.min", "min").replace("Math.floor", "math.floor").replace("d.b", "b")
    return eval(expression, {"min": min, "math": math}, {"index": index, "b": b, "n": n})


@pytest.mark.parametrize("shape, max_cells", [((512, 768), 96), ((1024, 1024), 96), ((7, 5), 96), ((300, 40), 32)])
def test_every_cell_of_the_grid_returns_its_block_centre(shape, max_cells):
    values = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    drawn = layers(values, max_cells=max_cells, width=360)
    chart, b = chart_data(drawn, width=360), drawn.block
    H, W = shape
    rows, cols = -(-H // b), -(-W // b)
    assert b == max(1, -(-max(H, W) // max_cells)) and rows <= max_cells and cols <= max_cells
    assert (chart["H"], chart["W"], chart["b"]) == (H, W, b)
    means = np.frombuffer(drawn.means, "<f4")
    assert len(means) == rows * cols  # one tooltip value per cell (reading order, as the browser indexes it)
    np.testing.assert_allclose(means, render.area_mean(values, b).ravel(), atol=1e-6)
    for i in {0, rows // 2, rows - 1}:
        assert js_centre(i, b, H) == block_centre(i, b, H)
    for j in {0, cols // 2, cols - 1}:
        assert js_centre(j, b, W) == block_centre(j, b, W)
    png = base64.b64decode(chart["src"].split(",", 1)[1])
    shown = Image.open(io.BytesIO(png)).size
    assert max(shown) <= 360  # encoded at (at most) the size it is shown
    assert chart["width"] / chart["height"] == pytest.approx(W / H, rel=0.02) or chart["height"] == 540


def test_a_picture_needs_no_values_and_boxes_are_drawn_where_asked():
    picture = np.zeros((40, 60, 3), np.uint8)
    drawn = layers(picture, width=600)  # 10 screen pixels per map pixel: boxes are drawn at their true size
    chart = chart_data(drawn, boxes=[Box(3, 4, 5, 6, "#ff0000")], width=600)
    assert drawn.block == 1 and drawn.scale is None and drawn.means is None and chart["values"] is None
    assert chart["boxes"] == [{"top": 3, "left": 4, "height": 5, "width": 6, "color": "#ff0000"}]
    small = chart_data(drawn, boxes=[Box(3, 4, 1, 1)], width=60)["boxes"][0]
    assert small["width"] == 10 and small["left"] + small["width"] / 2 == 4.5  # grown to 10 px, centred
    assert (chart["width"], chart["height"]) == (600, 400)
    assert chart_data(layers(np.zeros((900, 100)), width=300), width=300)["height"] == 450  # a tall map stays on the screen
