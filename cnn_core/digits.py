"""A whole CNN on real handwritten digits: the data, a LeNet-style network, and its forward pass in NumPy.

The data are UCI's "Optical Recognition of Handwritten Digits" (CC BY 4.0) as scikit-learn ships them, converted
once by scripts/make_digits.py into assets/digits.npz: 8×8 images whose pixels count the inked pixels (0..16) of
4×4 blocks of a 32×32 bitmap. `image_to_digit` reduces any picture (an upload, a drawing) the same way.

The network (ARCH, written once, read by both `make_model` for torch and `forward` for NumPy):

    input (1, 8, 8) → conv 3×3 → BN → ReLU → max pool 2 → conv 3×3 → BN → ReLU → max pool 2
                    → flatten (64) → fully connected (64) → ReLU → fully connected (10 logits) → softmax

torch is used to train it (cnn_core.train) and to store its weights; `forward` recomputes the same pass with
cnn_core's own ops (conv2d, batch_norm, relu, max_pool2d; a linear layer is X @ W.T + b) and returns every
layer's activation, which is what the page draws.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from cnn_core.activations import relu
from cnn_core.conv import conv2d
from cnn_core.errors import CnnError
from cnn_core.image import to_grayscale
from cnn_core.norm import batch_norm
from cnn_core.pool import max_pool2d

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DATA_PATH = ASSETS / "digits.npz"
MODEL_PATH = ASSETS / "digits_cnn.pt"
# sha256 of the 1,797 source digits (uint8 counts in sklearn's order, then uint8 labels): see content_sha256.
DATA_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"
SIDE = 8  # the network's input is SIDE × SIDE
BITMAP = 32  # UCI's normalised bitmaps are 32 × 32 ...
BLOCK = 4  # ... counted in 4 × 4 blocks, so every input pixel is 0..16
CLASSES = tuple(range(10))

# One row per layer: (name, kind, settings with torch's argument names). The names are the torch module names,
# so "conv1.weight" is the same array in the state_dict, in `weights()` and in the layer table.
ARCH = (
    ("conv1", "conv", dict(in_channels=1, out_channels=8, kernel_size=3, padding=1, bias=False)),
    ("bn1", "bn", dict(num_features=8)),
    ("relu1", "relu", {}),
    ("pool1", "maxpool", dict(kernel_size=2)),
    ("conv2", "conv", dict(in_channels=8, out_channels=16, kernel_size=3, padding=1, bias=False)),
    ("bn2", "bn", dict(num_features=16)),
    ("relu2", "relu", {}),
    ("pool2", "maxpool", dict(kernel_size=2)),
    ("flatten", "flatten", {}),
    ("fc1", "linear", dict(in_features=64, out_features=64)),
    ("relu3", "relu", {}),
    ("fc2", "linear", dict(in_features=64, out_features=10)),
)
# A conv followed by BN needs no bias of its own: BN subtracts the mean (which would cancel it) and adds β.


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------

def content_sha256(counts: np.ndarray, labels: np.ndarray) -> str:
    """A fingerprint of the digits themselves (not of the zip file around them, whose bytes carry timestamps)."""
    digest = hashlib.sha256(np.ascontiguousarray(counts, dtype=np.uint8).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _stored() -> dict[str, np.ndarray]:
    with np.load(DATA_PATH) as data:
        return {name: data[name] for name in data.files}


def load_counts() -> dict[str, np.ndarray]:
    """The file as stored: train_x, test_x (N, 8, 8) uint8 counts 0..16; train_y, test_y; train_index, test_index."""
    return {name: array.copy() for name, array in _stored().items()}


def load_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, test_x, test_y): images (N, 1, 8, 8) float32 in [0, 1] (count / 16), labels int64.

    The held-out split (20 % of every class, fixed once) is never used for training.
    """
    stored = _stored()
    x = [(stored[f"{side}_x"][:, None] / np.float32(BLOCK * BLOCK)).astype(np.float32) for side in ("train", "test")]
    y = [stored[f"{side}_y"].astype(np.int64) for side in ("train", "test")]
    return x[0], y[0], x[1], y[1]


