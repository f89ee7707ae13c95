"""A small library of classic hand-made kernels (filters).

Before networks learned their kernels, image processing designed them by hand. Each one below is a
2-D array you could type in yourself; the app shows what it does to the student's image. What each
kernel means is explained to the student in both languages in `lessons/<lang>/ui/kernels.toml`.
"""

from __future__ import annotations

import numpy as np

_SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
_PREWITT_X = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]

KERNELS: dict[str, np.ndarray] = {
    name: np.asarray(values, dtype=np.float32)
    for name, values in {
        # Copies the input: a 1 in the centre, 0 elsewhere.
        "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        # The seeds' edge detector (d2l): output = left pixel − right pixel, non-zero only where brightness changes.
        "diff_x": [[1, -1]],
        # Derivative along x with smoothing along y: vertical edges.
        "sobel_x": _SOBEL_X,
        # Its transpose: horizontal edges.
        "sobel_y": np.transpose(_SOBEL_X),
        # Like Sobel without the extra weight on the centre row.
        "prewitt_x": _PREWITT_X,
        "prewitt_y": np.transpose(_PREWITT_X),
        # Second derivative in every direction: zero on flat areas and ramps, strong at edges and dots.
        "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        # Mean of the 3×3 neighbourhood: blurs.
        "box_blur": np.full((3, 3), 1 / 9),
        # Weighted mean, heavier in the centre: a gentler blur (binomial approximation of a Gaussian).
        "gaussian_blur": np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256,
        # Identity plus a negative Laplacian: boosts local contrast.
        "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        # Difference along the diagonal: looks like a relief lit from the top-left.
        "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
        # All neighbours minus the centre: outlines every edge, ignoring direction.
        "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    }.items()
}


def get_kernel(name: str) -> np.ndarray:
    """A copy of a named kernel (so callers cannot change the library)."""
    if name not in KERNELS:
        raise ValueError(f"Unknown kernel '{name}'. Choose one of: {', '.join(KERNELS)}.")
    return KERNELS[name].copy()
