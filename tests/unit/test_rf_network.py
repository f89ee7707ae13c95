"""The network the receptive-field page runs: each layer tap by tap against torch, the maps against a torch
network with the same weights, one neuron's gradient by hand against torch autograd, and how it is spread."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from cnn_core.kernels import KERNELS
from cnn_core.receptive_field import Box, input_box, receptive_field
from cnn_core.rf_effective import effective_receptive_field, nearest_live_neuron, neuron_gradient, to_torch
from cnn_core.rf_layers import StackError, as_layers, output_shapes
from cnn_core.rf_network import (
    feature_maps,
    layer_backward,
    layer_forward,
    layer_kernel,
    measured_box,
    neuron_gradient_numpy,
    normalised_field,
    profile,
    relu_biases,
    spread,
)
from cnn_core.rf_presets import PRESETS, conv_layer

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WEIGHTS = ["uniform", "gaussian", "edges", "random"]


@st.composite
def layer_specs(draw, max_layers=4, max_pool=True):
    kinds = ["conv", "avgpool"] + (["maxpool"] if max_pool else [])
    layers = []
    for _ in range(draw(st.integers(1, max_layers))):
        kind = draw(st.sampled_from(kinds))
        k, s = draw(st.integers(1, 5)), draw(st.integers(1, 3))
        d = 1 if kind == "avgpool" else draw(st.integers(1, 3))
        p = draw(st.integers(0, k // 2 if kind != "conv" else 3))
        layer = dict(kind=kind, kernel_size=k, stride=s, padding=p, dilation=d)
        if kind != "conv":
            layer["ceil_mode"] = draw(st.booleans())
        if kind == "avgpool":
            layer["count_include_pad"] = draw(st.booleans())
        layers.append(layer)
    return layers


def stack_and_neuron(data, layers):
    height, width = data.draw(st.integers(6, 40)), data.draw(st.integers(6, 40))
    try:
        shape = output_shapes(layers, (height, width))[-1]
    except StackError:
        assume(False)
    row, col = data.draw(st.integers(0, shape[0] - 1)), data.draw(st.integers(0, shape[1] - 1))
    image = np.random.default_rng(data.draw(st.integers(0, 99))).random((height, width))
    return image, row, col


def torch_layer(layer, x, kernel):
    (top, _), (left, _) = layer.padding
    if layer.kind == "conv":
        return F.conv2d(x, torch.from_numpy(kernel)[None, None], stride=layer.stride, padding=(top, left),
                        dilation=layer.dilation)
    if layer.kind == "maxpool":
        return F.max_pool2d(x, layer.kernel_size, layer.stride, (top, left), layer.dilation, layer.ceil_mode)
    return F.avg_pool2d(x, layer.kernel_size, layer.stride, (top, left), layer.ceil_mode, layer.count_include_pad)


@FAST
@given(st.data(), layer_specs(max_layers=1))
def test_one_layer_forward_and_backward_match_torch(data, layers):
    """Tap by tap, forward and backward of one conv / max / average pool (ceil_mode, count_include_pad) equal
    torch's, on a random map and a random upstream gradient (float64: 1e-12)."""
    image, _, _ = stack_and_neuron(data, layers)
    layer = as_layers(layers)[0]
    kernel = np.random.default_rng(3).standard_normal(layer.kernel_size) if layer.kind == "conv" else None
    ours, tape = layer_forward(layer, image, kernel)
    x = torch.from_numpy(image.copy())[None, None].requires_grad_(True)
    theirs = torch_layer(layer, x, kernel)
    np.testing.assert_allclose(ours, theirs[0, 0].detach().numpy(), rtol=1e-12, atol=1e-12)
    upstream = np.random.default_rng(4).standard_normal(ours.shape)
    theirs.backward(torch.from_numpy(upstream)[None, None])
    np.testing.assert_allclose(layer_backward(tape, upstream), x.grad[0, 0].numpy(), rtol=1e-12, atol=1e-12)


@FAST
@given(st.data(), layer_specs(), st.sampled_from(WEIGHTS), st.booleans())
def test_gradient_by_hand_equals_autograd(data, layers, weights, relu):
    """The page's check: ∂y/∂x computed by hand in NumPy equals torch autograd's, for any stack and weights."""
    image, row, col = stack_and_neuron(data, layers)
    ours = neuron_gradient_numpy(layers, image, row, col, weights, relu)
    theirs = neuron_gradient(layers, image, row, col, weights, relu)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@FAST
