"""A stack of conv and pooling layers, described one way whatever the caller passed, and what it does to sizes.

Layers come as mappings with torch's argument names (`{"kind": "conv", "kernel_size": 3, "stride": 1, ...}`,
missing ones default as in torch), as `Layer`s, or as `torch.nn` modules (`Conv2d`, `MaxPool2d`, `AvgPool2d`, an
`nn.Sequential` of them). `as_layers` turns them all into frozen `Layer`s with every number as an (h, w) pair.

`output_shapes` applies torch's size rules layer by layer and names the first layer that no longer fits;
`parameter_counts` counts the learnable numbers. Every refusal is a `StackError` (a CnnError) with a reason code
and its numbers, so the app can say the same sentence in the student's language.

`stack_text` / `parse_stack_text` write a stack as one short line and read it back, e.g. "c3p1,m2s2,c3d2o128"
(what the receptive-field page puts in its address, so a copied link carries the stack).

This module never imports torch: a torch module can only be passed in when torch is already loaded, so we look
for torch.nn in sys.modules instead of importing it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cnn_core.conv import output_size, pair
from cnn_core.errors import CnnError
from cnn_core.pool import PoolError, pool_output_size

KINDS = ("conv", "maxpool", "avgpool")
KIND_NAMES = {"conv": "convolution", "maxpool": "max pooling", "avgpool": "average pooling"}

# torch.nn modules that act pixel by pixel: they never change which pixels a neuron sees, so they are skipped.
POINTWISE = ("ReLU", "LeakyReLU", "ReLU6", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "BatchNorm2d", "Dropout",
             "Dropout2d", "Identity")

_ALLOWED_KEYS = {"kind", "kernel_size", "stride", "padding", "dilation", "in_channels", "out_channels", "bias",
                 "groups", "ceil_mode", "count_include_pad", "padding_mode"}


class StackError(CnnError):
    """A layer stack that cannot work. The message says what to change; `reason` and `details` let the app say
    the same sentence in the student's language (lessons/<lang>/ui/errors.toml)."""


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


