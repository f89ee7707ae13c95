"""cnn_core.dropout: its statistics, its exact scaling, evaluation = identity, and the same rules as torch.

torch and NumPy draw different random masks, so the comparison with torch is on what must hold for *any* mask:
survivors are exactly x / (1 − p) (rtol 1e-6: one float32 division), the rest are 0, and the zeroed fraction
is p within 5 binomial standard deviations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core.dropout import DropoutError, dropout, dropout2d, dropout_mask, summarize

torch.set_num_threads(1)
EXACT = dict(rtol=1e-6, atol=0)
N_BIG = 200_000


def _values(shape, seed=0) -> np.ndarray:
    # Shifted away from 0 so that "zeroed by dropout" and "was already 0" cannot be confused.
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1, 1], size=shape)).astype(np.float32)


def _binomial_slack(p: float, n: int) -> float:
    return 5 * math.sqrt(p * (1 - p) / n) + 1e-12


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
def test_fraction_zeroed_is_p_and_survivors_are_scaled_exactly(p):
    X = _values(N_BIG)
    Y = dropout(X, p, rng=np.random.default_rng(1))
    kept = Y != 0
    assert abs((1 - kept.mean()) - p) < _binomial_slack(p, N_BIG)
    np.testing.assert_allclose(Y[kept], X[kept] / (1 - p), **EXACT)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.7])
def test_torch_uses_the_same_rule(p):
    """The same two properties, measured on torch's own dropout: the rule we implement is torch's."""
    X = _values(N_BIG, seed=2)
    torch.manual_seed(0)
    Yt = F.dropout(torch.from_numpy(X), p, training=True).numpy()
    kept_t = Yt != 0
    assert abs((1 - kept_t.mean()) - p) < _binomial_slack(p, N_BIG)
    ours = dropout(X, p, rng=3)
    kept = ours != 0
    # Survivors: ours and torch's both equal x / (1 − p) — the same scale, not merely similar means.
    np.testing.assert_allclose(Yt[kept_t], X[kept_t] / (1 - p), **EXACT)
    np.testing.assert_allclose(ours[kept], X[kept] / (1 - p), **EXACT)


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_expected_value_is_kept(p):
    """E[y] = x: the mean of y over many draws of the mask approaches the mean of x (5 standard errors)."""
    X = _values(N_BIG, seed=4)
    Y = dropout(X, p, rng=5)
    # Var(y_i) = x_i² · p / (1 − p), so the standard error of mean(y) − mean(x) is √(Σ x_i² p/(1−p)) / n.
    standard_error = math.sqrt(float(np.sum(X.astype(np.float64) ** 2)) * p / (1 - p)) / X.size
    assert abs(float(Y.mean()) - float(X.mean())) < 5 * standard_error


@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=4), p=st.floats(0.0, 1.0), seed=st.integers(0, 10**6))
@settings(max_examples=100, deadline=None)
def test_every_value_is_zero_or_scaled(shape, p, seed):
    X = _values(tuple(shape), seed)
    Y = dropout(X, p, rng=seed)
    assert Y.shape == X.shape and Y.dtype == np.float32
    kept = Y != 0
    if p == 1.0:
        assert not kept.any()
    else:
        np.testing.assert_allclose(Y[kept], X[kept] / np.float32(1 - p), **EXACT)
    assert torch.equal(F.dropout(torch.from_numpy(X), p, training=False), torch.from_numpy(X))


def test_evaluation_mode_is_the_identity():
    X = _values((2, 3, 5, 5))
    np.testing.assert_array_equal(dropout(X, 0.9, training=False), X)
    np.testing.assert_array_equal(F.dropout(torch.from_numpy(X), 0.9, training=False).numpy(), X)
    np.testing.assert_array_equal(dropout(X, 0.0), X)


def test_p_one_drops_everything_like_torch():
    X = _values((4, 4))
    np.testing.assert_array_equal(dropout(X, 1.0, rng=0), np.zeros_like(X))
    np.testing.assert_array_equal(F.dropout(torch.from_numpy(X), 1.0).numpy(), np.zeros_like(X))


def test_same_generator_seed_same_mask_other_seed_other_mask():
    X = _values(1000)
    np.testing.assert_array_equal(dropout(X, 0.5, rng=np.random.default_rng(7)), dropout(X, 0.5, rng=7))
    assert not np.array_equal(dropout(X, 0.5, rng=7), dropout(X, 0.5, rng=8))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_impossible_probability_is_refused_like_torch(p):
    with pytest.raises(DropoutError) as caught:
        dropout(np.ones(3), p)
    assert caught.value.reason == "bad_probability"
    with pytest.raises((ValueError, RuntimeError)):  # torch: ValueError, or RuntimeError for NaN
        F.dropout(torch.ones(3), p)


@pytest.mark.parametrize("p", [0.3, 0.5])
def test_dropout2d_drops_whole_channels(p):
    X = _values((50, 40, 3, 3), seed=6)
    for Y in (dropout2d(X, p, rng=9), F.dropout2d(torch.from_numpy(X), p).numpy()):
        kept_per_value = (Y != 0).reshape(50, 40, 9)
        channel_kept = kept_per_value.all(axis=2)
        np.testing.assert_array_equal(kept_per_value.any(axis=2), channel_kept)  # all or nothing per channel
        assert abs((1 - channel_kept.mean()) - p) < _binomial_slack(p, 2000)
        mask = np.broadcast_to(channel_kept[..., None, None], X.shape)
        np.testing.assert_allclose(Y[mask], X[mask] / (1 - p), **EXACT)


def test_dropout2d_refuses_a_flat_vector():
    with pytest.raises(DropoutError) as caught:
        dropout2d(np.ones(5))
    assert caught.value.reason == "bad_shape"


def test_mask_keeps_with_probability_one_minus_p():
    keep = dropout_mask((N_BIG,), 0.3, rng=11)
    assert keep.dtype == bool and abs(keep.mean() - 0.7) < _binomial_slack(0.3, N_BIG)


def test_summary_measures_what_happened():
    X = np.array([1.0, 2.0, 3.0, 4.0, 0.0], dtype=np.float32)
    Y = np.array([2.0, 0.0, 6.0, 0.0, 0.0], dtype=np.float32)  # a hand-made p = 0.5 result: 2 of 4 non-zeros dropped
    s = summarize(X, Y, 0.5)
    assert math.isclose(s.fraction_zeroed, 0.5) and math.isclose(s.scale, 2.0)
    assert math.isclose(s.mean_before, 2.0) and math.isclose(s.mean_after, 1.6)
