"""The one-channel network the receptive-field page runs on the image, and one neuron's gradient by hand (NumPy).

Every conv layer gets one hand-made kernel (`layer_kernel`); with relu=True each conv is followed by
ReLU(h + b), where the constant b = −mean(h) over the whole map centres it first (as batch normalisation would),
so about half of the neurons are on (`centring_bias`). `feature_maps` runs the stack forward; `neuron_gradient_numpy` runs it
backward from one neuron y of the last map, giving ∂y/∂x for every input pixel x — the same numbers
cnn_core.rf_effective gets from PyTorch autograd, computed here without torch to check them.

Both passes work window tap by window tap: for tap (a, b) of every window at once, the input positions it reads
form one strided slice of the padded input. Forward adds K[a, b] · slice into the output (a conv), keeps the
largest (max pooling, first one on ties like torch) or adds and divides (average pooling); backward sends each
output's gradient back along the same slices. Everything is float64, so the check against autograd (also run in
float64) is not blurred by rounding. `spread` then says how the gradient is spread over the field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_core.conv import pair
from cnn_core.receptive_field import Box, Crop, field_crop
from cnn_core.rf_layers import Layer, as_layers, axis_output, output_shapes

WEIGHT_MODES = ("uniform", "gaussian", "edges", "random")


def _binomial(n: int) -> np.ndarray:
    """Row n of Pascal's triangle: [1], [1, 1], [1, 2, 1], [1, 4, 6, 4, 1], ... (a discrete Gaussian)."""
    row = np.ones(1)
    for _ in range(n):
        row = np.convolve(row, [1.0, 1.0])
    return row


def _derivative(k: int) -> np.ndarray:
    """A k-tap smoothed difference: [−1, 1] for k = 2, [−1, 0, 1] for k = 3 (Sobel's), [1] when k = 1."""
    return np.ones(1) if k == 1 else np.convolve(_binomial(k - 2), [-1.0, 1.0])


def layer_kernel(kernel_size, mode: str, index: int = 0, seed: int = 0) -> np.ndarray:
    """The single-channel (kh, kw) float64 kernel of conv layer number `index` for a weight mode.

    uniform  — every tap 1/(kh·kw): a box blur (all paths count the same).
    gaussian — the binomial blur (`cnn_core.kernels` "gaussian_blur" at 5×5), any size.
    edges    — Sobel x on even layers, Sobel y on odd ones (the 3×3 kernels of `cnn_core.kernels`), any size.
    random   — normal numbers scaled by 1/√(kh·kw), the same for the same seed and layer.
    Kernels are scaled so |weights| sum to 1 (deep stacks neither explode nor vanish).
    """
    kh, kw = pair(kernel_size)
    if mode == "uniform":
        K = np.ones((kh, kw))
    elif mode == "gaussian":
        K = np.outer(_binomial(kh - 1), _binomial(kw - 1))
    elif mode == "edges":
        K = np.outer(_binomial(kh - 1), _derivative(kw)) if index % 2 == 0 else np.outer(_derivative(kh),
                                                                                           _binomial(kw - 1))
    elif mode == "random":
        K = np.random.default_rng([seed, index]).standard_normal((kh, kw)) / np.sqrt(kh * kw)
    else:
        raise ValueError(f"Unknown weight mode '{mode}'. Choose one of: {', '.join(WEIGHT_MODES)}.")
    return K / np.abs(K).sum()


def conv_kernels(layers, weights: str, seed: int = 0) -> list[np.ndarray | None]:
    """The kernel of every layer (None for a pool): conv number i gets `layer_kernel(..., index=i)`."""
    kernels, index = [], 0
    for layer in as_layers(layers):
        kernels.append(layer_kernel(layer.kernel_size, weights, index, seed) if layer.kind == "conv" else None)
        index += layer.kind == "conv"
    return kernels


