"""cnn_core.render: colour scales centred on 0, hard-edged upscaling, lossless PNG, marks on pictures."""

import io

import numpy as np
from PIL import Image

from cnn_core import render


def test_signed_maps_put_zero_in_the_middle_of_a_diverging_scale():
    x = np.array([[-2.0, 0.0, 1.0]], dtype=np.float32)
    picture, lo, hi, cmap = render.colorize(x)
    assert (lo, hi) == (-2.0, 2.0) and cmap == render.SIGNED_CMAP
    zero = picture[0, 1].astype(int)
    assert zero.min() > 200  # RdBu_r is near-white at its centre
    assert picture[0, 0, 2] > picture[0, 0, 0]  # negative → blue
    assert picture[0, 2, 0] > picture[0, 2, 2]  # positive → red


def test_unsigned_maps_use_their_own_range_and_a_sequential_scale():
    picture, lo, hi, cmap = render.colorize(np.array([[0.2, 0.7]], dtype=np.float32))
    assert (lo, hi, cmap) == (np.float32(0.2), np.float32(0.7), render.UNSIGNED_CMAP)
    assert not np.array_equal(picture[0, 0], picture[0, 1])
    flat, lo, hi, _ = render.colorize(np.full((2, 2), 3.0, dtype=np.float32))  # constant map: no division by 0
    assert hi > lo and flat.shape == (2, 2, 3)


def test_upscale_nearest_keeps_each_value_one_square():
    small = np.arange(6, dtype=np.uint8).reshape(2, 3)
    big = render.upscale_nearest(small, min_side=8)
    assert big.shape == (8, 12)
    assert (big[:4, :4] == 0).all() and (big[4:, 8:] == 5).all()
    assert render.upscale_nearest(np.zeros((300, 300), np.uint8)).shape == (300, 300)


def test_png_is_lossless():
    picture = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    data = render.to_png(picture)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), picture)


def test_a_palette_png_shows_exactly_the_colours_of_the_colour_map_in_fewer_bytes():
    x = np.random.default_rng(0).normal(size=(200, 240)).astype(np.float32)
    for cmap, signed in (("RdBu_r", True), ("viridis", False), ("gray", False)):
        rgb, lo, hi, name = render.colorize(x, signed, cmap=cmap)
        index, *scale = render.color_indices(x, signed, cmap=cmap)
        assert scale == [lo, hi, name] and index.shape == x.shape
        palette_png = render.to_png(index, cmap)
        decoded = Image.open(io.BytesIO(palette_png))
        assert decoded.mode == "P"
        np.testing.assert_array_equal(np.asarray(decoded.convert("RGB")), rgb)
        if cmap != "gray":  # noise in colour: one byte a pixel instead of three (three equal ones deflate well)
            assert len(palette_png) < len(render.to_png(rgb)) / 2


def test_draw_box_outlines_and_clips():
    picture = np.zeros((10, 10, 3), np.uint8)
    boxed = render.draw_box(picture, 2, 3, 4, 5, thickness=1)
    assert (boxed[2, 3:8] == (255, 200, 0)).all() and (boxed[5, 3] == (255, 200, 0)).all()
    assert (boxed[3:5, 4:7] == 0).all()  # inside stays untouched
    assert picture.sum() == 0  # a copy
    render.draw_box(picture, -3, -3, 20, 20)  # off-picture boxes are clipped, not an error


def test_overlay_leaves_zero_heat_untouched():
    picture = np.full((4, 4, 3), 100, np.uint8)
    heat = np.zeros((4, 4))
    heat[0, 0] = 1.0
    out = render.overlay(picture, heat)
    assert (out[1:, 1:] == 100).all() and not (out[0, 0] == 100).all()


def test_format_number_is_short():
    assert [render.format_number(v) for v in (2.0, 0.5, -0.0001, 1.234)] == ["2", "0.5", "0", "1.23"]
