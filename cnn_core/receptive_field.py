"""Receptive fields: which input pixels can change one neuron of a deep layer, and which ones really do.

A neuron of the first 3×3 convolution sees a 3×3 patch of the image. A neuron of the second sees a 3×3 patch
of the first layer's map, and each of those saw 3×3 pixels, overlapping: 5×5 pixels in all. Every layer adds
(k − 1) steps of the layer below, and a step of the layer below is `jump` input pixels long — the product of
all strides so far. That is why strides and pooling make the field grow faster.

Along one axis, layer l with kernel k_l (span k'_l = d_l(k_l − 1) + 1 when dilated), stride s_l and padding
p_l turns the field of the layer below into (Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019):

    r_l = r_{l−1} + (k'_l − 1) · j_{l−1}        size of the field, in input pixels        (r_0 = 1)
    j_l = j_{l−1} · s_l                         jump: input pixels between neighbours     (j_0 = 1)
    u_l = u_{l−1} − p_l · j_{l−1}               first input pixel seen by output 0        (u_0 = 0)

The centre of output 0's field is start_l = u_l + (r_l − 1)/2, and output i sees the input pixels
u_l + i·j_l … u_l + i·j_l + r_l − 1 (some may lie in the padding, outside the image).

That is the *theoretical* field. The *effective* field (Luo, Li, Urtasun & Zemel, "Understanding the Effective
Receptive Field in Deep Convolutional Neural Networks", NeurIPS 2016) asks how strongly each pixel really
counts: the gradient |∂y/∂x| of one output neuron y with respect to every input pixel x, measured here with
torch autograd. Far more paths lead through the centre of the field than through its border, so the gradient
is concentrated in the middle and fades like a Gaussian.

Layers are mappings with torch's argument names (`{"kind": "conv", "kernel_size": 3, "stride": 1, ...}`) or
`torch.nn` modules (`Conv2d`, `MaxPool2d`, `AvgPool2d`, an `nn.Sequential` of them). Per-axis helpers do the
arithmetic; 2-D functions call them once for the height and once for the width.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from cnn_core.conv import output_size, pair
from cnn_core.errors import CnnError
from cnn_core.pool import PoolError, pool_output_size
from cnn_core.render import colorize, draw_box, overlay

KINDS = ("conv", "maxpool", "avgpool")

# Modules that act pixel by pixel: they never change which pixels a neuron sees, so they are skipped.
POINTWISE = (nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.BatchNorm2d,
             nn.Dropout, nn.Dropout2d, nn.Identity)

_ALLOWED_KEYS = {"kind", "kernel_size", "stride", "padding", "dilation", "in_channels", "out_channels", "bias",
                 "groups", "ceil_mode", "count_include_pad", "padding_mode"}


class StackError(CnnError):
    """A layer stack that cannot work. The message says what to change; `reason` and `details` let the app say
    the same sentence in the student's language (lessons/<lang>/ui/receptive_field.toml → error_<reason>)."""


# ---------------------------------------------------------------------------------------------------------------
# Layers: one normalised description, whatever the caller passed
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Layer:
    """One conv or pooling layer, every number as an (h, w) pair; padding as ((top, bottom), (left, right))."""

    kind: str  # "conv", "maxpool" or "avgpool"
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]
    dilation: tuple[int, int] = (1, 1)
    out_channels: int | None = None  # conv only; None keeps the number of channels
    in_channels: int | None = None  # conv only; None takes whatever arrives
    groups: int = 1
    bias: bool = True
    ceil_mode: bool = False  # pools only
    count_include_pad: bool = True  # avgpool only

    def span(self, axis: int) -> int:
        """Pixels one window covers along an axis: d(k − 1) + 1."""
        return self.dilation[axis] * (self.kernel_size[axis] - 1) + 1


def _same_padding(span: int) -> tuple[int, int]:
    """torch's padding='same': d(k − 1) pixels in all, the odd one at the bottom / right."""
    return (span - 1) // 2, (span - 1) - (span - 1) // 2


