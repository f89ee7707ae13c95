"""From a classifier to a detector and a segmenter: the four vision tasks with our own small network.

    classification   one label for the picture                     "7"
    localisation     one label and one box                         "7 at (top, left, 8×8)"
    detection        many boxes, each with a label                 "3 here, 7 there, 1 over there"
    segmentation     a label for every pixel                       ink pixels coloured by their digit

Slide the digit classifier over a larger canvas, one 8×8 window at a time, and it becomes a detector: every
position gets 10 scores. Computing each window separately repeats most of the work — neighbouring windows share
almost all their pixels. A *fully convolutional* network does it in one pass: the first fully connected layer,
which reads a (C, h, w) feature map flattened, is exactly a convolution with a (C, h, w) kernel per output, and the
next one a 1×1 convolution; run on the canvas, the network returns a map of scores, one per window position
(OverFeat, Sermanet et al. 2014; FCN, Long et al. 2015). Mapping the scores back onto the pixels with a
transposed convolution gives a label per pixel — the idea behind segmentation networks.

The two computations agree exactly only if every window is computed alike whether cut out or not: a padded
convolution sees zeros past a cut-out window's edge but the neighbouring pixels inside the canvas. So the detector
is the digit network *without padding* (8 → conv 6 → conv 4 → pool 2 → 64 features → 64 → 11 logits), and it has
an 11th class, "no digit centred here" — without it every window, even a blank one, would have to be some digit.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from cnn_core.activations import softmax
from cnn_core.digits import load_data, load_model, shift_images
from cnn_core.errors import CnnError
from cnn_core.render import draw_box
from cnn_core.train import fit
from cnn_core.transpose import conv_transpose2d

WINDOW = 8  # the classifier's input size
STRIDE = 2  # one 2×2 pooling: neighbouring map entries are windows 2 pixels apart
DETECTOR_ARCH = (  # (name, module): the digit network's layer names, padding 0, one pooling
    ("conv1", lambda: nn.Conv2d(1, 8, 3, bias=False)), ("bn1", lambda: nn.BatchNorm2d(8)), ("relu1", nn.ReLU),
    ("conv2", lambda: nn.Conv2d(8, 16, 3, bias=False)), ("bn2", lambda: nn.BatchNorm2d(16)), ("relu2", nn.ReLU),
    ("pool", lambda: nn.MaxPool2d(2)), ("flatten", nn.Flatten),
    ("fc1", lambda: nn.Linear(64, 64)), ("relu3", nn.ReLU), ("fc2", lambda: nn.Linear(64, 11)),
)


class DetectError(CnnError):
    """A canvas or network the detector cannot work with; `reason` + `details` let the app translate."""


_TRAINING = threading.Lock()
BACKGROUND = 10  # the 11th class: "no digit centred in this window"


def background_windows(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One "no digit here" window per image: what a window between digits sees. Half are the digit moved 2–5
    pixels off-centre, a third are the halves of two digits side by side (a window straddling two), the rest blank.
    """
    N = len(x)
    out = np.zeros_like(x)
    kinds = rng.choice(3, size=N, p=[0.5, 0.35, 0.15])
    for n in np.flatnonzero(kinds == 0):
        dy, dx = rng.integers(-5, 6, size=2)
        while max(abs(dy), abs(dx)) < 2:
            dy, dx = rng.integers(-5, 6, size=2)
        out[n] = shift_images(x[n:n + 1], int(dy), int(dx))[0]
    for n in np.flatnonzero(kinds == 1):
        cut = int(rng.integers(2, WINDOW - 1))  # the left digit's right part, then the right digit's left part
        other = int(rng.integers(N))
        out[n, :, :, :cut] = x[n, :, :, WINDOW - cut:]
        out[n, :, :, cut:] = x[other, :, :, :WINDOW - cut]
    return out  # kind 2 stays blank


@lru_cache(maxsize=1)
def detector(epochs: int = 6, seed: int = 0) -> nn.Sequential:
    """The padding-free digit classifier with a background class, trained once (a few seconds, then cached).

    Its convolution and first fully connected layers start from the digit network's weights (same names and
    shapes); the last layer is new (11 outputs). Trained on every training digit plus one background window each.
    """
    with _TRAINING:
        with torch.random.fork_rng(devices=[]):  # the new last layer's initial weights, reproducibly
            torch.manual_seed(seed)
            model = nn.Sequential(OrderedDict((name, make()) for name, make in DETECTOR_ARCH))
        trained = {k: v for k, v in load_model().state_dict().items() if not k.startswith("fc2.")}
        model.load_state_dict(copy.deepcopy(trained), strict=False)
        train_x, train_y, test_x, test_y = load_data()
        rng = np.random.default_rng(seed)
        x = np.concatenate([train_x, background_windows(train_x, rng)])
        y = np.concatenate([train_y, np.full(len(train_y), BACKGROUND)])
        held_x = np.concatenate([test_x, background_windows(test_x, rng)])
        held_y = np.concatenate([test_y, np.full(len(test_y), BACKGROUND)])
        fit(model, x, y, held_x, held_y, lr=0.05, epochs=epochs, batch_size=64, seed=seed)
        return model.eval()


