"""cnn_core.channels against torch: the per-channel sum is F.conv2d, the counts are nn.Conv2d's sum(p.numel()).

Tolerances: correlation maps are float32 sums of up to 3·k·k products of values of order 1 added in another
order than torch's, so rtol = atol = 1e-4; counts are integers and must be equal.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from cnn_core.channels import (
    FEATURE_BANK,
    RGB_KERNELS,
    RGB_TO_GRAY,
    ChannelError,
    bottleneck,
    channel_sum,
    channel_sum_map,
    conv2d_mult_adds,
    conv2d_parameters,
    feature_bank,
    gray_weight,
    grouped_costs,
    output_shape,
    pca_reduction,
    pointwise_conv,
    random_kernels,
    rgb_kernel,
    rgb_planes,
)
from cnn_core.errors import CnnError
from cnn_core.image import load_image, to_grayscale

TOL = dict(rtol=1e-4, atol=1e-4)
HYPO = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCENE = Path(__file__).resolve().parents[2] / "assets" / "scene.png"


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


@pytest.fixture(scope="module")
def rgb():
    """The sample scene as (3, H, W), downsized so the tests stay fast."""
    return load_image(SCENE.read_bytes(), max_side=96).transpose(2, 0, 1).copy()


# --- One output channel ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(RGB_KERNELS))
def test_channel_sum_of_the_rgb_image_is_torch_conv2d(rgb, name):
    K, bias = rgb_kernel(name), 0.25
    result = channel_sum(rgb, K, bias, padding=1)
    expected = F.conv2d(t(rgb)[None], t(K)[None], torch.tensor([bias]), padding=1)[0, 0].numpy()
    np.testing.assert_allclose(result.output, expected, **TOL)
    for c in range(3):  # each term is one channel correlated with its own slice
        one = F.conv2d(t(rgb[c : c + 1])[None], t(K[c : c + 1])[None], padding=1)[0, 0].numpy()
        np.testing.assert_allclose(result.per_channel[c], one, **TOL)
    np.testing.assert_allclose(result.per_channel.sum(0) + bias, result.output, **TOL)
    np.testing.assert_allclose(channel_sum_map(rgb, K, bias, padding=1), result.output, rtol=0, atol=0)


@given(C=st.integers(1, 5), k=st.sampled_from([1, 2, 3, 5]), H=st.integers(5, 12), W=st.integers(5, 12),
       stride=st.integers(1, 3), padding=st.integers(0, 2), dilation=st.integers(1, 2),
       bias=st.floats(-2, 2), seed=st.integers(0, 10_000))
@HYPO
def test_channel_sum_matches_torch_on_random_shapes(C, k, H, W, stride, padding, dilation, bias, seed):
    assume(dilation * (k - 1) + 1 <= min(H, W) + 2 * padding)  # the window fits
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((C, H, W)).astype(np.float32)
    K = rng.standard_normal((C, k, k)).astype(np.float32)
    result = channel_sum(X, K, bias, stride=stride, padding=padding, dilation=dilation)
    expected = F.conv2d(t(X)[None], t(K)[None], torch.tensor([bias], dtype=torch.float32), stride=stride,
                        padding=padding, dilation=dilation)[0, 0].numpy()
    np.testing.assert_allclose(result.output, expected, **TOL)
    assert output_shape(X.shape, 7, k, stride, padding, dilation) == (7, *expected.shape)


def test_a_gray_picture_gives_red_minus_green_zero_and_sobel_gray_is_sobel_of_gray(rgb):
    gray = np.repeat(rgb.mean(0, keepdims=True), 3, axis=0)  # R = G = B
    np.testing.assert_allclose(channel_sum(gray, rgb_kernel("red_minus_green")).output, 0, atol=1e-6)
    sobel = RGB_KERNELS["sobel_x_all"][0]
    of_gray = F.conv2d(t(to_grayscale(rgb.transpose(1, 2, 0)))[None, None], t(sobel)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(channel_sum(rgb, rgb_kernel("sobel_x_gray")).output, of_gray, **TOL)


def test_channel_errors_carry_reasons(rgb):
    with pytest.raises(ChannelError) as error:
        channel_sum(rgb, np.ones((2, 3, 3)))
    assert error.value.reason == "kernel_channels" and error.value.details["channels"] == 3
    with pytest.raises(CnnError) as error:  # conv2d's own reason passes through: the app already explains it
        channel_sum(rgb[:, :4, :4], np.ones((3, 7, 7)))
    assert error.value.reason == "no_fit" and error.value.details["padded"] == 4
    with pytest.raises(ChannelError) as error:
        rgb_kernel("nope")
    assert error.value.reason == "unknown_kernel"


# --- Parameter and multiply-add counts ----------------------------------------------------------------------------

@pytest.mark.parametrize("C_in, C_out, k, groups, bias", [
    (3, 64, 3, 1, True), (3, 96, 11, 1, True), (16, 32, 5, 4, False), (8, 8, 3, 8, True), (12, 18, 1, 6, True),
    (64, 128, 1, 1, False), (6, 4, (3, 5), 2, True),
])
def test_parameter_count_is_torchs(C_in, C_out, k, groups, bias):
    layer = nn.Conv2d(C_in, C_out, k, groups=groups, bias=bias)
    assert conv2d_parameters(C_in, C_out, k, groups, bias) == sum(p.numel() for p in layer.parameters())


def test_parameter_counts_from_the_literature():
    # VGG's first layer: 64 kernels of 3×3×3 on a colour image (the 32×32×3 example) → 1,792.
    assert conv2d_parameters(3, 64, 3) == 1792
    # AlexNet's first layer: 96 kernels of 11×11×3 → 34,944 (Krizhevsky et al. 2012, as usually tabulated).
    assert conv2d_parameters(3, 96, 11) == 34_944


@given(C_in=st.integers(1, 4), per_group_out=st.integers(1, 3), groups=st.integers(1, 3), k=st.integers(1, 4),
       H=st.integers(4, 9), stride=st.integers(1, 2), padding=st.integers(0, 2))
@HYPO
def test_mult_adds_count_every_product_torch_does(C_in, per_group_out, groups, k, H, stride, padding):
    """All-ones input (padded with ones) and all-ones weights: each output is the number of its products."""
    C_in, C_out = C_in * groups, per_group_out * groups
    X = F.pad(torch.ones(1, C_in, H, H), (padding,) * 4, value=1.0)
    Y = F.conv2d(X, torch.ones(C_out, C_in // groups, k, k), stride=stride, groups=groups)
    out = output_shape((C_in, H, H), C_out, k, stride, padding)[1:]
    assert Y.shape[2:] == out
    assert conv2d_mult_adds(C_in, C_out, k, out, groups) == round(Y.sum().item())


def test_grouped_and_depthwise_savings_match_torch_modules_and_mobilenets_ratio():
    C_in, C_out, k, size = 32, 64, 3, (16, 16)
    standard, grouped, depthwise, separable = grouped_costs(C_in, C_out, k, size, groups=4)
    numel = lambda *modules: sum(p.numel() for m in modules for p in m.parameters())  # noqa: E731
    assert standard.parameters == numel(nn.Conv2d(C_in, C_out, k))
    assert grouped.parameters == numel(nn.Conv2d(C_in, C_out, k, groups=4))
    assert depthwise.parameters == numel(nn.Conv2d(C_in, C_in, k, groups=C_in))
    assert separable.parameters == numel(nn.Conv2d(C_in, C_in, k, groups=C_in), nn.Conv2d(C_in, C_out, 1))
    assert grouped.mult_adds * 4 == standard.mult_adds  # each kernel block sees a quarter of the channels
    # Howard et al. 2017 (MobileNets), eq. 5: separable ÷ standard cost = 1/N + 1/k² (N output channels).
    np.testing.assert_allclose(separable.mult_adds / standard.mult_adds, 1 / C_out + 1 / k**2, rtol=1e-12)


def test_groups_that_do_not_divide_are_refused():
    with pytest.raises(ChannelError) as error:
        conv2d_parameters(6, 4, 3, groups=4)
    assert error.value.reason == "groups_do_not_divide" and error.value.details["groups"] == 4


# --- 1×1 convolutions ----------------------------------------------------------------------------------------

@given(N=st.integers(1, 2), C_in=st.integers(1, 6), C_out=st.integers(1, 6), H=st.integers(1, 7),
       W=st.integers(1, 7), seed=st.integers(0, 10_000), with_bias=st.booleans())
@HYPO
def test_pointwise_conv_is_a_per_pixel_matrix_and_equals_torch(N, C_in, C_out, H, W, seed, with_bias):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, C_in, H, W)).astype(np.float32)
    Wt = random_kernels(C_out, C_in, 1, seed)
    b = rng.standard_normal(C_out).astype(np.float32) if with_bias else None
    expected = F.conv2d(t(X), t(Wt), None if b is None else t(b)).numpy()
    np.testing.assert_allclose(pointwise_conv(X, Wt, b), expected, **TOL)
    i, j = rng.integers(H), rng.integers(W)  # one pixel: a matrix-vector product across channels
    np.testing.assert_allclose(pointwise_conv(X, Wt, b)[0, :, i, j],
                               Wt[:, :, 0, 0] @ X[0, :, i, j] + (0 if b is None else b), **TOL)


def test_rgb_to_gray_is_a_1x1_convolution(rgb):
    gray = pointwise_conv(rgb, gray_weight())[0]
    np.testing.assert_allclose(gray, to_grayscale(rgb.transpose(1, 2, 0)), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gray, F.conv2d(t(rgb)[None], t(gray_weight()))[0, 0].numpy(), rtol=1e-6, atol=1e-6)
    assert gray_weight().shape == (1, 3, 1, 1) and np.isclose(sum(RGB_TO_GRAY), 1.0)


def test_feature_bank_is_one_conv_layer_and_relu(rgb):
    expected = F.relu(F.conv2d(t(rgb)[None], t(FEATURE_BANK), padding=1))[0].numpy()
    np.testing.assert_allclose(feature_bank(rgb), expected, **TOL)
    assert feature_bank(rgb).shape == (16, *rgb.shape[1:])


def test_pca_reduction_keeps_what_principal_components_keep(rgb):
    maps = feature_bank(rgb)
    kept = [pca_reduction(maps, r).kept_variance for r in range(1, 17)]
    assert all(a <= b + 1e-12 for a, b in zip(kept[:-1], kept[1:], strict=True))  # more channels never keep less
    np.testing.assert_allclose(kept[-1], 1.0, rtol=1e-9)
    # The same shares from an SVD of the centred pixel matrix (an independent route to the components).
    pixels = maps.reshape(16, -1).astype(np.float64)
    singular = np.linalg.svd(pixels - pixels.mean(1, keepdims=True), compute_uv=False) ** 2
    np.testing.assert_allclose(kept[3], singular[:4].sum() / singular.sum(), rtol=1e-6)
    four = pca_reduction(maps, 4)
    W = four.weight[:, :, 0, 0]
    np.testing.assert_allclose(W @ W.T, np.eye(4), atol=1e-5)  # orthonormal directions
    reduced = F.conv2d(t(maps)[None], t(four.weight), t(four.bias))[0].numpy()  # it is a 1×1 conv layer
    np.testing.assert_allclose(reduced.mean(axis=(1, 2)), 0, atol=1e-4)
    with pytest.raises(ChannelError) as error:
        pca_reduction(maps, 17)
    assert error.value.reason == "bad_reduction"


def test_bottleneck_costs_match_torch_modules():
    cost = bottleneck(16, 4, 16, 3, (32, 32))
    numel = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert cost.direct.parameters == numel(nn.Conv2d(16, 16, 3)) == 16 * (16 * 9 + 1)
    assert cost.reduce.parameters + cost.reduced.parameters == numel(nn.Conv2d(16, 4, 1)) + numel(nn.Conv2d(4, 16, 3))
    assert cost.direct.mult_adds == 16 * 32 * 32 * 16 * 9
    assert cost.reduce.mult_adds + cost.reduced.mult_adds == 4 * 32 * 32 * 16 + 16 * 32 * 32 * 4 * 9
    assert cost.parameters_ratio > 1 and cost.mult_adds_ratio > 1


def test_rgb_planes_resize_and_make_gray_pictures_three_channels():
    photo = np.random.default_rng(0).random((30, 60, 3)).astype(np.float32)
    planes = rgb_planes(photo, 20)
    assert planes.shape == (3, 10, 20) and planes.min() >= 0 and planes.max() <= 1
    gray = rgb_planes(photo[:, :, :1], 20)
    assert gray.shape == (3, 10, 20)
    np.testing.assert_allclose(gray[0], gray[2], rtol=0, atol=0)
    np.testing.assert_allclose(rgb_planes(photo, 60)[1], photo[:, :, 1], rtol=0, atol=1e-6)  # no resize needed


def test_the_two_channel_example_of_d2l():
    """d2l 7.4 (corr2d_multi_in): two 3×3 channels, two 2×2 slices → [[56, 72], [104, 120]]."""
    X = np.array([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]], dtype=np.float32)
    K = np.array([[[0, 1], [2, 3]], [[1, 2], [3, 4]]], dtype=np.float32)
    result = channel_sum(X, K)
    np.testing.assert_allclose(result.output, [[56, 72], [104, 120]], rtol=0, atol=1e-5)
    np.testing.assert_allclose(result.per_channel[:, 0, 0], [19, 37], rtol=0, atol=1e-5)