def _layer_from_mapping(spec: Mapping, number: int) -> Layer:
    unknown = set(spec) - _ALLOWED_KEYS
    if unknown:
        raise StackError(f"Layer {number} has unknown settings {sorted(unknown)}. Use torch's argument names: "
                         f"kind, kernel_size, stride, padding, dilation, out_channels.", "unknown_setting",
                         layer=number, names=", ".join(sorted(unknown)))
    kind = spec.get("kind", "conv")
    if kind not in KINDS:
        raise StackError(f"Layer {number} has kind '{kind}'. Choose one of: {', '.join(KINDS)}.", "unknown_kind",
                         layer=number, kind=kind)
    if "kernel_size" not in spec:
        raise StackError(f"Layer {number} needs a kernel_size.", "no_kernel", layer=number)
    kernel = pair(spec["kernel_size"])
    default_stride = 1 if kind == "conv" else spec["kernel_size"]  # torch: a pool's stride defaults to its window
    stride = pair(spec.get("stride") if spec.get("stride") is not None else default_stride)
    dilation = pair(spec.get("dilation", 1))
    if kind == "avgpool" and dilation != (1, 1):
        raise StackError(f"Layer {number}: average pooling has no dilation in PyTorch. Set its dilation to 1, "
                         f"or use max pooling.", "avg_dilation", layer=number)
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        raise StackError(f"Layer {number}: kernel size, stride and dilation must be at least 1.", "bad_value",
                         layer=number)
    padding = spec.get("padding", 0)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        if kind != "conv" or stride != (1, 1):
            raise StackError(f"Layer {number}: padding='same' only works for convolutions with stride 1. Give the "
                             f"padding as a number instead.", "same_padding", layer=number)
        pads = (_same_padding(spans[0]), _same_padding(spans[1]))
    else:
        ph, pw = pair(padding)
        if ph < 0 or pw < 0:
            raise StackError(f"Layer {number}: padding cannot be negative.", "bad_value", layer=number)
        if kind != "conv" and (ph > kernel[0] // 2 or pw > kernel[1] // 2):
            half = min(kernel) // 2
            raise StackError(f"Layer {number}: a pooling layer's padding can be at most half its window "
                             f"({half} for a {min(kernel)}-pixel window), as in PyTorch. Lower the padding or "
                             f"enlarge the window.", "pool_padding", layer=number, k=min(kernel), half=half,
                             p=max(ph, pw))
        pads = ((ph, ph), (pw, pw))
    out_channels = spec.get("out_channels") if kind == "conv" else None
    return Layer(kind, kernel, stride, pads, dilation, out_channels, spec.get("in_channels") if kind == "conv" else None,
                 int(spec.get("groups", 1)), bool(spec.get("bias", True)), bool(spec.get("ceil_mode", False)),
                 bool(spec.get("count_include_pad", True)))


def _layers_from_module(module: nn.Module, number: int) -> list[Layer]:
    if isinstance(module, nn.Sequential):
        found = []
        for child in module:
            found += _layers_from_module(child, number + len(found))
        return found
    if isinstance(module, POINTWISE):
        return []
    if isinstance(module, nn.Conv2d):
        return [_layer_from_mapping(dict(kind="conv", kernel_size=module.kernel_size, stride=module.stride,
                                         padding=module.padding, dilation=module.dilation,
                                         in_channels=module.in_channels, out_channels=module.out_channels,
                                         groups=module.groups, bias=module.bias is not None), number)]
    if isinstance(module, nn.MaxPool2d):
        return [_layer_from_mapping(dict(kind="maxpool", kernel_size=module.kernel_size, stride=module.stride,
                                         padding=module.padding, dilation=module.dilation,
                                         ceil_mode=module.ceil_mode), number)]
    if isinstance(module, nn.AvgPool2d):
        return [_layer_from_mapping(dict(kind="avgpool", kernel_size=module.kernel_size, stride=module.stride,
                                         padding=module.padding, ceil_mode=module.ceil_mode,
                                         count_include_pad=module.count_include_pad), number)]
    name = type(module).__name__
    raise StackError(f"Layer {number} is a {name}; only Conv2d, MaxPool2d, AvgPool2d (and pixel-by-pixel layers "
                     f"such as ReLU or BatchNorm2d) have a receptive field here.", "unknown_module",
                     layer=number, name=name)


def as_layers(layers) -> list[Layer]:
    """Normalise a stack: mappings with torch's argument names, `Layer`s, nn modules or an nn.Sequential.

    Layers that act pixel by pixel (ReLU, BatchNorm2d, Dropout, ...) are skipped: they do not change the field.
    """
    if isinstance(layers, nn.Module):
        layers = [layers]
    found: list[Layer] = []
    for item in layers:
        if isinstance(item, Layer):
            found.append(item)
        elif isinstance(item, nn.Module):
            found += _layers_from_module(item, len(found) + 1)
        elif isinstance(item, Mapping):
            found.append(_layer_from_mapping(item, len(found) + 1))
        else:
            raise StackError(f"Layer {len(found) + 1} is a {type(item).__name__}; give a dict with torch's "
                             f"argument names or a torch.nn layer.", "unknown_module", layer=len(found) + 1,
                             name=type(item).__name__)
    if not found:
        raise StackError("The stack has no conv or pooling layer. Add at least one.", "empty")
    return found


# ---------------------------------------------------------------------------------------------------------------
# The theoretical receptive field
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RF:
    """The receptive field of one layer's neurons, as (height, width) pairs, in input pixels.

    size:  how many input pixels one neuron's field spans.
    jump:  how far apart (in input pixels) the fields of two neighbouring neurons are (the product of strides).
    start: the input coordinate of the centre of neuron (0, 0)'s field (pixel i sits at coordinate i;
           a negative value means the field reaches into the padding).
    """

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]

    def first(self, axis: int) -> int:
        """The first input pixel of neuron 0's field along an axis: start − (size − 1)/2 (a whole number)."""
        return round(self.start[axis] - (self.size[axis] - 1) / 2)


