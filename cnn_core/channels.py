"""Channels: what one kernel does to a colour image, what a layer costs, and the 1×1 convolution.

A kernel of a layer whose input has C_in channels is not a k×k grid but a C_in×k×k block: one k×k slice per
input channel. Slice c is correlated with channel c, and the C_in maps are *added*, with one bias, into one
output map (d2l 7.4):

    Y[i, j] = b + Σ_c Σ_a Σ_b X[c, i + a, j + b] · K[c, a, b]

A layer with C_out such blocks makes C_out maps, so it holds C_out·(C_in·k·k + 1) numbers. Grouped convolution
splits the channels into g groups and lets each block see only its group (C_in/g slices); depthwise convolution
is the extreme g = C_in. A 1×1 convolution has no spatial extent at all: at every pixel it is a fully connected
layer from the C_in values of that pixel to C_out values — "network in network" (Lin, Chen & Yan, 2014).

Arrays are NCHW float32 as in torch; every function here is numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_core.batch import fit_side
from cnn_core.conv import conv2d, output_size, pair
from cnn_core.errors import CnnError

# BT.601 luma, the weights of the usual RGB → gray conversion: green looks brightest to the eye.
RGB_TO_GRAY = (0.299, 0.587, 0.114)


class ChannelError(CnnError):
    """Channel settings that cannot work; `reason` + `details` let the app say it in the student's language."""


def _as_chw(input) -> np.ndarray:
    X = np.asarray(input, dtype=np.float32)
    if X.ndim == 4 and X.shape[0] == 1:
        X = X[0]
    if X.ndim != 3:
        raise ChannelError(f"Expected one image as (C, H, W) (or (1, C, H, W)), got shape {X.shape}.",
                           reason="bad_input_shape", shape=tuple(X.shape))
    return X


def rgb_planes(image, side: int) -> np.ndarray:
    """An H×W×C picture in [0, 1] → (3, h, w) channel planes with the longer side `side` (gray repeated 3 times)."""
    picture = np.asarray(image, dtype=np.float32)
    picture = picture[:, :, None] if picture.ndim == 2 else picture
    planes = [fit_side(picture[:, :, c], side) for c in range(picture.shape[2])]
    return np.stack(planes * 3 if len(planes) == 1 else planes[:3])


def _conv(X, W, bias=None, **settings) -> np.ndarray:
    """conv2d; its CnnErrors (e.g. reason "no_fit") pass unchanged, any other ValueError becomes a ChannelError."""
    try:
        return conv2d(X, W, bias, **settings)
    except CnnError:
        raise
    except ValueError as error:
        raise ChannelError(str(error), reason="conv_settings") from error


# --- One output channel = Σ over input channels + bias -----------------------------------------------------------

@dataclass(frozen=True)
class ChannelSum:
    """Every intermediate of one output channel, for drawing slices × kernel slices → sum."""

    per_channel: np.ndarray  # (C_in, OH, OW) X[c] ⋆ K[c]: one correlation map per input channel
    total: np.ndarray  # (OH, OW) Σ_c of the maps above
    bias: float
    output: np.ndarray  # (OH, OW) total + bias: the output map


def channel_sum(input, weight, bias: float = 0.0, stride=1, padding=0, dilation=1,
                padding_mode: str = "zeros") -> ChannelSum:
    """One output channel of a convolution, kept apart channel by channel.

    input: (C_in, H, W); weight: one kernel block (C_in, kh, kw) (or (1, C_in, kh, kw)); bias: one number.
    `output` equals conv2d(input, weight[None], [bias]) — the maps are the terms of that sum.
    """
    X = _as_chw(input)  # (C_in, H, W)
    K = np.asarray(weight, dtype=np.float32)
    if K.ndim == 4 and K.shape[0] == 1:
        K = K[0]
    if K.ndim != 3 or K.shape[0] != X.shape[0]:
        raise ChannelError(
            f"The kernel must have one slice per input channel: {X.shape[0]}×kh×kw for this input, "
            f"but it has shape {K.shape}.", reason="kernel_channels", channels=X.shape[0], shape=tuple(K.shape))
    if not np.isfinite(bias):
        raise ChannelError("The bias must be a finite number.", reason="bad_bias")
    settings = dict(stride=stride, padding=padding, dilation=dilation, padding_mode=padding_mode)
    # groups = C_in with one slice per group: channel c meets only slice c, and nothing is summed yet.
    per_channel = _conv(X[None], K[:, None], groups=X.shape[0], **settings)[0]  # (C_in, OH, OW)
    total = per_channel.sum(axis=0)  # (OH, OW)
    return ChannelSum(per_channel, total, float(bias), total + np.float32(bias))