# ---------------------------------------------------------------------------------------------------------------
# One layer, tap by tap
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class _Tape:
    """What one layer's backward pass needs from its forward pass."""

    layer: Layer
    in_shape: tuple[int, int]
    padded_shape: tuple[int, int]
    taps: list[tuple[int, int, tuple[slice, slice]]]  # (a, b, the slices of the padded input tap (a, b) reads)
    kernel: np.ndarray | None = None
    winner: np.ndarray | None = None  # max pooling: the tap number each window took its maximum from
    count: np.ndarray | None = None  # average pooling: the divisor of each window
    on: np.ndarray | None = None  # after a ReLU: where the output is positive (only there does gradient pass)


def _taps(layer: Layer, out: tuple[int, int]) -> list[tuple[int, int, tuple[slice, slice]]]:
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    return [(a, b, (slice(a * dh, a * dh + sh * (out[0] - 1) + 1, sh), slice(b * dw, b * dw + sw * (out[1] - 1) + 1, sw)))
            for a in range(kh) for b in range(kw)]


def _pad(x: np.ndarray, layer: Layer, out: tuple[int, int], fill: float) -> np.ndarray:
    """x with the layer's padding, and `fill` beyond it where a ceil_mode window hangs over the end."""
    ends = [(layer.kernel_size[a] - 1) * layer.dilation[a] + layer.stride[a] * (out[a] - 1) + 1 for a in (0, 1)]
    (top, bottom), (left, right) = layer.padding
    extra = [max(0, ends[0] - (x.shape[0] + top + bottom)), max(0, ends[1] - (x.shape[1] + left + right))]
    padded = np.full((x.shape[0] + top + bottom + extra[0], x.shape[1] + left + right + extra[1]), fill, x.dtype)
    padded[top:top + x.shape[0], left:left + x.shape[1]] = x
    return padded


def layer_forward(layer: Layer, x: np.ndarray, kernel: np.ndarray | None = None, number: int = 1
                  ) -> tuple[np.ndarray, _Tape]:
    """One layer on an (H, W) map, as torch computes it (in the map's float type); and the tape for `layer_backward`."""
    out = (axis_output(x.shape[0], layer, 0, number), axis_output(x.shape[1], layer, 1, number))
    padded = _pad(x, layer, out, -np.inf if layer.kind == "maxpool" else 0.0)
    tape = _Tape(layer, x.shape, padded.shape, _taps(layer, out), kernel)
    Y = np.zeros(out, x.dtype) if layer.kind != "maxpool" else np.full(out, -np.inf, x.dtype)
    if layer.kind == "maxpool":
        tape.winner = np.zeros(out, dtype=np.int64)
        for number_, (_, _, where) in enumerate(tape.taps):
            better = padded[where] > Y  # strictly greater: the first maximum wins, as in torch
            Y = np.where(better, padded[where], Y)
            tape.winner[better] = number_
        return Y, tape
    for a, b, where in tape.taps:
        Y += padded[where] * x.dtype.type(kernel[a, b] if layer.kind == "conv" else 1.0)
    if layer.kind == "avgpool":  # torch's divisor: the window inside the padded map, or inside the image only
        (top, bottom), (left, right) = layer.padding
        inside = _pad(np.ones(x.shape, x.dtype), layer, out, 0.0)
        if layer.count_include_pad:
            inside[:x.shape[0] + top + bottom, :x.shape[1] + left + right] = 1.0
        tape.count = sum(inside[where] for _, _, where in tape.taps)
        Y /= tape.count
    return Y, tape


