"""Any picture of one digit → the digit network's 8×8 input, made the way the UCI handwritten digits were made.

UCI's digits are NIST-normalised 32×32 bitmaps whose 4×4 blocks were counted (0..16 inked pixels per block).
`image_to_digit` repeats those steps on an upload or a drawing and keeps every step for the page to show:
ink → threshold (Otsu) → crop → scale to 32 pixels high → normalise the stroke width → count 4×4 blocks → ÷ 16.
NumPy and Pillow only (no torch), so a page can reduce a picture before any network is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from cnn_core.errors import CnnError
from cnn_core.image import to_grayscale

SIDE = 8  # the network's input is SIDE × SIDE
BITMAP = 32  # UCI's normalised bitmaps are 32 × 32 ...
BLOCK = 4  # ... counted in 4 × 4 blocks, so every input pixel is 0..16


# The UCI bitmaps were normalised by NIST's programs. Read off the data: every digit fills all 8 rows (its height
# was scaled to 32 pixels) but almost never the outer columns (99 % of zeros span 6 of 8 columns), so the width
# follows the same scale up to about 24 pixels, centred; and strokes are thick (~30 % of the bitmap is ink).
MAX_WIDTH = 24
STROKE = 6.5  # target stroke width in bitmap pixels: held-out digits blown up and thresholded have a median of 6.4
WORK_SIDE = 256  # pictures are shrunk to at most this before thresholding (speed; the digit ends at 32 anyway)


@dataclass(frozen=True)
class DigitReduction:
    """Every step from a picture to the network's input, for the page to show."""

    gray: np.ndarray  # (H, W) brightness in [0, 1] (shrunk to at most WORK_SIDE)
    ink: np.ndarray  # (H, W) ink strength: 1 = full ink, whichever way round the picture was
    threshold: float  # Otsu's threshold on `ink`
    box: tuple[int, int, int, int]  # (top, left, height, width) of the ink in `ink`
    bitmap: np.ndarray  # (32, 32) bool: the normalised digit
    counts: np.ndarray  # (8, 8) int: inked pixels per 4 × 4 block, 0..16
    x: np.ndarray  # (1, 1, 8, 8) float32: counts / 16, the network's input


def otsu_threshold(values: np.ndarray, bins: int = 64) -> float:
    """The threshold that best separates two groups of values (Otsu 1979: largest between-class variance)."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    p = hist / max(hist.sum(), 1)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)  # share below each cut
    m0 = np.cumsum(p * centres)  # and their summed mean
    between = ((m0[-1] * w0 - m0) ** 2 / np.maximum(w0 * (1 - w0), 1e-12))[:-1]
    # Every cut inside an empty gap splits alike (a plateau of maxima): take the middle of the gap.
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))
    return float(edges[1:][best[len(best) // 2]])


def _resize(picture: np.ndarray, height: int, width: int) -> np.ndarray:
    image = Image.fromarray(np.asarray(picture, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BOX), dtype=np.float32)


def _grow(bitmap: np.ndarray, steps: int) -> np.ndarray:
    """Dilate (steps > 0) or erode (steps < 0) with a 3 × 3 square: each step adds or removes about 2 pixels of
    stroke width."""
    B = bitmap.copy()
    for _ in range(abs(steps)):
        P = np.pad(B, 1, constant_values=steps < 0)  # erosion treats the outside as ink, so borders survive
        windows = [P[i:i + B.shape[0], j:j + B.shape[1]] for i in range(3) for j in range(3)]
        B = np.logical_or.reduce(windows) if steps > 0 else np.logical_and.reduce(windows)
    return B


def stroke_width(bitmap: np.ndarray) -> float:
    """Mean stroke width ≈ 2 · area / boundary: a ribbon of width w and length L has area w·L and 2L edge pixels."""
    B = np.asarray(bitmap, dtype=bool)
    if not B.any():
        return 0.0
    P = np.pad(B, 1)
    inner = P[:-2, 1:-1] & P[2:, 1:-1] & P[1:-1, :-2] & P[1:-1, 2:]
    boundary = int((B & ~inner).sum())
    return 2.0 * B.sum() / boundary


def normalise_stroke(bitmap: np.ndarray, target: float = STROKE) -> np.ndarray:
    """Thicken thin strokes (or thin thick ones) toward `target` pixels, as NIST's normalisation did."""
    steps = int(round((target - stroke_width(bitmap)) / 2))
    steps = max(-2, min(steps, 4))
    grown = _grow(bitmap, steps)
    return grown if grown.any() else bitmap


def image_to_digit(image) -> DigitReduction:
    """Reduce a picture of one digit (H×W×C or H×W, values in [0, 1], either polarity) to the network's input.

    ink → threshold (Otsu) → crop to the ink → scale to 32 pixels high (width at most 24), centre in 32 × 32 →
    normalise the stroke width → count inked pixels in each 4 × 4 block (0..16) → divide by 16.
    """
    gray = np.clip(to_grayscale(image), 0.0, 1.0)
    if gray.ndim != 2 or min(gray.shape) < 2:
        raise CnnError(f"A digit picture needs at least 2 × 2 pixels, not {gray.shape}.", "digit_too_small",
                       shape=str(gray.shape))
    scale = WORK_SIDE / max(gray.shape)
    if scale < 1:
        gray = np.clip(_resize(gray, max(2, round(gray.shape[0] * scale)), max(2, round(gray.shape[1] * scale))),
                       0.0, 1.0)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = 1.0 - gray if np.median(border) > 0.5 else gray  # the paper is whatever fills the border
    if ink.max() - ink.min() < 0.1:
        raise CnnError("No digit found: the picture is one flat tone. Draw or upload a digit with clear strokes.",
                       "no_ink")
    threshold = otsu_threshold(ink)
    on = ink > threshold
    if on.mean() > 0.6:
        raise CnnError(f"No digit found: {on.mean():.0%} of the picture looks like ink. Use a picture of one "
                       f"digit on plain paper.", "too_much_ink", share=round(100 * float(on.mean())))
    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    top, left = int(rows[0]), int(cols[0])
    height, width = int(rows[-1]) - top + 1, int(cols[-1]) - left + 1
    new_width = max(1, min(MAX_WIDTH, round(width * BITMAP / height)))
    scaled = _resize(on[top:top + height, left:left + width], BITMAP, new_width) >= 0.5
    bitmap = np.zeros((BITMAP, BITMAP), dtype=bool)
    start = (BITMAP - new_width) // 2
    bitmap[:, start:start + new_width] = scaled
    bitmap = normalise_stroke(bitmap)
    counts = bitmap.reshape(SIDE, BLOCK, SIDE, BLOCK).sum(axis=(1, 3))  # (8, 4, 8, 4) → (8, 8)
    x = (counts / np.float32(BLOCK * BLOCK)).astype(np.float32)[None, None]
    return DigitReduction(gray, ink.astype(np.float32), threshold, (top, left, height, width), bitmap,
                          counts.astype(np.int64), x)
