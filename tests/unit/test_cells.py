"""cnn_core.cells: the Pillow grid has one cell per value, the padding rings grey, the window amber, the current
cell outlined in red (colours sampled at cell centres and edges, so a wrong layout would show)."""

import numpy as np

from cnn_core.cells import CURRENT, PADDING, PAPER, WINDOW, grid_picture


def test_cells_rings_window_and_current():
    cell = 20
    picture = grid_picture(np.arange(20).reshape(4, 5), padding=1, window=[(1, 2)], current=(2, 3), cell=cell,
                           numbers=False)
    assert picture.shape == (4 * cell + 1, 5 * cell + 1, 3) and picture.dtype == np.uint8

    def centre(r, c):
        return tuple(picture[r * cell + cell // 2, c * cell + cell // 2])

    assert centre(0, 0) == PADDING and centre(3, 4) == PADDING  # the outer ring
    assert centre(1, 1) == PAPER and centre(2, 3) == PAPER  # inside
    assert centre(1, 2) == WINDOW
    assert tuple(picture[2 * cell + 1, 3 * cell + cell // 2]) == CURRENT  # the red outline's top edge


def test_numbers_are_written_only_when_asked():
    plain = grid_picture(np.full((2, 2), 7.0), cell=30, numbers=False)
    written = grid_picture(np.full((2, 2), 7.0), cell=30, numbers=True)
    assert (written != plain).any() and (written.min(axis=2) < 100).sum() > (plain.min(axis=2) < 100).sum()