def axis_step(size: int, jump: int, first: int, kernel: int, stride: int, pad_before: int,
              dilation: int = 1) -> tuple[int, int, int]:
    """One layer along one axis: (r, j, u) of the layer below → (r, j, u) of this layer (Araujo et al. 2019).

    r = r + (d(k − 1) + 1 − 1)·j,   u = u − p·j,   j = j·s   (the old j in the first two).
    """
    span = dilation * (kernel - 1) + 1
    return size + (span - 1) * jump, jump * stride, first - pad_before * jump


def receptive_field(layers) -> list[RF]:
    """The receptive field after every layer of the stack (one `RF` per conv / pool layer).

    Two 3×3 convolutions, stride 1, no padding: sizes 3 then 5, jump 1, starts 1 then 2 (the centre of output
    (0, 0)'s 5×5 field is input pixel (2, 2)).
    """
    result = []
    state = [(1, 1, 0), (1, 1, 0)]  # (size, jump, first pixel) for height and width, before any layer
    for layer in as_layers(layers):
        state = [axis_step(*state[a], layer.kernel_size[a], layer.stride[a], layer.padding[a][0], layer.dilation[a])
                 for a in (0, 1)]
        result.append(RF(size=(state[0][0], state[1][0]), jump=(state[0][1], state[1][1]),
                         start=tuple(u + (r - 1) / 2 for r, _, u in state)))
    return result


