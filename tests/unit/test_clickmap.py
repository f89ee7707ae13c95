"""ui.clickmap: the clickable map's grid maps every click back into the map's own coordinates."""

from __future__ import annotations

import base64
import io

import altair as alt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnn_core import render
from ui.clickmap import Box, block_centre, chart


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), b=st.integers(1, 40))
def test_a_click_on_a_block_lands_on_a_pixel_inside_that_block(n, b):
    blocks = np.arange(-(-n // b))
    centre = block_centre(blocks, b, n)
    assert (centre >= blocks * b).all() and (centre < np.minimum((blocks + 1) * b, n)).all()


def datasets(layered):
    with alt.data_transformers.enable("default", max_rows=None):  # Streamlit's own transformer has no row limit
        spec = layered.to_dict()
    return spec, list(spec["datasets"].values())


@pytest.mark.parametrize("shape, max_cells", [((512, 768), 96), ((1024, 1024), 96), ((7, 5), 96), ((300, 40), 32)])
def test_grid_has_at_most_max_cells_per_side_and_covers_the_map(shape, max_cells):
    values = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    layered, b = chart(values, max_cells=max_cells, width=360)
    _, (image, cells) = datasets(layered)
    H, W = shape
    assert b == max(1, -(-max(H, W) // max_cells))
    rows = {cell["row"] for cell in cells}
    cols = {cell["col"] for cell in cells}
    assert len(rows) <= max_cells and len(cols) <= max_cells
    assert len(cells) == len(rows) * len(cols) == (-(-H // b)) * (-(-W // b))
    assert max(rows) < H and max(cols) < W
    expected = render.area_mean(values, b)  # the tooltip shows each block's mean
    first = cells[0]
    np.testing.assert_allclose(first["value"], expected[0, 0], atol=1e-4)
    png = base64.b64decode(image[0]["url"].split(",", 1)[1])
    assert Image.open(io.BytesIO(png)).size[0] <= 360  # encoded at the size it is shown


def test_a_picture_needs_no_values_and_boxes_are_drawn_where_asked():
    picture = np.zeros((40, 60, 3), np.uint8)
    layered, b = chart(picture, boxes=[Box(3, 4, 5, 6, "#ff0000")], width=200)
    spec, (image, cells, boxes) = datasets(layered)
    assert b == 1 and "value" not in cells[0]
    assert boxes == [{"x": 4, "x2": 10, "y": 3, "y2": 8, "color": "#ff0000"}]
    assert spec["params"][0]["name"] == "cell"  # the selection Streamlit reports
