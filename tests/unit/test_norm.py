"""cnn_core.norm (batch normalization) and cnn_core.batch (a mini-batch from one image), checked against torch.

Tolerances: outputs are float32 computed along different paths (torch fuses and uses Welford's algorithm, we
use two passes), so we compare with rtol = atol = 1e-4 after normalisation (values of order 1), and running
statistics with rtol = 1e-5 relative to their size.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnn_core.batch import (
    LAYER_KERNELS,
    Augmentation,
    BatchError,
    augment,
    batch_grid,
    batch_grid_png,
    batch_mean_spread,
    conv_layer,
    fit_crop,
    fit_side,
    kernel_bank,
    make_batch,
    population_stats,
    sample_augmentations,
    stream_stats,
)
from cnn_core.norm import (
    BatchNormSteps,
    NormError,
    batch_norm,
    batch_norm_latex,
    batch_norm_steps,
    batch_norm_train_steps,
    bn_and_relu,
    channel_stats,
    normalisation_error,
    running_stats_curve,
    unbiased_variance,
    update_running_stats,
    values_per_channel,
)

TOL = dict(rtol=1e-4, atol=1e-4)


def tensor(a):
    return torch.from_numpy(np.ascontiguousarray(a))


# Input shapes torch's batch norm takes: (N, C), (N, C, L), (N, C, H, W), and (N, C, D, H, W) for good measure.
shapes = st.one_of(
    st.tuples(st.integers(2, 9), st.integers(1, 5)),
    st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(2, 9)),
    st.tuples(st.integers(1, 5), st.integers(1, 4), st.integers(1, 8), st.integers(2, 8)),
    st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(2, 4)),
)


def random_input(shape, seed, offset=0.0, spread=1.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * spread + offset).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------
# batch_norm against torch
# ----------------------------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000), affine=st.booleans(),
       momentum=st.sampled_from([0.0, 0.01, 0.1, 0.5, 0.9, 1.0]), eps=st.sampled_from([1e-5, 1e-3, 0.1]),
       steps=st.integers(1, 4), offset=st.sampled_from([0.0, 3.0, -20.0]), spread=st.sampled_from([0.01, 1.0, 50.0]))
def test_training_steps_match_torch(shape, seed, affine, momentum, eps, steps, offset, spread):
    """Several training steps: outputs and the running mean/variance after each step equal torch's."""
    C = shape[1]
    rng = np.random.default_rng(seed + 1)
    weight = rng.standard_normal(C).astype(np.float32) if affine else None
    bias = rng.standard_normal(C).astype(np.float32) if affine else None
    running_mean, running_var = rng.standard_normal(C).astype(np.float32), rng.uniform(0.5, 2, C).astype(np.float32)
    torch_mean, torch_var = tensor(running_mean.copy()), tensor(running_var.copy())
    for step in range(steps):
        x = random_input(shape, seed + 100 * step, offset, spread)
        ours = batch_norm(x, running_mean, running_var, weight, bias, training=True, momentum=momentum, eps=eps)
        theirs = F.batch_norm(tensor(x), torch_mean, torch_var, None if weight is None else tensor(weight),
                              None if bias is None else tensor(bias), training=True, momentum=momentum, eps=eps)
        assert ours.shape == x.shape and ours.dtype == np.float32
        # float32 holds x only to ±ε₃₂·|x|, and both sides round x·(1/σ) or x − μ in float32, so an offset far larger
        # than the batch's own spread costs digits: allow a few ulps of |x|/√(σ² + ε) (times |γ|) on top of 1e-4.
        sigma = x.astype(np.float64).swapaxes(0, 1).reshape(C, -1).var(axis=1).min()
        conditioning = 4 * np.finfo(np.float32).eps * float(np.abs(x).max()) / np.sqrt(sigma + eps)
        gain = 1.0 if weight is None else max(1.0, float(np.abs(weight).max()))
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-4, atol=1e-4 + conditioning * gain)
        scale = max(1.0, spread**2, offset**2)
        np.testing.assert_allclose(running_mean, torch_mean.numpy(), rtol=1e-5, atol=1e-5 * np.sqrt(scale))
        np.testing.assert_allclose(running_var, torch_var.numpy(), rtol=1e-4, atol=1e-6 * scale)


