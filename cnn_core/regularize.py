"""Overfitting, live: a network with far more weights than training digits learns them by heart.

Train on a small subset of the digits (50–500) and score, after every epoch, the training subset *and* the
held-out digits, both in evaluation mode. Training accuracy reaches 100 % while held-out accuracy stops rising:
the gap between the two curves is what the network learned about *these* digits rather than about digits.
Then the same run with one cure at a time, everything else equal (same subset, same initial weights, same steps):

    dropout        zero each hidden value with probability p while training (cnn_core.dropout explains the scale)
    weight decay   add λ/2·‖w‖² to the loss: every step also shrinks each weight by lr·λ·w ("L2 regularisation")
    augmentation   show every training digit moved by a random pixel each time (train.random_shifts)

The network is a small multilayer perceptron, 64 → 128 → 128 → 10 (26 k weights for 100 digits): a fully
connected network has no built-in notion of "nearby pixels", so it overfits readily and each cure shows clearly.
(A CNN shares its kernels across positions — that sharing is itself a strong regulariser.) Training is full-batch
gradient descent with momentum through `cnn_core.train.fit`, so a run is a fixed number of steps and reproducible.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from cnn_core.digits import load_data
from cnn_core.errors import CnnError
from cnn_core.train import as_tensors, evaluate, fit

CURES = ("none", "dropout", "weight_decay", "augment")
HIDDEN = 128
SUBSET_RANGE = (20, 1000)  # digits; at least 2 per class, at most about the whole training split
DEFAULTS = dict(size=100, p=0.5, weight_decay=0.01, epochs=100, lr=0.1, seed=0)


class RegularizeError(CnnError):
    """Settings the overfitting demo cannot run with; `reason` + `details` let the app translate."""


class SeededDropout(nn.Module):
    """nn.Dropout with its own random stream: y = x · mask / (1 − p) while training, y = x in evaluation.

    torch's nn.Dropout draws from the process-wide generator, which every app session shares; this one draws from
    `generator`, so a run is reproducible whatever other sessions do (the same rule as cnn_core.dropout).
    """

    def __init__(self, p: float, generator: torch.Generator):
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return X
        keep = torch.empty_like(X).bernoulli_(1 - self.p, generator=self.generator)
        return X * keep / (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def make_mlp(dropout: float = 0.0, hidden: int = HIDDEN, seed: int = 0) -> nn.Sequential:
    """64 → hidden → hidden → 10 with ReLU; with `dropout` > 0 a dropout layer after each hidden layer.

    The same seed gives the same initial weights with or without dropout (dropout has no weights), so the runs
    differ only by the cure.
    """
    generator = torch.Generator().manual_seed(seed)
    masks = torch.Generator().manual_seed(seed + 1)  # the dropout masks: a stream of their own
    layers: list[tuple[str, nn.Module]] = [("flatten", nn.Flatten())]
    for index, (n_in, n_out) in enumerate(((64, hidden), (hidden, hidden)), start=1):
        layers += [(f"fc{index}", nn.Linear(n_in, n_out)), (f"relu{index}", nn.ReLU())]
        if dropout > 0:
            layers.append((f"dropout{index}", SeededDropout(dropout, masks)))
    layers.append(("fc3", nn.Linear(hidden, 10)))
    model = nn.Sequential(OrderedDict(layers))
    with torch.no_grad():  # torch's default init (Kaiming-uniform bounds), drawn from our own generator
        for module in model:
            if isinstance(module, nn.Linear):
                bound = 1.0 / module.in_features ** 0.5
                module.weight.uniform_(-bound, bound, generator=generator)
                module.bias.uniform_(-bound, bound, generator=generator)
    return model


def training_subset(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`size` training digits, as balanced over the 10 classes as possible, drawn reproducibly."""
    train_x, train_y, _, _ = load_data()
    low, high = SUBSET_RANGE
    if not low <= size <= min(high, len(train_y)):
        raise RegularizeError(f"The training subset must hold between {low} and {high} digits, not {size}.",
                              "bad_subset_size", size=size, low=low, high=high)
    rng = np.random.default_rng(seed)
    by_class = [rng.permutation(np.flatnonzero(train_y == c)) for c in range(10)]
    longest = max(len(members) for members in by_class)
    round_robin = [members[k] for k in range(longest) for members in by_class if k < len(members)]
    chosen = np.sort(round_robin[:size])  # one of each class, then a second of each, … until `size`
    return train_x[chosen], train_y[chosen]


