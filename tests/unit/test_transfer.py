"""Transfer learning: frozen layers really stay frozen, and frozen features beat training from scratch when there
are few examples. Measured with seeds 0 and 1, one example per digit (10 examples), all-but-last reused:
frozen 0.91–0.95 held-out accuracy, scratch 0.62–0.80 on the three tasks; the test asks for a 0.1 margin at seed 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnn_core.digits import load_data, load_model
from cnn_core.train import fit
from cnn_core.transfer import (
    TASKS,
    TransferError,
    features_of_split,
    few_examples,
    frozen_features,
    train_on_few,
    transfer_curve,
    transfer_model,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def features():
    return features_of_split("all_but_last")


@pytest.mark.parametrize("task", sorted(TASKS))
def test_frozen_features_beat_scratch_with_one_example_per_digit(task, features):
    frozen = train_on_few(task, "frozen", 1, features=features)
    scratch = train_on_few(task, "scratch", 1)
    assert frozen.train_acc == scratch.train_acc == pytest.approx(1.0)  # both learn the 10 examples …
    assert frozen.test_acc > scratch.test_acc + 0.1  # … only one of them learns the task


def test_the_curve_rises_with_more_examples_and_is_reproducible(features):
    curve = transfer_curve("loops", methods=("frozen",), shots=(1, 10))
    assert [r.per_digit for r in curve] == [1, 10] and curve[1].test_acc >= curve[0].test_acc
    again = train_on_few("loops", "frozen", 10, features=features)
    assert again.test_acc == curve[1].test_acc


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


def _train_briefly(model):
    x, y, _, _ = load_data()
    fit(model, x[:20], y[:20] % 2, x[:20], y[:20] % 2, lr=0.1, epochs=5, batch_size=4)


def test_frozen_layers_keep_weights_and_batch_norm_statistics():
    model = transfer_model("frozen", "conv")
    before = _snapshot(model.frozen)
    _train_briefly(model)
    for name, value in model.frozen.state_dict().items():
        torch.testing.assert_close(value, before[name], rtol=0, atol=0, msg=name)  # incl. running_mean / var
    reference = load_model()
    torch.testing.assert_close(model.frozen.conv1.weight, reference.conv1.weight)


def test_fine_tuning_moves_only_the_last_block():
    model = transfer_model("fine_tune", "conv")
    first, last = _snapshot(model.frozen), _snapshot(model.last_block)
    _train_briefly(model)
    for name, value in model.frozen.state_dict().items():
        torch.testing.assert_close(value, first[name], rtol=0, atol=0)
    assert not torch.equal(model.last_block.conv2.weight, last["conv2.weight"])
    torch.testing.assert_close(model.last_block.bn2.running_mean, last["bn2.running_mean"])  # statistics kept


def test_scratch_starts_from_random_weights():
    model = transfer_model("scratch", "conv", seed=1)
    assert not torch.allclose(model.body.conv1.weight, load_model().conv1.weight)
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_features_are_what_the_trained_layers_compute():
    x = load_data()[2][:5]
    model = load_model()
    with torch.no_grad():
        X = torch.from_numpy(x)
        conv = model.flatten(model.pool2(model.relu2(model.bn2(model.conv2(model.pool1(model.relu1(model.bn1(model.conv1(X)))))))))
        penultimate = model.relu3(model.fc1(conv))
    np.testing.assert_allclose(frozen_features(x, "conv"), conv.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(frozen_features(x, "all_but_last"), penultimate.numpy(), rtol=1e-6, atol=1e-6)


def test_few_examples_take_k_of_every_digit():
    digit = load_data()[1]
    chosen = few_examples(digit, 3, seed=2)
    assert np.bincount(digit[chosen], minlength=10).tolist() == [3] * 10
    np.testing.assert_array_equal(chosen, few_examples(digit, 3, seed=2))


@pytest.mark.parametrize("call, reason", [
    (lambda: train_on_few("colour", "frozen", 1), "unknown_task"),
    (lambda: train_on_few("odd_even", "magic", 1), "unknown_method"),
    (lambda: train_on_few("odd_even", "frozen", 1, reuse="half"), "unknown_reuse"),
    (lambda: train_on_few("odd_even", "scratch", 0), "bad_shots"),
    (lambda: train_on_few("odd_even", "scratch", 10_000), "bad_shots"),
])
def test_impossible_settings_have_a_reason(call, reason):
    with pytest.raises(TransferError) as caught:
        call()
    assert caught.value.reason == reason
