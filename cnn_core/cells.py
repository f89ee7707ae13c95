"""Small grids of numbers as pictures, drawn with Pillow: the transposed-convolution step-through redraws three of
them on every step, and matplotlib needs 100–300 ms for one; this takes about a millisecond.

The step-through look: light cells, grey rings for padding, amber for the cells a kernel copy covers,
a red outline for the current cell, the numbers written in while they fit.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cnn_core.render import format_number

PAPER, PADDING, WINDOW, GRID, CURRENT = (247, 247, 247), (204, 204, 204), (255, 209, 89), (136, 136, 136), (214, 39, 40)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def grid_picture(values: np.ndarray, padding: int = 0, window=(), current: tuple[int, int] | None = None,
                 cell: int = 36, numbers: bool = True) -> np.ndarray:
    """(rows·cell + 1, cols·cell + 1, 3) uint8: the grid of `values` with its padding rings, window and current cell."""
    values = np.atleast_2d(np.asarray(values, dtype=np.float32))
    rows, cols = values.shape
    colours = np.empty((rows, cols, 3), dtype=np.uint8)
    colours[:] = PAPER
    if padding:
        ring = np.ones((rows, cols), dtype=bool)
        ring[padding:rows - padding, padding:cols - padding] = False
        colours[ring] = PADDING
    for r, c in window:
        colours[r, c] = WINDOW
    picture = np.repeat(np.repeat(colours, cell, axis=0), cell, axis=1)
    picture = np.pad(picture, ((0, 1), (0, 1), (0, 0)))
    picture[::cell, :] = GRID  # grid lines every `cell` pixels, and a closing line at the far edges
    picture[:, ::cell] = GRID
    image = Image.fromarray(picture)
    draw = ImageDraw.Draw(image)
    if numbers:
        font = _font(max(8, cell * 2 // 5))
        for r in range(rows):
            for c in range(cols):
                draw.text(((c + 0.5) * cell, (r + 0.5) * cell), format_number(float(values[r, c]), 1),
                          fill=(20, 20, 20), font=font, anchor="mm")
    if current is not None:
        r, c = current
        draw.rectangle((c * cell, r * cell, (c + 1) * cell, (r + 1) * cell), outline=CURRENT, width=3)
    return np.asarray(image)
