"""The step-through's window cells and running sums, against a hand-worked case and the direct sum."""

import numpy as np
import pytest

from cnn_core.windows import positions, step_through, window_cells


def test_hand_worked_3x3_window_with_stride_2_and_dilation_1():
    assert window_cells(1, 0, 3, stride=2) == [(2, 0), (2, 1), (2, 2), (3, 0), (3, 1), (3, 2), (4, 0), (4, 1), (4, 2)]
    assert window_cells(0, 1, 2, stride=1, dilation=2) == [(0, 1), (0, 3), (2, 1), (2, 3)]


@pytest.mark.parametrize("n, k, s, d", [(7, 3, 1, 1), (7, 3, 2, 1), (9, 2, 3, 2), (5, 5, 1, 1)])
def test_each_output_is_the_sum_of_its_window_and_filling_goes_row_by_row(n, k, s, d):
    X = np.random.default_rng(n * k).integers(0, 10, (n, n)).astype(float)
    rows, cols = positions(n, k, s, 0, d)
    full, filled = step_through(X, k, s, d)
    assert full.shape == (rows, cols) and filled.all()
    for i in range(rows):
        for j in range(cols):
            assert full[i, j] == pytest.approx(sum(X[r, c] for r, c in window_cells(i, j, k, s, d)))
    partial, filled = step_through(X, k, s, d, position=cols)  # the first row and one more cell
    assert filled.sum() == min(cols + 1, rows * cols) and partial[filled].sum() == pytest.approx(full[filled].sum())
    assert (partial[~filled] == 0).all()
