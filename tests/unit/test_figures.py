"""Receptive-field pictures: boxes and padding drawn after scaling, shrinking by area (no aliasing), close-ups."""

import numpy as np
import pytest

from cnn_core.figures import (
    BOX_COLOR,
    PADDING_COLOR,
    Indexed,
    close_up,
    picture_with_boxes,
    png,
    shrink_area,
    zoom_region,
)
from cnn_core.receptive_field import Box


def colour_present(picture, colour) -> bool:
    return bool((picture == colour).all(axis=2).any())


def test_pictures_show_the_box_and_the_padding():
    picture = np.full((20, 30, 3), 200, np.uint8)
    drawn = picture_with_boxes(picture, [(Box(-2, 5, 4, 12), (255, 0, 0))], min_side=1, max_side=1000)
    assert drawn.shape == (22, 30, 3)  # a 2-pixel grey margin on top, where the box reaches into the padding
    assert colour_present(drawn, (255, 0, 0))
    assert (drawn[0, 0] == PADDING_COLOR).all()
    big = picture_with_boxes(np.zeros((4, 4, 3), np.uint8), [(Box(1, 1, 2, 2), (0, 255, 0))], min_side=64)
    assert big.shape == (64, 64, 3) and colour_present(big, (0, 255, 0))
    small = picture_with_boxes(np.zeros((1000, 500, 3), np.uint8), [(Box(100, 100, 200, 200), (0, 0, 255))],
                               max_side=250)
    assert max(small.shape[:2]) <= 250 and colour_present(small, (0, 0, 255))
    heat = np.zeros((20, 30), np.float32)
    heat[10, 10] = 1
    assert not np.array_equal(picture_with_boxes(picture, [], heat=heat, min_side=1), picture)


@pytest.mark.parametrize("step", [2, 3, 4])
def test_shrinking_averages_blocks_so_stripes_do_not_alias(step):
    """One-pixel black and white stripes shrunk by an even factor must turn grey (the mean, 127.5), not stay
    white as keeping every step-th pixel would make them; an odd factor alternates 1/3 and 2/3 grey (step 3),
    and the picture's mean brightness is kept either way."""
    stripes = np.zeros((12, 24, 3), np.uint8)
    stripes[:, ::2] = 255
    shrunk = shrink_area(stripes, step).astype(float)
    assert shrunk.shape == (12 // step, 24 // step, 3)
    assert shrunk.mean() == pytest.approx(127.5, abs=1.0)
    if step % 2 == 0:
        np.testing.assert_allclose(shrunk, 127.5, atol=1.0)
        assert stripes[::step, ::step].min() == 255  # the skipping way sees only white: aliasing
    else:
        np.testing.assert_allclose(shrunk[:, ::2], 255 * 2 / 3, atol=1.0)
        np.testing.assert_allclose(shrunk[:, 1::2], 255 / 3, atol=1.0)
    assert shrink_area(stripes, 1) is stripes


def test_zoom_regions_stay_on_the_picture():
    assert zoom_region(Box(2, 2, 5, 5), 100, 100) == Box(0, 0, 24, 24)
    assert zoom_region(Box(50, 50, 53, 53), 100, 100) == Box(40, 40, 64, 64)
    assert zoom_region(Box(-50, -50, -40, -40), 10, 10) == Box(0, 0, 10, 10)


def test_close_up_of_a_map_colours_only_what_it_shows():
    values = np.zeros((60, 60), np.float32)
    values[:30] = -1.0  # a signed map: far away rows hold the negative values
    values[40:, :] = np.linspace(0, 1, 60, dtype=np.float32)
    field = Box(45, 20, 50, 25)
    whole, near = close_up(values, field, zoom=False), close_up(values, field, zoom=True)
    assert isinstance(whole, Indexed) and isinstance(near, Indexed)  # maps go out as palette PNGs
    whole, near = whole.rgb(), near.rgb()
    assert colour_present(whole, BOX_COLOR) and colour_present(near, BOX_COLOR)
    assert near.shape[0] >= 200 and max(whole.shape[:2]) <= 360
    # the close-up's colours span what it shows: its rows 40… hold 0 … 1, so both ends of viridis appear
    assert len(np.unique(near.reshape(-1, 3), axis=0)) >= 10
    picture = close_up(np.full((40, 40, 3), 128, np.uint8), Box(-3, -3, 4, 4), zoom=False)
    assert colour_present(picture, PADDING_COLOR)  # an RGB input keeps its colours; the padding shows grey


def test_boundary_picture_colours_the_classes_and_marks_the_points():
    """P = x1 on a 2×2 grid: the left half is blue (class 0), the right half red, the boundary black between;
    the four points are drawn as filled marks in their class colour."""
    from cnn_core.figures import boundary_picture

    grid = np.array([-0.5, 1.5])
    probabilities = np.array([[0.0, 1.0], [0.0, 1.0]])  # row i: x2 = grid[i]; column j: x1 = grid[j]
    points, labels = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), np.array([0, 1, 1, 0])
    picture = boundary_picture(grid, probabilities, points, labels, side=100, margin=10)
    assert picture.shape == (110, 110, 3)
    left, right = picture[50, 15], picture[50, 105]
    assert left[2] > left[0] and right[0] > right[2]  # blue on the left (p ≈ 0), red on the right (p ≈ 1)
    assert (picture[:100, 10:] == 0).all(axis=2).any()  # the p = 0.5 boundary
    assert colour_present(picture, (178, 24, 43)) and colour_present(picture, (33, 102, 172))
    flat = boundary_picture(grid, np.full((2, 2), 0.5), points, labels, side=50, margin=10)
    assert not (flat[:50, 10:] == 0).all(axis=2).any()  # p = 0.5 everywhere: no boundary to draw


def test_big_maps_are_shrunk_by_averaging_values_and_encode_as_palette_pngs():
    """A 1000-pixel map of one-pixel stripes (0, 1, 0, 1, …) shown at 250 pixels: block means are 0.5 everywhere,
    so the picture is one flat colour, not stripes; the box still lands on the field."""
    stripes = np.tile(np.array([0.0, 1.0], np.float32), (1000, 500))  # (1000, 1000)
    stripes[0, 0] = 2.0  # keep a range: a flat map would be coloured from its single value
    picture = close_up(stripes, Box(400, 400, 440, 440), zoom=False, side=250)
    assert max(picture.indices.shape) <= 250
    inside = picture.indices[20:200, 20:90]  # away from the box and the corner
    assert len(np.unique(inside)) == 1
    assert (picture.indices == 252).any()  # the box's palette entry
    data = png(picture)
    import io

    from PIL import Image
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == "P" and decoded.size == picture.indices.shape[::-1]
    np.testing.assert_array_equal(np.asarray(decoded.convert("RGB")), picture.rgb())