@dataclass(frozen=True)
class Box:
    """Rows top ≤ r < bottom and columns left ≤ c < right (half-open, like a Python slice); may stick out."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return max(0, self.bottom - self.top)

    @property
    def width(self) -> int:
        return max(0, self.right - self.left)

    def clip(self, height: int, width: int) -> Box:
        """The part of the box that lies on a height × width picture (possibly empty)."""
        return Box(max(self.top, 0), max(self.left, 0), min(self.bottom, height), min(self.right, width))

    def shift(self, rows: int, cols: int) -> Box:
        return Box(self.top + rows, self.left + cols, self.bottom + rows, self.right + cols)


def input_box(rf: RF, row: int, col: int) -> Box:
    """The input pixels neuron (row, col) of a layer sees, unclipped: `.clip(H, W)` keeps the part on the image."""
    top, left = rf.first(0) + row * rf.jump[0], rf.first(1) + col * rf.jump[1]
    return Box(top, left, top + rf.size[0], left + rf.size[1])


def walk_back_axis(layers: Sequence[Layer], axis: int, index: int) -> tuple[int, int]:
    """The readable reference: follow one neuron's window back through the stack, last layer first.

    A window [a, b] on a layer's output covers [a·s − p, b·s − p + d(k − 1)] on the layer below.
    Returns the half-open input interval [a, b + 1). `input_box` must agree (the tests check it).
    """
    a = b = index
    for layer in reversed(layers):
        s, p = layer.stride[axis], layer.padding[axis][0]
        a, b = a * s - p, b * s - p + layer.span(axis) - 1
    return a, b + 1


def walk_back(layers, row: int, col: int) -> Box:
    """`input_box` computed the slow way, one layer at a time (per axis, called twice)."""
    layers = as_layers(layers)
    (top, bottom), (left, right) = walk_back_axis(layers, 0, row), walk_back_axis(layers, 1, col)
    return Box(top, left, bottom, right)


def boxes_through_stack(layers, row: int, col: int) -> list[Box]:
    """The field of neuron (row, col) of the last layer drawn on every map: the input, then each layer's output.

    Entry 0 is the box on the input; entry m the box on layer m's output (so the last entry is the neuron
    itself, 1×1). On an intermediate map, the stack above it plays the role of the whole network.
    """
    layers = as_layers(layers)
    boxes = [input_box(receptive_field(layers[m:])[-1], row, col) for m in range(len(layers))]
    return boxes + [Box(row, col, row + 1, col + 1)]


KIND_NAMES = {"conv": "convolution", "maxpool": "max pooling", "avgpool": "average pooling"}


def _axis_output(n: int, layer: Layer, axis: int, number: int) -> int:
    k, s, d = layer.kernel_size[axis], layer.stride[axis], layer.dilation[axis]
    before, after = layer.padding[axis]
    span, padded = layer.span(axis), n + before + after
    problem = StackError(
        f"Layer {number} ({KIND_NAMES[layer.kind]}) gets a map {n} pixels wide: its kernel {k} with dilation {d} "
        f"spans {span} pixels, more than the padded map ({padded}). Lower the kernel, dilation or strides, add "
        f"padding, remove a layer, or use a larger image.", "too_small", layer=number, n=n, k=k, d=d, span=span,
        padded=padded)
    if layer.kind == "conv":
        if span > padded:
            raise problem
        return output_size(padded, k, s, 0, d)
    try:  # pooling: torch's rules; with ceil_mode a window may hang over the end of the map
        out = pool_output_size(n, k, s, before, d, layer.ceil_mode)
    except PoolError as error:
        raise problem from error
    if layer.kind == "maxpool" and d > 1:
        # A dilated window can step over a small map and see only padding: torch then outputs −∞ (and its
        # backward pass writes outside its buffers), so such a stack is refused here.
        taps = np.arange(out)[:, None] * s - before + np.arange(k)[None, :] * d  # (out, k) positions
        blind = np.flatnonzero(~((taps >= 0) & (taps < n)).any(axis=1))
        if blind.size:
            raise StackError(
                f"Layer {number} (max pooling): with dilation {d}, window {int(blind[0])} of this {n}-pixel map sees "
                f"only padding, so its maximum would be −∞. Lower the dilation or padding, remove a layer, or use a "
                f"larger image.", "blind_window", layer=number, n=n, d=d, window=int(blind[0]))
    return out


def output_shapes(layers, input_size: tuple[int, int]) -> list[tuple[int, int]]:
    """(height, width) of every layer's output for an input of `input_size`, like torch would compute them.

    Raises StackError ("too_small") naming the first layer whose window no longer fits.
    """
    shape = tuple(input_size)
    shapes = []
    for number, layer in enumerate(as_layers(layers), start=1):
        shape = tuple(_axis_output(shape[a], layer, a, number) for a in (0, 1))
        shapes.append(shape)
    return shapes


def parameter_counts(layers, in_channels: int) -> list[int]:
    """Learnable numbers per layer: k_h·k_w·(C_in / groups)·C_out weights + C_out biases for a conv, 0 for a pool.

    A conv without out_channels keeps the number of channels; pools never change it.
    """
    counts, channels = [], in_channels
    for number, layer in enumerate(as_layers(layers), start=1):
        if layer.kind != "conv":
            counts.append(0)
            continue
        if layer.in_channels is not None and layer.in_channels != channels:
            raise StackError(f"Layer {number} expects {layer.in_channels} input channels but receives {channels}. "
                             f"Make the layers' channels agree.", "channels", layer=number, want=layer.in_channels,
                             got=channels)
        out = channels if layer.out_channels is None else int(layer.out_channels)
        if out < 1 or channels % layer.groups or out % layer.groups:
            raise StackError(f"Layer {number}: groups ({layer.groups}) must divide both the input ({channels}) and "
                             f"output ({out}) channels.", "channels", layer=number, want=out, got=channels)
        kh, kw = layer.kernel_size
        counts.append(kh * kw * (channels // layer.groups) * out + (out if layer.bias else 0))
        channels = out
    return counts


def receptive_field_latex(layers, axis: int = 1) -> str:
    """The recurrence r_l = r_{l−1} + (k_l − 1)·j_{l−1}, j_l = j_{l−1}·s_l with the stack's numbers, as LaTeX."""
    layers = as_layers(layers)
    lines, size, jump = [], 1, 1
    for number, layer in enumerate(layers, start=1):
        k, s, d = layer.kernel_size[axis], layer.stride[axis], layer.dilation[axis]
        kernel = rf"{d}\cdot({k}-1)" if d != 1 else rf"({k}-1)"
        new_size, new_jump = size + d * (k - 1) * jump, jump * s
        lines.append(rf"r_{{{number}}} &= {size} + {kernel}\cdot {jump} = {new_size}, &"
                     rf"j_{{{number}}} &= {jump}\cdot {s} = {new_jump}")
        size, jump = new_size, new_jump
    return r"\begin{aligned}" + r"\\ ".join(lines) + r"\end{aligned}"


