"""One readable training loop (in the spirit of d2l's train_ch6), used by every page that trains a network.

    history = fit(model, train_x, train_y, test_x, test_y, lr=0.05, epochs=10, batch_size=64)

Each epoch: shuffle, then for every mini-batch forward → cross-entropy loss → backward → one optimizer step; at
the end of the epoch the held-out set is scored with the model in evaluation mode. Callbacks report progress (and
may stop the run), a time limit bounds it, and a loss that blows up is reported as TrainError("diverged").
torch lives here (and in the model definitions); the pages only call `fit` and draw the History it returns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnn_core.errors import CnnError

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine")
DIVERGED_FACTOR = 10.0  # a loss 10× the first batch's (≈ ln C for a fresh network) means training ran away


@dataclass
class History:
    """The curves of one run: one entry per finished epoch, plus every batch's loss."""

    train_loss: list[float] = field(default_factory=list)  # mean over the epoch's batches (train mode)
    train_acc: list[float] = field(default_factory=list)  # share right over the epoch's batches
    test_loss: list[float] = field(default_factory=list)  # held-out, evaluation mode, after the epoch
    test_acc: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    batches_per_epoch: int = 0
    seconds: float = 0.0
    stopped: str = "running"  # "done", "time" (time limit), "callback" (a callback said stop)

    @property
    def epochs(self) -> int:
        return len(self.test_acc)


class TrainError(CnnError):
    """Training could not go on (the loss became huge or NaN). `history` holds the curves up to that point."""

    def __init__(self, message: str, reason: str, history: History, **details):
        super().__init__(message, reason, **details)
        self.history = history


def as_tensors(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    """NumPy arrays or tensors → (float32 images, int64 labels), checked to belong together."""
    X = torch.as_tensor(np.asarray(x, dtype=np.float32) if not isinstance(x, torch.Tensor) else x).float()
    Y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).long()
    if X.shape[0] != Y.shape[0] or X.shape[0] == 0:
        raise CnnError(f"{X.shape[0]} images but {Y.shape[0]} labels: give one label per image (and at least one).",
                       "data_mismatch", images=int(X.shape[0]), labels=int(Y.shape[0]))
    return X, Y


def random_shifts(X: torch.Tensor, generator: torch.Generator, max_shift: int = 1) -> torch.Tensor:
    """Move every image by its own random (dy, dx) in [−max_shift, max_shift] pixels, filling with zeros."""
    N, _, H, W = X.shape  # (N, C, H, W)
    m = max_shift
    padded = F.pad(X, (m, m, m, m))
    offsets = torch.randint(0, 2 * m + 1, (2, N), generator=generator)
    out = torch.empty_like(X)
    for dy in range(2 * m + 1):
        for dx in range(2 * m + 1):
            chosen = (offsets[0] == dy) & (offsets[1] == dx)
            out[chosen] = padded[chosen, :, dy:dy + H, dx:dx + W]
    return out


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, batch_size: int = 1024) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of the model in evaluation mode; the model's mode is restored after."""
    was_training = model.training
    model.eval()
    loss, right = 0.0, 0
    for start in range(0, len(X), batch_size):
        logits = model(X[start:start + batch_size])
        loss += F.cross_entropy(logits, Y[start:start + batch_size], reduction="sum").item()
        right += (logits.argmax(dim=1) == Y[start:start + batch_size]).sum().item()
    model.train(was_training)
    return loss / len(X), right / len(X)


def make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float, momentum: float):
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise CnnError(f"Unknown optimizer '{name}'. Choose one of: {', '.join(OPTIMIZERS)}.", "unknown_optimizer",
                   name=name)


def _check_settings(lr: float, epochs: int, batch_size: int, weight_decay: float) -> None:
    if not (math.isfinite(lr) and lr > 0):
        raise CnnError(f"The learning rate must be a positive number, not {lr}.", "bad_lr", lr=lr)
    if epochs < 1 or batch_size < 1:
        raise CnnError(f"Epochs ({epochs}) and batch size ({batch_size}) must be at least 1.", "bad_count",
                       epochs=epochs, batch_size=batch_size)
    if not (math.isfinite(weight_decay) and weight_decay >= 0):
        raise CnnError(f"Weight decay must be 0 or more, not {weight_decay}.", "bad_weight_decay",
                       weight_decay=weight_decay)


