"""The convolution page under AppTest: defaults, extremes, the custom kernel, both languages, no exception."""

import numpy as np
import pytest
from harness import latex, open_page, texts


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_defaults_show_maps_the_worked_example_and_the_torch_check(lang):
    at = open_page("convolution", lang)
    assert at.multiselect(key="conv_kernels").value == ["diff_x", "sobel_x", "laplacian"]
    assert len(at.success) == 1 and "e-" in at.success[0].value or "0.00e+00" in at.success[0].value
    assert any("\\sum" in body for body in latex(at))


def test_worked_example_sum_equals_the_feature_map_value():
    at = open_page("convolution", "en")
    at.number_input(key="conv_row").set_value(100).run()
    at.number_input(key="conv_col").set_value(500).run()
    assert not at.exception
    sum_line = next(body for body in latex(at) if body.startswith("y ="))
    value = float(sum_line.split(r"\qquad")[0].rsplit("=", 1)[1])
    check = next(c.value for c in at.caption if c.value.startswith("Check:"))
    assert f"{value:.4f}" in check


def test_extremes_every_kernel_rgb_flip_bias_relu_and_corner_positions():
    at = open_page("convolution", "zh")
    for chunk in ([n for n in ("identity", "prewitt_x", "gaussian_blur", "emboss")], ["outline", "sharpen", "box_blur", "prewitt_y"]):
        at.multiselect(key="conv_kernels").set_value(chunk).run()
        assert not at.exception
    at.radio(key="conv_channels").set_value("rgb").run()
    at.toggle(key="conv_true_convolution").set_value(True).run()
    at.slider(key="conv_bias").set_value(-1.0).run()
    at.toggle(key="conv_relu").set_value(True).run()
    at.number_input(key="conv_row").set_value(0).run()
    at.number_input(key="conv_col").set_value(0).run()
    assert not at.exception
    image = at.session_state.image["array"]
    at.number_input(key="conv_row").set_value(image.shape[0] - 1).run()
    at.number_input(key="conv_col").set_value(image.shape[1] - 1).run()
    assert not at.exception
    assert "ReLU" in texts(at)


def test_no_kernel_says_what_to_do_and_custom_kernel_works():
    at = open_page("convolution", "en")
    at.multiselect(key="conv_kernels").set_value([]).run()
    assert not at.exception and "Choose at least one kernel" in at.warning[0].value
    at.multiselect(key="conv_kernels").set_value(["custom"]).run()
    at.radio(key="conv_custom_size").set_value(5).run()
    assert not at.exception
    assert "Your own kernel" in texts(at)


def test_flip_changes_an_asymmetric_kernel_but_not_a_symmetric_one():
    at = open_page("convolution", "en")
    at.multiselect(key="conv_kernels").set_value(["sobel_x", "box_blur"]).run()
    text = texts(at)
    assert "Not symmetric" in text and "Symmetric under the flip" in text


def test_try_button_from_the_lesson_sets_the_widgets():
    at = open_page("convolution", "en")
    at.query_params["step"] = "4"
    at.run()
    buttons = [b for b in at.button if b.key and b.key.startswith("try_convolution")]
    assert buttons, "step 4 of the lesson has a Try-it button"
    buttons[0].click().run()
    assert not at.exception
    assert at.multiselect(key="conv_kernels").value == ["sobel_x"]
    assert at.number_input(key="conv_row").value == 20


def test_grayscale_image_disables_rgb_and_patch_sizes_fit_a_tiny_image():
    at = open_page("convolution", "en")
    at.selectbox(key="image_source").set_value("digit").run()
    assert not at.exception
    for size in (12, 3):
        at.select_slider(key="conv_patch").set_value(size).run()
        assert not at.exception
        assert f"The {size} × {size} patch starts" in texts(at)
    assert at.session_state.image["array"].shape[2] == 1
    assert at.radio(key="conv_channels").disabled
    assert np.isfinite(at.session_state.image["array"]).all()
