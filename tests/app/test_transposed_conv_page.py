"""The transposed-convolution page under AppTest: the formula with the student's numbers, the scatter step by step,
settings that give no output, the checkerboard; both languages."""

import pytest
from harness import latex, open_page, texts


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_defaults_show_the_formula_the_scatter_and_two_torch_checks(lang):
    at = open_page("transposed_conv", lang)
    assert not at.exception and not at.warning and not at.error
    assert any(body.endswith("= 5") and "(2 - 1)\\cdot 2" in body for body in latex(at))  # 2 → 5 with k 3, s 2
    assert len(at.success) == 2  # the grid and the image, each checked against F.conv_transpose2d
    assert "0.0e+00" in at.success[0].value or "e-0" in at.success[0].value


def test_stepping_moves_the_copy_by_the_stride():
    at = open_page("transposed_conv", "en")
    at.slider(key="tc_step").set_value(1).run()
    assert not at.exception
    assert "top-left corner at row 0 = 0·2, column 2 = 1·2" in texts(at)
    at.session_state["tc_step"] = 24  # beyond the last of the 4 values (a lesson or a link may do this)
    at.run()
    assert not at.exception and "multiplies the whole kernel" in texts(at)


@pytest.mark.parametrize("key, value, words", [
    ("tc_padding", 3, "No output"),
    ("tc_output_padding", 3, "Output padding 3 is too large"),
])
def test_impossible_settings_are_explained(key, value, words):
    at = open_page("transposed_conv", "en")
    at.slider(key=key).set_value(value).run()
    assert not at.exception
    assert any(words in w.value for w in at.warning)


def test_output_padding_picks_the_even_size():
    at = open_page("transposed_conv", "en")
    for key, value in (("tc_grid", 3), ("tc_padding", 1), ("tc_output_padding", 1)):
        at.slider(key=key).set_value(value).run()
    assert any(body.endswith("= 6") for body in latex(at))


@pytest.mark.parametrize("k, s, even", [(3, 2, False), (4, 2, True)])
def test_checkerboard_text_follows_k_and_s(k, s, even):
    at = open_page("transposed_conv", "zh")
    at.slider(key="tc_ck").set_value(k).run()
    at.slider(key="tc_cs").set_value(s).run()
    assert not at.exception
    shown = texts(at)
    assert ("平坦的输入给出平坦的输出" in shown) is even
    assert ("棋盘格——" in shown) is not even
