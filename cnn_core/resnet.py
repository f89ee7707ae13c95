"""The residual block of ResNet (He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", 2016),
in numpy, from cnn_core's own conv2d, batch_norm and relu.

A plain block learns a mapping H(x) directly. A residual block learns F(x) = H(x) − x and adds its input back:

    F(x) = BN₂(conv₂(ReLU(BN₁(conv₁(x)))))         two 3×3 convolutions, the first one with the stride
    y    = ReLU(F(x) + shortcut(x))                 the addition comes *before* the last ReLU

The shortcut is the identity when x and F(x) have the same shape. When the block halves the size (stride 2)
and doubles the channels, x no longer fits: a 1×1 convolution with the same stride and a BN (the "projection")
maps x to the new shape. It *adds* C_in·C_out + 2·C_out parameters; the identity adds none.

If the best thing a block can do is nothing, it only has to learn F(x) = 0 (e.g. BN₂'s γ = 0), and then
y = ReLU(x) = x for the non-negative x that follow a ReLU: extra blocks never have to make the network worse.

The convolutions have no bias (as in torchvision's BasicBlock): the BN right after them subtracts any constant,
and its β is the bias. BN runs in evaluation mode, with running statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cnn_core.activations import relu
from cnn_core.conv import conv2d
from cnn_core.errors import CnnError
from cnn_core.norm import batch_norm


class BlockError(CnnError):
    """Weights or settings a residual block cannot work with; `reason` + `details` carry the numbers."""


def _bn(X: np.ndarray, bn: Mapping) -> np.ndarray:
    """Evaluation-mode batch norm from a mapping with torch's names (a BatchNorm2d's state_dict works too)."""
    missing = [name for name in ("running_mean", "running_var") if name not in bn]
    if missing:
        raise BlockError(f"A batch-norm mapping needs {', '.join(missing)} (evaluation mode).",
                         reason="bn_missing", missing=missing)
    array = lambda name: None if bn.get(name) is None else np.asarray(bn[name], dtype=np.float32)  # noqa: E731
    return batch_norm(X, array("running_mean"), array("running_var"), array("weight"), array("bias"),
                      training=False, eps=float(bn.get("eps", 1e-5)))


def _check_conv(name: str, weight: np.ndarray, in_channels: int) -> None:
    if weight.ndim != 4 or weight.shape[1] != in_channels or weight.shape[2] != weight.shape[3] \
            or weight.shape[2] % 2 == 0:
        raise BlockError(f"{name} must be (C_out, {in_channels}, k, k) with an odd k, but has shape {weight.shape}.",
                         reason="bad_weight", name=name, shape=tuple(weight.shape), in_channels=in_channels)


@dataclass(frozen=True)
class BlockSteps:
    """Every intermediate of one residual block (N, C, H, W each), for showing x, F(x) and F(x) + x."""

    input: np.ndarray  # x
    hidden: np.ndarray  # ReLU(BN₁(conv₁(x)))
    residual: np.ndarray  # F(x) = BN₂(conv₂(hidden))
    shortcut: np.ndarray  # x (identity) or BN(conv1×1(x)) (projection)
    sum: np.ndarray  # F(x) + shortcut(x)
    output: np.ndarray  # ReLU(sum)


def basic_block_steps(x, conv1_weight, bn1: Mapping, conv2_weight, bn2: Mapping, shortcut=None,
                      stride: int = 1) -> BlockSteps:
    """`basic_block`, keeping every intermediate. Same arguments."""
    X = np.asarray(x, dtype=np.float32)
    unbatched = X.ndim == 3
    X = X[None] if unbatched else X  # (N, C_in, H, W)
    if X.ndim != 4:
        raise BlockError(f"x must be (N, C, H, W) or (C, H, W), got shape {X.shape}.", reason="bad_input_shape",
                         shape=tuple(X.shape))
    W1, W2 = np.asarray(conv1_weight, dtype=np.float32), np.asarray(conv2_weight, dtype=np.float32)
    _check_conv("conv1_weight", W1, X.shape[1])
    _check_conv("conv2_weight", W2, W1.shape[0])
    C_in, C_out = X.shape[1], W2.shape[0]
    hidden = relu(_bn(conv2d(X, W1, stride=stride, padding=W1.shape[2] // 2), bn1))  # (N, C_mid, H/s, W/s)
    residual = _bn(conv2d(hidden, W2, padding=W2.shape[2] // 2), bn2)  # F(x): (N, C_out, H/s, W/s)
    if shortcut is None:
        if stride != 1 or C_in != C_out:
            raise BlockError(
                f"An identity shortcut adds x ({C_in} channels, {X.shape[2]}×{X.shape[3]}) to F(x) ({C_out} channels, "
                f"{residual.shape[2]}×{residual.shape[3]}): the shapes must match. Use stride 1 and as many output "
                "channels as input channels, or a 1×1 projection shortcut.", reason="identity_shape",
                in_channels=C_in, out_channels=C_out, stride=stride)
        skip = X
    else:
        projection_weight, projection_bn = shortcut
        P = np.asarray(projection_weight, dtype=np.float32)
        if P.shape != (C_out, C_in, 1, 1):
            raise BlockError(f"The projection must be (C_out, C_in, 1, 1) = ({C_out}, {C_in}, 1, 1), got {P.shape}.",
                             reason="bad_projection", shape=tuple(P.shape), in_channels=C_in, out_channels=C_out)
        skip = _bn(conv2d(X, P, stride=stride), projection_bn)  # (N, C_out, H/s, W/s)
    if skip.shape != residual.shape:  # even kernels or odd sizes can leave the two paths one pixel apart
        raise BlockError(f"The shortcut gives {skip.shape[2:]} but F(x) gives {residual.shape[2:]}.",
                         reason="paths_misaligned", shortcut=tuple(skip.shape), residual=tuple(residual.shape))
    total = residual + skip
    steps = BlockSteps(X, hidden, residual, skip, total, relu(total))
    if unbatched:
        steps = BlockSteps(*(a[0] for a in (X, hidden, residual, skip, total, steps.output)))
    return steps


def basic_block(x, conv1_weight, bn1: Mapping, conv2_weight, bn2: Mapping, shortcut=None, stride: int = 1):
    """One ResNet basic block: ReLU(BN₂(conv₂(ReLU(BN₁(conv₁(x))))) + shortcut(x)). Equals torch's block.

    x: (N, C_in, H, W) or (C_in, H, W). conv1_weight: (C_out, C_in, 3, 3), applied with `stride` and padding 1;
    conv2_weight: (C_out, C_out, 3, 3), stride 1, padding 1. bn1, bn2: mappings with torch's names (`weight`,
    `bias`, `running_mean`, `running_var`, optional `eps`), used in evaluation mode. shortcut: None for the
    identity, or (projection_weight (C_out, C_in, 1, 1), bn) for a 1×1 projection with the same stride.
    """
    return basic_block_steps(x, conv1_weight, bn1, conv2_weight, bn2, shortcut, stride).output


# --- What a block costs -----------------------------------------------------------------------------------------

def shortcut_parameters(in_channels: int, out_channels: int, projection: bool) -> int:
    """Identity: 0. Projection: a 1×1 conv without bias (C_in·C_out) and its BN's γ and β (2·C_out)."""
    return in_channels * out_channels + 2 * out_channels if projection else 0