@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000), affine=st.booleans(), eps=st.sampled_from([1e-5, 1e-2]))
def test_evaluation_matches_torch(shape, seed, affine, eps):
    """Evaluation mode: normalised with the running estimates, which stay unchanged (also with N = 1)."""
    shape = (1,) + shape[1:] if seed % 3 == 0 else shape  # evaluation works with a single sample too
    C = shape[1]
    rng = np.random.default_rng(seed)
    x = random_input(shape, seed, offset=2.0, spread=3.0)
    running_mean = rng.standard_normal(C).astype(np.float32)
    running_var = rng.uniform(0.1, 5, C).astype(np.float32)
    weight = rng.standard_normal(C).astype(np.float32) if affine else None
    bias = rng.standard_normal(C).astype(np.float32) if affine else None
    before = running_mean.copy(), running_var.copy()
    ours = batch_norm(x, running_mean, running_var, weight, bias, training=False, eps=eps)
    theirs = F.batch_norm(tensor(x), tensor(running_mean), tensor(running_var),
                          None if weight is None else tensor(weight), None if bias is None else tensor(bias),
                          training=False, eps=eps)
    np.testing.assert_allclose(ours, theirs.numpy(), **TOL)
    np.testing.assert_array_equal(running_mean, before[0])  # evaluation never changes the running estimates
    np.testing.assert_array_equal(running_var, before[1])


def test_training_without_running_statistics_matches_torch():
    x = random_input((4, 3, 5, 5), 0)
    np.testing.assert_allclose(batch_norm(x, None, None, training=True),
                               F.batch_norm(tensor(x), None, None, training=True).numpy(), **TOL)


