"""Receptive fields: hand-worked networks, the recurrences against a layer-by-layer walk, output shapes and
parameter counts against torch, the presets, the exact crop, and impossible stacks refused with a reason.
(The network run on the image and its gradients: test_rf_network.py; the pictures: test_figures.py.)"""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import cnn_core
from cnn_core.receptive_field import (
    RF,
    Box,
    boxes_through_stack,
    field_crop,
    input_box,
    receptive_field,
    receptive_field_latex,
    same_field_comparison,
    walk_back,
)
from cnn_core.rf_effective import neuron_gradient, to_torch
from cnn_core.rf_layers import StackError, as_layers, output_shapes, parameter_counts
from cnn_core.rf_presets import PRESETS, conv_layer, pool_layer

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
    3·(9·64·64 + 64) = 110 784 parameters, one 7×7 layer 49·64·64 + 64 = 200 768 (Simonyan & Zisserman: 27C²
    against 49C² weights)."""
    assert sizes(PRESETS["three_3x3"])[-1] == sizes(PRESETS["one_7x7"])[-1] == (7, 7)
    assert sum(parameter_counts(PRESETS["three_3x3"], 64)) == 110_784
    assert sum(parameter_counts(PRESETS["one_7x7"], 64)) == 200_768
    assert sum(parameter_counts(PRESETS["two_3x3"], 3)) == (27 * 64 + 64) + (576 * 64 + 64)
    comparison = same_field_comparison(PRESETS["three_3x3"], 64)
    assert (comparison.k, comparison.stack, comparison.single) == (7, 110_784, 200_768)
    assert comparison.ratio == pytest.approx(200_768 / 110_784)
    assert same_field_comparison([pool_layer(2)], 64) is None


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([1, 3, 5]), min_size=1, max_size=4), st.integers(1, 64))
def test_same_field_comparison_counts_like_a_torch_conv(kernels, channels):
    """The stack's side is what its parameter_counts say with C in and out; the single layer is one torch Conv2d
    whose kernel is the whole field."""
    layers = [conv_layer(k, out_channels=channels) for k in kernels]
    comparison = same_field_comparison(layers, channels)
    assert comparison.stack == sum(parameter_counts(layers, channels))
    single = nn.Conv2d(channels, channels, comparison.k)
    assert comparison.single == sum(p.numel() for p in single.parameters())
    assert comparison.k == 1 + sum(k - 1 for k in kernels)


def test_strides_and_dilations_grow_the_field_faster():
    """Stride 2 everywhere: jumps 1 → 2 → 4, so sizes 3, 3 + 2·2 = 7, 7 + 2·4 = 15. Dilations 1, 2, 4 span
    3, 5 and 9 pixels: sizes 3, 3 + 4 = 7, 7 + 8 = 15 at full resolution; 'same' paddings keep the centre on 0."""
    assert [s[0] for s in sizes(PRESETS["strided_3x3"])] == [3, 7, 15]
    dilated = receptive_field(PRESETS["dilated_124"])
    assert [rf.size[0] for rf in dilated] == [3, 7, 15]
    assert all(rf.jump == (1, 1) and rf.start == (0.0, 0.0) for rf in dilated)


def test_famous_networks_match_published_fields():
    """Published values: VGG-16 conv1_1 … pool2 = 3, 5, 6, 10, 14, 16; AlexNet conv1 11 (jump 4), pool5 195
    (jump 32); ResNet's stem (7×7/2 conv, 3×3/2 max pool) 11 with jump 4. AlexNet's first map is 55×55 both on
    the paper's 227×227 without padding and on torchvision's 224×224 with padding 2."""
    assert [s[0] for s in sizes(PRESETS["vgg16"])] == [3, 5, 6, 10, 14, 16]
    alexnet = receptive_field(PRESETS["alexnet"])
    assert (alexnet[0].size[0], alexnet[0].jump[0]) == (11, 4)
    assert (alexnet[-1].size[0], alexnet[-1].jump[0]) == (195, 32)
    assert output_shapes(PRESETS["alexnet"][:1], (224, 224)) == [(55, 55)]
    assert output_shapes([dict(PRESETS["alexnet"][0], padding=0)], (227, 227)) == [(55, 55)]
    assert output_shapes(PRESETS["alexnet"], (224, 224))[-1] == (6, 6)  # torchvision's 256·6·6 features
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
    output = torch.rand(1, 2, height, width)
    modules = list(to_torch(layers, in_channels=2))
    assert len(modules) == len(layers)
    for number, module in enumerate(modules, start=1):  # layer by layer: torch's first refusal is ours too
        try:
            with torch.no_grad():
                output = module(output)
        except RuntimeError:
            with pytest.raises(StackError) as error:
                output_shapes(layers, (height, width))
            # The same layer, for one of its two axes: too small on one may come with a blind window on the other.
            assert error.value.details["layer"] == number and f"Layer {number}" in str(error.value)
            assert error.value.reason in ("layer_too_small", "blind_window")
            return
        # A dilated max-pool window saw only padding: torch gives −∞ (a later stride may skip it, so look here).
        if not torch.isfinite(output).all():
            with pytest.raises(StackError, match="only padding") as error:
                output_shapes(layers, (height, width))
            assert error.value.details["layer"] == number
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


# ---------------------------------------------------------------------------------------------------------------
# Impossible stacks: ValueError with a sentence that says what to change
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("layers, reason, words", [
    ([dict(kind="maxpool", kernel_size=3, padding=2)], "pool_padding", "at most half"),
    ([dict(kind="avgpool", kernel_size=3, dilation=2)], "avg_dilation", "no dilation"),
    ([dict(kind="dense", kernel_size=3)], "unknown_layer_kind", "Choose one of"),
    ([dict(kind="conv", kernel=3)], "unknown_setting", "torch's argument names"),
    ([dict(kind="conv")], "no_kernel", "kernel_size"),
    ([dict(kind="conv", kernel_size=0)], "bad_layer_value", "at least 1"),
    ([dict(kind="conv", kernel_size=3, padding=-1)], "bad_layer_value", "negative"),
    ([dict(kind="conv", kernel_size=3, stride=2, padding="same")], "same_needs_stride_1", "stride 1"),
    ([], "empty_stack", "Add at least one"),
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


def test_same_padding_matches_torch_for_even_kernels():
    layers = [dict(kind="conv", kernel_size=4, padding="same"), dict(kind="conv", kernel_size=3, padding="valid")]
    assert output_shapes(layers, (10, 9)) == [(10, 9), (8, 7)]
    assert as_layers(layers)[0].padding == ((1, 2), (1, 2))  # torch puts the odd pixel at the bottom / right


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(list(PRESETS["vgg16"]) + list(PRESETS["alexnet"])), min_size=1, max_size=4),
       st.integers(12, 80), st.integers(12, 80), st.integers(0, 40), st.integers(0, 40))
def test_the_crop_holds_the_field_and_finds_the_same_neuron(layers, height, width, row, col):
    """The crop keeps every pixel of the field that lies on the image, starts on the stride grid, and the neuron
    it names on the cropped run has the same field (shifted by the crop's corner)."""
    try:
        last = output_shapes(layers, (height, width))[-1]
    except StackError:
        return
    row, col = min(row, last[0] - 1), min(col, last[1] - 1)
    rf = receptive_field(layers)[-1]
    field = input_box(rf, row, col).clip(height, width)
    crop = field_crop(layers, (height, width), row, col)
    if crop is None:
        assert not (field.height and field.width)
        return
    box = crop.box
    assert box.top <= field.top and box.left <= field.left and field.bottom <= box.bottom and field.right <= box.right
    assert box.top % rf.jump[0] == 0 and box.left % rf.jump[1] == 0
    inside = input_box(rf, crop.row, crop.col).shift(box.top, box.left).clip(height, width)
    assert inside == field
    with pytest.raises(StackError, match="not on it") as error:
        field_crop(layers, (height, width), last[0], 0)
    assert error.value.reason == "no_neuron"


def test_public_names_come_from_the_package_without_torch():
    """receptive_field, RF, input_box and StackError are numpy-only; effective_receptive_field loads torch."""
    import subprocess
    import sys

    code = ("import sys, cnn_core; assert callable(cnn_core.receptive_field); cnn_core.RF; cnn_core.input_box; "
            "cnn_core.StackError; from cnn_core.receptive_field import Box; assert 'torch' not in sys.modules; "
            "assert cnn_core.receptive_field([{'kernel_size': 3}])[0].size == (3, 3)")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert cnn_core.effective_receptive_field.__module__ == "cnn_core.rf_effective"