# ---------------------------------------------------------------------------------------------------------------
# Presets: the seeds' examples and the first layers of famous networks
# ---------------------------------------------------------------------------------------------------------------

def conv_layer(k: int, stride: int = 1, padding: int = 0, dilation: int = 1, out_channels: int = 64) -> dict:
    return dict(kind="conv", kernel_size=k, stride=stride, padding=padding, dilation=dilation,
                out_channels=out_channels)


def pool_layer(k: int, stride: int | None = None, padding: int = 0, kind: str = "maxpool") -> dict:
    return dict(kind=kind, kernel_size=k, stride=k if stride is None else stride, padding=padding, dilation=1)


PRESETS: dict[str, list[dict]] = {
    "two_3x3": [conv_layer(3), conv_layer(3)],  # the seeds' example: two 3×3 see 5×5
    "one_5x5": [conv_layer(5)],
    "conv_pool_conv": [conv_layer(3), pool_layer(2), conv_layer(3)],
    "three_3x3": [conv_layer(3), conv_layer(3), conv_layer(3)],  # VGG's argument: same field as one 7×7
    "one_7x7": [conv_layer(7)],
    "strided_3x3": [conv_layer(3, stride=2), conv_layer(3, stride=2), conv_layer(3, stride=2)],
    "dilated_124": [conv_layer(3, padding=1), conv_layer(3, padding=2, dilation=2),
                    conv_layer(3, padding=4, dilation=4)],
    "vgg16": [conv_layer(3, padding=1), conv_layer(3, padding=1), pool_layer(2),
              conv_layer(3, padding=1, out_channels=128), conv_layer(3, padding=1, out_channels=128), pool_layer(2)],
    "alexnet": [conv_layer(11, stride=4, padding=2), pool_layer(3, 2), conv_layer(5, padding=2, out_channels=192),
                pool_layer(3, 2), conv_layer(3, padding=1, out_channels=384),
                conv_layer(3, padding=1, out_channels=256), conv_layer(3, padding=1, out_channels=256),
                pool_layer(3, 2)],
    "resnet_stem": [conv_layer(7, stride=2, padding=3), pool_layer(3, 2, 1)],
}