def fully_convolutional(model: nn.Sequential, input_size: tuple[int, int] = (WINDOW, WINDOW)) -> nn.Sequential:
    """The same network with Flatten + Linear replaced by convolutions computing the same numbers.

    The first Linear after Flatten reads C·h·w numbers in the order channel, row, column — exactly a Conv2d with
    kernel (h, w) whose weight is the Linear's reshaped to (out, C, h, w). Every later Linear is a 1×1 Conv2d.
    On an input of `input_size` the result is a 1×1 map equal to the logits; on a larger one, a map of them.
    """
    X = torch.zeros(1, 1, *input_size)
    layers, flattened = OrderedDict(), None
    with torch.no_grad():
        for name, module in model.named_children():
            if isinstance(module, nn.Flatten):
                flattened = X.shape[1:]  # (C, h, w) the first Linear will read
                X = module(X)
                continue
            if isinstance(module, nn.Linear):
                if flattened is None:
                    raise DetectError("A fully connected layer appears before any Flatten.", "no_flatten")
                C, h, w = flattened
                conv = nn.Conv2d(C, module.out_features, (h, w))
                conv.weight.copy_(module.weight.reshape(module.out_features, C, h, w))
                conv.bias.copy_(module.bias)
                layers[name] = conv
                flattened = (module.out_features, 1, 1)  # the next Linear reads this map's channels: a 1×1 conv
            else:
                layers[name] = copy.deepcopy(module)
            X = module(X)
    return nn.Sequential(layers).eval()


def _check_canvas(canvas) -> torch.Tensor:
    X = np.asarray(canvas, dtype=np.float32)
    if X.ndim != 2 or min(X.shape) < WINDOW:
        raise DetectError(f"The canvas must be one grey picture of at least {WINDOW}×{WINDOW} pixels, not {X.shape}.",
                          "bad_canvas", shape=str(X.shape), window=WINDOW)
    return torch.from_numpy(X)[None, None]


@torch.no_grad()
def sliding_window(model: nn.Module, canvas, stride: int = STRIDE) -> np.ndarray:
    """Cut out every 8×8 window (top-left at multiples of `stride`), classify each: logits (classes, rows, cols)."""
    X = _check_canvas(canvas)
    windows = X.unfold(2, WINDOW, stride).unfold(3, WINDOW, stride)  # (1, 1, rows, cols, 8, 8)
    rows, cols = windows.shape[2:4]
    logits = model.eval()(windows.reshape(rows * cols, 1, WINDOW, WINDOW))  # one batch of all windows
    return logits.T.reshape(-1, rows, cols).numpy()


@torch.no_grad()
def score_map(fcn: nn.Module, canvas) -> np.ndarray:
    """The fully convolutional network run once on the whole canvas: logits (classes, rows, cols)."""
    return fcn.eval()(_check_canvas(canvas))[0].numpy()


# ---------------------------------------------------------------------------------------------------------------
# A canvas of digits and the four tasks on it
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    top: int
    left: int
    label: int
    score: float = 1.0  # the softmax probability of `label` (1 for the true boxes of a composed canvas)
    size: int = WINDOW