def layer_backward(tape: _Tape, grad: np.ndarray) -> np.ndarray:
    """∂L/∂x from ∂L/∂y for one layer: every output sends its gradient back along the taps that made it."""
    layer = tape.layer
    if tape.on is not None:
        grad = grad * tape.on  # ReLU passes gradient only where its output was positive
    padded = np.zeros(tape.padded_shape)
    for number, (a, b, where) in enumerate(tape.taps):
        if layer.kind == "conv":
            padded[where] += grad * tape.kernel[a, b]
        elif layer.kind == "avgpool":
            padded[where] += grad / tape.count
        else:
            padded[where] += np.where(tape.winner == number, grad, 0.0)
    (top, _), (left, _) = layer.padding
    return padded[top:top + tape.in_shape[0], left:left + tape.in_shape[1]]


# ---------------------------------------------------------------------------------------------------------------
# The whole stack
# ---------------------------------------------------------------------------------------------------------------

def centring_bias(h) -> float:
    """b = −mean(h), so ReLU(h + b) keeps about half of a map on; 0 for a constant map (a 1×1 map, a flat
    picture), which centring would put exactly on ReLU's kink, where rounding alone would decide on or off."""
    low, high = float(h.min()), float(h.max())
    return 0.0 if low == high else -float(h.mean())


def _run(layers: list[Layer], x: np.ndarray, kernels, relu: bool, biases) -> tuple[list[np.ndarray], list, list]:
    """Every layer's map, the ReLU biases used (b = −mean of the map unless given) and the tapes."""
    maps, used, tapes, conv_index = [], [], [], 0
    for number, (layer, kernel) in enumerate(zip(layers, kernels, strict=True), start=1):
        x, tape = layer_forward(layer, x, kernel, number)
        if relu and layer.kind == "conv":
            bias = centring_bias(x) if biases is None else biases[conv_index]
            x = np.maximum(x + bias, 0.0)
            tape.on = x > 0
            used.append(bias)
        conv_index += layer.kind == "conv"
        maps.append(x)
        tapes.append(tape)
    return maps, used, tapes


def feature_maps(layers, image: np.ndarray, weights: str = "uniform", relu: bool = False,
                 seed: int = 0) -> tuple[np.ndarray, ...]:
    """Apply the stack to a grayscale (H, W) image, one channel per layer: every layer's (h, w) map.

    float32 (they are drawn; torch agrees to about 1e-6); the gradients are computed in float64."""
    layers = as_layers(layers)
    output_shapes(layers, image.shape)  # a clear StackError before any work
    return tuple(_run(layers, np.asarray(image, np.float32), conv_kernels(layers, weights, seed), relu, None)[0])


def relu_biases(layers, image: np.ndarray, weights: str = "uniform", seed: int = 0) -> list[float]:
    """The ReLU biases b = −mean(h) of every conv's map over the whole image (the network's constants)."""
    layers = as_layers(layers)
    return _run(layers, np.asarray(image, np.float64), conv_kernels(layers, weights, seed), True, None)[1]


def neuron_gradient_numpy(layers, image: np.ndarray, row: int, col: int, weights: str = "uniform",
                          relu: bool = False, seed: int = 0, biases: list[float] | None = None,
                          crop: bool = True) -> np.ndarray:
    """∂y/∂x for neuron y = (row, col) of the last map, by hand: forward over the field, then backward.

    Only the field goes through the stack (cnn_core.receptive_field.field_crop: exact); the ReLU biases are the
    whole image's (pass them, or they are computed). Returns an (H, W) float64 array, 0 outside the field.
    crop=False runs the whole image instead (slower; the same numbers).
    """
    layers = as_layers(layers)
    image = np.asarray(image)
    if relu and biases is None:
        biases = relu_biases(layers, image, weights, seed)
    gradient = np.zeros(image.shape)
    part = field_crop(layers, image.shape, row, col)
    if part is None:
        return gradient  # the field lies entirely in the padding: no pixel counts
    part = part if crop else Crop(Box(0, 0, *image.shape), row, col)
    box = part.box
    patch = np.asarray(image[box.top:box.bottom, box.left:box.right], np.float64)  # only the crop, in float64
    maps, _, tapes = _run(layers, patch, conv_kernels(layers, weights, seed), relu, biases)
    grad = np.zeros(maps[-1].shape)
    grad[part.row, part.col] = 1.0  # ∂y/∂y
    for tape in reversed(tapes):
        grad = layer_backward(tape, grad)
    gradient[box.top:box.bottom, box.left:box.right] = grad
    return gradient


