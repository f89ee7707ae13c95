"""Receptive fields: hand-worked networks, the recurrences against a layer-by-layer walk, output shapes and
parameter counts against torch, and the theoretical field against the one torch autograd measures."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

from cnn_core.kernels import KERNELS
from cnn_core.receptive_field import (
    PRESETS,
    RF,
    Box,
    StackError,
    as_layers,
    boxes_through_stack,
    conv_layer,
    effective_receptive_field,
    erf_profile_figure,
    feature_maps,
    input_box,
    layer_kernel,
    measured_box,
    nearest_live_neuron,
    neuron_gradient,
    output_shapes,
    parameter_counts,
    picture_with_boxes,
    pool_layer,
    receptive_field,
    receptive_field_latex,
    spread,
    to_torch,
    walk_back,
    zoom_region,
)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sizes(layers):
    return [rf.size for rf in receptive_field(layers)]


# ---------------------------------------------------------------------------------------------------------------
# Small networks worked by hand
# ---------------------------------------------------------------------------------------------------------------

def test_two_3x3_convolutions_see_5x5():
    """Seed 000's example. Layer 1: each neuron sees 3×3 pixels, so r1 = 3 and neuron (0, 0) is centred on
    pixel (1, 1). Layer 2 sees 3×3 neurons of layer 1, which sit 1 pixel apart: r2 = 3 + 2·1 = 5, centred on
    pixel (2, 2)."""
    rfs = receptive_field(PRESETS["two_3x3"])
    assert rfs == [RF((3, 3), (1, 1), (1.0, 1.0)), RF((5, 5), (1, 1), (2.0, 2.0))]
    assert input_box(rfs[1], 0, 0) == Box(0, 0, 5, 5)
    assert input_box(rfs[1], 4, 7) == Box(4, 7, 9, 12)


def test_pooling_doubles_the_step_of_the_next_layer():
    """3×3 conv → 2×2 max pool (stride 2) → 3×3 conv. The pool's output 0 covers conv outputs 0 and 1, which
    together see pixels 0–3: r = 3 + 1·1 = 4, centred on 1.5. After the pool, neighbours are 2 pixels apart
    (jump 2), so the last 3×3 conv adds 2·2 pixels: r = 4 + 2·2 = 8, centred on 1.5 + 2 = 3.5."""
    rfs = receptive_field(PRESETS["conv_pool_conv"])
    assert [rf.size[0] for rf in rfs] == [3, 4, 8]
    assert [rf.jump[0] for rf in rfs] == [1, 2, 2]
    assert [rf.start[0] for rf in rfs] == [1.0, 1.5, 3.5]


def test_three_3x3_have_the_field_of_one_7x7_with_fewer_parameters():
    """VGG's argument: 3 + 2 + 2 = 7 pixels. With 64 channels in and out, three 3×3 layers have
    3·(9·64·64 + 64) = 110 784 parameters, one 7×7 layer 49·64·64 + 64 = 200 768."""
    assert sizes(PRESETS["three_3x3"])[-1] == sizes(PRESETS["one_7x7"])[-1] == (7, 7)
    assert sum(parameter_counts(PRESETS["three_3x3"], 64)) == 110_784
    assert sum(parameter_counts(PRESETS["one_7x7"], 64)) == 200_768
    assert sum(parameter_counts(PRESETS["two_3x3"], 3)) == (27 * 64 + 64) + (576 * 64 + 64)


def test_strides_and_dilations_grow_the_field_faster():
    """Stride 2 everywhere: jumps 1 → 2 → 4, so sizes 3, 3 + 2·2 = 7, 7 + 2·4 = 15. Dilations 1, 2, 4 span
    3, 5 and 9 pixels: sizes 3, 3 + 4 = 7, 7 + 8 = 15 at full resolution; 'same' paddings keep the centre on 0."""
    assert [s[0] for s in sizes(PRESETS["strided_3x3"])] == [3, 7, 15]
    dilated = receptive_field(PRESETS["dilated_124"])
    assert [rf.size[0] for rf in dilated] == [3, 7, 15]
    assert all(rf.jump == (1, 1) and rf.start == (0.0, 0.0) for rf in dilated)


def test_famous_networks_match_published_fields():
    """Published values: VGG-16 conv1_1 … pool2 = 3, 5, 6, 10, 14, 16; AlexNet conv1 11 (jump 4), pool5 195
    (jump 32); ResNet's stem (7×7/2 conv, 3×3/2 max pool) 11 with jump 4."""
    assert [s[0] for s in sizes(PRESETS["vgg16"])] == [3, 5, 6, 10, 14, 16]
    alexnet = receptive_field(PRESETS["alexnet"])
    assert (alexnet[0].size[0], alexnet[0].jump[0]) == (11, 4)
    assert (alexnet[-1].size[0], alexnet[-1].jump[0]) == (195, 32)
    stem = receptive_field(PRESETS["resnet_stem"])
    assert (stem[-1].size, stem[-1].jump, stem[-1].start) == ((11, 11), (4, 4), (0.0, 0.0))


