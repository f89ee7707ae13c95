"""The convolution page under AppTest: the worked example agrees with cnn_core, every kernel is checked against
PyTorch, the lesson's Try-it sets what it says, extremes and odd images give sentences, never exceptions."""

import json
import re

import numpy as np
import pytest
from harness import latex, open_page, texts

from cnn_core.conv import corr2d, flip_kernel, same_padding
from cnn_core.image import to_grayscale
from cnn_core.kernels import KERNELS


def clickmaps(at) -> list[dict]:
    """What each clickable map (ui/components/clickmap.js) was sent, in page order."""
    return [json.loads(e.proto.json) for e in at.get("bidi_component") if "cnnlab_clickmap" in e.proto.component_name]


def by_hand(plane: np.ndarray, K: np.ndarray, row: int, col: int) -> float:
    """Output (row, col) of 'same' zero-padded cross-correlation, with the textbook double loop (corr2d)."""
    top, bottom, left, right = same_padding(K.shape, (1, 1))
    return float(corr2d(np.pad(plane, ((top, bottom), (left, right))), K)[row, col])


def worked_sum(at) -> float:
    """The number the page writes after "y =" (before the ReLU part)."""
    line = next(body for body in latex(at) if body.startswith("y ="))
    return float(line.split(r"\qquad")[0].rsplit("=", 1)[1])


def map_value(at) -> float:
    return float(re.search(r"holds (-?[\d.]+)", texts(at)).group(1))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_defaults_check_every_kernel_and_start_on_an_edge(lang):
    at = open_page("convolution", lang)
    assert not at.exception
    kernels = at.multiselect(key="conv_kernels").value
    assert kernels == ["diff_x", "sobel_x", "laplacian"]
    assert len(at.success) == len(kernels)  # one PyTorch check per kernel shown, not only the first
    for line in at.success:
        diff = float(re.search(r"= ([\d.e+-]+)", line.value).group(1))
        assert diff <= 1e-4
    assert not at.error
    # The example starts where the first kernel responds most, away from the border: an edge, not flat sky.
    gray = to_grayscale(at.session_state.image["array"])
    row, col = at.number_input(key="conv_row").value, at.number_input(key="conv_col").value
    strength = abs(by_hand(gray, KERNELS["diff_x"], row, col))
    assert 2 <= row < gray.shape[0] - 2 and 2 <= col < gray.shape[1] - 2
    assert strength >= 0.9 * np.abs(np.diff(gray[2:-2, 2:-2], axis=1)).max()
    charts = clickmaps(at)
    assert len(charts) == len(kernels) + 2  # a clickable map per kernel, the image twice (example and numbers)


@pytest.mark.parametrize("name, row, col", [("sobel_x", 100, 500), ("laplacian", 0, 0), ("diff_x", 511, 767)])
def test_worked_example_is_the_textbook_double_loop(name, row, col):
    at = open_page("convolution", "en")
    at.multiselect(key="conv_kernels").set_value([name]).run()
    at.number_input(key="conv_row").set_value(row).run()
    at.number_input(key="conv_col").set_value(col).run()
    assert not at.exception
    gray = to_grayscale(at.session_state.image["array"])
    expected = by_hand(gray, KERNELS[name], row, col)
    np.testing.assert_allclose(worked_sum(at), expected, atol=1e-4)  # written with 4 decimals
    np.testing.assert_allclose(map_value(at), expected, atol=1e-4)  # and the map holds the same number


def test_bias_relu_and_flip_enter_the_worked_example():
    at = open_page("convolution", "en")
    at.multiselect(key="conv_kernels").set_value(["sobel_x"]).run()
    at.toggle(key="conv_true_convolution").set_value(True).run()
    at.slider(key="conv_bias").set_value(-0.5).run()
    at.toggle(key="conv_relu").set_value(True).run()
    assert not at.exception
    row, col = at.number_input(key="conv_row").value, at.number_input(key="conv_col").value
    gray = to_grayscale(at.session_state.image["array"])
    y = by_hand(gray, flip_kernel(KERNELS["sobel_x"]), row, col) - 0.5
    np.testing.assert_allclose(worked_sum(at), y, atol=1e-4)
    relu_line = next(body for body in latex(at) if body.startswith("y ="))
    np.testing.assert_allclose(float(relu_line.rsplit("=", 1)[1]), max(y, 0.0), atol=1e-4)
    assert "flipped by 180°" in texts(at)