def channel_sum_map(input, weight, bias: float = 0.0, stride=1, padding=0, dilation=1,
                    padding_mode: str = "zeros") -> np.ndarray:
    """Only the output map of `channel_sum` (what the PyTorch check compares with F.conv2d on one kernel)."""
    return channel_sum(input, weight, bias, stride, padding, dilation, padding_mode).output


def output_shape(input_shape, out_channels: int, kernel_size, stride=1, padding=0, dilation=1) -> tuple:
    """(C_out, OH, OW) of a convolution of a (C_in, H, W) input: every kernel block makes one map."""
    _, H, W = input_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(pair, (kernel_size, stride, padding, dilation))
    try:
        return int(out_channels), output_size(H, kh, sh, ph, dh), output_size(W, kw, sw, pw, dw)
    except CnnError:
        raise
    except ValueError as error:
        raise ChannelError(str(error), reason="conv_settings") from error


# --- What a layer costs -----------------------------------------------------------------------------------------

def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    if min(in_channels, out_channels, groups) < 1:
        raise ChannelError("Channels and groups must be at least 1.", reason="bad_channels",
                           in_channels=in_channels, out_channels=out_channels, groups=groups)
    if in_channels % groups or out_channels % groups:
        raise ChannelError(
            f"{groups} groups must divide both the input channels ({in_channels}) and the output channels "
            f"({out_channels}). Pick a number of groups that divides both.", reason="groups_do_not_divide",
            in_channels=in_channels, out_channels=out_channels, groups=groups)