def to_torch(layers, in_channels: int = 1) -> nn.Sequential:
    """The same stack as real torch layers (random weights), e.g. to compare shapes and fields."""
    modules, channels = [], in_channels
    for layer in as_layers(layers):
        padding = (layer.padding[0][0], layer.padding[1][0])
        if layer.padding[0][0] != layer.padding[0][1] or layer.padding[1][0] != layer.padding[1][1]:
            padding = "same"
        if layer.kind == "conv":
            out = channels if layer.out_channels is None else layer.out_channels
            modules.append(nn.Conv2d(channels, out, layer.kernel_size, layer.stride, padding, layer.dilation,
                                     groups=layer.groups, bias=layer.bias))
            channels = out
        elif layer.kind == "maxpool":
            modules.append(nn.MaxPool2d(layer.kernel_size, layer.stride, padding, layer.dilation,
                                        ceil_mode=layer.ceil_mode))
        else:
            modules.append(nn.AvgPool2d(layer.kernel_size, layer.stride, padding, ceil_mode=layer.ceil_mode,
                                        count_include_pad=layer.count_include_pad))
    return nn.Sequential(*modules)


# ---------------------------------------------------------------------------------------------------------------
# The effective receptive field: run the stack on the image, backpropagate from one neuron
# ---------------------------------------------------------------------------------------------------------------

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
    """The single-channel (kh, kw) kernel of conv layer number `index` for a weight mode.

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
    return (K / np.abs(K).sum()).astype(np.float32)


def _apply(layer: Layer, x: torch.Tensor, kernel: np.ndarray | None) -> torch.Tensor:
    """One layer on a (1, 1, H, W) tensor, with torch's own functions."""
    (top, bottom), (left, right) = layer.padding
    if layer.kind == "conv":
        if (top, left) != (bottom, right):  # the uneven 'same' padding: pad first, then convolve
            x, padding = F.pad(x, (left, right, top, bottom)), 0
        else:
            padding = (top, left)
        weight = torch.from_numpy(kernel)[None, None]  # (1, 1, kh, kw)
        return F.conv2d(x, weight, stride=layer.stride, padding=padding, dilation=layer.dilation)
    if layer.kind == "maxpool":
        return F.max_pool2d(x, layer.kernel_size, layer.stride, (top, left), layer.dilation, layer.ceil_mode)
    return F.avg_pool2d(x, layer.kernel_size, layer.stride, (top, left), layer.ceil_mode, layer.count_include_pad)


def _forward(layers: list[Layer], x: torch.Tensor, weights: str, relu: bool, seed: int,
             biases: list[float] | None = None) -> tuple[list[torch.Tensor], list[float]]:
    """Every layer's output for a (1, 1, H, W) input, and the bias used before each ReLU.

    Conv kernels come from `layer_kernel`. With relu=True every conv is followed by ReLU(h + b), where the
    constant b = −mean(h) centres the map first (as batch normalisation would), so about half of the neurons
    are active: with b = 0, random kernels often switch a whole single-channel map off. Pass `biases` to
    reuse the ones of another run (the crop in `neuron_gradient` must use the whole image's).
    """
    maps, used, h, conv_index = [], [], x, 0
    for layer in layers:
        kernel = None
        if layer.kind == "conv":
            kernel = layer_kernel(layer.kernel_size, weights, conv_index, seed)
        h = _apply(layer, h, kernel)
        if relu and layer.kind == "conv":
            bias = -float(h.detach().mean()) if biases is None else biases[conv_index]
            h = F.relu(h + bias)
            used.append(bias)
        if layer.kind == "conv":
            conv_index += 1
        maps.append(h)
    return maps, used


def feature_maps(layers, image: np.ndarray, weights: str = "uniform", relu: bool = False,
                 seed: int = 0) -> list[np.ndarray]:
    """Apply the stack to a grayscale (H, W) image, one channel per layer: every layer's (h, w) map."""
    layers = as_layers(layers)
    output_shapes(layers, image.shape)  # a clear StackError instead of torch's message
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]  # (1, 1, H, W)
    with torch.no_grad():
        return [m[0, 0].numpy().copy() for m in _forward(layers, x, weights, relu, seed)[0]]