@given(st.data(), layer_specs(), st.sampled_from(WEIGHTS), st.booleans())
def test_gradient_never_leaves_the_theoretical_field_and_cropping_is_exact(data, layers, weights, relu):
    """Any weights, max pooling, ReLU: the neuron cannot depend on a pixel outside its field, and computing the
    gradient on the cropped field gives the same numbers as on the whole image."""
    image, row, col = stack_and_neuron(data, layers)
    full = neuron_gradient(layers, image, row, col, weights, relu, crop=False)
    np.testing.assert_allclose(neuron_gradient(layers, image, row, col, weights, relu), full, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(neuron_gradient_numpy(layers, image, row, col, weights, relu, crop=False), full,
                               rtol=1e-9, atol=1e-12)
    clipped = input_box(receptive_field(layers)[-1], row, col).clip(*image.shape)
    outside = np.ones(image.shape, bool)
    outside[clipped.top:clipped.bottom, clipped.left:clipped.right] = False
    assert not np.any(full[outside])


@FAST
@given(st.data(), layer_specs(max_pool=False), st.sampled_from(["uniform", "gaussian"]))
def test_autograd_measures_exactly_the_theoretical_field(data, layers, weights):
    """With positive weights, no max pool and no ReLU, every path from the neuron to a pixel carries a positive
    product, so the gradient is non-zero on pixels the field reaches and zero elsewhere. Its bounding box is the
    theoretical box when that lies on the image; when the box reaches into the padding it can only be smaller
    (strides larger than kernels can skip the pixels next to the edge, and a neuron can read padding only)."""
    image, row, col = stack_and_neuron(data, layers)
    box = input_box(receptive_field(layers)[-1], row, col)
    clipped = box.clip(*image.shape)
    measured = measured_box(neuron_gradient(layers, image, row, col, weights))
    if measured is None:  # possible only when the field reaches into the padding: the neuron may read only zeros
        assert clipped != box
        return
    assert clipped.top <= measured.top and measured.bottom <= clipped.bottom
    assert clipped.left <= measured.left and measured.right <= clipped.right
    if clipped == box:
        assert measured == box


@FAST
@given(st.data(), layer_specs(), st.sampled_from(["uniform", "edges", "random"]), st.booleans())
def test_feature_maps_match_a_torch_network_with_the_same_weights(data, layers, weights, relu):
    image, _, _ = stack_and_neuron(data, layers)
    layers = [dict(layer, out_channels=1) if layer["kind"] == "conv" else layer for layer in layers]  # 1 channel
    module = to_torch(layers, in_channels=1).double()
    conv_index = 0
    with torch.no_grad():
        x, expected = torch.from_numpy(image)[None, None], []
        for m in module:
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.from_numpy(layer_kernel(m.kernel_size, weights, conv_index)))
                m.bias.zero_()
                conv_index += 1
            x = m(x)
            if relu and isinstance(m, nn.Conv2d):
                x = torch.relu(x - x.mean() if x.max() > x.min() else x)  # centred (batch-norm-like bias)
            expected.append(x[0, 0].numpy())
    ours = feature_maps(layers, image, weights, relu)
    assert len(ours) == len(expected) and all(m.dtype == np.float32 for m in ours)
    for a, b in zip(ours, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    if relu:
        conv_maps = [b for b, layer in zip(expected, as_layers(layers), strict=True) if layer.kind == "conv"]
        assert len(relu_biases(layers, image, weights)) == len(conv_maps)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_same_padding_maps_match_torch_for_even_kernels():
    layers = [dict(kind="conv", kernel_size=4, padding="same")]
    image = np.random.default_rng(2).random((10, 9))
    module = nn.Conv2d(1, 1, 4, padding="same", bias=False).double()
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(layer_kernel(4, "random")))
        expected = module(torch.from_numpy(image)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(feature_maps(layers, image, "random")[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(neuron_gradient_numpy(layers, image, 0, 8, "random"),
                               neuron_gradient(layers, image, 0, 8, "random"), rtol=1e-9, atol=1e-12)


def test_uniform_stack_gives_a_gaussian_whose_variance_grows_linearly():
    """Luo et al.: n uniform 3×3 convolutions make the gradient the n-fold convolution of a box, i.e. the
    distribution of a sum of n independent steps in {−1, 0, 1} (variance 2/3 each): σ² = 2n/3 exactly, so
    σ grows like √n while the theoretical field grows like n."""
    image = np.random.default_rng(0).random((64, 64))
    for n in (1, 3, 6):
        layers = [conv_layer(3, padding=1)] * n
        erf = effective_receptive_field(layers, image, 32, 32, "uniform")
        stats = spread(erf)
        np.testing.assert_allclose(stats.sigma, (np.sqrt(2 * n / 3),) * 2, rtol=1e-4)
        np.testing.assert_allclose(stats.centre, (32, 32), atol=1e-4)
        assert stats.box.width <= 2 * n + 1 and erf.max() == pytest.approx(1.0)


def test_the_heat_map_is_the_gradient_scaled_to_its_peak():
    gradient = np.array([[0.0, -2.0], [1.0, 0.5]])
    np.testing.assert_allclose(normalised_field(gradient), [[0, 1], [0.5, 0.25]])
    assert not normalised_field(np.zeros((2, 2))).any()
    image = np.random.default_rng(5).random((20, 20))
    np.testing.assert_allclose(effective_receptive_field(PRESETS["conv_pool_conv"], image, 3, 3, "random"),
                               normalised_field(neuron_gradient_numpy(PRESETS["conv_pool_conv"], image, 3, 3,
                                                                      "random")), rtol=1e-6, atol=1e-7)


def test_relu_can_switch_a_neuron_off():
    """Sobel x computes (right − left). Where the left half is bright it is negative, and ReLU passes no
    gradient; mirror the image and the same neuron is on."""
    image = np.zeros((16, 16))
    image[:, :8] = 1.0
    layers = [conv_layer(3, padding=1)]
    assert not neuron_gradient(layers, image, 5, 8, "edges", relu=True).any()
    assert not neuron_gradient_numpy(layers, image, 5, 8, "edges", relu=True).any()
    assert neuron_gradient(layers, image, 5, 8, "edges", relu=False).any()
    assert neuron_gradient(layers, 1 - image, 5, 8, "edges", relu=True).any()
    live = nearest_live_neuron(layers, image, 5, 8, "edges", relu=True)
    assert live is not None and neuron_gradient(layers, image, *live, "edges", relu=True).any()
    assert abs(live[1] - 8) <= 2
    assert nearest_live_neuron(layers, np.zeros((8, 8)), 3, 3, "edges") is None  # all maps are 0


def test_preset_kernels_are_the_classic_ones():
    np.testing.assert_allclose(layer_kernel(5, "gaussian"), KERNELS["gaussian_blur"], rtol=1e-6)
    np.testing.assert_allclose(layer_kernel(3, "edges", index=0), KERNELS["sobel_x"] / 8, rtol=1e-6)
    np.testing.assert_allclose(layer_kernel(3, "edges", index=1), KERNELS["sobel_y"] / 8, rtol=1e-6)
    np.testing.assert_allclose(layer_kernel(3, "uniform"), KERNELS["box_blur"], rtol=1e-6)
    np.testing.assert_array_equal(layer_kernel(4, "random", 2, seed=1), layer_kernel(4, "random", 2, seed=1))
    assert not np.array_equal(layer_kernel(4, "random", 2), layer_kernel(4, "random", 3))
    assert layer_kernel((1, 2), "edges").shape == (1, 2)
    with pytest.raises(ValueError, match="Unknown weight mode"):
        layer_kernel(3, "learned")


def test_spread_of_a_known_distribution():
    heat = np.zeros((9, 11))
    heat[4, 2:9] = [1, 2, 3, 4, 3, 2, 1]
    stats = spread(heat, fraction=1.0)
    assert stats.centre == pytest.approx((4.0, 5.0))
    assert stats.sigma[0] == pytest.approx(0.0)
    assert stats.sigma[1] == pytest.approx(np.sqrt((2 * 9 + 4 * 4 + 6 * 1) / 16))  # Σ m(x − 5)² / Σ m
    assert stats.box == Box(4, 2, 5, 9)
    assert spread(np.zeros((3, 3))) is None


def test_profile_is_the_normalised_mass_beside_a_gaussian():
    heat = np.zeros((9, 20))
    heat[2:5, 6:11] = [1, 2, 3, 2, 1]
    shown = profile(heat, Box(2, 6, 5, 11), axis=1)
    assert list(shown.position) == list(range(3, 14)) and shown.field == (6, 10)
    np.testing.assert_allclose(shown.share[3:8], np.array([1, 2, 3, 2, 1]) / 9)
    assert shown.centre == pytest.approx(8.0) and shown.sigma == pytest.approx(np.sqrt(12 / 9))
    assert shown.gaussian.argmax() == 5 and shown.gaussian.max() == pytest.approx(1 / (shown.sigma * np.sqrt(2 * np.pi)))
    assert profile(np.zeros((4, 4)), Box(0, 0, 2, 2)) is None


def test_a_constant_map_is_not_put_on_the_relu_kink():
    """Centring a 1×1 (or flat) map would make h + b exactly 0, ReLU's kink, where rounding alone decides whether
    the gradient passes; such a map gets bias 0 instead, and autograd and the hand-made gradient agree."""
    from cnn_core.rf_network import centring_bias

    assert centring_bias(np.full((3, 4), 2.5)) == 0.0 and centring_bias(np.array([[1.0, 3.0]])) == -2.0
    layers = [dict(kind="conv", kernel_size=2, stride=3), dict(kind="conv", kernel_size=1, stride=2),
              dict(kind="avgpool", kernel_size=2, stride=1, count_include_pad=False),
              dict(kind="conv", kernel_size=2, dilation=2)]  # the last map is 1×1 on a 20×21 image
    image = np.random.default_rng(1).random((20, 21))
    ours = neuron_gradient_numpy(layers, image, 0, 0, "uniform", relu=True)
    np.testing.assert_allclose(ours, neuron_gradient(layers, image, 0, 0, "uniform", relu=True), atol=1e-12)
    assert ours.any()  # bias 0 on the 1×1 map: the neuron is on, not stuck at the kink
