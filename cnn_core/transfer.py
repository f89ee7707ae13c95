"""Transfer learning: reuse what a trained network learned for a task it never saw.

The digit network learned strokes, curves and loops from 1,438 labelled digits. A new task — "is the digit odd?",
"does it have a closed loop?", "is it 5 or more?" — comes with only a handful of labelled examples. Three ways:

    frozen     keep the reused layers exactly as trained (weights *and* batch-norm statistics), train a new head
    fine_tune  the same, but the last reused block also learns, with a 5× smaller step so it adjusts, not forgets
    scratch    the same architecture from random weights, everything trained on the few examples

What is reused (`reuse`): "all_but_last" keeps every layer but the last and trains a new last layer (64 → classes)
— the usual recipe; "conv" keeps only the convolution layers and trains a new two-layer head (64 → 64 → classes).
With few examples the frozen features win by far: the head only has to learn which features matter, not what to
look at. The few examples are drawn per digit (k of every digit 0–9), so every digit has been seen once; the
held-out set is the digit split's own held-out digits, relabelled: the original network never saw them either.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnn_core.digits import load_data, load_model, make_model
from cnn_core.errors import CnnError
from cnn_core.train import as_tensors, evaluate, fit

TASKS = {  # name → the new class of each digit 0..9 (two classes each)
    "odd_even": (0, 1, 0, 1, 0, 1, 0, 1, 0, 1),  # 1 = odd
    "loops": (1, 0, 0, 0, 0, 0, 1, 0, 1, 1),  # 1 = has a closed loop: 0, 6, 8, 9
    "small_large": (0, 0, 0, 0, 0, 1, 1, 1, 1, 1),  # 1 = 5 or more
}
METHODS = ("frozen", "fine_tune", "scratch")
REUSE = ("all_but_last", "conv")
SHOTS = (1, 2, 3, 5, 10)  # labelled examples per digit on the chart
CONV_LAYERS = ("conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2", "flatten")
REUSED = {"conv": CONV_LAYERS, "all_but_last": CONV_LAYERS + ("fc1", "relu3")}
LAST_BLOCK = {"conv": ("conv2", "bn2", "relu2", "pool2", "flatten"), "all_but_last": ("fc1", "relu3")}
SETTINGS = dict(steps=60, lr=0.05, fine_tune_scale=0.2, seed=0)


class TransferError(CnnError):
    """Settings the transfer experiment cannot run with; `reason` + `details` let the app translate."""


def task_data(task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, test_x, test_y, train_digit): the digit split with the labels of `task`, plus each
    training image's digit (to draw the few examples digit by digit)."""
    if task not in TASKS:
        raise TransferError(f"Unknown task '{task}'. Choose one of: {', '.join(TASKS)}.", "unknown_task", task=task)
    relabel = np.array(TASKS[task])
    train_x, train_y, test_x, test_y = load_data()
    return train_x, relabel[train_y], test_x, relabel[test_y], train_y


def few_examples(digit: np.ndarray, per_digit: int, seed: int = 0) -> np.ndarray:
    """Indices of `per_digit` examples of every digit, drawn reproducibly (the same draw for every method)."""
    fewest = min(int(np.sum(digit == d)) for d in range(10))
    if not 1 <= per_digit <= fewest:
        raise TransferError(f"Examples per digit must be between 1 and {fewest}, not {per_digit}.",
                            "bad_shots", shots=per_digit, most=fewest)
    rng = np.random.default_rng(seed)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(digit == d), per_digit, replace=False)
                                   for d in range(10)]))


# ---------------------------------------------------------------------------------------------------------------
# The three networks
# ---------------------------------------------------------------------------------------------------------------

class KeepStatistics(nn.Sequential):
    """Layers whose batch norm stays in evaluation mode even while the network trains.

    A BN layer in training mode normalises with the statistics of the current batch — here a few examples — and
    overwrites its running averages. Reused layers must keep the statistics of the data they learned on.
    """

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self


class Frozen(KeepStatistics):
    """Reused layers that do not learn at all: no gradients, batch norm in evaluation mode."""

    def __init__(self, layers: OrderedDict):
        super().__init__(layers)
        for parameter in self.parameters():
            parameter.requires_grad_(False)


def _check(method: str, reuse: str) -> None:
    if method not in METHODS:
        raise TransferError(f"Unknown method '{method}'. Choose one of: {', '.join(METHODS)}.", "unknown_method",
                            method=method)
    if reuse not in REUSE:
        raise TransferError(f"Unknown choice of reused layers '{reuse}'. Choose one of: {', '.join(REUSE)}.",
                            "unknown_reuse", reuse=reuse)