def neuron_gradient(layers, image: np.ndarray, row: int, col: int, weights: str = "uniform", relu: bool = False,
                    seed: int = 0, crop: bool = True) -> np.ndarray:
    """∂y/∂x: how much each input pixel x changes neuron y = (row, col) of the last map, by torch autograd.

    Outside the theoretical field the gradient is exactly 0, so with crop=True only the field goes through the
    stack (much faster than the whole image). The crop is exact: it starts at a multiple of the total stride
    (so every layer's grid lines up with the full run) and keeps the image edge wherever the field reaches into
    the padding, so every position the neuron depends on is computed from the same pixels or the same padding.
    """
    layers = as_layers(layers)
    shapes = output_shapes(layers, image.shape)
    if not (0 <= row < shapes[-1][0] and 0 <= col < shapes[-1][1]):
        raise StackError(f"The last map is {shapes[-1][0]}×{shapes[-1][1]}; neuron ({row}, {col}) is not on it.",
                         "no_neuron", row=row, col=col)
    H, W = image.shape
    gradient, neuron = np.zeros((H, W), np.float32), (row, col)
    top, left, bottom, right, biases = 0, 0, H, W, None
    if crop:
        rf = receptive_field(layers)[-1]
        box = input_box(rf, row, col).clip(H, W)
        if not (box.height and box.width):
            return gradient  # the field lies entirely in the padding: no pixel counts
        top, left = box.top // rf.jump[0] * rf.jump[0], box.left // rf.jump[1] * rf.jump[1]
        bottom, right = box.bottom, box.right
        row, col = row - top // rf.jump[0], col - left // rf.jump[1]
        try:  # a neuron that reads mostly padding can have a field too thin for the crop to run every layer
            patch_shape = output_shapes(layers, (bottom - top, right - left))[-1]
        except StackError:
            patch_shape = (0, 0)
        if not (0 <= row < patch_shape[0] and 0 <= col < patch_shape[1]):
            return neuron_gradient(layers, image, *neuron, weights, relu, seed, crop=False)
        if relu:  # the ReLU biases depend on whole maps: take them from a forward pass over the whole image
            with torch.no_grad():
                whole = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
                biases = _forward(layers, whole, weights, relu, seed)[1]
    patch = np.ascontiguousarray(image[top:bottom, left:right], dtype=np.float32)
    x = torch.from_numpy(patch)[None, None].requires_grad_(True)  # (1, 1, h, w)
    with torch.enable_grad():
        y = _forward(layers, x, weights, relu, seed, biases)[0][-1][0, 0, row, col]  # one neuron
        y.backward()  # x.grad = ∂y/∂x for every pixel of the patch
    gradient[top:bottom, left:right] = x.grad[0, 0].numpy()
    return gradient


def effective_receptive_field(layers, image: np.ndarray, row: int, col: int, weights: str = "uniform",
                              relu: bool = False, seed: int = 0) -> np.ndarray:
    """|∂y/∂x| for neuron y = (row, col) of the last layer, scaled so its largest value is 1 (all 0 if none)."""
    erf = np.abs(neuron_gradient(layers, image, row, col, weights, relu, seed))
    peak = erf.max()
    return (erf / peak if peak > 0 else erf).astype(np.float32)


def nearest_live_neuron(layers, image: np.ndarray, row: int, col: int, weights: str = "uniform",
                        relu: bool = False, seed: int = 0, tries: int = 64) -> tuple[int, int] | None:
    """The neuron of the last map nearest to (row, col) whose gradient is not zero everywhere (None if none of
    the `tries` nearest non-zero neurons has one). After a ReLU, whole regions of a map can be off."""
    last = feature_maps(layers, image, weights, relu, seed)[-1]
    rows, cols = np.nonzero(last)
    order = np.argsort((rows - row) ** 2 + (cols - col) ** 2, kind="stable")[:tries]
    for index in order:
        candidate = int(rows[index]), int(cols[index])
        if neuron_gradient(layers, image, *candidate, weights, relu, seed).any():
            return candidate
    return None


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


def _axis_spread(mass: np.ndarray, fraction: float) -> tuple[float, float, int, int]:
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
    (ch, sh, top, bottom), (cw, sw, left, right) = (_axis_spread(erf.sum(axis=1), fraction),
                                                    _axis_spread(erf.sum(axis=0), fraction))
    return Spread((ch, cw), (sh, sw), Box(top, left, bottom, right), fraction)


