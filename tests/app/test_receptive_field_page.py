"""The receptive-field page under AppTest: default and extreme values, presets, the stack builder, both languages."""

import numpy as np
import pytest
from harness import ROOT, open_page, png_bytes, texts
from streamlit.testing.v1 import AppTest

from cnn_core.receptive_field import receptive_field
from cnn_core.rf_layers import parse_stack_text
from cnn_core.rf_presets import PRESETS


def table(at):
    return at.dataframe[0].value


def last_field(at) -> str:
    frame = table(at)
    return str(frame.iloc[-1, 4])  # the receptive-field column of the last layer


def proofs_pass(at) -> bool:
    """The three proofs of the page: nothing outside the theoretical field, autograd = the gradient by hand, the
    maps = PyTorch's (each its own success line), and no error."""
    shown = [s.value for s in at.success]
    return (len(shown) == 3 and not at.error and any("outside the theoretical field" in s for s in shown)
            and any("by hand" in s for s in shown) and any("feature maps" in s for s in shown))


@pytest.mark.parametrize("lang, words", [("en", "Receptive field"), ("zh", "感受野")])
def test_default_page_in_both_languages(lang, words):
    at = open_page("receptive_field", lang)
    assert not at.exception
    assert at.selectbox(key="rf_preset").value == "conv_pool_conv"
    assert words in table(at).columns
    assert last_field(at) == "8×8"  # 3×3 conv → 2×2 pool → 3×3 conv
    assert list(table(at).iloc[1:, 7]) == [3 * 9 * 64 + 64, 0, 64 * 9 * 64 + 64]  # parameters on the RGB scene
    assert len(at.success) == 3 and not at.error  # outside the field, autograd vs by hand, maps vs torch
    assert not at.warning
    shown = texts(at)
    assert ("a 8×8 field" in shown) if lang == "en" else ("感受野为 8×8" in shown)


def test_a_big_upload_runs_the_stack_on_a_smaller_copy_and_says_so():
    """A 1024² photo: the stack, the table and the neuron are on its 627² area-averaged copy, and the page says so."""
    at = open_page("receptive_field", "en")
    at.sidebar.selectbox(key="image_source").set_value("upload").run()
    photo = np.random.default_rng(1).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    at.sidebar.file_uploader(key="upload_file").upload("big.png", png_bytes(photo), "image/png").run()
    assert not at.exception, at.exception
    assert "this page works on a 627 × 627 copy" in texts(at)
    assert list(table(at).iloc[:, 3]) == ["627×627", "625×625", "312×312", "310×310"]  # conv → 2×2 pool → conv
    assert (at.session_state.rf_row, at.session_state.rf_col) == (155, 155)  # the last map's centre
    assert proofs_pass(at)


@pytest.mark.parametrize("preset, field", [
    ("two_3x3", "5×5"), ("one_5x5", "5×5"), ("three_3x3", "7×7"), ("one_7x7", "7×7"), ("strided_3x3", "15×15"),
    ("dilated_124", "15×15"), ("vgg16", "16×16"), ("alexnet", "195×195"), ("resnet_stem", "11×11"),
])
def test_every_preset_runs_and_shows_its_field(preset, field):
    at = open_page("receptive_field", "en")
    at.selectbox(key="rf_preset").set_value(preset).run()
    assert not at.exception
    assert last_field(at) == field
    assert len(table(at)) == len(PRESETS[preset]) + 1  # the input row, then one row per layer
    assert at.number_input(key=f"rf_kernel_{len(PRESETS[preset]) - 1}").value == PRESETS[preset][-1]["kernel_size"]
    assert proofs_pass(at)


def test_three_3x3_against_one_7x7_shows_both_parameter_counts():
    at = open_page("receptive_field", "en")
    at.selectbox(key="rf_preset").set_value("three_3x3").run()
    assert "**110,784**" in texts(at) and "**200,768**" in texts(at)