def test_training_then_evaluation_like_an_nn_module():
    """nn.BatchNorm2d trained for 20 batches, then evaluated: same running statistics and same eval output."""
    module = torch.nn.BatchNorm2d(3, momentum=0.2)
    running_mean, running_var = np.zeros(3, np.float32), np.ones(3, np.float32)
    for step in range(20):
        x = random_input((5, 3, 4, 6), step, offset=1.5, spread=2.0)
        module.train()
        module(tensor(x))
        batch_norm(x, running_mean, running_var, training=True, momentum=0.2)
    np.testing.assert_allclose(running_mean, module.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(running_var, module.running_var.numpy(), rtol=1e-5, atol=1e-6)
    module.eval()
    x = random_input((2, 3, 4, 6), 99)
    with torch.no_grad():
        np.testing.assert_allclose(batch_norm(x, running_mean, running_var), module(tensor(x)).numpy(), **TOL)


def test_large_offset_keeps_variance_accurate():
    """Mean 1000, spread 0.01: a one-pass E[x²] − μ² in float32 would lose every digit; two passes do not."""
    x = random_input((16, 2, 32, 32), 3, offset=1000.0, spread=0.01)
    _, var, _ = channel_stats(x)
    exact = x.astype(np.float64).transpose(1, 0, 2, 3).reshape(2, -1).var(axis=1)
    np.testing.assert_allclose(var, exact, rtol=2e-2)


# ----------------------------------------------------------------------------------------------------------------
# Hand-worked numbers
# ----------------------------------------------------------------------------------------------------------------

def test_worked_example_of_the_lesson():
    """One channel holding 1, 3, 5, 7 (N = 2 maps of 1×2): μ = 4, σ² = (9 + 1 + 1 + 9)/4 = 5; unbiased 20/3."""
    x = np.array([[[[1, 3]]], [[[5, 7]]]], dtype=np.float32)  # (2, 1, 1, 2)
    steps = batch_norm_steps(x, weight=[2.0], bias=[0.5])
    assert steps.count == 4
    np.testing.assert_allclose(steps.mean, [4.0])
    np.testing.assert_allclose(steps.var, [5.0])
    np.testing.assert_allclose(steps.var_unbiased, [20 / 3])
    np.testing.assert_allclose(steps.x_hat[0, 0, 0, 0], -3 / np.sqrt(5 + 1e-5), rtol=1e-6)
    np.testing.assert_allclose(steps.output[0, 0, 0, 0], 2 * (-3 / np.sqrt(5 + 1e-5)) + 0.5, rtol=1e-6)  # ≈ −2.183
    running_mean, running_var = np.zeros(1, np.float32), np.ones(1, np.float32)
    batch_norm(x, running_mean, running_var, training=True, momentum=0.1)
    np.testing.assert_allclose(running_mean, [0.4], rtol=1e-6)  # 0.9·0 + 0.1·4
    np.testing.assert_allclose(running_var, [0.9 + 0.1 * 20 / 3], rtol=1e-6)  # unbiased variance: 1.5667


def test_lesson_quiz_numbers():
    """Running variance 1, momentum 0.1, values 2 and 4: biased σ² = 1, unbiased 2, new estimate 1.1."""
    running_mean, running_var = np.zeros(1, np.float32), np.ones(1, np.float32)
    batch_norm(np.array([[2.0], [4.0]], dtype=np.float32), running_mean, running_var, training=True)
    np.testing.assert_allclose(running_var, [1.1], rtol=1e-6)
    np.testing.assert_allclose(running_mean, [0.3], rtol=1e-6)
    assert values_per_channel((16, 8, 10, 10)) == 1600


def test_momentum_zero_and_one():
    x = random_input((4, 2, 3, 3), 5, offset=2.0)
    mean, var, m = channel_stats(x)
    running_mean, running_var = np.zeros(2, np.float32), np.ones(2, np.float32)
    batch_norm(x, running_mean, running_var, training=True, momentum=0.0)
    np.testing.assert_allclose(running_mean, [0, 0])
    np.testing.assert_allclose(running_var, [1, 1])
    batch_norm(x, running_mean, running_var, training=True, momentum=1.0)
    np.testing.assert_allclose(running_mean, mean, rtol=1e-6)
    np.testing.assert_allclose(running_var, var * m / (m - 1), rtol=1e-5)


def test_output_of_training_mode_has_mean_beta_and_std_gamma_but_keeps_its_shape():
    """Normalisation shifts and scales each channel; it does not make a skewed distribution normal."""
    rng = np.random.default_rng(0)
    x = rng.exponential(size=(8, 1, 16, 16)).astype(np.float32)  # skewed, all positive
    y = batch_norm(x, None, None, weight=np.array([2.0], np.float32), bias=np.array([0.5], np.float32), training=True)
    np.testing.assert_allclose(y.mean(), 0.5, atol=1e-5)
    np.testing.assert_allclose(y.std(), 2.0, rtol=1e-4)

    def skew(a):
        a = a.ravel().astype(np.float64)
        return ((a - a.mean()) ** 3).mean() / a.std() ** 3

    np.testing.assert_allclose(skew(y), skew(x), rtol=1e-3)  # still ≈ 2, the skewness of an exponential
    assert skew(y) > 1.5


# ----------------------------------------------------------------------------------------------------------------
# The readable reference and the helpers
# ----------------------------------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000))
def test_steps_reference_equals_vectorised_and_torch(shape, seed):
    C = shape[1]
    rng = np.random.default_rng(seed)
    x = random_input(shape, seed, offset=1.0, spread=2.0)
    weight, bias = rng.standard_normal(C).astype(np.float32), rng.standard_normal(C).astype(np.float32)
    steps = batch_norm_steps(x, weight, bias)
    assert isinstance(steps, BatchNormSteps) and steps.count == x.size // C
    np.testing.assert_allclose(steps.output, batch_norm(x, None, None, weight, bias, training=True), **TOL)
    np.testing.assert_allclose(steps.output, F.batch_norm(tensor(x), None, None, tensor(weight), tensor(bias),
                                                          training=True).numpy(), **TOL)
    mean, var, m = channel_stats(x)
    np.testing.assert_allclose(mean, steps.mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, steps.var, rtol=1e-4, atol=1e-7)
    assert m == steps.count


def test_running_stats_curve_matches_torch_module_over_many_steps():
    module = torch.nn.BatchNorm2d(2, momentum=0.3)
    batches = [random_input((3, 2, 4, 4), t, offset=t * 0.1) for t in range(12)]
    stats = [channel_stats(x) for x in batches]
    means, variances = running_stats_curve([s[0] for s in stats], [s[1] for s in stats], stats[0][2], 0.3)
    assert means.shape == variances.shape == (13, 2)
    np.testing.assert_allclose(means[0], [0, 0])
    np.testing.assert_allclose(variances[0], [1, 1])
    for t, x in enumerate(batches):
        module(tensor(x))
        np.testing.assert_allclose(means[t + 1], module.running_mean.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(variances[t + 1], module.running_var.numpy(), rtol=1e-5, atol=1e-6)


def test_update_running_stats_uses_the_unbiased_variance():
    running_mean, running_var = np.array([1.0]), np.array([1.0])
    update_running_stats(running_mean, running_var, np.array([3.0]), np.array([2.0]), count=5, momentum=0.5)
    np.testing.assert_allclose(running_mean, [2.0])
    np.testing.assert_allclose(running_var, [0.5 + 0.5 * 2.0 * 5 / 4])


@pytest.mark.parametrize("order", ["bn_relu", "relu_bn"])
def test_placements_match_torch(order):
    x = random_input((4, 3, 6, 6), 7, offset=0.3)
    tx = tensor(x)
    expected = (torch.relu(F.batch_norm(tx, None, None, training=True)) if order == "bn_relu"
                else F.batch_norm(torch.relu(tx), None, None, training=True))
    np.testing.assert_allclose(bn_and_relu(x, order), expected.numpy(), **TOL)


def test_bn_then_relu_zeroes_about_half_and_relu_then_bn_makes_zeros_negative():
    x = random_input((8, 1, 16, 16), 1)
    assert 0.4 < np.mean(bn_and_relu(x, "bn_relu") == 0) < 0.6
    after = bn_and_relu(x, "relu_bn")
    assert np.mean(after == 0) == 0 and after.min() < 0  # the zeros of ReLU became −μ/σ
    np.testing.assert_allclose(after.mean(), 0, atol=1e-5)


def test_latex_lines_carry_the_numbers():
    x = np.array([[[[1, 3]]], [[[5, 7]]]], dtype=np.float32)
    lines = batch_norm_latex(batch_norm_steps(x), 0, (0, 0, 0), gamma=2.0, beta=0.5)
    assert len(lines) == 4
    assert lines[0].endswith("= 4") and r"\frac{1}{4}" in lines[0] and "(16)" in lines[0]
    assert lines[1].endswith("= 5") and "(20)" in lines[1]
    assert "10^{-5}" in lines[2] and lines[2].endswith("= -1.342")
    assert lines[3].endswith("= -2.183")


# ----------------------------------------------------------------------------------------------------------------
# Errors: sentences that say what to change
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_one_value_per_channel_cannot_train(shape):
    x = np.ones(shape, np.float32)
    with pytest.raises(ValueError, match="more than one value per channel"):
        batch_norm(x, np.zeros(3, np.float32), np.ones(3, np.float32), training=True)
    with pytest.raises(ValueError):  # torch refuses too
        F.batch_norm(tensor(x), torch.zeros(3), torch.ones(3), training=True)
    with pytest.raises(ValueError, match="batch of at least 2"):
        batch_norm_steps(x)
    batch_norm(x, np.zeros(3, np.float32), np.ones(3, np.float32), training=False)  # evaluation is fine


def test_one_sample_with_spatial_maps_can_train():
    x = random_input((1, 2, 5, 5), 0)
    np.testing.assert_allclose(batch_norm(x, None, None, training=True),
                               F.batch_norm(tensor(x), None, None, training=True).numpy(), **TOL)


@pytest.mark.parametrize("call, message", [
    (lambda: batch_norm(np.ones(3, np.float32), None, None, training=True), "Add a batch axis"),
    (lambda: batch_norm(np.ones((0, 3), np.float32), None, None, training=True), "empty"),
    (lambda: batch_norm(np.ones((4, 3), np.float32), None, None), "Evaluation mode normalises with the running"),
    (lambda: batch_norm(np.ones((4, 3), np.float32), np.zeros(2), np.ones(2)), r"one number per channel \(3\)"),
    (lambda: batch_norm(np.ones((4, 3), np.float32), None, None, weight=np.ones(4), training=True), "weight"),
    (lambda: batch_norm(np.ones((4, 3), np.float32), None, None, training=True, momentum=1.5), "0 to 1"),
    (lambda: batch_norm(np.ones((4, 3), np.float32), [0, 0, 0], [1, 1, 1], training=True), "in place"),
    (lambda: bn_and_relu(np.ones((4, 3), np.float32), "sideways"), "bn_relu, relu_bn"),
])
def test_errors_are_sentences(call, message):
    with pytest.raises(NormError, match=message) as error:  # a CnnError (so a ValueError) with a reason code
        call()
    assert isinstance(error.value, ValueError) and error.value.reason != "unknown"


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 1000), st.integers(1, 6), st.floats(0.0, 1.0), st.sampled_from([(4, 3, 5, 5), (2, 2, 3, 1)]))
def test_train_steps_on_one_batch_match_a_torch_module(seed, steps, momentum, shape):
    """What BatchNorm2d holds after `steps` training passes on the same batch: output and both running buffers
    (the variance one unbiased, m/(m − 1))."""
    x = np.random.default_rng(seed).normal(2.0, 3.0, shape).astype(np.float32)
    out, mean, var = batch_norm_train_steps(x, steps, momentum)
    module = torch.nn.BatchNorm2d(shape[1], momentum=momentum, affine=False).train()
    for _ in range(steps):
        expected = module(tensor(x))
    np.testing.assert_allclose(out, expected.detach().numpy(), **TOL)
    np.testing.assert_allclose(mean, module.running_mean.numpy(), **TOL)
    np.testing.assert_allclose(var, module.running_var.numpy(), **TOL)


