"""One output explained: the numbers behind the value a student points at, and the experiments around them.

Convolution: the window of one output on the input, the patch under the kernel, the element-wise products and
their sum, with the same zero 'same' padding the feature maps use, so the worked value always equals the map's.
Pooling: the window of one pooled output, the pixel that won it (PyTorch's rule) and its mean; seeded noise, a
one-pixel shift, where an image is busiest, and one colour scale shared by an input and everything pooled from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_core.conv import conv2d, same_padding
from cnn_core.image import to_grayscale
from cnn_core.kernels import KERNELS
from cnn_core.pool import PoolError, avg_pool2d, lp_pool2d, max_pool2d, pool_output_size
from cnn_core.pool_backward import interpolate_nearest

NOISE_KINDS = ("gaussian", "salt", "pepper")
DIRECTIONS = ("right", "down")


# --- Convolution -------------------------------------------------------------------------------------------------

def planes_of(image: np.ndarray, mode: str) -> np.ndarray:
    """(C, H, W) planes the kernels run on: the grayscale image, or each RGB channel on its own."""
    if mode == "rgb" and image.shape[2] == 3:
        return np.ascontiguousarray(np.moveaxis(image, 2, 0))
    return to_grayscale(image)[None]


def feature_maps(planes: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(C, H, W) maps of one kernel on each plane, 'same' zero padding so each map lines up with its plane."""
    return conv2d(planes[:, None], K[None, None], padding="same")[:, 0]


@dataclass(frozen=True)
class ConvExample:
    """Output (row, col) of one kernel on one plane, worked out by hand."""

    row: int
    col: int
    top: int  # the window's corner on the image (negative where it hangs into the padding)
    left: int
    patch: np.ndarray  # (kh, kw) input values under the kernel, zeros in the padding
    kernel: np.ndarray  # (kh, kw) as it slides (already flipped for true convolution)
    products: np.ndarray  # patch * kernel
    total: float  # their sum: the feature map's value before the bias


def conv_example(plane: np.ndarray, K: np.ndarray, row: int, col: int) -> ConvExample:
    """The patch, products and sum behind feature_maps(...)[row, col]; row and col are clamped onto the map."""
    H, W = plane.shape
    row, col = int(min(max(row, 0), H - 1)), int(min(max(col, 0), W - 1))
    kh, kw = K.shape
    top_pad, _, left_pad, _ = same_padding((kh, kw), (1, 1))
    padded = np.pad(plane, ((top_pad, kh), (left_pad, kw)))  # zero padding, as the maps
    patch = padded[row:row + kh, col:col + kw]
    products = patch * K
    return ConvExample(row, col, row - top_pad, col - left_pad, patch, K, products,
                       float(products.sum(dtype=np.float64)))


def strongest_response(plane: np.ndarray, K: np.ndarray) -> tuple[int, int]:
    """Where |kernel response| is largest, away from the border (zero padding makes the picture's own edge look
    like an edge). So a worked example starts on an edge, not on flat sky."""
    response = np.abs(feature_maps(plane[None], K)[0])
    margin = max(K.shape)
    inner = response[margin:-margin, margin:-margin] if min(response.shape) > 2 * margin else response
    row, col = np.unravel_index(int(inner.argmax()), inner.shape)
    offset = margin if inner is not response else 0
    return int(row) + offset, int(col) + offset


# --- Pooling ---------------------------------------------------------------------------------------------------

def pooling_input(image: np.ndarray, source: str, feature: str) -> np.ndarray:
    """The (1, C, H, W) tensor that gets pooled: the gray image, its RGB channels, or a kernel's feature map."""
    if source == "rgb" and image.shape[2] == 3:
        return planes_of(image, "rgb")[None]
    gray = to_grayscale(image)
    if source == "feature":
        return feature_maps(gray[None], KERNELS[feature])[None]
    return gray[None, None]


def pool(X: np.ndarray, kind: str, k: int, s: int, p: int, ceil: bool, count_pad: bool, norm: int) -> np.ndarray:
    """Max, average or Lp pooling with one set of settings (torch's lp_pool2d has no padding: p is not used)."""
    if kind == "max":
        return max_pool2d(X, k, s, p, ceil_mode=ceil)
    if kind == "avg":
        return avg_pool2d(X, k, s, p, ceil, count_pad)
    if kind == "lp":
        return lp_pool2d(X, norm, k, s, ceil)
    raise PoolError(f"Unknown pooling type '{kind}': use max, avg or lp.", "bad_mode", mode=kind)


def output_shape(H: int, W: int, k: int, s: int, p: int, ceil: bool) -> tuple[int, int]:
    """(OH, OW) of a pooling; raises PoolError (with a reason) when the window does not fit."""
    return pool_output_size(H, k, s, p, 1, ceil), pool_output_size(W, k, s, p, 1, ceil)