def test_a_stack_too_deep_for_the_image_gets_a_sentence_not_a_traceback():
    at = open_page("receptive_field", "en")
    at.sidebar.selectbox(key="image_source").set_value("digit").run()  # 28×28
    at.selectbox(key="rf_preset").set_value("alexnet").run()
    assert not at.exception
    assert len(at.warning) == 1 and "Layer" in at.warning[0].value and "larger image" in at.warning[0].value
    assert not at.dataframe


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_extreme_layer_values(lang):
    at = open_page("receptive_field", lang)
    at.sidebar.selectbox(key="image_source").set_value("digit").run()
    at.number_input(key="rf_kernel_0").set_value(15).run()
    at.number_input(key="rf_dilation_0").set_value(8).run()
    assert not at.exception
    assert at.selectbox(key="rf_preset").value == "custom"
    assert len(at.warning) == 1 and ("113" in at.warning[0].value)  # 8·(15 − 1) + 1 pixels do not fit in 28
    at.number_input(key="rf_dilation_0").set_value(1).run()
    at.number_input(key="rf_padding_0").set_value(10).run()
    at.number_input(key="rf_stride_0").set_value(4).run()  # 28 → 9 → 4 → 2
    at.number_input(key="rf_channels_0").set_value(2048).run()
    assert not at.exception and not at.warning
    assert list(table(at).iloc[1:, 3]) == ["9×9", "4×4", "2×2"]
    assert table(at).iloc[1, 7] == 15 * 15 * 1 * 2048 + 2048  # the digit is grayscale: one input channel
    at.number_input(key="rf_stride_0").set_value(8).run()  # 28 → 5 → 2 → no room for the last 3×3
    assert not at.exception and len(at.warning) == 1
    assert ("Layer 3" if lang == "en" else "第 3 层") in at.warning[0].value


def test_pooling_rules_of_torch_are_explained():
    at = open_page("receptive_field", "en")
    at.number_input(key="rf_padding_1").set_value(2).run()  # a 2×2 max pool with padding 2
    assert not at.exception
    assert len(at.warning) == 1 and "at most half" in at.warning[0].value
    at.number_input(key="rf_padding_1").set_value(0).run()
    at.number_input(key="rf_dilation_1").set_value(2).run()  # a dilated max pool is fine
    assert not at.warning
    at.selectbox(key="rf_kind_1").set_value("avgpool").run()  # torch's average pooling has no dilation
    assert len(at.warning) == 1 and "no dilation" in at.warning[0].value
    at.number_input(key="rf_dilation_1").set_value(1).run()
    assert not at.warning
    assert at.number_input(key="rf_dilation_1").disabled  # and now it cannot be dilated again
    assert not at.exception


def test_builder_adds_moves_and_removes_layers():
    at = open_page("receptive_field", "en")
    at.button(key="rf_add_conv").click().run()
    assert not at.exception and len(table(at)) == 5
    assert at.selectbox(key="rf_preset").value == "custom"
    at.button(key="rf_up_1").click().run()  # the pool becomes layer 1
    assert at.selectbox(key="rf_kind_0").value == "maxpool" and at.selectbox(key="rf_kind_1").value == "conv"
    assert last_field(at) == "14×14"  # pool 2, then three 3×3 convs with jump 2: 2 + 4 + 4 + 4 = 14
    at.button(key="rf_down_0").click().run()
    assert at.selectbox(key="rf_kind_1").value == "maxpool"
    at.button(key="rf_remove_3").click().run()
    assert len(table(at)) == 4 and last_field(at) == "8×8"
    while not at.button(key="rf_add_pool").disabled:
        at.button(key="rf_add_pool").click().run()
    assert at.number_input(key="rf_kernel_11").value == 2  # 12 layers; nine 2×2 pools shrink 512 pixels to 0
    assert len(at.warning) == 1 and "Layer 11" in at.warning[0].value  # 512 → 510 → 255 → … → 1
    assert not at.exception
    assert at.button(key="rf_add_pool").disabled  # at most 12 layers
    at.selectbox(key="rf_preset").set_value("two_3x3").run()
    assert len(table(at)) == 3 and last_field(at) == "5×5"


def test_neuron_sliders_move_the_box_and_clamp():
    at = open_page("receptive_field", "en")
    row_max, col_max = int(at.slider(key="rf_row").max), int(at.slider(key="rf_col").max)
    at.slider(key="rf_row").set_value(0).run()
    at.slider(key="rf_col").set_value(col_max).run()
    assert not at.exception
    assert f"Neuron (0, {col_max})" in texts(at)
    assert proofs_pass(at)
    at.selectbox(key="rf_preset").set_value("alexnet").run()  # a much smaller last map: the neuron is re-centred
    assert not at.exception
    assert at.slider(key="rf_row").value < row_max and at.slider(key="rf_col").value <= at.slider(key="rf_col").max


