"""A layer stack as one line of text (cnn_core.rf_layers.stack_text, what the receptive-field page puts in its
address as rf_layers): hand-read examples, the round trip for every preset and for random builder stacks, text
that is not a stack refused with a reason, and the page's cleaning of a link's numbers (ui/layer_stack.py)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core.receptive_field import receptive_field
from cnn_core.rf_layers import StackError, as_layers, output_shapes, parse_stack_text, stack_text
from cnn_core.rf_presets import PRESETS
from ui.layer_stack import FIELDS, KINDS, LIMITS, MAX_LAYERS, as_torch_layers, rows_from_text, rows_to_text


def test_the_example_reads_as_written():
    """c3s1p1: a 3×3 conv, stride 1, padding 1 (64 output channels, the default); m2s2: a 2×2 max pool, stride 2;
    c3d2: a 3×3 conv dilated by 2. The field: 3, then + 2·1 = 4 after the pool, then + (5 − 1)·2 = 12."""
    layers = parse_stack_text("c3s1p1,m2s2,c3d2")
    assert layers == [
        {"kind": "conv", "kernel_size": 3, "stride": 1, "padding": 1, "dilation": 1, "out_channels": 64},
        {"kind": "maxpool", "kernel_size": 2, "stride": 2, "padding": 0, "dilation": 1},
        {"kind": "conv", "kernel_size": 3, "stride": 1, "padding": 0, "dilation": 2, "out_channels": 64},
    ]
    assert receptive_field(layers)[-1].size == (12, 12)
    assert stack_text(layers) == "c3p1,m2s2,c3d2"  # written the short way: stride 1 of a conv goes without saying


def test_defaults_follow_torch_and_every_field_can_be_written():
    assert parse_stack_text("m3")[0]["stride"] == 3  # a pool's stride is its window, as nn.MaxPool2d(3)
    assert parse_stack_text("c5")[0]["stride"] == 1
    assert parse_stack_text("a3s1p1")[0] == {"kind": "avgpool", "kernel_size": 3, "stride": 1, "padding": 1,
                                             "dilation": 1}
    assert parse_stack_text("c7s2p3d1o128")[0] == {"kind": "conv", "kernel_size": 7, "stride": 2, "padding": 3,
                                                   "dilation": 1, "out_channels": 128}
    assert parse_stack_text("c3o32p1s2") == parse_stack_text("c3s2p1o32")  # any order
    assert parse_stack_text(" C3 S2 , M2S2, ") == parse_stack_text("c3s2,m2s2")  # spaces, capitals, a last comma
    assert stack_text([{"kind": "maxpool", "kernel_size": 3, "stride": 1}]) == "m3s1"  # a pool's stride: always


def geometry(layers) -> list[tuple]:
    return [(layer.kind, layer.kernel_size, layer.stride, layer.padding, layer.dilation) for layer in as_layers(layers)]


def channels(layers) -> list[int | None]:
    return [layer.out_channels for layer in as_layers(layers) if layer.kind == "conv"]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_survives_the_round_trip(name):
    text = stack_text(PRESETS[name])
    back = parse_stack_text(text)
    assert stack_text(back) == text
    assert geometry(back) == geometry(PRESETS[name])
    assert channels(back) == [count or 64 for count in channels(PRESETS[name])]  # 64 when a preset does not say
    assert receptive_field(back) == receptive_field(PRESETS[name])
    assert output_shapes(back, (512, 768)) == output_shapes(PRESETS[name], (512, 768))


def builder_row():
    """One row the stack builder can hold, stacks that cannot work included (a text must carry them too)."""
    number = {field: st.integers(*LIMITS[field]) for field in LIMITS}
    return st.fixed_dictionaries({"kind": st.sampled_from(KINDS), **number})


@settings(max_examples=200, deadline=None)
@given(st.lists(builder_row(), min_size=1, max_size=MAX_LAYERS))
def test_any_builder_stack_survives_the_round_trip(rows):
    text = rows_to_text(rows)
    assert " " not in text and len(text) <= 22 * len(rows)  # one short line
    back = rows_from_text(text)
    assert as_torch_layers(back) == as_torch_layers(rows)  # everything that makes the layers, channels included
    assert [list(row) for row in back] == [list(FIELDS)] * len(rows)
    assert rows_to_text(back) == text


@pytest.mark.parametrize("text, token", [
    ("c3,q3", "q3"),  # no such kind
    ("c", "c"),  # no kernel size
    ("3", "3"),
    ("c3x2", "c3x2"),  # no such field
    ("c3s1s2", "c3s1s2"),  # a field twice
    ("m2o64", "m2o64"),  # a pool has no output channels of its own
    ("c3p-1", "c3p-1"),
    ("c1234567", "c1234567"),  # a number that long is no layer anyone means
    ("c3;m2", "c3;m2"),
])
def test_text_that_is_not_a_stack_is_refused_with_the_part(text, token):
    with pytest.raises(StackError) as error:
        parse_stack_text(text)
    assert error.value.reason == "stack_text"
    assert error.value.details["token"] == token
    assert error.value.details["layer"] == text.split(",").index(token) + 1
    assert "c3s1p1,m2s2,c3d2" in str(error.value)  # the message shows how to write one


def test_an_empty_text_is_an_empty_stack():
    for text in ("", " , ,"):
        with pytest.raises(StackError) as error:
            parse_stack_text(text)
        assert error.value.reason == "empty_stack"


def test_a_links_numbers_are_clamped_to_the_builder_and_its_length_cut():
    """The scaffold's rule for values from outside: numbers clamped to their control's range, a list cut to its
    maximum; a pool keeps the channels it receives."""
    (row,) = rows_from_text("c99s0p50d9o99999")
    assert row == {"kind": "conv", "kernel": LIMITS["kernel"][1], "stride": LIMITS["stride"][0],
                   "padding": LIMITS["padding"][1], "dilation": LIMITS["dilation"][1],
                   "channels": LIMITS["channels"][1]}
    rows = rows_from_text(",".join(["c3o32", "m2s2"] * MAX_LAYERS))
    assert len(rows) == MAX_LAYERS
    assert [row["channels"] for row in rows[:2]] == [32, 32]