def conv2d_parameters(in_channels: int, out_channels: int, kernel_size, groups: int = 1, bias: bool = True) -> int:
    """Learned numbers of an nn.Conv2d: C_out·(C_in/g·kh·kw + 1), the +1 being each block's bias."""
    _check_groups(in_channels, out_channels, groups)
    kh, kw = pair(kernel_size)
    return out_channels * ((in_channels // groups) * kh * kw + (1 if bias else 0))


def conv2d_mult_adds(in_channels: int, out_channels: int, kernel_size, out_size, groups: int = 1) -> int:
    """Multiply-adds of one forward pass on one image: each of C_out·OH·OW outputs costs C_in/g·kh·kw of them."""
    _check_groups(in_channels, out_channels, groups)
    (kh, kw), (OH, OW) = pair(kernel_size), pair(out_size)
    return out_channels * OH * OW * (in_channels // groups) * kh * kw


@dataclass(frozen=True)
class LayerCost:
    name: str  # "standard", "grouped", "depthwise", "depthwise_separable", "pointwise", …
    in_channels: int
    out_channels: int
    kernel_size: int
    groups: int
    parameters: int  # weights + biases
    mult_adds: int  # per image, at the output size given


def layer_cost(name: str, in_channels: int, out_channels: int, kernel_size: int, out_size, groups: int = 1,
               bias: bool = True) -> LayerCost:
    return LayerCost(name, in_channels, out_channels, kernel_size, groups,
                     conv2d_parameters(in_channels, out_channels, kernel_size, groups, bias),
                     conv2d_mult_adds(in_channels, out_channels, kernel_size, out_size, groups))


def grouped_costs(in_channels: int, out_channels: int, kernel_size: int, out_size, groups: int) -> list[LayerCost]:
    """The same C_in → C_out layer four ways: standard, g groups, depthwise, depthwise separable.

    A depthwise layer (g = C_in, one k×k slice per channel) keeps C_in channels, so it cannot change the channel
    count alone; the depthwise separable version (MobileNet) follows it with a 1×1 convolution C_in → C_out,
    and its row adds both parts. Savings are the standard row divided by each of the others.
    """
    depthwise = layer_cost("depthwise", in_channels, in_channels, kernel_size, out_size, in_channels)
    pointwise = layer_cost("pointwise", in_channels, out_channels, 1, out_size)
    separable = LayerCost("depthwise_separable", in_channels, out_channels, kernel_size, in_channels,
                          depthwise.parameters + pointwise.parameters, depthwise.mult_adds + pointwise.mult_adds)
    return [layer_cost("standard", in_channels, out_channels, kernel_size, out_size),
            layer_cost("grouped", in_channels, out_channels, kernel_size, out_size, groups),
            depthwise, separable]


# --- The 1×1 convolution: a fully connected layer at every pixel ----------------------------------------------------

def pointwise_conv(input, weight, bias=None) -> np.ndarray:
    """A 1×1 convolution written as what it is: one matrix (C_out, C_in) applied to every pixel's channel vector.

    input: (N, C_in, H, W) or (C_in, H, W); weight: (C_out, C_in, 1, 1) as torch (or (C_out, C_in)).
    Equal to conv2d(input, weight, bias) — a test checks it.
    """
    X = np.asarray(input, dtype=np.float32)
    W = np.asarray(weight, dtype=np.float32)
    W = W.reshape(W.shape[0], W.shape[1]) if W.ndim == 4 and W.shape[2:] == (1, 1) else W
    if W.ndim != 2 or X.ndim not in (3, 4) or W.shape[1] != X.shape[-3]:
        raise ChannelError(f"A 1×1 kernel bank must be (C_out, C_in, 1, 1) with C_in = {X.shape[-3]} here, "
                           f"got {np.shape(weight)}.", reason="kernel_channels", channels=X.shape[-3],
                           shape=tuple(np.shape(weight)))
    *batch, C, H, Wd = X.shape
    Y = np.matmul(W, X.reshape(*batch, C, H * Wd))  # y[:, i, j] = W @ x[:, i, j] at every pixel, as one product
    if bias is not None:
        Y += np.asarray(bias, dtype=np.float32)[:, None]
    return Y.reshape(*batch, W.shape[0], H, Wd)


def gray_weight() -> np.ndarray:
    """RGB → gray as a 1×1 convolution: one output channel, weights (0.299, 0.587, 0.114). Shape (1, 3, 1, 1)."""
    return np.asarray(RGB_TO_GRAY, dtype=np.float32).reshape(1, 3, 1, 1)


@dataclass(frozen=True)
class Reduction:
    """A 1×1 convolution C → r learned in closed form: the r directions that keep most of the maps' variance."""

    weight: np.ndarray  # (r, C, 1, 1)
    bias: np.ndarray  # (r,) = −weight @ mean, so the reduced maps are centred
    kept_variance: float  # share of the C maps' variance the r reduced maps keep (1 = nothing lost)
    reconstruction_error: float  # RMS difference between the maps and their best rebuild from the r maps


def pca_reduction(maps, out_channels: int) -> Reduction:
    """The best linear C → r channel reduction of these maps, in the least-squares sense (principal components).

    A trained network learns its 1×1 weights by gradient descent; for showing what r channels can keep, the
    principal components across channels are the optimum any 1×1 convolution could reach. maps: (C, H, W).
    """
    X = _as_chw(maps).astype(np.float64)
    C = X.shape[0]
    if not 1 <= out_channels <= C:
        raise ChannelError(f"A reduction keeps between 1 and {C} channels, not {out_channels}.",
                           reason="bad_reduction", channels=C, out_channels=out_channels)
    pixels = X.reshape(C, -1)  # (C, H·W): one column per pixel
    mean = pixels.mean(axis=1, keepdims=True)
    centred = pixels - mean
    covariance = centred @ centred.T / pixels.shape[1]  # (C, C)
    variances, vectors = np.linalg.eigh(covariance)  # ascending
    top = vectors[:, ::-1][:, :out_channels].T  # (r, C): one unit vector per kept channel
    total = float(variances.sum())
    kept = float(variances[::-1][:out_channels].sum() / total) if total > 0 else 1.0
    rebuilt = top.T @ (top @ centred)
    error = float(np.sqrt(np.mean((rebuilt - centred) ** 2)))
    return Reduction(top.reshape(out_channels, C, 1, 1).astype(np.float32),
                     (-(top @ mean)[:, 0]).astype(np.float32), min(kept, 1.0), error)


@dataclass(frozen=True)
class Bottleneck:
    """A 3×3 layer C → C_out applied to all C channels, versus 1×1 C → r first and the 3×3 on r channels."""

    direct: LayerCost  # k×k, C → C_out
    reduce: LayerCost  # 1×1, C → r
    reduced: LayerCost  # k×k, r → C_out
    parameters_ratio: float  # direct ÷ (reduce + reduced)
    mult_adds_ratio: float


def bottleneck(channels: int, reduced_channels: int, out_channels: int, kernel_size: int, out_size) -> Bottleneck:
    """The bottleneck idea with numbers: what shrinking C channels to r with a 1×1 convolution saves the next layer.

    out_size: the (OH, OW) both paths produce (the 1×1 convolution keeps the size; the k×k layer is padded).
    """
    direct = layer_cost("direct", channels, out_channels, kernel_size, out_size)
    reduce = layer_cost("reduce", channels, reduced_channels, 1, out_size)
    reduced = layer_cost("reduced", reduced_channels, out_channels, kernel_size, out_size)
    return Bottleneck(direct, reduce, reduced, direct.parameters / (reduce.parameters + reduced.parameters),
                      direct.mult_adds / (reduce.mult_adds + reduced.mult_adds))


# --- Kernel blocks for an RGB image -----------------------------------------------------------------------------

_SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
_CENTRE = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32)


def _stack(*slices) -> np.ndarray:
    return np.stack([np.asarray(s, dtype=np.float32) for s in slices])


# Name → a 3×3×3 block (slices for R, G, B). Each shows one thing the sum over channels can do.
RGB_KERNELS: dict[str, np.ndarray] = {
    # The same edge detector on all three channels: the sum is 3× the edge of the mean brightness.
    "sobel_x_all": _stack(_SOBEL_X, _SOBEL_X, _SOBEL_X),
    # Sobel weighted by luma: edges of the gray image — gray conversion and edge detection in one kernel.
    "sobel_x_gray": _stack(*(w * _SOBEL_X for w in RGB_TO_GRAY)),
    # +R −G at the centre pixel: bright where red dominates green, dark where green dominates, 0 on grays.
    "red_minus_green": _stack(_CENTRE, -_CENTRE, 0 * _CENTRE),
    # Only the blue slice is non-zero: the other channels contribute nothing to the sum.
    "blue_only": _stack(0 * _CENTRE, 0 * _CENTRE, _CENTRE),
    # Box blur of each channel, averaged: a blurred gray picture.
    "blur_mean": np.full((3, 3, 3), 1 / 27, dtype=np.float32),
    # An edge in red and the opposite edge in green: the two partly cancel on gray edges.
    "opponent_edges": _stack(_SOBEL_X, -_SOBEL_X, 0 * _SOBEL_X),
}


def rgb_kernel(name: str) -> np.ndarray:
    """A copy of a named 3×3×3 block (slices for R, G, B)."""
    if name not in RGB_KERNELS:
        raise ChannelError(f"Unknown kernel '{name}'. Choose one of: {', '.join(RGB_KERNELS)}.",
                           reason="unknown_kernel", name=name)
    return RGB_KERNELS[name].copy()


def _bank_weights() -> np.ndarray:
    """16 blocks (16, 3, 3, 3): four 2-D kernels, each applied to R, to G, to B and to the gray mix of the three."""
    blur = np.full((3, 3), 1 / 9, dtype=np.float32)
    kernels = (_CENTRE, blur, _SOBEL_X, _SOBEL_X.T)
    sources = (np.eye(3, dtype=np.float32)[0], np.eye(3, dtype=np.float32)[1], np.eye(3, dtype=np.float32)[2],
               np.asarray(RGB_TO_GRAY, dtype=np.float32))
    return np.stack([source[:, None, None] * K for K in kernels for source in sources])


FEATURE_BANK = _bank_weights()


def feature_bank(image) -> np.ndarray:
    """A bank of 16 feature maps of an RGB image (16, H, W): one 3×3 layer (padding 1) and a ReLU.

    Its channels are far from independent (the gray maps are mixes of the colour maps, blurred maps resemble the
    originals), which is exactly what lets a 1×1 convolution squeeze them into fewer channels.
    """
    X = _as_chw(image)
    if X.shape[0] != 3:
        raise ChannelError(f"The feature bank needs an RGB image (3 channels), not {X.shape[0]}.",
                           reason="needs_rgb", channels=X.shape[0])
    return np.maximum(_conv(X[None], FEATURE_BANK, padding=1)[0], 0)


def random_kernels(out_channels: int, in_channels: int, kernel_size: int, seed: int = 0) -> np.ndarray:
    """A bank of blocks (C_out, C_in, k, k) drawn like nn.Conv2d's default init: U(±1/√(C_in·k·k))."""
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(in_channels * kernel_size * kernel_size)
    return rng.uniform(-bound, bound, (out_channels, in_channels, kernel_size, kernel_size)).astype(np.float32)
