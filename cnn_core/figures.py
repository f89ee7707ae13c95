"""Pictures the pages draw without matplotlib (cheap on every rerun): receptive fields, XOR decision regions.

Receptive fields: an image or a feature map with boxes drawn on it, sharp at any scale.

Boxes are given in the picture's own pixels (cnn_core.receptive_field.Box) and drawn *after* the picture is
scaled, so an outline stays two screen pixels thick whether a 28×28 digit is enlarged 12 times or a photo is
shrunk to a column. Shrinking averages blocks of pixels (area), never skips them, so thin stripes do not alias.
Where a field reaches past the picture, a grey margin stands for the padding. Plain NumPy + PIL: no matplotlib.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from cnn_core.receptive_field import Box, boxes_through_stack, input_box, receptive_field
from cnn_core.render import SIGNED_CMAP, UNSIGNED_CMAP, colorize, draw_box, overlay, to_png, value_range
from cnn_core.rf_network import spread

PADDING_COLOR = (96, 96, 96)  # the part of a field that lies in the padding, outside the picture
BOX_COLOR = (255, 200, 0)  # the theoretical field
SPREAD_COLOR = (0, 220, 255)  # where most of the effective field lies
ZOOM_COLOR = (255, 255, 255)  # the region shown as a close-up
MAP_LEVELS = 252  # palette entries 0 … 251 hold a map's colour scale; then the box and the padding
BOX_INDEX, PADDING_INDEX = 252, 253


@dataclass(frozen=True)
class Indexed:
    """A picture as palette indices: a PNG of it encodes several times faster than RGB, and is smaller."""

    indices: np.ndarray  # (H, W) uint8
    palette: np.ndarray  # (256, 3) uint8

    def rgb(self) -> np.ndarray:
        return self.palette[self.indices]


def png(picture: np.ndarray | Indexed) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 picture or an Indexed one (fast compression level)."""
    if isinstance(picture, np.ndarray):
        return to_png(picture)
    image = Image.fromarray(np.ascontiguousarray(picture.indices), mode="P")
    image.putpalette(picture.palette.ravel().tolist())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _map_palette(cmap: str) -> np.ndarray:
    palette = np.zeros((256, 3), np.uint8)
    palette[:MAP_LEVELS] = colorize(np.linspace(0, 1, MAP_LEVELS, dtype=np.float32)[None], False, 0.0, 1.0, cmap)[0][0]
    palette[BOX_INDEX], palette[PADDING_INDEX] = BOX_COLOR, PADDING_COLOR
    return palette


def _block_mean(values: np.ndarray, step: int) -> np.ndarray:
    """Each step × step block replaced by its mean (the last blocks may be smaller): shrinking without aliasing."""
    rows, cols = np.arange(0, values.shape[0], step), np.arange(0, values.shape[1], step)
    sums = np.add.reduceat(np.add.reduceat(values, rows, axis=0), cols, axis=1)
    counts = np.outer(np.diff(np.append(rows, values.shape[0])), np.diff(np.append(cols, values.shape[1])))
    return sums / counts


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