def test_unbiased_variance_and_the_distance_from_normalised():
    """[1, 2, 3, 4]: biased variance 1.25, unbiased 1.25 · 4/3 = 5/3 (numpy's ddof=1)."""
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert unbiased_variance(values.var(), 4) == pytest.approx(values.var(ddof=1)) == pytest.approx(5 / 3)
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (64, 3, 8, 8)).astype(np.float32)
    normalised = batch_norm(x, None, None, training=True)
    assert normalisation_error(normalised) < 1e-4
    shifted = normalised.copy()
    shifted[:, 1] = shifted[:, 1] * 2 + 0.5  # channel 1: mean 0.5, std 2 → off by 0.5 + 1
    assert normalisation_error(shifted) == pytest.approx(1.5, abs=1e-3)


def test_crops_fit_the_picture_or_say_why_not():
    assert fit_crop((90, 120), 64) == 64 and fit_crop((40, 120), 64) == 40
    with pytest.raises(BatchError) as error:
        fit_crop((7, 300), 32)
    assert error.value.reason == "picture_too_narrow" and error.value.details == {"h": 7, "w": 300, "least": 8}
    with pytest.raises(BatchError) as error:
        kernel_bank([])
    assert error.value.reason == "no_kernels"


def test_batch_means_spread_like_one_over_root_n():
    """The mean of N independent crops' means has standard deviation s/√N: measured on 4000 random batches."""
    rng = np.random.default_rng(1)
    crop_means = rng.normal(0, 0.3, 200_000)
    spread = batch_mean_spread(0.3, 16)
    assert spread[0] == pytest.approx(0.3) and spread[3] == pytest.approx(0.15)
    for n in (1, 4, 16):
        measured = crop_means[: 4000 * n].reshape(4000, n).mean(axis=1).std()
        assert measured == pytest.approx(spread[n - 1], rel=0.05)