def shift_images(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move every image dy pixels down and dx pixels right; what leaves the frame is lost, what enters is 0."""
    X = np.asarray(x, dtype=np.float32)  # (N, C, H, W)
    Y = np.zeros_like(X)
    H, W = X.shape[-2:]
    Y[..., max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        X[..., max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return Y


ONE_PIXEL_SHIFTS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right


# ---------------------------------------------------------------------------------------------------------------
# The network: torch for training, NumPy for showing
# ---------------------------------------------------------------------------------------------------------------

def _module(kind: str, settings: dict) -> nn.Module:
    makers = {"conv": nn.Conv2d, "bn": nn.BatchNorm2d, "relu": nn.ReLU, "maxpool": nn.MaxPool2d,
              "flatten": nn.Flatten, "linear": nn.Linear}
    return makers[kind](**settings)


_SEEDING = threading.Lock()  # app sessions run in threads and torch's random state is one per process


def make_model(seed: int | None = 0) -> nn.Sequential:
    """The untrained network (torch's default initialisation), reproducible for a given seed."""
    with _SEEDING, torch.random.fork_rng(devices=[]):  # a seed here must not change the caller's random numbers
        if seed is not None:
            torch.manual_seed(seed)
        return nn.Sequential(OrderedDict((name, _module(kind, settings)) for name, kind, settings in ARCH))


def load_model() -> nn.Sequential:
    """The committed trained network (assets/digits_cnn.pt), in evaluation mode: (N, 1, 8, 8) → (N, 10) logits."""
    model = make_model(seed=None)
    model.load_state_dict(torch.load(MODEL_PATH, weights_only=True))
    return model.eval()


def weights(model: nn.Module) -> dict[str, np.ndarray]:
    """A model's state_dict as float32 NumPy arrays (the running statistics of BN included)."""
    return {name: value.detach().cpu().numpy().astype(np.float32) for name, value in model.state_dict().items()
            if value.dtype.is_floating_point}


@lru_cache(maxsize=1)
def _committed_weights() -> dict[str, np.ndarray]:
    return weights(load_model())


def check_input(x) -> np.ndarray:
    X = np.asarray(x, dtype=np.float32)
    if X.ndim != 4 or X.shape[1:] != (1, SIDE, SIDE):
        raise CnnError(f"The digit network takes images of shape (N, 1, {SIDE}, {SIDE}), not {X.shape}. Reduce a "
                       f"picture with image_to_digit first.", "input_shape", shape=str(X.shape), side=SIDE)
    if not np.isfinite(X).all():
        raise CnnError("The input contains NaN or infinite values.", "not_finite")
    return X


def forward(x, weights: dict[str, np.ndarray] | None = None) -> list[tuple[str, np.ndarray]]:
    """The forward pass with cnn_core's NumPy ops: [(layer name, activation), ...], first "input", last the logits.

    x: (N, 1, 8, 8) float32. weights: a `weights(model)` dict; None uses the committed trained network.
    BN runs in evaluation mode (running statistics), as torch's model.eval() does.
    """
    Wt = _committed_weights() if weights is None else weights
    X = check_input(x)
    steps = [("input", X)]
    for name, kind, settings in ARCH:
        if kind == "conv":
            X = conv2d(X, Wt[f"{name}.weight"], Wt.get(f"{name}.bias"), stride=settings.get("stride", 1),
                       padding=settings.get("padding", 0))  # (N, C_out, H, W)
        elif kind == "bn":
            X = batch_norm(X, Wt[f"{name}.running_mean"], Wt[f"{name}.running_var"], Wt[f"{name}.weight"],
                           Wt[f"{name}.bias"], training=False, eps=settings.get("eps", 1e-5))
        elif kind == "relu":
            X = relu(X)
        elif kind == "maxpool":
            X = max_pool2d(X, settings["kernel_size"])
        elif kind == "flatten":
            X = X.reshape(X.shape[0], -1)  # (N, C·H·W): channel by channel, row by row, as torch's Flatten
        elif kind == "linear":
            X = X @ Wt[f"{name}.weight"].T + Wt[f"{name}.bias"]  # (N, in) @ (in, out) + (out,)
        steps.append((name, X.astype(np.float32)))
    return steps


def predict(x, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Class probabilities (N, 10): the softmax of the logits, computed stably (max subtracted first)."""
    logits = forward(x, weights)[-1][1]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def confusion_matrix(y_true, y_pred, classes: int = len(CLASSES)) -> np.ndarray:
    """(classes, classes) counts: row = the true digit, column = the network's answer."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str
    shape: tuple[int, ...]  # the output of one image: (C, H, W) or (features,)
    parameters: int  # learnable numbers (BN's running statistics are not learned, so not counted)
    rf: tuple[int, int] | None  # receptive field in input pixels; None = every input pixel (after flatten)
    jump: tuple[int, int] | None


def layer_table(model: nn.Module | None = None) -> list[LayerRow]:
    """One row per layer of the network: kind, output shape, parameters, receptive field and jump."""
    from cnn_core.receptive_field import receptive_field

    model = make_model() if model is None else model
    rows, spatial, X = [], [], torch.zeros(1, 1, SIDE, SIDE)
    with torch.no_grad():
        for (name, kind, _), module in zip(ARCH, model, strict=True):
            X = module(X)
            if kind in ("conv", "maxpool"):
                spatial.append(module)
            rf = receptive_field(spatial)[-1] if spatial and X.ndim == 4 else None
            rows.append(LayerRow(name, kind, tuple(X.shape[1:]), sum(p.numel() for p in module.parameters()),
                                 rf.size if rf else None, rf.jump if rf else None))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Any picture → the network's input, the way the UCI digits were made
# ---------------------------------------------------------------------------------------------------------------

# The UCI bitmaps were normalised by NIST's programs. Read off the data: every digit fills all 8 rows (its height
# was scaled to 32 pixels) but almost never the outer columns (99 % of zeros span 6 of 8 columns), so the width
# follows the same scale up to about 24 pixels, centred; and strokes are thick (~30 % of the bitmap is ink).
MAX_WIDTH = 24
STROKE = 6.5  # target stroke width in bitmap pixels: the median of the data's own digits is about 6.4 (see tests)
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
        raise CnnError(f"A digit picture needs at least 2 × 2 pixels, not {gray.shape}.", "too_small")
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