def make_canvas(count: int = 4, seed: int = 0, height: int = 16, width: int = 48) -> tuple[np.ndarray, list[Box]]:
    """`count` held-out digits at random, non-overlapping places on a blank canvas; returns it and the true boxes.

    Places are multiples of the stride, so each digit sits exactly under one window of the score map.
    """
    if not 1 <= count <= (height // WINDOW) * (width // WINDOW):
        raise DetectError(f"{count} digits do not fit on a {height}×{width} canvas (1 to "
                          f"{(height // WINDOW) * (width // WINDOW)}).", "too_many_digits", count=count,
                          most=(height // WINDOW) * (width // WINDOW))
    _, _, test_x, test_y = load_data()
    rng = np.random.default_rng(seed)
    canvas, boxes = np.zeros((height, width), dtype=np.float32), []
    tops, lefts = np.arange(0, height - WINDOW + 1, STRIDE), np.arange(0, width - WINDOW + 1, STRIDE)
    for index in rng.choice(len(test_y), size=count, replace=False):
        for _ in range(500):  # rejection sampling: a free spot exists (the count was checked against the grid)
            top, left = int(rng.choice(tops)), int(rng.choice(lefts))
            if all(abs(top - b.top) >= WINDOW or abs(left - b.left) >= WINDOW for b in boxes):
                break
        else:
            raise DetectError("Could not place every digit without overlap; use fewer digits.", "too_many_digits",
                              count=count, most=len(boxes))
        canvas[top:top + WINDOW, left:left + WINDOW] = test_x[index, 0]
        boxes.append(Box(top, left, int(test_y[index])))
    return canvas, boxes


def detections(logits: np.ndarray, threshold: float = 0.5, stride: int = STRIDE) -> list[Box]:
    """Boxes where the classifier is sure (probability ≥ threshold), most confident first, overlaps removed
    (non-maximum suppression: a box overlapping a surer one by more than a third of its area is dropped)."""
    probs = softmax(logits, dim=0)[:BACKGROUND]  # the digits' probabilities; background wins where they are all low
    best, label = probs.max(axis=0), probs.argmax(axis=0)
    kept: list[Box] = []
    for flat in np.argsort(-best, axis=None):
        r, c = np.unravel_index(flat, best.shape)
        if best[r, c] < threshold:
            break
        box = Box(int(r) * stride, int(c) * stride, int(label[r, c]), float(best[r, c]))
        overlap = [max(0, WINDOW - abs(box.top - k.top)) * max(0, WINDOW - abs(box.left - k.left)) for k in kept]
        if all(area <= WINDOW * WINDOW / 3 for area in overlap):
            kept.append(box)
    return kept


def segment(logits: np.ndarray, canvas, threshold: float = 0.5) -> np.ndarray:
    """A label per pixel: every window paints its digit probabilities over the 8×8 pixels it saw — a transposed
    convolution of the score map with an all-ones 8×8 kernel and stride 2, which lands exactly on the canvas:
    (rows − 1)·2 + 8 = H. Each ink pixel takes the digit with the most paint; −1 on blank paper and where no
    digit got `threshold` (at least one window about that sure). Returns (H, W) int."""
    X = np.asarray(canvas, dtype=np.float32)
    probs = softmax(logits, dim=0)[:BACKGROUND]  # (10, rows, cols)
    K = np.ones((BACKGROUND, 1, WINDOW, WINDOW), dtype=np.float32)  # groups = 10: each digit painted on its own
    paint = conv_transpose2d(probs[None], K, stride=STRIDE, groups=BACKGROUND)[0]  # (10, H, W)
    labels = np.where(paint.max(axis=0) >= threshold, paint.argmax(axis=0), -1)
    labels[X <= 0] = -1
    return labels


def four_tasks(canvas, logits: np.ndarray, threshold: float = 0.5) -> dict:
    """What each vision task outputs for this canvas, from the same score map."""
    found = detections(logits, threshold)
    best = found[0] if found else None
    return {"classification": None if best is None else best.label, "localisation": best,
            "detection": found, "segmentation": segment(logits, canvas)}


# ---------------------------------------------------------------------------------------------------------------
# Pictures of the four outputs (RGB uint8, for the page)
# ---------------------------------------------------------------------------------------------------------------

PALETTE = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
                    [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]], np.uint8)


def task_picture(canvas, boxes=(), labels: np.ndarray | None = None, scale: int = 10) -> np.ndarray:
    """The canvas enlarged `scale` times (ink dark on white paper), with boxes outlined in their digit's colour
    and, if `labels` is given, every labelled pixel painted in its digit's colour (tab10 order)."""
    X = np.clip(np.asarray(canvas, dtype=np.float32), 0, 1)
    picture = np.repeat((255 * (1 - X)).astype(np.uint8)[..., None], 3, axis=2)
    if labels is not None:
        painted = labels >= 0
        picture[painted] = PALETTE[labels[painted]]
    picture = np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)
    for box in boxes:
        picture = draw_box(picture, box.top * scale, box.left * scale, box.size * scale, box.size * scale,
                           color=tuple(int(v) for v in PALETTE[box.label]), thickness=max(2, scale // 4))
    return np.pad(picture, ((2, 2), (2, 2), (0, 0)), constant_values=170)  # a grey frame: the canvas's edge