def test_padding_moves_the_field_into_the_padding():
    """A 3×3 conv with padding 1: output (0, 0) is centred on pixel (0, 0) and its box starts at −1."""
    rf = receptive_field([conv_layer(3, padding=1)])[0]
    assert rf.start == (0.0, 0.0)
    box = input_box(rf, 0, 0)
    assert box == Box(-1, -1, 2, 2) and box.clip(10, 10) == Box(0, 0, 2, 2)


def test_even_kernel_puts_the_centre_between_pixels():
    """A 2×2 window sees pixels 0 and 1: its centre is at 0.5."""
    assert receptive_field([pool_layer(2)])[0] == RF((2, 2), (2, 2), (0.5, 0.5))


def test_rectangular_layers_are_computed_per_axis():
    """Height: 3 (padding 1, first pixel −1) then 3 + 2 = 5 starting at −1, centred on 1. Width: kernel 5 with
    stride 2 gives 5 pixels and jump 2, then 5 + 2·2 = 9 starting at 0, centred on 4."""
    rfs = receptive_field([dict(kind="conv", kernel_size=(3, 5), stride=(1, 2), padding=(1, 0)),
                           dict(kind="conv", kernel_size=(3, 3))])
    assert rfs[-1] == RF((5, 9), (1, 2), (1.0, 4.0))


def test_boxes_through_the_stack_end_at_the_neuron():
    layers = PRESETS["conv_pool_conv"]
    boxes = boxes_through_stack(layers, 2, 3)
    assert len(boxes) == len(layers) + 1
    assert boxes[0] == input_box(receptive_field(layers)[-1], 2, 3)
    assert boxes[-1] == Box(2, 3, 3, 4)
    assert boxes[-2] == Box(2, 3, 5, 6)  # the last 3×3 conv sees 3×3 neurons of the pooled map


def test_latex_shows_the_users_numbers():
    text = receptive_field_latex(PRESETS["conv_pool_conv"])
    assert r"r_{3} &= 4 + (3-1)\cdot 2 = 8" in text
    assert r"2\cdot(3-1)" in receptive_field_latex(PRESETS["dilated_124"])


# ---------------------------------------------------------------------------------------------------------------
# Random stacks: recurrences vs the walk back, shapes and parameters vs torch, the field vs autograd
# ---------------------------------------------------------------------------------------------------------------