# ----------------------------------------------------------------------------------------------------------------
# cnn_core.batch: the mini-batch made from one picture
# ----------------------------------------------------------------------------------------------------------------

def picture(height=90, width=120, seed=0):
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, width, dtype=np.float32)[None, :] * np.ones((height, 1), np.float32)
    return np.clip(ramp + 0.2 * rng.standard_normal((height, width)).astype(np.float32), 0, 1)


def test_make_batch_is_deterministic_and_in_range():
    gray = picture()
    a = make_batch(gray, 6, 32, seed=(4, 0, 1))
    b = make_batch(gray, 6, 32, seed=(4, 0, 1))
    c = make_batch(gray, 6, 32, seed=(4, 0, 2))
    assert a.shape == (6, 1, 32, 32) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.1
    assert a.min() >= 0 and a.max() <= 1


def test_augment_crops_flips_and_changes_brightness_and_contrast():
    gray = picture()
    plain = augment(gray, Augmentation(10, 20, 16, False, 1.0, 1.0))
    np.testing.assert_allclose(plain, gray[10:26, 20:36])
    np.testing.assert_allclose(augment(gray, Augmentation(10, 20, 16, True, 1.0, 1.0)), plain[:, ::-1])
    darker = augment(gray, Augmentation(10, 20, 16, False, 0.5, 1.0))
    np.testing.assert_allclose(darker, plain * 0.5, atol=1e-6)
    flat = augment(gray, Augmentation(10, 20, 16, False, 1.0, 0.0))  # contrast 0: every pixel is the mean
    np.testing.assert_allclose(flat, np.full_like(plain, plain.mean()), atol=1e-6)