def test_corner_neuron_field_reaches_into_the_padding():
    at = open_page("receptive_field", "en")
    at.selectbox(key="rf_preset").set_value("resnet_stem").run()
    at.slider(key="rf_row").set_value(0).run()
    at.slider(key="rf_col").set_value(0).run()
    assert "rows -5–5" in texts(at) and "padding" in texts(at)


@pytest.mark.parametrize("weights", ["uniform", "gaussian", "edges", "random"])
def test_weight_modes_and_relu(weights):
    at = open_page("receptive_field", "en")
    at.selectbox(key="rf_weights").set_value(weights).run()
    at.toggle(key="rf_relu").set_value(True).run()
    at.toggle(key="rf_zoom").set_value(False).run()
    assert not at.exception
    assert proofs_pass(at)


def test_a_neuron_switched_off_by_relu_is_explained():
    """The digit's black corner through Sobel kernels gives exactly 0, and ReLU passes no gradient at 0."""
    at = open_page("receptive_field", "zh")
    at.sidebar.selectbox(key="image_source").set_value("digit").run()
    at.selectbox(key="rf_weights").set_value("edges").run()
    at.toggle(key="rf_relu").set_value(True).run()
    at.slider(key="rf_row").set_value(0).run()
    at.slider(key="rf_col").set_value(0).run()
    assert not at.exception
    assert len(at.info) >= 1 and any("ReLU" in element.value for element in at.info)
    at.button(key="rf_find_live").click().run()
    assert not at.exception
    assert (at.slider(key="rf_row").value, at.slider(key="rf_col").value) != (0, 0)
    assert not any("ReLU" in element.value for element in at.info)
    assert len(at.success) == 3 and not at.error  # the proofs, in Chinese


def test_lesson_try_button_sets_preset_and_neuron():
    at = open_page("receptive_field", "en")
    for _ in range(5):  # to step 6 the way a student gets there (a step set in the address can lose to the session's)
        at.button(key="next_receptive_field").click().run()
    at.button(key="try_receptive_field_5_1").click().run()  # "ResNet stem, a corner neuron"
    assert not at.exception
    assert at.selectbox(key="rf_preset").value == "resnet_stem"
    assert (at.slider(key="rf_row").value, at.slider(key="rf_col").value) == (0, 0)
    assert last_field(at) == "11×11"


# ------------------------------------------------------------------------------------------------------------
# A custom stack in the address bar (rf_layers): a teacher's link reproduces it
# ------------------------------------------------------------------------------------------------------------

LINKED = "c3p1,m2s2,c3d2o128,a3s1p1"  # conv 3×3 pad 1, max pool 2, conv dilated 2 with 128 maps, avg pool 3 stride 1