@st.composite
def layer_specs(draw, max_layers=4, pools=True, max_pool=True):
    kinds = ["conv"] + (["avgpool"] + (["maxpool"] if max_pool else []) if pools else [])
    layers = []
    for _ in range(draw(st.integers(1, max_layers))):
        kind = draw(st.sampled_from(kinds))
        k = draw(st.integers(1, 5))
        s = draw(st.integers(1, 3))
        d = 1 if kind == "avgpool" else draw(st.integers(1, 3))
        p = draw(st.integers(0, k // 2 if kind != "conv" else 3))
        layer = dict(kind=kind, kernel_size=k, stride=s, padding=p, dilation=d)
        if kind != "conv":
            layer["ceil_mode"] = draw(st.booleans())
        else:
            layer["out_channels"] = draw(st.integers(1, 4))
        layers.append(layer)
    return layers


@FAST
@given(layer_specs(), st.integers(0, 6), st.integers(0, 6))
def test_recurrences_agree_with_walking_back_layer_by_layer(layers, row, col):
    rf = receptive_field(layers)[-1]
    box = input_box(rf, row, col)
    assert box == walk_back(layers, row, col)
    # round trip: the box's centre maps back to the neuron
    assert ((box.top + box.bottom - 1) / 2 - rf.start[0]) / rf.jump[0] == row
    assert ((box.left + box.right - 1) / 2 - rf.start[1]) / rf.jump[1] == col


@FAST
@given(layer_specs(), st.integers(4, 40), st.integers(4, 40))
def test_output_shapes_match_torch_and_refuse_what_torch_refuses(layers, height, width):
    module = to_torch(layers, in_channels=2)
    try:
        with torch.no_grad():
            output = module(torch.rand(1, 2, height, width))
    except RuntimeError:
        with pytest.raises(StackError) as error:
            output_shapes(layers, (height, width))
        assert error.value.reason == "too_small" and f"Layer {error.value.details['layer']}" in str(error.value)
        return
    if not torch.isfinite(output).all():  # a dilated max-pool window saw only padding: torch gives −∞
        with pytest.raises(StackError, match="only padding"):
            output_shapes(layers, (height, width))
        return
    assert output_shapes(layers, (height, width))[-1] == tuple(output.shape[2:])


@FAST
@given(layer_specs(), st.sampled_from([1, 3]))
def test_parameter_counts_match_torch(layers, channels):
    module = to_torch(layers, in_channels=channels)
    theirs = [sum(p.numel() for p in layer.parameters()) for layer in module]
    assert parameter_counts(layers, channels) == theirs


@FAST
@given(layer_specs())
def test_torch_modules_give_the_same_fields_as_mappings(layers):
    module = to_torch(layers)
    with_pointwise = nn.Sequential(nn.Identity(), *[nn.Sequential(m, nn.ReLU()) for m in module], nn.BatchNorm2d(1))
    assert receptive_field(module) == receptive_field(layers) == receptive_field(with_pointwise)
    assert receptive_field(list(module)) == receptive_field(layers)


def _stack_and_neuron(data, layers, pools_ok=True):
    height, width = data.draw(st.integers(6, 48)), data.draw(st.integers(6, 48))
    try:
        shape = output_shapes(layers, (height, width))[-1]
    except StackError:
        assume(False)
    row, col = data.draw(st.integers(0, shape[0] - 1)), data.draw(st.integers(0, shape[1] - 1))
    image = np.random.default_rng(data.draw(st.integers(0, 99))).random((height, width), dtype=np.float32)
    return image, row, col


@FAST
@given(st.data(), layer_specs(max_pool=False), st.sampled_from(["uniform", "gaussian"]))
def test_autograd_measures_exactly_the_theoretical_field(data, layers, weights):
    """With positive weights, no max pool and no ReLU, every path from the neuron to a pixel carries a positive
    product, so the gradient is non-zero on pixels the field reaches and zero elsewhere. Its bounding box is the
    theoretical box when that lies on the image; when the box reaches into the padding it can only be smaller
    (strides larger than kernels can skip the pixels next to the edge, and a neuron can read padding only)."""
    image, row, col = _stack_and_neuron(data, layers)
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
@given(st.data(), layer_specs(), st.sampled_from(["uniform", "gaussian", "edges", "random"]), st.booleans())
def test_gradient_never_leaves_the_theoretical_field_and_cropping_is_exact(data, layers, weights, relu):
    """Any weights, max pooling, ReLU: the neuron cannot depend on a pixel outside its field, and computing the
    gradient on the cropped field gives the same numbers as on the whole image."""
    image, row, col = _stack_and_neuron(data, layers)
    full = neuron_gradient(layers, image, row, col, weights, relu, crop=False)
    cropped = neuron_gradient(layers, image, row, col, weights, relu, crop=True)
    np.testing.assert_allclose(cropped, full, rtol=1e-5, atol=1e-6)  # float32, summed in another order
    clipped = input_box(receptive_field(layers)[-1], row, col).clip(*image.shape)
    outside = np.ones(image.shape, bool)
    outside[clipped.top:clipped.bottom, clipped.left:clipped.right] = False
    assert not np.any(full[outside])


@FAST
@given(st.data(), layer_specs(), st.sampled_from(["uniform", "edges", "random"]), st.booleans())
def test_feature_maps_match_a_torch_network_with_the_same_weights(data, layers, weights, relu):
    image, _, _ = _stack_and_neuron(data, layers)
    layers = [dict(layer, out_channels=1) if layer["kind"] == "conv" else layer for layer in layers]  # 1 channel
    module = to_torch(layers, in_channels=1)
    modules, conv_index = [], 0
    for m in module:
        if isinstance(m, nn.Conv2d):
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(layer_kernel(m.kernel_size, weights, conv_index)))
                m.bias.zero_()
            conv_index += 1
        modules.append(m)
    with torch.no_grad():
        x = torch.from_numpy(image)[None, None]
        expected = []
        for m in modules:
            x = m(x)
            if relu and isinstance(m, nn.Conv2d):
                x = torch.relu(x - x.mean())  # ReLU after centring the map (the bias batch norm would give)
            expected.append(x[0, 0].numpy())
    ours = feature_maps(layers, image, weights, relu)
    assert len(ours) == len(expected)
    for a, b in zip(ours, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_uniform_stack_gives_a_gaussian_whose_variance_grows_linearly():
    """Luo et al.: n uniform 3×3 convolutions make the gradient the n-fold convolution of a box, i.e. the
    distribution of a sum of n independent steps in {−1, 0, 1} (variance 2/3 each): σ² = 2n/3 exactly, so
    σ grows like √n while the theoretical field grows like n."""
    image = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    for n in (1, 3, 6):
        layers = [conv_layer(3, padding=1)] * n
        erf = effective_receptive_field(layers, image, 32, 32, "uniform")
        stats = spread(erf)
        np.testing.assert_allclose(stats.sigma, (np.sqrt(2 * n / 3),) * 2, rtol=1e-4)
        np.testing.assert_allclose(stats.centre, (32, 32), atol=1e-4)
        assert stats.box.width <= 2 * n + 1 and erf.max() == pytest.approx(1.0)


def test_relu_can_switch_a_neuron_off():
    """Sobel x computes (right − left). Where the left half is bright it is negative, and ReLU passes no
    gradient; mirror the image and the same neuron is on."""
    image = np.zeros((16, 16), np.float32)
    image[:, :8] = 1.0
    layers = [conv_layer(3, padding=1)]
    assert not neuron_gradient(layers, image, 5, 8, "edges", relu=True).any()
    assert neuron_gradient(layers, image, 5, 8, "edges", relu=False).any()
    assert neuron_gradient(layers, 1 - image, 5, 8, "edges", relu=True).any()
    live = nearest_live_neuron(layers, image, 5, 8, "edges", relu=True)
    assert live is not None and neuron_gradient(layers, image, *live, "edges", relu=True).any()
    assert abs(live[1] - 8) <= 2
    assert nearest_live_neuron(layers, np.zeros((8, 8), np.float32), 3, 3, "edges") is None  # all maps are 0


# ---------------------------------------------------------------------------------------------------------------
# Weights, pictures, statistics
# ---------------------------------------------------------------------------------------------------------------

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
    assert stats.box == Box(4, 2, 5, 9)
    assert spread(np.zeros((3, 3))) is None


def test_pictures_show_the_box_and_the_padding():
    picture = np.full((20, 30, 3), 200, np.uint8)
    drawn = picture_with_boxes(picture, [(Box(-2, 5, 4, 12), (255, 0, 0))], min_side=1, max_side=1000)
    assert drawn.shape == (22, 30, 3)  # a 2-pixel grey margin on top, where the box reaches into the padding
    assert (drawn == (255, 0, 0)).all(axis=2).any()
    assert (drawn[0, 0] == (96, 96, 96)).all()
    big = picture_with_boxes(np.zeros((4, 4, 3), np.uint8), [(Box(1, 1, 2, 2), (0, 255, 0))], min_side=64)
    assert big.shape == (64, 64, 3) and (big == (0, 255, 0)).all(axis=2).any()
    small = picture_with_boxes(np.zeros((1000, 500, 3), np.uint8), [(Box(100, 100, 200, 200), (0, 0, 255))],
                               max_side=250)
    assert max(small.shape[:2]) <= 250 and (small == (0, 0, 255)).all(axis=2).any()
    heat = np.zeros((20, 30), np.float32)
    heat[10, 10] = 1
    assert not np.array_equal(picture_with_boxes(picture, [], heat=heat, min_side=1), picture)
    assert zoom_region(Box(2, 2, 5, 5), 100, 100) == Box(0, 0, 24, 24)
    assert zoom_region(Box(50, 50, 53, 53), 100, 100) == Box(40, 40, 64, 64)
    assert zoom_region(Box(-50, -50, -40, -40), 10, 10) == Box(0, 0, 10, 10)


def test_profile_figure_draws_without_error():
    image = np.random.default_rng(1).random((40, 40), dtype=np.float32)
    erf = effective_receptive_field(PRESETS["three_3x3"], image, 10, 10)
    box = input_box(receptive_field(PRESETS["three_3x3"])[-1], 10, 10)
    figure = erf_profile_figure(erf, box)
    assert len(figure.axes) == 1 and figure.axes[0].get_xlabel() == "x"
    erf_profile_figure(np.zeros((10, 10)), Box(2, 2, 5, 5), axis=0)


# ---------------------------------------------------------------------------------------------------------------
# Impossible stacks: ValueError with a sentence that says what to change
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layers, reason, words", [
    ([dict(kind="maxpool", kernel_size=3, padding=2)], "pool_padding", "at most half"),
    ([dict(kind="avgpool", kernel_size=3, dilation=2)], "avg_dilation", "no dilation"),
    ([dict(kind="dense", kernel_size=3)], "unknown_kind", "Choose one of"),
    ([dict(kind="conv", kernel=3)], "unknown_setting", "torch's argument names"),
    ([dict(kind="conv")], "no_kernel", "kernel_size"),
    ([dict(kind="conv", kernel_size=0)], "bad_value", "at least 1"),
    ([dict(kind="conv", kernel_size=3, padding=-1)], "bad_value", "negative"),
    ([dict(kind="conv", kernel_size=3, stride=2, padding="same")], "same_padding", "stride 1"),
    ([], "empty", "Add at least one"),
    ([nn.Linear(3, 3)], "unknown_module", "Linear"),
    (["conv"], "unknown_module", "dict"),
])
def test_impossible_stacks_are_refused_with_a_reason(layers, reason, words):
    with pytest.raises(StackError, match=words) as error:
        receptive_field(layers)
    assert error.value.reason == reason and isinstance(error.value, ValueError)