def test_sample_augmentations_stays_inside_and_refuses_big_crops():
    settings_ = sample_augmentations((40, 50), 200, 30, seed=1)
    assert all(0 <= a.top <= 10 and 0 <= a.left <= 20 for a in settings_)
    assert 50 < sum(a.flipped for a in settings_) < 150
    assert all(0.7 <= a.brightness <= 1.3 and 0.7 <= a.contrast <= 1.3 for a in settings_)
    with pytest.raises(ValueError, match="at most 40 pixels"):
        sample_augmentations((40, 50), 4, 41)
    with pytest.raises(ValueError, match="at least one sample"):
        sample_augmentations((40, 50), 0, 8)


def test_conv_layer_matches_torch_and_kernel_bank_checks_names():
    crops = make_batch(picture(), 3, 20, seed=0)
    names = ["sobel_x", "laplacian", "box_blur"]
    ours = conv_layer(crops, names)
    theirs = F.conv2d(tensor(crops), tensor(kernel_bank(names)))
    assert ours.shape == (3, 3, 18, 18)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5, atol=1e-5)
    assert set(LAYER_KERNELS) >= {"sobel_x", "sobel_y", "laplacian", "box_blur"}
    assert "gaussian_blur" not in LAYER_KERNELS  # 5×5
    with pytest.raises(ValueError, match="at least one kernel"):
        kernel_bank([])
    with pytest.raises(ValueError, match="not 3×3"):
        kernel_bank(["gaussian_blur"])
    with pytest.raises(ValueError, match="Unknown kernel"):
        kernel_bank(["nope"])