def test_rgb_channels_every_kernel_and_corner_positions():
    at = open_page("convolution", "zh")
    for chunk in (["identity", "prewitt_x", "gaussian_blur", "emboss"], ["outline", "sharpen", "box_blur", "prewitt_y"]):
        at.multiselect(key="conv_kernels").set_value(chunk).run()
        assert not at.exception
        assert len(at.success) == 4
    at.radio(key="conv_channels").set_value("rgb").run()
    assert len(clickmaps(at)) == 4 * 3 + 2  # every kernel on each colour channel
    at.selectbox(key="conv_example_channel").set_value(2).run()  # blue
    image = at.session_state.image["array"]
    H, W = image.shape[:2]
    for row, col in ((0, 0), (H - 1, W - 1)):
        at.number_input(key="conv_row").set_value(row).run()
        at.number_input(key="conv_col").set_value(col).run()
        assert not at.exception
        name = at.session_state.conv_example_kernel
        np.testing.assert_allclose(worked_sum(at), by_hand(image[..., 2], KERNELS[name], row, col), atol=1e-4)


def test_no_kernel_says_what_to_do_and_a_custom_kernel_works():
    at = open_page("convolution", "en")
    at.multiselect(key="conv_kernels").set_value([]).run()
    assert not at.exception
    assert len(at.warning) == 1 and "Choose at least one kernel" in at.warning[0].value
    at.multiselect(key="conv_kernels").set_value(["custom"]).run()
    at.radio(key="conv_custom_size").set_value(5).run()
    assert not at.exception
    assert at.selectbox(key="conv_custom_base").value == "gaussian_blur"  # the only 5×5 preset
    assert "Your own kernel" in texts(at) and len(at.success) == 1


def test_flip_changes_an_asymmetric_kernel_but_not_a_symmetric_one():
    at = open_page("convolution", "en")
    at.multiselect(key="conv_kernels").set_value(["sobel_x", "box_blur"]).run()
    text = texts(at)
    assert "Not symmetric" in text
    assert "Symmetric under the flip" in text


def test_try_button_from_the_lesson_sets_the_widgets():
    at = open_page("convolution", "en")
    at.query_params["step"] = "4"
    at.run()
    buttons = [b for b in at.button if b.key and b.key.startswith("try_convolution")]
    assert buttons, "step 4 of the lesson has a Try-it button"
    buttons[0].click().run()
    assert not at.exception
    assert at.multiselect(key="conv_kernels").value == ["sobel_x"]
    assert (at.number_input(key="conv_row").value, at.number_input(key="conv_col").value) == (20, 20)
    gray = to_grayscale(at.session_state.image["array"])
    np.testing.assert_allclose(worked_sum(at), by_hand(gray, KERNELS["sobel_x"], 20, 20), atol=1e-4)


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


def test_numbers_are_drawn_by_the_browser_at_a_readable_size():
    at = open_page("convolution", "en")
    tables = [m.value for m in at.markdown if "<table" in m.value]
    assert tables, "matrices are HTML tables, not server-drawn figures"
    sizes = {int(size) for table in tables for size in re.findall(r"font-size:(\d+)px", table)}
    assert min(sizes) >= 14
    assert not at.get("imgs") or all("feature map" not in str(image) for image in at.get("imgs"))


def test_the_map_charts_point_back_into_image_coordinates():
    """Each map's click grid spans the whole image; the explained map's outline sits on the example position."""
    at = open_page("convolution", "en")
    H, W = at.session_state.image["array"].shape[:2]
    row, col = at.number_input(key="conv_row").value, at.number_input(key="conv_col").value
    data = clickmaps(at)[0]
    box = data["boxes"][0]
    assert (data["H"], data["W"]) == (H, W) and data["width"] / data["height"] == pytest.approx(W / H, rel=0.02)
    assert box["left"] <= col < box["left"] + box["width"] and box["top"] <= row < box["top"] + box["height"]
    assert data["chosen"] == [row, col] and data["values"]  # the keyboard starts there; hover reads the values


def test_the_kernel_buttons_choose_which_map_is_explained():
    at = open_page("convolution", "en")
    row, col = at.number_input(key="conv_row").value, at.number_input(key="conv_col").value
    at.button(key="conv_explain_laplacian").click().run()
    assert not at.exception and at.session_state.conv_example_kernel == "laplacian"
    assert at.query_params.get("conv_example_kernel") in ("laplacian", ["laplacian"])  # a copied link keeps it
    gray = to_grayscale(at.session_state.image["array"])
    np.testing.assert_allclose(worked_sum(at), by_hand(gray, KERNELS["laplacian"], row, col), atol=1e-4)
    at.multiselect(key="conv_kernels").set_value(["sobel_y"]).run()  # the explained kernel is gone: the first shown
    assert at.session_state.conv_example_kernel == "sobel_y"