def new_head(reuse: str, classes: int = 2, seed: int = 0) -> nn.Sequential:
    """The freshly initialised layers that replace what is not reused (reproducible for a seed)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if reuse == "all_but_last":
            return nn.Sequential(OrderedDict(fc2=nn.Linear(64, classes)))
        return nn.Sequential(OrderedDict(fc1=nn.Linear(64, 64), relu3=nn.ReLU(), fc2=nn.Linear(64, classes)))


def _layers(model: nn.Module, names) -> OrderedDict:
    return OrderedDict((name, getattr(model, name)) for name in names)


def transfer_model(method: str, reuse: str = "all_but_last", classes: int = 2, seed: int = 0) -> nn.Sequential:
    """The network `method` trains: the reused layers (frozen / last block free / random and free) + a new head."""
    _check(method, reuse)
    head = new_head(reuse, classes, seed)
    if method == "scratch":
        return nn.Sequential(OrderedDict(body=nn.Sequential(_layers(make_model(seed), REUSED[reuse])), head=head))
    trained = copy.deepcopy(load_model())
    if method == "frozen":
        return nn.Sequential(OrderedDict(frozen=Frozen(_layers(trained, REUSED[reuse])), head=head))
    first = [name for name in REUSED[reuse] if name not in LAST_BLOCK[reuse]]
    return nn.Sequential(OrderedDict(frozen=Frozen(_layers(trained, first)),
                                     last_block=KeepStatistics(_layers(trained, LAST_BLOCK[reuse])), head=head))


@torch.no_grad()
def frozen_features(x: np.ndarray, reuse: str = "all_but_last") -> np.ndarray:
    """The 64 features the reused trained layers compute for each image: (N, 1, 8, 8) → (N, 64)."""
    _check("frozen", reuse)
    frozen = Frozen(_layers(copy.deepcopy(load_model()), REUSED[reuse])).eval()
    return frozen(torch.as_tensor(np.asarray(x, dtype=np.float32))).numpy()


# ---------------------------------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TransferResult:
    task: str
    method: str
    reuse: str
    per_digit: int
    train_acc: float  # on the few examples (evaluation mode)
    test_acc: float  # on the held-out digits of the new task
    seconds: float


def features_of_split(reuse: str = "all_but_last") -> dict[str, np.ndarray]:
    """The frozen features of every training and held-out digit ({"train": …, "test": …}); the task only changes
    labels, so one computation serves every task and every number of examples."""
    train_x, _, test_x, _ = load_data()
    return {"train": frozen_features(train_x, reuse), "test": frozen_features(test_x, reuse)}


def train_on_few(task: str, method: str, per_digit: int, reuse: str = "all_but_last", *,
                 steps: int = SETTINGS["steps"], lr: float = SETTINGS["lr"],
                 fine_tune_scale: float = SETTINGS["fine_tune_scale"], seed: int = SETTINGS["seed"],
                 features: dict | None = None) -> TransferResult:
    """Train one method on `per_digit` labelled examples of every digit; score it on the task's held-out digits.

    Full-batch gradient descent for `steps` steps (cnn_core.train.fit). "frozen" trains the head on precomputed
    features — the frozen layers never change, so running them once equals running them every step; pass
    features=features_of_split(reuse) to share that work between calls. "fine_tune" scales the last block's
    gradient by fine_tune_scale (for plain SGD with momentum that is the same as a smaller learning rate).
    """
    _check(method, reuse)
    train_x, train_y, test_x, test_y, digit = task_data(task)
    chosen = few_examples(digit, per_digit, seed)
    start = time.perf_counter()
    if method == "frozen":
        features = features_of_split(reuse) if features is None else features
        inputs, held_out = features["train"][chosen], features["test"]
        model = new_head(reuse, 2, seed)
    else:
        inputs, held_out = train_x[chosen], test_x
        model = transfer_model(method, reuse, 2, seed)
        if method == "fine_tune":
            for parameter in model.last_block.parameters():
                parameter.register_hook(lambda grad: grad * fine_tune_scale)
    X, Y = as_tensors(inputs, train_y[chosen])
    # The few examples double as fit's per-epoch check (cheap); the held-out digits are scored once, at the end.
    fit(model, X, Y, X, Y, lr=lr, epochs=steps, batch_size=len(Y), seed=seed)
    _, train_acc = evaluate(model, X, Y)
    _, test_acc = evaluate(model, *as_tensors(held_out, test_y))
    return TransferResult(task, method, reuse, per_digit, train_acc, test_acc, time.perf_counter() - start)


def transfer_curve(task: str = "odd_even", methods=("frozen", "scratch"), shots=SHOTS, reuse: str = "all_but_last",
                   *, progress: Callable[[float], None] | None = None, **settings) -> list[TransferResult]:
    """Held-out accuracy against labelled examples per digit, for each method: the data of the chart."""
    features = features_of_split(reuse) if "frozen" in methods else None
    runs = [(method, k) for k in shots for method in methods]
    results = []
    for done, (method, k) in enumerate(runs, start=1):
        results.append(train_on_few(task, method, k, reuse, features=features, **settings))
        if progress is not None:
            progress(done / len(runs))
    return results