def test_stream_stats_equal_each_batch_on_its_own():
    """Batches are convolved together for speed; the statistics must still be those of each batch alone."""
    gray, names = picture(), ["sobel_x", "box_blur"]
    for batch_size in (1, 5, 70):
        means, variances, m = stream_stats(gray, names, batch_size, 24, steps=3, seed=2)
        assert means.shape == variances.shape == (3, 2) and m == batch_size * 22 * 22
        for t in range(3):
            x = conv_layer(make_batch(gray, batch_size, 24, seed=(2, 0, t)), names)
            mean, var, _ = channel_stats(x)
            np.testing.assert_allclose(means[t], mean, rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(variances[t], var, rtol=1e-6, atol=1e-7)


def test_population_stats_equal_the_direct_computation():
    """Law of total variance: mean within-crop variance + variance of crop means = variance of everything."""
    gray, names = picture(), ["sobel_y", "box_blur"]
    population = population_stats(gray, names, 20, seed=3, samples=40, chunk=16)
    crops = np.concatenate([make_batch(gray, n, 20, seed=(3, 1, k)) for k, n in enumerate((16, 16, 8))])
    everything = conv_layer(crops, names).transpose(1, 0, 2, 3).reshape(2, -1).astype(np.float64)
    np.testing.assert_allclose(population.mean, everything.mean(axis=1), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(population.var, everything.var(axis=1), rtol=1e-5, atol=1e-8)
    assert population.crop_means.shape == (40, 2)


def test_fit_side_resizes_both_ways_and_keeps_range():
    assert fit_side(picture(300, 400)).shape == (120, 160)
    assert fit_side(picture(28, 28), 160).shape == (160, 160)
    small = fit_side(picture(10, 20), 160)
    assert small.min() >= 0 and small.max() <= 1


def test_batch_grid_draws_rows_per_channel_and_a_box():
    x = random_input((5, 3, 8, 8), 0)
    plain = batch_grid(x, cell=16, gap=4)
    boxed = batch_grid(x, highlight=1, cell=16, gap=4)
    assert plain.shape == (4 + 3 * 20, 4 + 5 * 20, 3) and plain.dtype == np.uint8
    differ = np.any(plain != boxed, axis=2)
    rows = np.nonzero(differ.any(axis=1))[0]
    assert rows.min() >= 20 and rows.max() < 4 + 2 * 20 + 4  # the box is around row 1 only
    maps = np.zeros_like(differ)
    for c in range(3):
        for n in range(5):
            maps[4 + c * 20 : 4 + c * 20 + 16, 4 + n * 20 : 4 + n * 20 + 16] = True
    assert not (differ & maps).any()  # the box covers no pixel of a map
    assert batch_grid(x, samples=2, cell=16).shape[1] == 4 + 2 * 20


def test_batch_grid_colours_and_the_indexed_png():
    """Signed rows use the diverging map (white at 0), unsigned rows the sequential one; the PNG is the same picture."""
    x = np.zeros((2, 2, 4, 4), np.float32)
    x[:, 0] = np.linspace(-1, 1, 16).reshape(4, 4)  # signed channel
    x[:, 1] = np.linspace(0, 1, 16).reshape(4, 4)  # unsigned channel
    picture = batch_grid(x, cell=4, gap=2, highlight=0)
    assert tuple(picture[1, 1]) == (255, 140, 0)  # the box, in the gap around row 0
    assert tuple(picture[-1, -1]) == (250, 250, 250)  # the gap
    png, width = batch_grid_png(x, cell=4, gap=2, highlight=0)
    decoded = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    np.testing.assert_array_equal(decoded, picture)
    assert width == picture.shape[1]
    gray = batch_grid(np.linspace(0, 1, 16, dtype=np.float32).reshape(1, 1, 4, 4), cmap="gray", vmin=0.0, vmax=1.0,
                      cell=4, gap=2)
    assert tuple(gray[2, 2]) == (0, 0, 0) and tuple(gray[5, 5]) == (255, 255, 255)  # black to white