def _margins(shape: tuple[int, ...], boxes: Iterable[Box], limit: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right): how far the boxes reach past a picture of this shape, at most `limit` each."""
    H, W = shape[:2]
    drawn = [b for b in boxes if b.height and b.width]
    return tuple(int(min(max([0] + values), limit)) for values in (
        [-b.top for b in drawn], [-b.left for b in drawn], [b.bottom - H for b in drawn], [b.right - W for b in drawn]))


def _framed(picture: np.ndarray, boxes: list[tuple[Box, tuple]], limit: int, fill) -> tuple[np.ndarray, list]:
    """Add a grey margin (the padding) where a box reaches past the picture, at most `limit` pixels a side."""
    H, W = picture.shape[:2]
    top, left, bottom, right = _margins(picture.shape, (b for b, _ in boxes), limit)
    if not (top or left or bottom or right):
        return picture, boxes
    framed = np.empty((H + top + bottom, W + left + right, *picture.shape[2:]), np.uint8)
    framed[:] = fill
    framed[top:top + H, left:left + W] = picture
    return framed, [(b.shift(top, left), c) for b, c in boxes]


def picture_with_boxes(picture: np.ndarray, boxes: Iterable[tuple[Box, tuple[int, int, int]]],
                       heat: np.ndarray | None = None, min_side: int = 192, max_side: int = 720,
                       max_margin: int | None = None, padding=PADDING_COLOR) -> np.ndarray:
    """An (H, W, 3) uint8 picture with box outlines, enlarged or shrunk to fit, the boxes drawn after scaling.

    Where a box reaches past the picture, a grey margin (the padding) is added on that side so the whole box
    shows; at most `max_margin` pixels (default: half the picture's longer side). `heat` (H, W) is blended in
    first. Boxes are drawn in order, so the last one stays on top. A picture longer than `max_side` is shrunk by
    a whole factor averaging blocks; a small one is enlarged by a whole factor with hard pixel edges. An (H, W)
    picture of palette indices works too (colours and `padding` are then indices); shrink its values before
    indexing them (indices cannot be averaged: it keeps every step-th pixel here).
    """
    boxes = list(boxes)
    if heat is not None:
        picture = overlay(picture, heat, alpha=0.75)
    limit = max(picture.shape[:2]) // 2 if max_margin is None else max_margin
    picture, boxes = _framed(picture, boxes, limit, padding)
    longest = max(picture.shape[:2])
    if longest > max_side:  # shrink by an integer step, then map the boxes onto the smaller grid
        step = -(-longest // max_side)
        picture = shrink_area(picture, step) if picture.ndim == 3 else picture[::step, ::step]
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


def close_up(shown: np.ndarray, field: Box, zoom: bool, side: int = 360) -> np.ndarray | Indexed:
    """One map (values, coloured after cropping, so colours are scaled to what is shown) or the RGB input with
    the field on it; with `zoom`, only the field and a margin around it, enlarged. At most `side` pixels long:
    a big map is shrunk by averaging blocks of values. A map comes back as an Indexed picture (fast PNG)."""
    h, w = shown.shape[:2]
    if zoom:
        near = zoom_region(field, h, w, min_size=12)
        shown, field = shown[near.top:near.bottom, near.left:near.right], field.shift(-near.top, -near.left)
    limit = max(h, w) // 4
    if shown.ndim == 3:
        return picture_with_boxes(shown, [(field, BOX_COLOR)], min_side=min(200, side), max_side=side,
                                  max_margin=limit)
    top, left, bottom, right = _margins(shown.shape, [field], limit)
    longest = max(shown.shape[0] + top + bottom, shown.shape[1] + left + right)
    step = -(-longest // side) if longest > side else 1
    if step > 1:  # average blocks of values first, then colour them
        shown, limit = _block_mean(np.asarray(shown, np.float64), step), limit // step
        field = Box(field.top // step, field.left // step, -(-field.bottom // step), -(-field.right // step))
    signed = bool(shown.min() < 0)
    lo, hi = value_range(shown, signed)
    indices = np.rint(np.clip((shown - lo) * ((MAP_LEVELS - 1) / max(hi - lo, 1e-12)), 0, MAP_LEVELS - 1))
    picture = picture_with_boxes(indices.astype(np.uint8), [(field, BOX_INDEX)], min_side=min(200, side),
                                 max_side=side, max_margin=limit, padding=PADDING_INDEX)
    return Indexed(picture, _map_palette(SIGNED_CMAP if signed else UNSIGNED_CMAP))


def field_pictures(picture: np.ndarray, layers, row: int, col: int, erf: np.ndarray, maps, zoom: bool = True,
                   side: int = 520, map_side: int = 360) -> tuple[np.ndarray, np.ndarray, list]:
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