def normalised_field(gradient: np.ndarray) -> np.ndarray:
    """|∂y/∂x| scaled so its largest value is 1 (all 0 if the gradient is 0 everywhere): the heat map drawn."""
    field = np.abs(np.asarray(gradient, dtype=np.float64))
    peak = field.max(initial=0.0)
    return (field / peak if peak > 0 else field).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# How the gradient is spread
# ---------------------------------------------------------------------------------------------------------------

def measured_box(gradient: np.ndarray) -> Box | None:
    """The bounding box of the pixels where the gradient is not zero (None when it is zero everywhere)."""
    rows, cols = np.nonzero(gradient)
    if rows.size == 0:
        return None
    return Box(int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)


@dataclass(frozen=True)
class Spread:
    """How the effective field is spread, per axis (height, width): centre and σ of |∂y/∂x|, and the box that
    holds the central `fraction` of its total (cut (1 − fraction)/2 from each side)."""

    centre: tuple[float, float]
    sigma: tuple[float, float]
    box: Box
    fraction: float


def axis_spread(mass: np.ndarray, fraction: float = 0.95) -> tuple[float, float, int, int]:
    """Centre, σ and the [low, high) range holding the central `fraction` of a non-negative 1-D mass."""
    position = np.arange(mass.size)
    total = mass.sum()
    centre = float((position * mass).sum() / total)
    sigma = float(np.sqrt(((position - centre) ** 2 * mass).sum() / total))
    cumulative = np.cumsum(mass) / total
    tail = (1 - fraction) / 2
    low = int(np.searchsorted(cumulative, tail, side="right"))
    high = int(np.searchsorted(cumulative, 1 - tail, side="left")) + 1
    return centre, sigma, low, min(high, mass.size)


def spread(erf: np.ndarray, fraction: float = 0.95) -> Spread | None:
    """Centre, σ and the central-`fraction` box of an effective field (None if it is zero everywhere)."""
    erf = np.abs(np.asarray(erf, dtype=np.float64))
    if erf.sum() <= 0:
        return None
    (ch, sh, top, bottom), (cw, sw, left, right) = (axis_spread(erf.sum(axis=1), fraction),
                                                    axis_spread(erf.sum(axis=0), fraction))
    return Spread((ch, cw), (sh, sw), Box(top, left, bottom, right), fraction)


@dataclass(frozen=True)
class Profile:
    """The effective field along one axis near the theoretical field, for a chart."""

    position: np.ndarray  # pixel coordinates shown
    share: np.ndarray  # |∂y/∂x| summed across the other axis, as a share of the total
    gaussian: np.ndarray  # the normal density with the same centre and σ, at the same positions
    centre: float
    sigma: float
    field: tuple[int, int]  # the theoretical field [first, last] along this axis


def profile(erf: np.ndarray, box: Box, axis: int = 1, margin: int = 3) -> Profile | None:
    """|∂y/∂x| summed across the other axis, beside a Gaussian with its mean and σ (None if the field is empty)."""
    mass = np.abs(np.asarray(erf, dtype=np.float64)).sum(axis=1 - axis)
    if mass.sum() <= 0:
        return None
    first, end = (box.top, box.bottom) if axis == 0 else (box.left, box.right)
    position = np.arange(max(0, first - margin), min(mass.size, end + margin))
    share = mass / mass.sum()
    centre, sigma, _, _ = axis_spread(share)
    gaussian = (np.exp(-0.5 * ((position - centre) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)) if sigma > 0
                else (position == round(centre)).astype(float))
    return Profile(position, share[position], gaussian, centre, sigma, (first, end - 1))