def layer_from_mapping(spec: Mapping, number: int = 1) -> Layer:
    """One layer from torch's argument names; `number` (1-based) names it in error messages."""
    unknown = set(spec) - _ALLOWED_KEYS
    if unknown:
        raise StackError(f"Layer {number} has unknown settings {sorted(unknown)}. Use torch's argument names: "
                         f"kind, kernel_size, stride, padding, dilation, out_channels.", "unknown_setting",
                         layer=number, names=", ".join(sorted(unknown)))
    kind = spec.get("kind", "conv")
    if kind not in KINDS:
        raise StackError(f"Layer {number} has kind '{kind}'. Choose one of: {', '.join(KINDS)}.",
                         "unknown_layer_kind", layer=number, kind=kind)
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
        raise StackError(f"Layer {number}: kernel size, stride and dilation must be at least 1.",
                         "bad_layer_value", layer=number)
    padding = spec.get("padding", 0)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        if kind != "conv" or stride != (1, 1):
            raise StackError(f"Layer {number}: padding='same' only works for convolutions with stride 1. Give the "
                             f"padding as a number instead.", "same_needs_stride_1", layer=number)
        pads = (_same_padding(spans[0]), _same_padding(spans[1]))
    else:
        ph, pw = pair(padding)
        if ph < 0 or pw < 0:
            raise StackError(f"Layer {number}: padding cannot be negative.", "bad_layer_value", layer=number)
        if kind != "conv" and (ph > kernel[0] // 2 or pw > kernel[1] // 2):
            half = min(kernel) // 2
            raise StackError(f"Layer {number}: a pooling layer's padding can be at most half its window "
                             f"({half} for a {min(kernel)}-pixel window), as in PyTorch. Lower the padding or "
                             f"enlarge the window.", "pool_padding", layer=number, k=min(kernel), half=half,
                             p=max(ph, pw))
        pads = ((ph, ph), (pw, pw))
    conv = kind == "conv"
    return Layer(kind, kernel, stride, pads, dilation, spec.get("out_channels") if conv else None,
                 spec.get("in_channels") if conv else None, int(spec.get("groups", 1)), bool(spec.get("bias", True)),
                 bool(spec.get("ceil_mode", False)), bool(spec.get("count_include_pad", True)))


def _torch_nn():
    """torch.nn when torch is loaded (only then can a layer be a torch module), else None."""
    torch = sys.modules.get("torch")
    return getattr(torch, "nn", None) if torch is not None else None


def _layers_from_module(module, nn, number: int) -> list[Layer]:
    if isinstance(module, nn.Sequential):
        found = []
        for child in module:
            found += _layers_from_module(child, nn, number + len(found))
        return found
    if isinstance(module, tuple(getattr(nn, name) for name in POINTWISE)):
        return []
    if isinstance(module, nn.Conv2d):
        return [layer_from_mapping(dict(kind="conv", kernel_size=module.kernel_size, stride=module.stride,
                                        padding=module.padding, dilation=module.dilation,
                                        in_channels=module.in_channels, out_channels=module.out_channels,
                                        groups=module.groups, bias=module.bias is not None), number)]
    if isinstance(module, nn.MaxPool2d):
        return [layer_from_mapping(dict(kind="maxpool", kernel_size=module.kernel_size, stride=module.stride,
                                        padding=module.padding, dilation=module.dilation,
                                        ceil_mode=module.ceil_mode), number)]
    if isinstance(module, nn.AvgPool2d):
        return [layer_from_mapping(dict(kind="avgpool", kernel_size=module.kernel_size, stride=module.stride,
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
    nn = _torch_nn()
    if nn is not None and isinstance(layers, nn.Module):
        layers = [layers]
    found: list[Layer] = []
    for item in layers:
        if isinstance(item, Layer):
            found.append(item)
        elif nn is not None and isinstance(item, nn.Module):
            found += _layers_from_module(item, nn, len(found) + 1)
        elif isinstance(item, Mapping):
            found.append(layer_from_mapping(item, len(found) + 1))
        else:
            raise StackError(f"Layer {len(found) + 1} is a {type(item).__name__}; give a dict with torch's "
                             f"argument names or a torch.nn layer.", "unknown_module", layer=len(found) + 1,
                             name=type(item).__name__)
    if not found:
        raise StackError("The stack has no conv or pooling layer. Add at least one.", "empty_stack")
    return found


def axis_output(n: int, layer: Layer, axis: int, number: int) -> int:
    """The output length of one layer along one axis, by torch's rules, or the StackError saying why not."""
    k, s, d = layer.kernel_size[axis], layer.stride[axis], layer.dilation[axis]
    before, after = layer.padding[axis]
    span, padded = layer.span(axis), n + before + after
    problem = StackError(
        f"Layer {number} ({KIND_NAMES[layer.kind]}) gets a map {n} pixels wide: its kernel {k} with dilation {d} "
        f"spans {span} pixels, more than the padded map ({padded}). Lower the kernel, dilation or strides, add "
        f"padding, remove a layer, or use a larger image.", "layer_too_small", layer=number, n=n, k=k, d=d,
        span=span, padded=padded)
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

    Raises StackError ("layer_too_small") naming the first layer whose window no longer fits.
    """
    shape = tuple(input_size)
    shapes = []
    for number, layer in enumerate(as_layers(layers), start=1):
        shape = tuple(axis_output(shape[a], layer, a, number) for a in (0, 1))
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
                             f"Make the layers' channels agree.", "layer_channels", layer=number,
                             want=layer.in_channels, got=channels)
        out = channels if layer.out_channels is None else int(layer.out_channels)
        if out < 1 or channels % layer.groups or out % layer.groups:
            raise StackError(f"Layer {number}: groups ({layer.groups}) must divide both the input ({channels}) and "
                             f"output ({out}) channels.", "layer_groups", layer=number, groups=layer.groups,
                             want=out, got=channels)
        kh, kw = layer.kernel_size
        counts.append(kh * kw * (channels // layer.groups) * out + (out if layer.bias else 0))
        channels = out
    return counts



# -- a stack as one line of text ----------------------------------------------------------------------------------
KIND_LETTERS = {"conv": "c", "maxpool": "m", "avgpool": "a"}
TEXT_CHANNELS = 64  # a conv's output channels when the text does not say
_TOKEN = re.compile(r"([cma])(\d{1,6})((?:[spdo]\d{1,6})*)")
_FIELD = re.compile(r"([spdo])(\d{1,6})")
TEXT_HELP = ("Write one layer per comma: c (convolution), m (max pooling) or a (average pooling), its kernel size, "
             "then s<stride>, p<padding>, d<dilation> and, for a convolution, o<output channels>; e.g. c3s1p1,m2s2,c3d2.")


def _square(value, name: str, number: int) -> int:
    """One int from an int or an (h, w) pair with h = w: the text writes square layers only."""
    h, w = pair(value)
    if h != w:
        raise StackError(f"Layer {number} has a {name} of {h}×{w}; the text form writes square layers only.",
                         "stack_text_square", layer=number)
    return int(h)


def stack_text(layers) -> str:
    """A stack of mappings with torch's argument names (as in `as_layers`) as one line, e.g. "c3p1,m2s2,c3d2o128".

    Per layer: its kind (c conv, m max pool, a average pool) and kernel size, then s<stride>, p<padding>,
    d<dilation>, o<output channels> where they differ from 1, 0, 1 and 64. A pool's stride is always written
    (torch's default for it is its window, not 1). The layers are not checked (a stack that cannot work can still
    be written down); numbers must be square: one kernel size, stride, padding and dilation for both axes.
    """
    parts = []
    for number, spec in enumerate(layers, start=1):
        kind = spec.get("kind", "conv")
        if kind not in KIND_LETTERS:
            raise StackError(f"Layer {number} has kind '{kind}'. Choose one of: {', '.join(KINDS)}.",
                             "unknown_layer_kind", layer=number, kind=kind)
        k = _square(spec["kernel_size"], "kernel", number)
        stride = spec.get("stride")
        s = _square(stride if stride is not None else (1 if kind == "conv" else k), "stride", number)
        p = _square(spec.get("padding", 0), "padding", number)
        d = _square(spec.get("dilation", 1), "dilation", number)
        text = f"{KIND_LETTERS[kind]}{k}"
        text += f"s{s}" if s != 1 or kind != "conv" else ""
        text += f"p{p}" if p else ""
        text += f"d{d}" if d != 1 else ""
        channels = spec.get("out_channels") if kind == "conv" else None
        text += f"o{int(channels)}" if channels is not None and int(channels) != TEXT_CHANNELS else ""
        parts.append(text)
    return ",".join(parts)


def parse_stack_text(text: str) -> list[dict]:
    """`stack_text`'s line back as mappings with torch's argument names (every one written out; a conv's
    out_channels 64 unless o<n> says otherwise; a pool's stride its window unless s<n> says otherwise).

    Spaces and letter case do not matter; an empty part (a trailing comma) is skipped. The numbers are not
    checked here (the page clamps them to its controls; as_layers says what cannot work). Raises StackError
    ("stack_text", with the part and its 1-based number) for a part that is not a layer, "empty_stack" for none.
    """
    layers = []
    for token in (part.strip().lower() for part in str(text).split(",")):
        if not token:
            continue
        number = len(layers) + 1
        match = _TOKEN.fullmatch(token.replace(" ", ""))
        fields = _FIELD.findall(match.group(3)) if match else []
        values = dict(fields)
        kind = next((name for name, letter in KIND_LETTERS.items() if match and letter == match.group(1)), None)
        if not match or len(values) != len(fields) or (kind != "conv" and "o" in values):
            raise StackError(f"Part {number} of the stack, '{token}', is not a layer. {TEXT_HELP}", "stack_text",
                             layer=number, token=token)
        k = int(match.group(2))
        layer = {"kind": kind, "kernel_size": k, "stride": int(values.get("s", 1 if kind == "conv" else k)),
                 "padding": int(values.get("p", 0)), "dilation": int(values.get("d", 1))}
        if kind == "conv":
            layer["out_channels"] = int(values.get("o", TEXT_CHANNELS))
        layers.append(layer)
    if not layers:
        raise StackError("The stack has no conv or pooling layer. Add at least one.", "empty_stack")
    return layers