def open_link(lang: str = "en", **params) -> AppTest:
    """A fresh session opening /receptive_field?lang=…&… (a copied link), straight on the page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(lang=lang, **params)
    at.switch_page("pages/receptive_field.py").run()
    assert not at.exception, at.exception
    return at


def param(at: AppTest, key: str):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def field_text(text: str) -> str:
    h, w = receptive_field(parse_stack_text(text))[-1].size
    return f"{h}×{w}"


@pytest.mark.parametrize("lang, words", [("en", "a {field} field"), ("zh", "感受野为 {field}")])
def test_a_link_with_a_custom_stack_opens_with_it(lang, words):
    at = open_link(lang, rf_preset="custom", rf_layers=LINKED)
    assert at.selectbox(key="rf_preset").value == "custom"
    assert len(table(at)) == 5  # the input, then the four layers
    assert [at.selectbox(key=f"rf_kind_{i}").value for i in range(4)] == ["conv", "maxpool", "conv", "avgpool"]
    assert (at.number_input(key="rf_dilation_2").value, at.number_input(key="rf_channels_2").value) == (2, 128)
    assert at.number_input(key="rf_stride_3").value == 1
    field = field_text(LINKED)  # 3 → 4 → 4 + 2·2·2 = 12 → 12 + 2·2 = 16
    assert field == "16×16" and last_field(at) == field
    assert words.format(field=field) in texts(at)  # the field the page states is cnn_core's
    assert len(at.success) == 3 and not at.error and not at.warning  # the three proofs pass
    assert param(at, "rf_layers") == LINKED  # still in the address: the link can be copied on


def test_a_link_may_carry_the_stack_alone_and_be_written_loosely():
    at = open_link(rf_layers="C5S2P2, m3 ,")  # capitals, spaces, a trailing comma; a pool's stride is its window
    assert at.selectbox(key="rf_preset").value == "custom"
    assert len(table(at)) == 3 and last_field(at) == field_text("c5s2p2,m3s3") == "9×9"
    assert param(at, "rf_layers") == "c5s2p2,m3s3"  # written back the one canonical way
    assert param(at, "rf_preset") == "custom"


def test_a_link_names_a_neuron_of_its_own_stack():
    """The neuron is clamped to the last map of the linked stack (512×768 here, the sample's size), not to the
    default stack's 253×381: the stack is read before the scaffold reads the neuron."""
    at = open_link(rf_layers="c3p1", rf_row="400", rf_col="700")
    assert (at.slider(key="rf_row").value, at.slider(key="rf_col").value) == (400, 700)
    assert "Neuron (400, 700)" in texts(at)


@pytest.mark.parametrize("lang, words", [("en", "cannot be read: part 2, 'zz9'"), ("zh", "第 2 部分“zz9”")])
@pytest.mark.parametrize("bad", ["c3p1,zz9", "c3p1,zz9,m2s2"])
def test_a_stack_that_cannot_be_read_falls_back_to_the_default(lang, words, bad):
    at = open_link(lang, rf_preset="custom", rf_layers=bad)
    assert at.selectbox(key="rf_preset").value == "conv_pool_conv"
    assert last_field(at) == "8×8"
    assert len(at.warning) == 1 and words in at.warning[0].value  # one sentence, no traceback
    assert param(at, "rf_layers") is None and param(at, "rf_preset") is None  # the address is clean again
    at.toggle(key="rf_relu").set_value(True).run()
    assert not at.warning and not at.exception  # said once


def test_a_linked_stack_survives_edits_page_and_language_switches():
    at = open_link(rf_preset="custom", rf_layers="c3p1,m2s2")
    at.button(key="rf_add_conv").click().run()  # the student's edit wins over the address it came from
    assert len(table(at)) == 4 and param(at, "rf_layers") == "c3p1,m2s2,c3p1"
    at.number_input(key="rf_kernel_2").set_value(5).run()
    assert param(at, "rf_layers") == "c3p1,m2s2,c5p1"
    at.switch_page("pages/stride_padding.py").run()
    at.query_params.clear()  # the real navigation empties the address bar
    at.switch_page("pages/receptive_field.py").run()
    assert not at.exception
    assert len(table(at)) == 4 and param(at, "rf_layers") == "c3p1,m2s2,c5p1"
    at.sidebar.radio(key="lang").set_value("zh").run()
    assert not at.exception and at.selectbox(key="rf_preset").value == "custom"
    assert param(at, "rf_layers") == "c3p1,m2s2,c5p1" and "感受野为 12×12" in texts(at)  # 3, 4, 4 + 4·2
    at.selectbox(key="rf_preset").set_value("two_3x3").run()  # a preset: its name is the link, no layers
    assert param(at, "rf_layers") is None and param(at, "rf_preset") == "two_3x3"


def test_a_channel_count_changes_the_parameters_and_reuses_every_picture():
    """The maps run one channel per layer: a layer's channel count moves the parameter counts only, so the
    neuron's pictures are the ones already made (the same media), not computed again."""
    from ui import clickmap

    at = open_page("receptive_field", "en")
    maps_drawn = set(clickmap._LAYERS)  # every clickable map drawn so far, by what it shows
    def pictures():
        return [image.url for element in at.get("image") for image in element.proto.imgs]

    before, words = pictures(), texts(at)
    at.number_input(key="rf_channels_0").set_value(at.number_input(key="rf_channels_0").value * 2).run()
    assert not at.exception
    assert pictures() == before and len(before) >= 4  # the field on the image, the close-up, the maps
    assert set(clickmap._LAYERS) == maps_drawn  # the last map was not drawn again for the new channel count
    assert texts(at) != words  # the parameter counts moved