def fit(model: nn.Module, train_x, train_y, test_x, test_y, *, lr: float = 0.05, epochs: int = 10,
        batch_size: int = 64, weight_decay: float = 0.0, augment: bool = False, seed: int = 0,
        optimizer: str = "sgd", momentum: float = 0.9, schedule: str = "constant", time_limit: float | None = None,
        on_batch: Callable[[int, int, float], bool | None] | None = None,
        on_epoch: Callable[[History], bool | None] | None = None) -> History:
    """Train `model` in place with mini-batch gradient descent on cross-entropy; return the curves.

    train_x, test_x: (N, C, H, W) images (NumPy or torch); train_y, test_y: (N,) class numbers.
    augment: move every training image by a random 1-pixel shift each time it is used.
    schedule: "constant" keeps lr; "cosine" lowers it batch by batch along half a cosine to 0 at the last batch,
    so the final weights settle instead of jumping around (the curves end calmer).
    seed: fixes the batch order and the shifts (the caller seeds the model's initial weights, e.g. make_model(seed)).
    time_limit: seconds; the run stops after the batch that crosses it (History.stopped == "time").
    on_batch(epoch, batch, loss) and on_epoch(history) are called after every batch / epoch; returning False
    stops the run (History.stopped == "callback"). The model is left in evaluation mode.
    Uses whatever torch thread setting the process has (the app sets one thread, so a run never takes two cores).
    """
    _check_settings(lr, epochs, batch_size, weight_decay)
    if schedule not in SCHEDULES:
        raise CnnError(f"Unknown schedule '{schedule}'. Choose one of: {', '.join(SCHEDULES)}.", "unknown_schedule",
                       name=schedule)
    X, Y = as_tensors(train_x, train_y)
    X_test, Y_test = as_tensors(test_x, test_y)
    step = make_optimizer(model, optimizer, lr, weight_decay, momentum)
    generator = torch.Generator().manual_seed(seed)  # our own stream: other sessions' random numbers don't interfere
    history = History(batches_per_epoch=math.ceil(len(X) / batch_size))
    total_steps = epochs * history.batches_per_epoch
    start, first_loss = time.perf_counter(), None
    model.train()
    try:
        for epoch in range(epochs):
            total_loss, right, seen = 0.0, 0, 0
            order = torch.randperm(len(X), generator=generator)
            for batch, begin in enumerate(range(0, len(X), batch_size)):
                rows = order[begin:begin + batch_size]
                Xb, Yb = X[rows], Y[rows]
                if augment:
                    Xb = random_shifts(Xb, generator)
                logits = model(Xb)
                loss = F.cross_entropy(logits, Yb)
                value = loss.item()
                first_loss = value if first_loss is None else first_loss
                if not math.isfinite(value) or value > DIVERGED_FACTOR * max(first_loss, 1.0):
                    history.seconds = time.perf_counter() - start
                    raise TrainError(f"Training diverged: the loss reached {value:.3g} in epoch {epoch + 1} (it "
                                     f"started at {first_loss:.3g}). Lower the learning rate ({lr:g}).",
                                     "diverged", history, lr=lr, epoch=epoch + 1, loss=value, first=first_loss)
                step.zero_grad()
                loss.backward()
                if schedule == "cosine":  # lr_t = lr · (1 + cos(π t / T)) / 2
                    for group in step.param_groups:
                        group["lr"] = lr * (1 + math.cos(math.pi * len(history.batch_loss) / total_steps)) / 2
                step.step()
                total_loss += value * len(rows)
                right += (logits.argmax(dim=1) == Yb).sum().item()
                seen += len(rows)
                history.batch_loss.append(value)
                if on_batch is not None and on_batch(epoch, batch, value) is False:
                    history.stopped = "callback"
                    break
                if time_limit is not None and time.perf_counter() - start > time_limit:
                    history.stopped = "time"
                    break
            # A partly trained epoch still gets its points: the curves show where the run stopped.
            history.train_loss.append(total_loss / seen)
            history.train_acc.append(right / seen)
            test_loss, test_acc = evaluate(model, X_test, Y_test)
            history.test_loss.append(test_loss)
            history.test_acc.append(test_acc)
            history.seconds = time.perf_counter() - start
            if history.stopped == "running" and on_epoch is not None and on_epoch(history) is False:
                history.stopped = "callback"
            if history.stopped != "running":
                break
        else:
            history.stopped = "done"
    finally:
        model.eval()
    return history
