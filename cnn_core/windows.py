"""Window by window: which input cells one output of a convolution reads, and the output filled so far.

What the stride & padding page's step-through shows, as plain functions (the page only draws them).
"""

from __future__ import annotations

import numpy as np

from cnn_core.conv import corr2d, output_size


def window_cells(i: int, j: int, kernel_size: int, stride: int = 1, dilation: int = 1) -> list[tuple[int, int]]:
    """(row, col) in the *padded* input of every cell the window of output (i, j) covers, row by row."""
    return [(i * stride + a * dilation, j * stride + b * dilation) for a in range(kernel_size) for b in range(kernel_size)]


def step_through(padded: np.ndarray, kernel_size: int, stride: int = 1, dilation: int = 1,
                 position: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The output of an all-ones kernel (each output = the sum of its window) and which outputs are filled after
    `position` steps (row by row; None = all). The sums are corr2d's, the loop the lesson teaches."""
    K = np.ones((kernel_size, kernel_size))
    Y = corr2d(padded, K, stride, dilation)
    filled = np.arange(Y.size).reshape(Y.shape) <= (Y.size if position is None else position)
    return np.where(filled, Y, 0.0), filled


def positions(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> tuple[int, int]:
    """(rows, cols) of window positions on an n × n input."""
    size = output_size(n, kernel_size, stride, padding, dilation)
    return size, size
