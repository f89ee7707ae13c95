"""The PyTorch check written once: every registered twin agrees with our op, and the NaN/∞ policy."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_core import activations, conv, norm, pool
from cnn_core.check import TWINS, check, max_abs_diff

rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3, 11, 9)).astype(np.float32)
K = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
C = X.shape[1]

CASES = [
    (conv.conv2d, (X, K), dict(stride=2, padding=1, dilation=2)),
    (conv.conv2d, (X, K), dict(padding=2, padding_mode="reflect")),
    (conv.conv2d, (X, K), dict(padding=1, padding_mode="circular")),
    (conv.conv2d, (X, K[:, :, :2, :2]), dict(padding="same")),
    (conv.convolve2d, (X, K), dict(padding=1)),
    (pool.max_pool2d, (X, 3), dict(stride=2, padding=1, ceil_mode=True)),
    (pool.avg_pool2d, (X, 2), dict(stride=1, padding=1, count_include_pad=False)),
    (pool.lp_pool2d, (np.abs(X), 2, 3), dict(stride=2)),
    (pool.adaptive_avg_pool2d, (X, 1), {}),
    (norm.batch_norm, (X, np.zeros(C, np.float32), np.ones(C, np.float32)), dict(training=True)),
    (activations.relu, (X,), {}),
    (activations.leaky_relu, (X, 0.2), {}),
    (activations.sigmoid, (X,), {}),
    (activations.tanh, (X,), {}),
    (activations.elu, (X, 0.7), {}),
    (activations.softmax, (X,), dict(dim=1)),
]


@pytest.mark.parametrize("op, args, kwargs", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_every_twin_agrees_with_our_op(op, args, kwargs):
    result = check(op, *args, **kwargs)
    assert result.ok, (result.op, result.max_diff)


def test_every_registered_twin_is_exercised_by_a_test():
    """A twin nobody runs could be wrong unnoticed: each registered op is named in a unit test (its own tests
    compare it with torch; the pages' AppTests fail on a check that does not pass)."""
    from pathlib import Path

    sources = [path.read_text(encoding="utf-8") for path in Path(__file__).parent.glob("test_*.py")]
    checking = "\n".join(sources)
    missing = [op.__name__ for op in TWINS if op.__name__ not in checking]
    assert not missing, missing


def test_a_wrong_op_fails_the_check():
    TWINS[wrong] = TWINS[activations.relu]
    try:
        assert not check(wrong, X).ok
    finally:
        del TWINS[wrong]


def wrong(input):
    return activations.relu(input) + 1e-3


def test_running_statistics_of_the_caller_are_not_changed():
    mean, var = np.zeros(C, np.float32), np.ones(C, np.float32)
    check(norm.batch_norm, X, mean, var, training=True)
    np.testing.assert_array_equal(mean, 0.0)


def test_nan_and_infinity_must_sit_in_the_same_places():
    a = np.array([1.0, np.nan, np.inf, -np.inf])
    assert max_abs_diff(a, a + 0.5) == 0.5
    assert max_abs_diff(a, np.array([1.0, 0.0, np.inf, -np.inf])) == np.inf
    assert max_abs_diff(a, np.array([1.0, np.nan, -np.inf, -np.inf])) == np.inf
    assert max_abs_diff(np.zeros(3), np.zeros(4)) == np.inf


def test_an_op_without_a_twin_is_named():
    with pytest.raises(KeyError, match="wrong"):
        check(wrong, X)