@dataclass
class Curves:
    """One run's curves, one entry per epoch, all measured in evaluation mode (dropout off)."""

    cure: str
    train_acc: list[float] = field(default_factory=list)  # on the training subset
    test_acc: list[float] = field(default_factory=list)  # on the held-out digits
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    stopped: str = "running"

    @property
    def gap(self) -> float:
        """Final training accuracy minus held-out accuracy: what was learned by heart."""
        return self.train_acc[-1] - self.test_acc[-1]

    @property
    def loss_gap(self) -> float:
        """Final held-out loss minus training loss: grows while the network gets surer of answers it gets wrong."""
        return self.test_loss[-1] - self.train_loss[-1]

    @property
    def best_test_acc(self) -> float:
        return max(self.test_acc)


def _check(cure: str, p: float, weight_decay: float, epochs: int) -> None:
    if cure not in CURES:
        raise RegularizeError(f"Unknown cure '{cure}'. Choose one of: {', '.join(CURES)}.", "unknown_cure", cure=cure)
    if not 0.0 <= p < 1.0:
        raise RegularizeError(f"The dropout probability must be at least 0 and below 1, not {p}.",
                              "bad_probability", p=p)
    if not 0.0 <= weight_decay <= 0.1:
        # lr·λ is the share of every weight removed per step; beyond ~1 % per step the weights collapse to 0.
        raise RegularizeError(f"Weight decay {weight_decay} is outside 0 … 0.1: larger values shrink every weight "
                              "to zero before the network can learn.", "bad_weight_decay", weight_decay=weight_decay)
    if not 1 <= epochs <= 1000:
        raise RegularizeError(f"Epochs must be between 1 and 1000, not {epochs}.", "bad_epochs", epochs=epochs)


def overfit_run(cure: str = "none", size: int = DEFAULTS["size"], *, p: float = DEFAULTS["p"],
                weight_decay: float = DEFAULTS["weight_decay"], epochs: int = DEFAULTS["epochs"],
                lr: float = DEFAULTS["lr"], seed: int = DEFAULTS["seed"], time_limit: float | None = None,
                on_epoch: Callable[[int, int], None] | None = None) -> Curves:
    """Train the MLP on `size` digits with one cure ("none" for the overfitting baseline) and return its curves.

    p is used only by "dropout", weight_decay only by "weight_decay". on_epoch(done, total) reports progress.
    Raises RegularizeError for impossible settings and train.TrainError (reason "diverged") for a runaway lr.
    """
    _check(cure, p, weight_decay, epochs)
    x, y = training_subset(size, seed)
    _, _, test_x, test_y = load_data()
    X, Y = as_tensors(x, y)
    model = make_mlp(p if cure == "dropout" else 0.0, seed=seed)
    curves = Curves(cure)

    def after_epoch(history) -> None:
        train_loss, train_acc = evaluate(model, X, Y)  # the subset itself, dropout off: what was memorised
        curves.train_loss.append(train_loss)
        curves.train_acc.append(train_acc)
        if on_epoch is not None:
            on_epoch(history.epochs, epochs)

    start = time.perf_counter()
    history = fit(model, x, y, test_x, test_y, lr=lr, epochs=epochs, batch_size=len(y), seed=seed,
                  weight_decay=weight_decay if cure == "weight_decay" else 0.0, augment=cure == "augment",
                  time_limit=time_limit, on_epoch=after_epoch)
    curves.test_acc, curves.test_loss = list(history.test_acc), list(history.test_loss)
    curves.seconds, curves.stopped = time.perf_counter() - start, history.stopped
    return curves


def overfit_demo(size: int = DEFAULTS["size"], cures=CURES, *, progress: Callable[[float], None] | None = None,
                 **settings) -> dict[str, Curves]:
    """Every cure in `cures` on the same subset and initial weights: {cure: Curves}. progress(fraction) in [0, 1]."""
    results = {}
    for index, cure in enumerate(cures):
        report = None if progress is None else (
            lambda done, total, index=index: progress((index + done / total) / len(cures)))
        results[cure] = overfit_run(cure, size, on_epoch=report, **settings)
    return results
