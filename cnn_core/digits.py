"""A whole CNN on real handwritten digits: the data, a LeNet-style network, and its forward pass in NumPy.

The data are UCI's "Optical Recognition of Handwritten Digits" (CC BY 4.0) as scikit-learn ships them, converted
once by scripts/make_digits.py into assets/digits.npz: 8×8 images whose pixels count the inked pixels (0..16) of
4×4 blocks of a 32×32 bitmap. `image_to_digit` (cnn_core.handwriting) reduces any picture the same way.

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
from torch import nn

from cnn_core.activations import relu
from cnn_core.conv import conv2d
from cnn_core.errors import CnnError
from cnn_core.handwriting import BLOCK, SIDE, DigitReduction, image_to_digit  # noqa: F401 (part of this API)
from cnn_core.norm import batch_norm
from cnn_core.pool import max_pool2d
from cnn_core.render import colorize, value_range

ASSETS = Path(__file__).resolve().parents[1] / "assets"
DATA_PATH = ASSETS / "digits.npz"
MODEL_PATH = ASSETS / "digits_cnn.pt"
# sha256 of the 1,797 source digits (uint8 counts in sklearn's order, then uint8 labels): see content_sha256.
DATA_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"
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

MODULES = {"conv": nn.Conv2d, "bn": nn.BatchNorm2d, "relu": nn.ReLU, "maxpool": nn.MaxPool2d, "flatten": nn.Flatten,
           "linear": nn.Linear}


_SEEDING = threading.Lock()  # app sessions run in threads and torch's random state is one per process


def make_model(seed: int | None = 0) -> nn.Sequential:
    """The untrained network (torch's default initialisation), reproducible for a given seed."""
    with _SEEDING, torch.random.fork_rng(devices=[]):  # a seed here must not change the caller's random numbers
        if seed is not None:
            torch.manual_seed(seed)
        return nn.Sequential(OrderedDict((name, MODULES[kind](**settings)) for name, kind, settings in ARCH))


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


def logits(x, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The network's 10 outputs per image (N, 10): the last entry of `forward`."""
    return forward(x, weights)[-1][1]


def torch_logits(x, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """PyTorch's twin of `logits` (for the page's proof): the same weights in the torch model, eval mode."""
    model = load_model() if weights is None else make_model(None)
    if weights is not None:
        state = model.state_dict()  # keeps num_batches_tracked, which `weights` leaves out
        state.update({name: torch.from_numpy(np.asarray(value)) for name, value in weights.items()})
        model.load_state_dict(state)
    with torch.no_grad():
        return model.eval()(torch.as_tensor(np.asarray(x, dtype=np.float32))).numpy()


def predict(x, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Class probabilities (N, 10): the softmax of the logits, computed stably (max subtracted first)."""
    z = logits(x, weights)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def confusion_matrix(y_true, y_pred, classes: int = len(CLASSES)) -> np.ndarray:
    """(classes, classes) counts: row = the true digit, column = the network's answer."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def mistakes(weights: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices, true labels, answers) of the held-out digits the network gets wrong, plus nothing else."""
    *_, test_x, test_y = load_data()
    answers = predict(test_x, weights).argmax(axis=1)
    wrong = np.flatnonzero(answers != test_y)
    return wrong, test_y[wrong], answers[wrong]


def kernel_likeness(K: np.ndarray, library: dict[str, np.ndarray]) -> list[tuple[str, float]]:
    """For each learned kernel (O, 1, k, k): the hand-made kernel it resembles most and how much (cosine ±1).

    Cosine compares shapes, not sizes: cos = ⟨a, b⟩ / (|a| |b|); −1 is the same pattern with the sign flipped.
    Only library kernels of the same size take part; the mean is removed first, so a constant offset (which BN
    would cancel anyway) does not count.
    """
    K = np.asarray(K, dtype=np.float64)
    found = []
    for kernel in K[:, 0]:
        a = (kernel - kernel.mean()).ravel()
        best = ("", 0.0)
        for name, reference in library.items():
            if reference.shape != kernel.shape:
                continue
            b = (reference - reference.mean()).ravel()
            norm = np.linalg.norm(a) * np.linalg.norm(b)
            cos = float(a @ b / norm) if norm > 1e-12 else 0.0
            best = max(best, (name, cos), key=lambda pair: abs(pair[1]))
        found.append(best)
    return found


def tile_maps(maps: np.ndarray, scale: int, columns: int | None = None, gap: int = 4) -> np.ndarray:
    """All channels (C, H, W) of one layer side by side as one (rows·H·scale, …, 3) uint8 picture.

    One colour scale for the whole layer, so channels can be compared; every pixel a `scale`-sized square.
    """
    A = np.asarray(maps, dtype=np.float32)
    C, H, W = A.shape
    columns = min(columns or C, C)  # fewer maps than columns: one row, no empty cells
    rows = -(-C // columns)
    signed = bool(A.min() < 0)
    lo, hi = value_range(A, signed)
    picture, *_ = colorize(A.reshape(C * H, W), signed, lo, hi)  # (C·H, W, 3), one scale for all
    cells = np.repeat(np.repeat(picture.reshape(C, H, W, 3), scale, axis=1), scale, axis=2)
    h, w = H * scale, W * scale
    canvas = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, dtype=np.uint8)
    for c in range(C):
        r, k = divmod(c, columns)
        canvas[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = cells[c]
    return canvas


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