@dataclass(frozen=True)
class PoolExample:
    """One pooled output (i, j) of a 2-D map, worked out by hand."""

    i: int
    j: int
    top: int  # the window's corner on the input (negative in the padding)
    left: int
    window: np.ndarray  # (k, k) the values it covers; NaN where it covers padding
    winner: tuple[int, int]  # input (row, col) of the maximum: PyTorch's first largest in reading order
    maximum: float
    total: float  # the sum of the real pixels (padding adds 0)
    divisor: int  # what average pooling divides by (count_include_pad decides whether padding counts)

    @property
    def mean(self) -> float:
        return self.total / self.divisor


def pool_example(X: np.ndarray, i: int, j: int, k: int, s: int, p: int, ceil: bool = False,
                 count_pad: bool = True) -> PoolExample:
    """The window behind output (i, j) of max / average pooling of the (H, W) map X; (i, j) clamped to the output."""
    H, W = X.shape
    OH, OW = output_shape(H, W, k, s, p, ceil)
    i, j = int(min(max(i, 0), OH - 1)), int(min(max(j, 0), OW - 1))
    top, left = i * s - p, j * s - p
    window = np.full((k, k), np.nan, dtype=np.float32)
    rows = [r for r in range(top, top + k) if 0 <= r < H]
    cols = [c for c in range(left, left + k) if 0 <= c < W]
    window[rows[0] - top:rows[-1] - top + 1, cols[0] - left:cols[-1] - left + 1] = X[rows[0]:rows[-1] + 1,
                                                                                     cols[0]:cols[-1] + 1]
    best, winner = -np.inf, (rows[0], cols[0])
    for r in rows:  # torch's rule: the first pixel larger than everything before it (a NaN always wins)
        for c in cols:
            if X[r, c] > best or np.isnan(X[r, c]):
                best, winner = X[r, c], (r, c)
    # A ceil_mode window may hang past the padding: it divides by its clipped size, as avg_pool2d does.
    clipped = (min(top + k, H + p) - top) * (min(left + k, W + p) - left)
    divisor = clipped if count_pad else len(rows) * len(cols)
    real = X[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return PoolExample(i, j, top, left, window, winner, float(best), float(real.sum(dtype=np.float64)), divisor)


def pooling_loss(X: np.ndarray, k: int, s: int, p: int, ceil: bool, count_pad: bool) -> dict[str, np.ndarray]:
    """Max and average pooling blown back up (nearest) to the input size, and input − upsampled: what was lost."""
    H, W = X.shape[2:]
    result = {}
    for name, Y in (("max", max_pool2d(X, k, s, p, ceil_mode=ceil)), ("avg", avg_pool2d(X, k, s, p, ceil, count_pad))):
        result[name] = Y
        result[f"up_{name}"] = interpolate_nearest(Y, (H, W))
        result[f"lost_{name}"] = X - result[f"up_{name}"]
    return result


def add_noise(X: np.ndarray, kind: str, amount: float, seed: int = 0) -> np.ndarray:
    """Seeded noise: Gaussian with σ = amount × the input's value range, or a fraction `amount` of the pixels set
    to the brightest (salt) or darkest (pepper) value of the input."""
    if kind not in NOISE_KINDS:
        raise PoolError(f"Unknown noise '{kind}': use {', '.join(NOISE_KINDS)}.", "bad_mode", mode=kind)
    rng = np.random.default_rng(seed)
    low, high = float(X.min()), float(X.max())
    if kind == "gaussian":
        return (X + rng.standard_normal(X.shape).astype(np.float32) * np.float32(amount * (high - low))).astype(np.float32)
    hit = rng.random(X.shape) < amount
    return np.where(hit, np.float32(high if kind == "salt" else low), X).astype(np.float32)


def shift(X: np.ndarray, pixels: int, direction: str) -> np.ndarray:
    """Move an (N, C, H, W) picture `pixels` to the right (or down); the uncovered edge repeats the first column
    (row), so no black band appears."""
    if direction not in DIRECTIONS:
        raise PoolError(f"Unknown direction '{direction}': use right or down.", "bad_mode", mode=direction)
    axis = 3 if direction == "right" else 2
    pixels = min(pixels, X.shape[axis])
    moved = np.roll(X, pixels, axis=axis)
    edge, first = [slice(None)] * 4, [slice(None)] * 4
    edge[axis], first[axis] = slice(0, pixels), slice(0, 1)
    moved[tuple(edge)] = X[tuple(first)]
    return moved


def pooled_change(X: np.ndarray, changed: np.ndarray, k: int, s: int, p: int, ceil: bool,
                  count_pad: bool) -> dict[str, np.ndarray]:
    """How much the input changed, and how much its max- and average-pooled outputs changed."""
    return {"input": changed - X,
            "max": max_pool2d(changed, k, s, p, ceil_mode=ceil) - max_pool2d(X, k, s, p, ceil_mode=ceil),
            "avg": avg_pool2d(changed, k, s, p, ceil, count_pad) - avg_pool2d(X, k, s, p, ceil, count_pad)}


def crop_box(H: int, W: int, row_percent: float, col_percent: float, crop: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a crop × crop square placed at (row %, col %) of the free room."""
    h, w = min(crop, H), min(crop, W)
    return int((H - h) * row_percent / 100), int((W - w) * col_percent / 100), h, w


def busiest_spot(X: np.ndarray, crop: int) -> tuple[int, int]:
    """Crop position (percent) with the most detail: the window of largest variance, E[x²] − E[x]², found with
    two average poolings (half-overlapping windows). So a zoomed crop starts on an edge rather than on flat sky."""
    H, W = X.shape[2:]
    h, w = min(crop, H), min(crop, W)
    gray = X.mean(axis=1, keepdims=True)
    step = (max(1, h // 2), max(1, w // 2))
    variance = avg_pool2d(gray * gray, (h, w), step) - avg_pool2d(gray, (h, w), step) ** 2
    i, j = np.unravel_index(int(np.argmax(variance[0, 0])), variance.shape[2:])
    return (round(100 * i * step[0] / (H - h)) if H > h else 50, round(100 * j * step[1] / (W - w)) if W > w else 50)


def display_scale(X: np.ndarray, signed_source: bool) -> dict:
    """One colour scale for an input and everything pooled from it, so the pictures can be compared: 0..1 for
    images, ±max|x| for a signed feature map (0..max when it has no negative values)."""
    if not signed_source:
        return dict(signed=False, vmin=0.0, vmax=1.0)
    finite = X[np.isfinite(X)]
    m = float(np.abs(finite).max()) if finite.size else 1.0
    m = m if m > 0 else 1.0
    negative = bool(finite.size and finite.min() < 0)
    return dict(signed=negative, vmin=-m if negative else 0.0, vmax=m)


def global_pool_layer(image: np.ndarray, kernels: dict[str, np.ndarray] = KERNELS) -> np.ndarray:
    """A small 'last conv layer': the image's channels and every kernel's feature map after ReLU, (1, C, H, W)."""
    gray = to_grayscale(image)[None]
    planes = [np.moveaxis(image, 2, 0)] + [np.maximum(feature_maps(gray, K), 0) for K in kernels.values()]
    return np.ascontiguousarray(np.concatenate(planes)[None])


def window_of(pixel: int, k: int, s: int, p: int, out: int) -> int:
    """The output index along one axis whose window's centre is nearest to input `pixel` (clamped to the output).

    Window i covers i·s − p … i·s − p + k − 1, centred at i·s − p + (k − 1)/2; the nearest centre is
    ⌊(pixel + p − (k − 1)/2) / s + ½⌋, computed in integers. When windows touch or overlap, that window contains
    the pixel; and window_of(centre_of(i)) == i, so a click on an output cell explains that very cell."""
    return int(min(max((2 * (pixel + p) - (k - 1) + s) // (2 * s), 0), out - 1))


def centre_of(i: int, k: int, s: int, p: int) -> int:
    """The input pixel at the centre (rounded down) of window i along one axis."""
    return i * s - p + (k - 1) // 2


def lp_of_window(example: PoolExample, norm: float) -> float:
    """(Σ x^p)^(1/p) over the window's pixels, as lp_pool2d computes it (NaN for a negative sum under 1/p)."""
    with np.errstate(invalid="ignore"):
        return float(np.power(np.nansum(np.power(example.window.astype(np.float64), norm)), 1.0 / norm))


def crop_percent(pixel: int, n: int, crop: int = 24) -> int:
    """The crop slider position (percent) that centres a crop × crop square on `pixel` of an n-pixel axis."""
    return int(min(max(round(100 * (pixel - crop // 2) / max(1, n - crop)), 0), 100))


def patch_around(X: np.ndarray, row: int, col: int, size: int) -> tuple[np.ndarray, int, int]:
    """A size × size patch of the (H, W) map X around (row, col), kept inside the map: (patch, top, left)."""
    H, W = X.shape
    top, left = min(max(0, row - size // 2), max(0, H - size)), min(max(0, col - size // 2), max(0, W - size))
    return X[top:top + size, left:left + size], top, left


def loss_summary(loss: dict[str, np.ndarray], grads: tuple[np.ndarray, np.ndarray]) -> dict[str, float]:
    """The numbers beside the up-close pictures: mean |input − upsampled| for max and average pooling, the share
    of pixels the upsampled max does not fall below, and the share of pixels that receive any gradient."""
    return {"lost_max": float(np.abs(loss["lost_max"]).mean()), "lost_avg": float(np.abs(loss["lost_avg"]).mean()),
            "max_not_below": float((loss["lost_max"] <= 1e-7).mean()),
            "reached_max": float((grads[0] > 0).mean()), "reached_avg": float((grads[1] > 0).mean())}
