"""The batch normalization page under AppTest: default and extreme widget values, both languages.

Every test opens its own page (no shared AppTest: a test must not depend on what another one moved)."""

import numpy as np
import pytest
from harness import open_page, texts


def latex_lines(at) -> list[str]:
    """The LaTeX the page wrote, without the $$ … $$ AppTest shows around each."""
    return [str(element.value).strip("$\n ") for element in at.latex]


def image_captions(at) -> str:
    return "\n".join(caption for image in at.get("image") for caption in image.captions)


def shape_text(at) -> str:
    return next(m.value for m in at.markdown if "(N, C, H, W)" in m.value)


def torch_checks(at) -> list[str]:
    return [s.value for s in at.success if "PyTorch" in s.value]


@pytest.fixture
def page():
    """A fresh English page for each test."""
    return open_page("batch_norm", "en")


@pytest.mark.parametrize("lang, words", [("en", "A mini-batch made from your image"), ("zh", "用你的图像做一个小批量")])
def test_default_page_in_both_languages(lang, words):
    at = open_page("batch_norm", lang)
    assert not at.exception
    shown = texts(at)
    assert words in shown
    assert "(8, 4, 62, 62)" in shape_text(at)
    # every result checked against torch: train steps, γ/β, evaluation, both placements
    assert len(torch_checks(at)) == 5 and not at.error
    assert at.selectbox(key="bn_channel").value == "box_blur"
    latex = latex_lines(at)
    assert any(r"\mu_B" in line and "30752" in line for line in latex)  # m = 8 · 62 · 62 in the formula
    assert any(line.startswith("y_i") for line in latex)
    # 10 steps with momentum 0.1: the running estimates are not there yet — said as an observation, not a fault
    assert not at.warning
    gap = [i.value for i in at.info if ("10 steps" in i.value if lang == "en" else "10 步" in i.value)]
    assert len(gap) == 1 and ("100" in gap[0])  # the advice names a number the steps slider can reach


def test_batch_size_and_crop_extremes(page):
    at = page
    at.slider(key="bn_batch").set_value(32).run()
    at.select_slider(key="bn_crop").set_value(96).run()
    assert not at.exception
    assert "(32, 4, 94, 94)" in shape_text(at)
    assert "the first 16 of 32 samples" in image_captions(at)
    at.slider(key="bn_batch").set_value(1).run()
    at.select_slider(key="bn_crop").set_value(32).run()
    assert not at.exception
    assert "(1, 4, 30, 30)" in shape_text(at)
    shown = texts(at)
    assert "N = 1: training still works" in shown
    assert "PyTorch refuses to train like this" in shown  # 1 × 1 maps with N = 1
    at.slider(key="bn_batch").set_value(8).run()
    at.select_slider(key="bn_crop").set_value(64).run()
    assert "PyTorch refuses to train like this" not in texts(at)


def test_kernels_none_and_six(page):
    at = page
    at.multiselect(key="bn_kernels").set_value([]).run()
    assert not at.exception
    assert any("Choose at least one kernel" in w.value for w in at.warning)
    six = ["identity", "sobel_x", "sobel_y", "laplacian", "sharpen", "outline"]
    at.multiselect(key="bn_kernels").set_value(six).run()
    assert not at.exception
    assert "(8, 6, 62, 62)" in shape_text(at)
    assert at.selectbox(key="bn_channel").value == "identity"  # box blur is gone: the first channel is chosen
    assert len(torch_checks(at)) == 5