def test_a_stack_too_deep_for_the_image_names_the_layer():
    with pytest.raises(StackError, match=r"Layer 3 \(convolution\).*use a larger image") as error:
        output_shapes(PRESETS["strided_3x3"], (8, 8))
    assert error.value.details["layer"] == 3 and error.value.details["n"] == 1
    with pytest.raises(StackError, match="not on it"):
        neuron_gradient(PRESETS["two_3x3"], np.zeros((8, 8), np.float32), 4, 0)
    with pytest.raises(StackError, match="expects 5 input channels"):
        parameter_counts([dict(kind="conv", kernel_size=3, in_channels=5)], 3)


def test_a_dilated_pool_window_that_sees_only_padding_is_refused():
    """A 1-pixel-high map, max pool 2×2 with padding 1 and dilation 2: the window's taps sit at −1 and +1, both
    padding. torch returns −∞ there (and its backward pass corrupts memory), so the stack is refused."""
    layers = [dict(kind="maxpool", kernel_size=2, stride=3, padding=1, dilation=2)]
    with torch.no_grad():
        assert torch.isinf(torch.nn.functional.max_pool2d(torch.rand(1, 1, 1, 6), 2, 3, 1, 2)).any()
    with pytest.raises(StackError, match="only padding") as error:
        output_shapes(layers, (1, 6))
    assert error.value.reason == "blind_window" and error.value.details["window"] == 0
    with pytest.raises(StackError, match="only padding"):
        neuron_gradient(layers, np.zeros((1, 6), np.float32), 0, 0)
    assert output_shapes(layers, (3, 6)) == [(1, 2)]  # taps at −1 and +1: row 1 is on the map


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_same_padding_matches_torch_for_even_kernels():
    layers = [dict(kind="conv", kernel_size=4, padding="same"), dict(kind="conv", kernel_size=3, padding="valid")]
    assert output_shapes(layers, (10, 9)) == [(10, 9), (8, 7)]
    assert as_layers(layers)[0].padding == ((1, 2), (1, 2))
    image = np.random.default_rng(2).random((10, 9), dtype=np.float32)
    module = nn.Conv2d(1, 1, 4, padding="same", bias=False)
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(layer_kernel(4, "random")))
        expected = module(torch.from_numpy(image)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(feature_maps(layers[:1], image, "random")[0], expected, rtol=1e-5, atol=1e-6)