def block_parameters(in_channels: int, out_channels: int, projection: bool, kernel_size: int = 3) -> dict[str, int]:
    """Learned numbers of one basic block, part by part (running statistics are not learned, so not counted)."""
    if min(in_channels, out_channels, kernel_size) < 1:
        raise BlockError("Channels and kernel size must be at least 1.", reason="bad_channels",
                         in_channels=in_channels, out_channels=out_channels)
    k2 = kernel_size * kernel_size
    parts = {
        "conv1": in_channels * out_channels * k2,
        "bn1": 2 * out_channels,
        "conv2": out_channels * out_channels * k2,
        "bn2": 2 * out_channels,
        "shortcut": shortcut_parameters(in_channels, out_channels, projection),
    }
    parts["total"] = sum(parts.values())
    return parts


def block_output_shape(input_shape, out_channels: int, stride: int = 1) -> tuple[int, int, int]:
    """(C_out, ⌊(H − 1)/s⌋ + 1, ⌊(W − 1)/s⌋ + 1): a padded 3×3 conv of stride s, and the 1×1 of the shortcut, agree."""
    _, H, W = input_shape
    return int(out_channels), (H - 1) // stride + 1, (W - 1) // stride + 1


# --- Weights for showing a block on the student's image --------------------------------------------------------

def _bn_params(channels: int, gamma: float) -> dict:
    return {"weight": np.full(channels, gamma, dtype=np.float32), "bias": np.zeros(channels, dtype=np.float32),
            "running_mean": np.zeros(channels, dtype=np.float32), "running_var": np.ones(channels, dtype=np.float32),
            "eps": 1e-5}


def _calibrate(bn: dict, Z: np.ndarray) -> None:
    """Running statistics = the statistics of these very maps, as if the block had been trained on such images."""
    bn["running_mean"] = Z.mean(axis=(0, 2, 3)).astype(np.float32)
    bn["running_var"] = Z.var(axis=(0, 2, 3)).astype(np.float32)


def demo_block(x, out_channels: int, stride: int = 1, projection: bool | None = None, residual_scale: float = 0.5,
               seed: int = 0) -> dict:
    """Arguments for `basic_block` that make a readable picture on x (C, H, W): random (He-initialised) kernels,
    BN statistics measured on x itself, BN₂'s γ = residual_scale (0 makes F(x) = 0: the block passes x through).

    projection defaults to "needed": stride ≠ 1 or out_channels ≠ C. Returns a dict of keyword arguments.
    """
    X = np.asarray(x, dtype=np.float32)
    X = X[None] if X.ndim == 3 else X
    C = X.shape[1]
    if projection is None:
        projection = stride != 1 or out_channels != C
    rng = np.random.default_rng(seed)
    he = lambda o, i, k: (rng.standard_normal((o, i, k, k)) * np.sqrt(2 / (i * k * k))).astype(np.float32)  # noqa: E731
    W1, W2 = he(out_channels, C, 3), he(out_channels, out_channels, 3)
    bn1, bn2 = _bn_params(out_channels, 1.0), _bn_params(out_channels, residual_scale)
    _calibrate(bn1, conv2d(X, W1, stride=stride, padding=1))
    _calibrate(bn2, conv2d(relu(_bn(conv2d(X, W1, stride=stride, padding=1), bn1)), W2, padding=1))
    arguments = {"conv1_weight": W1, "bn1": bn1, "conv2_weight": W2, "bn2": bn2, "stride": stride, "shortcut": None}
    if projection:
        P = he(out_channels, C, 1)
        bn_p = _bn_params(out_channels, 1.0)
        _calibrate(bn_p, conv2d(X, P, stride=stride))
        # Keep the projected x at x's own scale (mean and spread), so F(x) + shortcut(x) can be compared with x.
        bn_p["weight"] = np.full(out_channels, float(X.std()), dtype=np.float32)
        bn_p["bias"] = np.full(out_channels, float(X.mean()), dtype=np.float32)
        arguments["shortcut"] = (P, bn_p)
    return arguments