def test_gamma_and_beta_sliders_change_the_last_formula(page):
    at = page
    at.selectbox(key="bn_channel").set_value("sobel_x").run()

    def last_line():
        return next(line for line in latex_lines(at) if line.startswith("y_i"))

    assert r"= 1 \cdot" in last_line()
    at.slider(key="bn_gamma_sobel_x").set_value(3.0).run()
    at.slider(key="bn_beta_sobel_x").set_value(-3.0).run()
    assert not at.exception
    assert r"= 3 \cdot" in last_line() and "+ (-3)" in last_line()
    at.slider(key="bn_gamma_sobel_x").set_value(0.0).run()
    assert any("γ = 0 wipes the channel out" in i.value for i in at.info)
    at.slider(key="bn_gamma_sobel_x").set_value(-2.0).run()
    assert any("negative γ flips" in i.value for i in at.info)
    assert not at.exception and len(torch_checks(at)) == 5


def test_training_steps_and_momentum(page):
    at = page
    at.slider(key="bn_momentum").set_value(0.1).run()
    at.slider(key="bn_steps").set_value(100).run()
    assert not at.exception
    assert any("caught up" in s.value for s in at.success)
    at.slider(key="bn_steps").set_value(0).run()
    assert any("still on their way" in i.value for i in at.info) and not at.warning
    at.button(key="bn_next").click().run()
    assert at.slider(key="bn_steps").value == 1
    at.button(key="bn_reset").click().run()
    assert at.slider(key="bn_steps").value == 0
    at.slider(key="bn_momentum").set_value(0.0).run()
    at.slider(key="bn_steps").set_value(100).run()
    frozen = [i.value for i in at.info if "never move" in i.value]  # momentum 0: the estimates never move
    assert len(frozen) == 1 and "Move the steps" not in frozen[0]  # no advice to raise steps already at 100
    at.slider(key="bn_momentum").set_value(1.0).run()
    assert not at.exception
    assert any("caught up" in s.value for s in at.success)  # momentum 1: the last batch's statistics


def test_seed_extremes(page):
    at = page
    before = latex_lines(at)
    at.number_input(key="bn_seed").set_value(999).run()
    assert not at.exception
    assert latex_lines(at) != before  # another batch, other numbers
    at.number_input(key="bn_seed").set_value(0).run()
    assert latex_lines(at) == before  # the same seed, the same batch


def test_lesson_try_button_sets_the_channel():
    at = open_page("batch_norm", "en")
    at.button(key="next_batch_norm").click().run()  # step 2 holds "Box the Laplacian channel"
    try_buttons = [b for b in at.button if b.key and b.key.startswith("try_batch_norm_1_")]
    assert try_buttons
    try_buttons[0].click().run()
    assert not at.exception
    assert at.selectbox(key="bn_channel").value == "laplacian"


def test_zh_small_batch_and_digit_sample():
    at = open_page("batch_norm", "zh")
    at.selectbox(key="image_source").set_value("digit").run()
    at.slider(key="bn_batch").set_value(1).run()
    assert not at.exception
    shown = texts(at)
    assert "PyTorch 拒绝这样训练" in shown and "N = 1：这里训练仍然可行" in shown


def test_too_narrow_picture_gives_a_sentence():
    at = open_page("batch_norm", "en")
    image = at.session_state["image"]
    at.session_state["image"] = {"name": image["name"], "digest": "narrow-test",
                                 "array": np.ones((400, 3, 1), np.float32)}
    at.run()
    assert not at.exception
    assert any("too narrow" in w.value for w in at.warning)


def test_placement_compares_both_orders(page):
    at = page
    assert at.selectbox(key="bn_place_channel").value == "sobel_x"  # the first channel with negative values
    orders = [m.value for m in at.markdown if m.value.startswith("zeros:")]
    assert len(orders) == 2
    bn_relu_zeros = float(orders[0].split("**")[1].split()[0])
    relu_bn_zeros = float(orders[1].split("**")[1].split()[0])
    assert 30 < bn_relu_zeros < 70 and relu_bn_zeros == 0  # ReLU after BN zeroes about half; before BN, none stay 0
    at.selectbox(key="bn_place_channel").set_value("box_blur").run()
    assert not at.exception
    assert any("has no negative values" in i.value for i in at.info)
