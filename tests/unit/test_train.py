"""cnn_core.train.fit: its steps equal plain torch SGD written out by hand, it learns, it is reproducible, it stops
when told (callback, time limit), and it reports divergence and bad settings with a reason.

Tolerances: weights after a step are float32 results of the same operations in the same order as the hand-written
step, so they must agree to rtol 1e-6, atol 1e-7.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnn_core.digits import load_data, make_model, shift_images
from cnn_core.errors import CnnError
from cnn_core.train import History, TrainError, evaluate, fit, random_shifts

STEP = dict(rtol=1e-6, atol=1e-7)
torch.set_num_threads(1)


def bars(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A tiny task: 6×6 images with one vertical (class 0) or horizontal (class 1) bright bar, plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 2, n)
    where = rng.integers(0, 6, n)
    for i in range(n):
        if y[i] == 0:
            x[i, 0, :, where[i]] += 1
        else:
            x[i, 0, where[i], :] += 1
    return x, y


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                         nn.Linear(4, 2))


def hand_sgd_steps(model: nn.Module, x: np.ndarray, y: np.ndarray, lrs: list[float], weight_decay: float) -> None:
    """Full-batch gradient descent without momentum, written out: w ← w − lr · (∂L/∂w + λ·w)."""
    X, Y = torch.from_numpy(x), torch.from_numpy(y).long()
    for lr in lrs:
        model.zero_grad()
        F.cross_entropy(model(X), Y).backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * (p.grad + weight_decay * p)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_one_full_batch_epoch_is_one_sgd_step(weight_decay):
    x, y = bars(40, seed=1)
    ours, theirs = tiny_model(3), tiny_model(3)
    fit(ours, x, y, x, y, lr=0.3, epochs=1, batch_size=len(x), momentum=0.0, weight_decay=weight_decay)
    hand_sgd_steps(theirs, x, y, [0.3], weight_decay)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **STEP)


def test_cosine_schedule_halves_the_rate_halfway():
    """Two full-batch epochs: lr_t = lr · (1 + cos(π t / 2)) / 2 gives lr, then lr / 2."""
    x, y = bars(30, seed=2)
    ours, theirs = tiny_model(4), tiny_model(4)
    fit(ours, x, y, x, y, lr=0.4, epochs=2, batch_size=len(x), momentum=0.0, schedule="cosine")
    hand_sgd_steps(theirs, x, y, [0.4, 0.2], 0.0)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **STEP)


def test_it_learns_a_tiny_task_and_fills_the_curves():
    x, y = bars(200, seed=3)
    x_test, y_test = bars(100, seed=4)
    model = tiny_model(0)
    history = fit(model, x, y, x_test, y_test, lr=0.1, epochs=8, batch_size=20)
    assert history.stopped == "done" and history.epochs == 8
    assert len(history.train_loss) == len(history.train_acc) == len(history.test_loss) == 8
    assert len(history.batch_loss) == 8 * history.batches_per_epoch == 80
    assert history.test_acc[-1] >= 0.95
    assert history.train_loss[-1] < history.train_loss[0]
    assert not model.training


def test_digits_reach_ninety_percent_in_a_few_epochs():
    """What the page promises: from random weights to > 90 % held-out in seconds (here: 5 epochs)."""
    train_x, train_y, test_x, test_y = load_data()
    history = fit(make_model(0), train_x, train_y, test_x, test_y, lr=0.05, epochs=5, batch_size=32)
    assert max(history.test_acc) > 0.9


def test_same_seed_same_run_other_seed_other_batches():
    x, y = bars(64, seed=5)
    runs = [fit(tiny_model(1), x, y, x, y, lr=0.1, epochs=2, batch_size=16, augment=True, seed=s).batch_loss
            for s in (7, 7, 8)]
    np.testing.assert_allclose(runs[0], runs[1], rtol=0, atol=0)
    assert not np.allclose(runs[0], runs[2])


def test_evaluate_equals_torch_in_small_batches():
    x, y = bars(37, seed=6)
    model = tiny_model(2).train()
    loss, accuracy = evaluate(model, torch.from_numpy(x), torch.from_numpy(y).long(), batch_size=5)
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(x))
    np.testing.assert_allclose(loss, F.cross_entropy(logits, torch.from_numpy(y).long()).item(), rtol=1e-5)
    assert math.isclose(accuracy, (logits.argmax(1).numpy() == y).mean())


def test_evaluate_restores_training_mode():
    model = tiny_model().train()
    x, y = bars(8, seed=0)
    evaluate(model, torch.from_numpy(x), torch.from_numpy(y).long())
    assert model.training


def test_random_shifts_move_each_image_by_at_most_one_pixel():
    x = np.random.default_rng(0).random((300, 1, 5, 5), dtype=np.float32) + 0.1  # no zeros: shifts are visible
    out = random_shifts(torch.from_numpy(x), torch.Generator().manual_seed(0)).numpy()
    used = set()
    for i in range(len(x)):
        matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                   if np.array_equal(out[i], shift_images(x[i:i + 1], dy, dx)[0])]
        assert len(matches) == 1, i
        used.add(matches[0])
    assert len(used) == 9  # all nine offsets occur among 300 images


def test_callback_can_stop_after_the_first_batch():
    x, y = bars(64, seed=7)
    history = fit(tiny_model(), x, y, x, y, epochs=5, batch_size=8, on_batch=lambda epoch, batch, loss: False)
    assert history.stopped == "callback" and len(history.batch_loss) == 1 and history.epochs == 1


def test_epoch_callback_sees_the_growing_history_and_can_stop():
    x, y = bars(64, seed=8)
    seen = []

    def on_epoch(history: History):
        seen.append(history.epochs)
        return history.epochs < 3

    history = fit(tiny_model(), x, y, x, y, epochs=10, batch_size=16, on_epoch=on_epoch)
    assert seen == [1, 2, 3] and history.stopped == "callback" and history.epochs == 3


def test_time_limit_stops_the_run():
    x, y = bars(64, seed=9)
    history = fit(tiny_model(), x, y, x, y, epochs=50, batch_size=8, time_limit=0.0)
    assert history.stopped == "time" and len(history.batch_loss) == 1 and history.epochs == 1


def test_a_huge_learning_rate_is_reported_as_diverged_with_the_curves_so_far():
    train_x, train_y, test_x, test_y = load_data()
    with pytest.raises(TrainError) as error:
        fit(make_model(0), train_x, train_y, test_x, test_y, lr=1e4, epochs=3, batch_size=32)
    assert error.value.reason == "diverged" and error.value.details["lr"] == 1e4
    assert isinstance(error.value, CnnError) and len(error.value.history.batch_loss) >= 1


@pytest.mark.parametrize("settings, reason", [
    (dict(lr=0.0), "bad_lr"), (dict(lr=float("nan")), "bad_lr"), (dict(epochs=0), "bad_count"),
    (dict(batch_size=0), "bad_count"), (dict(weight_decay=-1.0), "bad_weight_decay"),
    (dict(optimizer="rmsprop"), "unknown_optimizer"), (dict(schedule="step"), "unknown_schedule"),
])
def test_bad_settings_are_refused_with_a_reason(settings, reason):
    x, y = bars(8, seed=0)
    with pytest.raises(CnnError) as error:
        fit(tiny_model(), x, y, x, y, **settings)
    assert error.value.reason == reason


def test_images_and_labels_must_match():
    x, y = bars(8, seed=0)
    with pytest.raises(CnnError) as error:
        fit(tiny_model(), x, y[:5], x, y)
    assert error.value.reason == "data_mismatch"


def test_adam_also_trains():
    x, y = bars(100, seed=10)
    history = fit(tiny_model(5), x, y, x, y, lr=0.02, epochs=6, batch_size=20, optimizer="adam")
    assert history.test_acc[-1] >= 0.9
