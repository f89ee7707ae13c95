"""Pictures the pages draw without matplotlib (cheap on every rerun): receptive fields, XOR decision regions.

Receptive fields: an image or a feature map with boxes drawn on it, sharp at any scale.

Boxes are given in the picture's own pixels (cnn_core.receptive_field.Box) and drawn *after* the picture is
scaled, so an outline stays two screen pixels thick whether a 28×28 digit is enlarged 12 times or a photo is
shrunk to a column. Shrinking averages blocks of pixels (area), never skips them, so thin stripes do not alias.
Where a field reaches past the picture, a grey margin stands for the padding. Plain NumPy + PIL: no matplotlib.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageDraw

from cnn_core.receptive_field import Box, boxes_through_stack, input_box, receptive_field
from cnn_core.render import colorize, draw_box, overlay
from cnn_core.rf_network import spread

PADDING_COLOR = (96, 96, 96)  # the part of a field that lies in the padding, outside the picture
BOX_COLOR = (255, 200, 0)  # the theoretical field
SPREAD_COLOR = (0, 220, 255)  # where most of the effective field lies
ZOOM_COLOR = (255, 255, 255)  # the region shown as a close-up


def shrink_area(picture: np.ndarray, step: int) -> np.ndarray:
    """An (H, W, 3) uint8 picture shrunk by a whole factor, each new pixel the mean of a step × step block."""
    if step <= 1:
        return picture
    return np.asarray(Image.fromarray(np.ascontiguousarray(picture)).reduce(step))


def _outline(picture: np.ndarray, box: Box, color, thickness: int) -> np.ndarray:
    """Draw a box's outline: inside its edge when the box is large, just outside it when it is tiny."""
    if box.height >= 4 * thickness and box.width >= 4 * thickness:
        for t in range(thickness):
            picture = draw_box(picture, box.top + t, box.left + t, box.height - 2 * t, box.width - 2 * t, color, 1)
        return picture
    return draw_box(picture, box.top - 1, box.left - 1, box.height + 2, box.width + 2, color, thickness)


def _framed(picture: np.ndarray, boxes: list[tuple[Box, tuple]], limit: int) -> tuple[np.ndarray, list]:
    """Add a grey margin (the padding) where a box reaches past the picture, at most `limit` pixels a side."""
    H, W = picture.shape[:2]
    drawn = [b for b, _ in boxes if b.height and b.width]
    top, left, bottom, right = (int(min(max([0] + values), limit)) for values in (
        [-b.top for b in drawn], [-b.left for b in drawn], [b.bottom - H for b in drawn], [b.right - W for b in drawn]))
    if not (top or left or bottom or right):
        return picture, boxes
    framed = np.empty((H + top + bottom, W + left + right, 3), np.uint8)
    framed[:] = PADDING_COLOR
    framed[top:top + H, left:left + W] = picture
    return framed, [(b.shift(top, left), c) for b, c in boxes]