def erf_profile_figure(erf: np.ndarray, box: Box, axis: int = 1) -> Figure:
    """|∂y/∂x| summed across the other axis (bars), a Gaussian with the same mean and σ (dashed), and the
    theoretical field (shaded). ASCII / maths labels only (the server may have no CJK font)."""
    erf = np.abs(np.asarray(erf, dtype=np.float64))
    mass = erf.sum(axis=1 - axis)
    low = max(0, (box.top, box.left)[axis] - 3)
    high = min(mass.size, (box.bottom, box.right)[axis] + 3)
    x = np.arange(low, high)
    fig = Figure(figsize=(6.0, 2.3), dpi=100)
    ax = fig.add_subplot()
    ax.axvspan((box.top, box.left)[axis] - 0.5, (box.bottom, box.right)[axis] - 0.5, color="#ffc800", alpha=0.18,
               lw=0)
    if mass.sum() > 0:
        mass = mass / mass.sum()
        ax.bar(x, mass[low:high], width=1.0, color="#3b6fb6", alpha=0.85, label=r"$|\partial y / \partial x|$")
        centre, sigma, _, _ = _axis_spread(mass, 0.95)
        if sigma > 0:
            fine = np.linspace(low - 0.5, high - 0.5, 400)
            ax.plot(fine, np.exp(-0.5 * ((fine - centre) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)), "--",
                    color="#d1495b", lw=1.6, label=rf"$\mathcal{{N}}(\mu={centre:.1f},\ \sigma={sigma:.2f})$")
        ax.legend(fontsize=8, loc="upper right", frameon=False)
    ax.set_xlabel("x" if axis == 1 else "y", fontsize=9)
    ax.set_xlim(low - 0.5, high - 0.5)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout(pad=0.3)
    return fig


# ---------------------------------------------------------------------------------------------------------------
# Pictures: a map or image with the field drawn on it (the box stays sharp however the picture is scaled)
# ---------------------------------------------------------------------------------------------------------------

PADDING_COLOR = (96, 96, 96)  # the part of a field that lies in the padding, outside the picture
BOX_COLOR = (255, 200, 0)
SPREAD_COLOR = (0, 220, 255)


def _outline(picture: np.ndarray, box: Box, color, thickness: int) -> np.ndarray:
    """Draw a box's outline: inside its edge when the box is large, just outside it when it is tiny."""
    if box.height >= 4 * thickness and box.width >= 4 * thickness:
        for t in range(thickness):
            picture = draw_box(picture, box.top + t, box.left + t, box.height - 2 * t, box.width - 2 * t, color, 1)
        return picture
    return draw_box(picture, box.top - 1, box.left - 1, box.height + 2, box.width + 2, color, thickness)


def picture_with_boxes(picture: np.ndarray, boxes: Iterable[tuple[Box, tuple[int, int, int]]],
                       heat: np.ndarray | None = None, min_side: int = 192, max_side: int = 720,
                       max_margin: int | None = None) -> np.ndarray:
    """An (H, W, 3) uint8 picture with box outlines, enlarged or thinned to fit, the boxes drawn after scaling.

    Where a box reaches past the picture, a grey margin (the padding) is added on that side so the whole box
    shows; at most `max_margin` pixels (default: half the picture's longer side). `heat` (H, W) is blended in
    first. Boxes are drawn in order, so the last one stays on top.
    """
    boxes = list(boxes)
    if heat is not None:
        picture = overlay(picture, heat, alpha=0.75)
    H, W = picture.shape[:2]
    limit = max(H, W) // 2 if max_margin is None else max_margin
    drawn = [b for b, _ in boxes if b.height and b.width]
    top, left, bottom, right = (int(min(max([0] + values), limit)) for values in (
        [-b.top for b in drawn], [-b.left for b in drawn], [b.bottom - H for b in drawn], [b.right - W for b in drawn]))
    if top or left or bottom or right:
        framed = np.empty((H + top + bottom, W + left + right, 3), np.uint8)
        framed[:] = PADDING_COLOR
        framed[top:top + H, left:left + W] = picture
        picture, boxes = framed, [(b.shift(top, left), c) for b, c in boxes]
    longest = max(picture.shape[:2])
    if longest > max_side:  # thin by an integer step, then map the boxes onto the smaller grid
        step = -(-longest // max_side)
        picture = picture[::step, ::step]
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


def map_picture(values: np.ndarray) -> np.ndarray:
    """A feature map as colours (blue < 0 < red when signed, viridis otherwise)."""
    return colorize(values)[0]


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
