"""The effective receptive field, measured with PyTorch autograd (this module imports torch; load it lazily).

The theoretical field says which pixels *can* change a neuron. The effective field (Luo, Li, Urtasun & Zemel,
"Understanding the Effective Receptive Field in Deep Convolutional Neural Networks", NeurIPS 2016) asks how
strongly each pixel really counts: the gradient |∂y/∂x| of one output neuron y with respect to every input pixel
x. Far more paths lead through the centre of the field than through its border, so the gradient is concentrated
in the middle and fades like a Gaussian.

The network is cnn_core.rf_network's (the same kernels and ReLU biases); here torch runs it and autograd
differentiates it, in float64. `neuron_gradient_numpy` there computes the same numbers by hand: the page shows
the two side by side as its check.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnn_core.receptive_field import Box, Crop, field_crop
from cnn_core.rf_layers import Layer, as_layers
from cnn_core.rf_network import conv_kernels, feature_maps, normalised_field, relu_biases


def _apply(layer: Layer, x: torch.Tensor, kernel: np.ndarray | None) -> torch.Tensor:
    """One layer on a (1, 1, H, W) tensor, with torch's own functions."""
    (top, bottom), (left, right) = layer.padding
    if layer.kind == "conv":
        if (top, left) != (bottom, right):  # the uneven 'same' padding: pad first, then convolve
            x, padding = F.pad(x, (left, right, top, bottom)), 0
        else:
            padding = (top, left)
        weight = torch.from_numpy(kernel).to(x.dtype)[None, None]  # (1, 1, kh, kw)
        return F.conv2d(x, weight, stride=layer.stride, padding=padding, dilation=layer.dilation)
    if layer.kind == "maxpool":
        return F.max_pool2d(x, layer.kernel_size, layer.stride, (top, left), layer.dilation, layer.ceil_mode)
    return F.avg_pool2d(x, layer.kernel_size, layer.stride, (top, left), layer.ceil_mode, layer.count_include_pad)


def neuron_gradient(layers, image: np.ndarray, row: int, col: int, weights: str = "uniform", relu: bool = False,
                    seed: int = 0, crop: bool = True, biases: list[float] | None = None) -> np.ndarray:
    """∂y/∂x: how much each input pixel x changes neuron y = (row, col) of the last map, by torch autograd.

    Outside the theoretical field the gradient is exactly 0, so only the field goes through the stack
    (cnn_core.receptive_field.field_crop, exact). With relu=True every conv is followed by ReLU(h + b) with the
    whole image's centring biases b (cnn_core.rf_network.relu_biases). Returns (H, W) float64.
    crop=False runs the whole image instead (slower; the same numbers). `biases`: the whole image's ReLU biases
    if already known (they need a pass over the whole image).
    """
    layers = as_layers(layers)
    image = np.asarray(image)
    if relu and biases is None:
        biases = relu_biases(layers, image, weights, seed)
    gradient = np.zeros(image.shape)
    part = field_crop(layers, image.shape, row, col)  # raises StackError for a neuron off the map
    if part is None:
        return gradient  # the field lies entirely in the padding: no pixel counts
    part = part if crop else Crop(Box(0, 0, *image.shape), row, col)
    box = part.box
    x = torch.from_numpy(np.array(image[box.top:box.bottom, box.left:box.right], np.float64))[None, None]
    x.requires_grad_(True)  # (1, 1, h, w)
    with torch.enable_grad():
        h, conv_index = x, 0
        for layer, kernel in zip(layers, conv_kernels(layers, weights, seed), strict=True):
            h = _apply(layer, h, kernel)
            if relu and layer.kind == "conv":
                h = F.relu(h + biases[conv_index])
            conv_index += layer.kind == "conv"
        h[0, 0, part.row, part.col].backward()  # x.grad = ∂y/∂x for every pixel of the crop
    gradient[box.top:box.bottom, box.left:box.right] = x.grad[0, 0].numpy()
    return gradient


def effective_receptive_field(layers, image: np.ndarray, row: int, col: int, weights: str = "uniform",
                              relu: bool = False, seed: int = 0, biases: list[float] | None = None) -> np.ndarray:
    """|∂y/∂x| for neuron y = (row, col) of the last layer, by autograd, scaled so its largest value is 1."""
    return normalised_field(neuron_gradient(layers, image, row, col, weights, relu, seed, biases=biases))


def feature_maps_torch(layers, image, weights: str = "uniform", relu: bool = False,
                       seed: int = 0) -> tuple[np.ndarray, ...]:
    """cnn_core.rf_network.feature_maps computed by torch (its twin in cnn_core.check.TWINS, for the page's proof):
    the same kernels, ReLU(h − mean(h)) after every conv when relu=True (ReLU(h) for a constant map)."""
    layers = as_layers(layers)
    h = torch.as_tensor(image, dtype=torch.float32)[None, None]  # (1, 1, H, W), float32 like the maps drawn
    maps = []
    with torch.no_grad():
        for layer, kernel in zip(layers, conv_kernels(layers, weights, seed), strict=True):
            h = _apply(layer, h, kernel)
            if relu and layer.kind == "conv":  # centred like rf_network.centring_bias (not a constant map)
                h = F.relu(h - h.mean()) if h.max() > h.min() else F.relu(h)
            maps.append(h[0, 0].numpy().astype(np.float32))
    return tuple(maps)


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