def picture_with_boxes(picture: np.ndarray, boxes: Iterable[tuple[Box, tuple[int, int, int]]],
                       heat: np.ndarray | None = None, min_side: int = 192, max_side: int = 720,
                       max_margin: int | None = None) -> np.ndarray:
    """An (H, W, 3) uint8 picture with box outlines, enlarged or shrunk to fit, the boxes drawn after scaling.

    Where a box reaches past the picture, a grey margin (the padding) is added on that side so the whole box
    shows; at most `max_margin` pixels (default: half the picture's longer side). `heat` (H, W) is blended in
    first. Boxes are drawn in order, so the last one stays on top. A picture longer than `max_side` is shrunk by
    a whole factor averaging blocks; a small one is enlarged by a whole factor with hard pixel edges.
    """
    boxes = list(boxes)
    if heat is not None:
        picture = overlay(picture, heat, alpha=0.75)
    limit = max(picture.shape[:2]) // 2 if max_margin is None else max_margin
    picture, boxes = _framed(picture, boxes, limit)
    longest = max(picture.shape[:2])
    if longest > max_side:  # shrink by an integer step, then map the boxes onto the smaller grid
        step = -(-longest // max_side)
        picture = shrink_area(picture, step)
        boxes = [(Box(b.top // step, b.left // step, -(-b.bottom // step), -(-b.right // step)), c) for b, c in boxes]
    else:
        factor = max(1, min(-(-min_side // min(picture.shape[:2])), 32, max_side // longest))
        picture = np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)
        boxes = [(Box(b.top * factor, b.left * factor, b.bottom * factor, b.right * factor), c) for b, c in boxes]
    thickness = max(2, max(picture.shape[:2]) // 240)
    for box, color in boxes:
        if box.height and box.width:
            picture = _outline(picture, box, color, thickness)
    return picture


def map_picture(values: np.ndarray) -> np.ndarray:
    """A feature map as colours (blue < 0 < red when signed, viridis otherwise)."""
    return colorize(values)[0]


def zoom_region(box: Box, height: int, width: int, margin: int | None = None, min_size: int = 24) -> Box:
    """A region of the picture for a close-up of a box: the box plus a margin, at least `min_size` pixels wide,
    slid onto the picture (the part of the box in the padding is left out)."""
    margin = max(2, max(box.height, box.width) // 3) if margin is None else margin
    sides = []
    for low, high, n in ((box.top, box.bottom, height), (box.left, box.right, width)):
        low, high = max(low, 0) - margin, min(high, n) + margin
        grow = max(0, min_size - (high - low))
        low, high = low - grow // 2, high + grow - grow // 2
        length = min(high - low, n)
        start = min(max(low, 0), n - length)
        sides.append((start, start + length))
    (top, bottom), (left, right) = sides
    return Box(top, left, bottom, right)


def close_up(shown: np.ndarray, field: Box, zoom: bool, side: int = 360) -> np.ndarray:
    """One map (values, coloured after cropping, so colours are scaled to what is shown) or the RGB input with
    the field on it; with `zoom`, only the field and a margin around it, enlarged."""
    h, w = shown.shape[:2]
    if zoom:
        near = zoom_region(field, h, w, min_size=12)
        shown, field = shown[near.top:near.bottom, near.left:near.right], field.shift(-near.top, -near.left)
    shown = shown if shown.ndim == 3 else map_picture(shown)
    return picture_with_boxes(shown, [(field, BOX_COLOR)], min_side=min(200, side), max_side=side,
                              max_margin=max(h, w) // 4)


def field_pictures(picture: np.ndarray, layers, row: int, col: int, erf: np.ndarray, maps, zoom: bool = True,
                   side: int = 520, map_side: int = 360) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Everything the receptive-field page draws for neuron (row, col) of the last layer, at display size:

    the (H, W, 3) image with the field (yellow) and the close-up region (white); the close-up with the effective
    field `erf` as heat and the box holding 95% of it (cyan); and the field on the input and on every map.
    """
    H, W = picture.shape[:2]
    box = input_box(receptive_field(layers)[-1], row, col)
    region, stats = zoom_region(box, H, W), spread(erf)
    whole = picture_with_boxes(picture, [(region, ZOOM_COLOR), (box, BOX_COLOR)], min_side=1, max_side=side,
                               max_margin=max(H, W) // 8)
    crop = (slice(region.top, region.bottom), slice(region.left, region.right))
    shown = [(box.shift(-region.top, -region.left), BOX_COLOR)]
    if stats is not None:  # drawn first, so the theoretical box stays on top where the two touch
        shown.insert(0, (stats.box.shift(-region.top, -region.left), SPREAD_COLOR))
    near = picture_with_boxes(picture[crop], shown, heat=erf[crop], min_side=min(320, side), max_side=side)
    fields = boxes_through_stack(layers, row, col)
    return whole, near, [close_up(values, field, zoom, map_side) for values, field in zip((picture, *maps), fields,
                                                                                          strict=True)]


def boundary_picture(grid: np.ndarray, probabilities: np.ndarray, points: np.ndarray, labels: np.ndarray,
                     side: int = 300, margin: int = 18) -> np.ndarray:
    """A classifier's P(class 1) over a square (red → 1, blue → 0), its p = 0.5 boundary in black and the points
    (class 1: red circles, class 0: blue squares), as an RGB picture with 0 and 1 marked on both axes.

    grid (G,) holds the coordinates of both axes; probabilities (G, G) has x2 = grid[i] in row i, x1 = grid[j]
    in column j (row 0 is the bottom of the plot). A flat p ≈ 0.5 has no boundary, so none is drawn.
    """
    lo, hi = float(grid[0]), float(grid[-1])
    P = np.asarray(probabilities, dtype=np.float32)[::-1]  # picture rows run downwards, x2 upwards
    fine = np.asarray(Image.fromarray(np.ascontiguousarray(P), mode="F").resize((side, side), Image.Resampling.BILINEAR))
    colours = colorize(np.clip(fine, 0, 1), False, 0.0, 1.0, "RdBu_r")[0]
    if P.min() < 0.5 < P.max() and P.max() - P.min() > 1e-3:
        above = fine > 0.5
        edge = np.zeros_like(above)
        edge[:-1] |= above[1:] != above[:-1]
        edge[:, :-1] |= above[:, 1:] != above[:, :-1]
        edge[1:] |= edge[:-1].copy()  # two pixels thick
        colours[edge] = 0
    canvas = Image.new("RGB", (side + margin, side + margin), (255, 255, 255))
    canvas.paste(Image.fromarray(colours), (margin, 0))
    draw = ImageDraw.Draw(canvas)

    def pixel(x1: float, x2: float) -> tuple[float, float]:
        return margin + (x1 - lo) / (hi - lo) * (side - 1), (hi - x2) / (hi - lo) * (side - 1)

    for (x1, x2), label in zip(points, labels, strict=True):
        x, y = pixel(float(x1), float(x2))
        shape, fill = (draw.ellipse, (178, 24, 43)) if label > 0.5 else (draw.rectangle, (33, 102, 172))
        shape((x - 9, y - 9, x + 9, y + 9), fill=fill, outline=(255, 255, 255), width=2)
    for value in (0, 1):  # tick labels: 0 and 1 on the x1 axis (bottom) and the x2 axis (left)
        x, y = pixel(value, value)
        draw.text((x - 3, side + 3), str(value), fill=(60, 60, 60))
        draw.text((4, y - 6), str(value), fill=(60, 60, 60))
    return np.asarray(canvas)
