"""Display helpers of cnn_core.render: area downscaling (checked against torch) and matrices drawn as HTML."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core import render


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), step=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_area_mean_is_average_pooling_with_partial_edge_blocks(h, w, step, seed):
    """Each block's mean, edge blocks over the pixels they have: torch's avg_pool2d with ceil_mode, no padding."""
    x = np.random.default_rng(seed).standard_normal((h, w)).astype(np.float32)
    theirs = F.avg_pool2d(torch.from_numpy(x)[None, None], step, step, ceil_mode=True)[0, 0].numpy()
    np.testing.assert_allclose(render.area_mean(x, step), theirs, rtol=1e-5, atol=1e-5)


def test_area_mean_of_an_rgb_picture_stays_uint8():
    picture = np.random.default_rng(1).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    small = render.area_mean(picture, 3)
    assert small.dtype == np.uint8 and small.shape == (3, 3, 3)
    expected = picture[:3, :3].astype(np.float64).mean(axis=(0, 1))
    np.testing.assert_allclose(small[0, 0], expected, atol=1.0)  # within one grey level


def test_fine_stripes_do_not_alias_when_shrunk():
    """One-pixel stripes shrunk by 2: every block holds one dark and one bright column, so all become mid-grey.
    Keeping every 2nd pixel instead would have shown a flat black (or white) picture: a false pattern."""
    stripes = np.tile(np.array([0.0, 1.0], dtype=np.float32), (8, 8))  # (8, 16)
    shrunk = render.fit_width(stripes, 8)
    assert shrunk.shape == (4, 8)
    np.testing.assert_allclose(shrunk, 0.5, atol=1e-6)


@pytest.mark.parametrize("shape, side", [((1024, 1024, 3), 480), ((512, 768), 400), ((28, 28), 96)])
def test_fit_box_never_exceeds_the_side(shape, side):
    picture = np.zeros(shape, dtype=np.float32)
    shown, step = render.fit_box(picture, side)
    assert max(shown.shape[:2]) <= side and step == max(1, -(-max(shape[:2]) // side))


def test_matrix_html_writes_every_number_on_one_colour_scale():
    values = np.array([[0.0, 0.25], [0.5, 1.0]], dtype=np.float32)
    html = render.matrix_html(values, decimals=2, signed=False, vmin=0.0, vmax=1.0, highlight=[(1, 1)])
    cells = re.findall(r"<td style=\"background:(#[0-9a-f]{6});[^>]*>([^<]*)</td>", html)
    assert [text for _, text in cells] == ["0", "0.25", "0.5", "1"]
    assert len({colour for colour, _ in cells}) == 4  # four values, four colours
    assert html.count("outline:3px") == 1
    smallest, largest = map(int, re.search(r"font-size:clamp\((\d+)px, [^,]+, (\d+)px\)", html).groups())
    assert smallest >= 12 and largest >= 14  # readable in a narrow column, full size in a wide one
    same_scale = render.matrix_html(np.array([[0.25]], np.float32), signed=False, vmin=0.0, vmax=1.0)
    assert cells[1][0] in same_scale  # the same value gets the same colour in another matrix on the same scale


def test_matrix_html_leaves_missing_values_empty_and_grey():
    html = render.matrix_html(np.array([[np.nan, 1.0, np.inf]], np.float32))
    assert 'background:#e6e6e6;' in html and "></td>" in html  # NaN: padding, no number
    assert ">1<" in html and ">inf<" in html


def test_colorbar_html_labels_both_ends_and_zero_when_centred():
    labels = re.findall(r"<span>([^<]*)</span>", render.colorbar_html(-2.0, 2.0, render.SIGNED_CMAP))
    assert labels == ["-2", "0", "2"]
    assert re.findall(r"<span>([^<]*)</span>", render.colorbar_html(0.0, 1.0, render.UNSIGNED_CMAP)) == ["0", "", "1"]


def test_a_map_named_by_a_cache_key_is_encoded_once_and_exactly_like_an_unnamed_one(monkeypatch):
    from ui import show

    x = np.random.default_rng(2).normal(size=(30, 40)).astype(np.float32)
    calls = []
    monkeypatch.setattr(show, "map_png", lambda *a, **k: calls.append(a) or show.render.to_png(np.zeros((2, 2), np.uint8)))
    key = ("a map only this test names", id(calls))
    first = show._cached_map_png(key, x, True, {"vmin": -1.0, "vmax": 1.0})
    assert show._cached_map_png(key, x, True, {"vmin": -1.0, "vmax": 1.0}) is first and len(calls) == 1
    show._cached_map_png(key, x, True, {"vmin": -2.0, "vmax": 2.0})  # another colour scale: another picture
    assert len(calls) == 2
    monkeypatch.undo()
    png, lo, hi, cmap = show._cached_map_png(("another map",), x, True, {"vmin": -1.0, "vmax": 1.0})
    assert (png, lo, hi, cmap) == show.map_png(x, True, vmin=-1.0, vmax=1.0)
