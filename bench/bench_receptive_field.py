"""Receptive-field page timings: the effective receptive field of one neuron of a 6-layer stack on a 512×512 image.

Prints figures, not pass/fail. "torch" is the plain way: an nn.Sequential with the same single-channel weights,
the whole image forward, one neuron backward. Ours crops the input to the neuron's theoretical field first
(exact: the gradient outside it is 0); "by hand" is the NumPy gradient the page checks autograd against; the
page's maps are NumPy too. Median of several runs, one thread.
Run: .venv/bin/python bench/bench_receptive_field.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_ms  # noqa: E402

from cnn_core.receptive_field import receptive_field  # noqa: E402
from cnn_core.rf_effective import effective_receptive_field, feature_maps_torch, neuron_gradient, to_torch  # noqa: E402
from cnn_core.rf_layers import output_shapes  # noqa: E402
from cnn_core.rf_network import feature_maps, layer_kernel, neuron_gradient_numpy  # noqa: E402
from cnn_core.rf_presets import PRESETS, conv_layer, pool_layer  # noqa: E402

TARGET_MS = 300


def torch_erf(module: nn.Sequential, image: np.ndarray, row: int, col: int) -> np.ndarray:
    x = torch.from_numpy(image.astype(np.float64))[None, None].requires_grad_(True)
    module(x)[0, 0, row, col].backward()
    return x.grad[0, 0].abs().numpy()


def single_channel_module(layers, weights: str) -> nn.Sequential:
    module, index = to_torch([dict(layer, out_channels=1) if layer["kind"] == "conv" else layer for layer in layers]), 0
    for m in module:
        if isinstance(m, nn.Conv2d):
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(layer_kernel(m.kernel_size, weights, index)))
                m.bias.zero_()
            index += 1
    return module.double()


def main() -> None:
    torch.set_num_threads(1)
    image = np.random.default_rng(0).random((512, 512), dtype=np.float32)
    stacks = {
        "6 layers: 3x3 conv x2, 2x2 pool, 3x3 conv x2, 2x2 pool": [conv_layer(3, padding=1)] * 2 + [pool_layer(2)]
                                                                  + [conv_layer(3, padding=1)] * 2 + [pool_layer(2)],
        "6 layers: 3x3 conv, stride 1, no padding": [conv_layer(3)] * 6,
        "VGG-16 blocks 1-2 (preset)": PRESETS["vgg16"],
        "AlexNet features (preset, 8 layers)": PRESETS["alexnet"],
    }
    print(f"Effective receptive field of the centre neuron, 512x512 input, 1 thread (target <= {TARGET_MS} ms)")
    print(f"{'stack':58s} {'RF':>5s} {'ours ms':>8s} {'no crop':>8s} {'by hand':>8s} {'torch ms':>9s} "
          f"{'ours/torch':>10s}")
    for name, layers in stacks.items():
        oh, ow = output_shapes(layers, image.shape)[-1]
        row, col = oh // 2, ow // 2
        module = single_channel_module(layers, "uniform")
        ours = effective_receptive_field(layers, image, row, col)
        theirs = torch_erf(module, image, row, col)
        np.testing.assert_allclose(ours, theirs / theirs.max(), rtol=1e-4, atol=1e-6)
        t_ours = median_ms(lambda: effective_receptive_field(layers, image, row, col), 15)  # noqa: B023
        t_full = median_ms(lambda: neuron_gradient(layers, image, row, col, crop=False), 5)  # noqa: B023
        t_hand = median_ms(lambda: neuron_gradient_numpy(layers, image, row, col), 15)  # noqa: B023
        t_torch = median_ms(lambda: torch_erf(module, image, row, col), 5)  # noqa: B023
        size = receptive_field(layers)[-1].size[0]
        print(f"{name:58s} {size:5d} {t_ours:8.2f} {t_full:8.2f} {t_hand:8.2f} {t_torch:9.2f} {t_ours / t_torch:10.3f}")
    layers = stacks["6 layers: 3x3 conv x2, 2x2 pool, 3x3 conv x2, 2x2 pool"]
    with_relu = median_ms(lambda: effective_receptive_field(layers, image, 64, 64, "random", relu=True), 15)
    print(f"{'same stack, random weights + ReLU (whole-image bias pass)':58s} {16:5d} {with_relu:8.2f}")
    print()
    ours_maps = median_ms(lambda: feature_maps(layers, image), 9)
    torch_maps = median_ms(lambda: feature_maps_torch(layers, image), 9)
    print(f"feature maps of that stack on 512x512 (no gradient): NumPy {ours_maps:.2f} ms, torch {torch_maps:.2f} ms, "
          f"ratio {ours_maps / torch_maps:.2f}")
    print(f"receptive_field() of AlexNet (arithmetic only): {median_ms(lambda: receptive_field(PRESETS['alexnet']), 200) * 1000:.1f} us")


if __name__ == "__main__":
    main()
