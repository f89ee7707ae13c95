"""The channels page under AppTest: the channel sum with its PyTorch check, counts with the student's numbers,
groups that do not divide, the 1×1 reduction; both languages, the extreme settings."""

import pytest
from harness import open_page, texts

from cnn_core.channels import conv2d_parameters


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_defaults_show_one_map_from_three_channels_and_pass_the_torch_check(lang):
    at = open_page("channels", lang)
    shown = texts(at)
    assert "3·3·3 + 1 = 28" in shown  # one kernel on an RGB image: 27 weights and one bias
    assert len(at.success) >= 2 and not at.warning and not at.error  # channel sum and RGB → gray vs PyTorch
    table = at.dataframe[0].value
    assert "1,792" in table.iloc[0].tolist()  # the typical first layer, 3 → 64 with 3×3 kernels
    # 3 channels + 3 kernel slices + 3 maps + sum + output, 4 stacked maps, RGB/weights/gray, the bank, the reduced
    assert len(at.get("image")) >= 11 + 4 + 3 + 1 + 1


def test_the_layer_cost_follows_the_students_numbers_and_explains_bad_groups():
    at = open_page("channels", "en")
    at.number_input(key="ch_cin").set_value(128).run()
    at.number_input(key="ch_cout").set_value(256).run()
    at.number_input(key="ch_groups").set_value(8).run()
    assert not at.exception
    expected = conv2d_parameters(128, 256, 3, groups=8)
    assert f"{expected:,}" in at.dataframe[0].value.iloc[1].tolist()
    at.number_input(key="ch_groups").set_value(3).run()  # 3 divides neither 128 nor 256
    assert not at.exception
    assert any("3 groups must divide both the input channels (128)" in w.value for w in at.warning)


def test_choosing_kernels_and_channels_changes_what_is_shown():
    at = open_page("channels", "en")
    before = texts(at)
    at.selectbox(key="ch_kernel").set_value("red_minus_green").run()
    at.slider(key="ch_out").set_value(6).run()
    at.slider(key="ch_reduce").set_value(16).run()
    assert not at.exception and texts(at) != before
    shown = texts(at)
    assert "stack **6 ×" in shown and "keep **100.0%**" in shown
    at.selectbox(key="ch_kernel").set_value("custom").run()  # three editable slices instead of a preset
    assert not at.exception and len(at.get("arrow_data_frame")) + len(at.dataframe) >= 1
