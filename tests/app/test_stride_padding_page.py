"""The stride & padding page under AppTest: the seeds' examples, impossible settings, both languages."""

import pytest
from harness import latex, open_page, texts


def click(at, label_start):
    next(b for b in at.button if b.label.startswith(label_start)).click().run()
    assert not at.exception


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_defaults_show_the_formula_with_numbers(lang):
    at = open_page("stride_padding", lang)
    assert any(body.endswith("= 5") for body in latex(at))  # 7×7 grid, 3×3, stride 1
    assert not at.warning


def test_seed_examples_stride_2_fits_stride_3_leaves_a_column():
    at = open_page("stride_padding", "en")
    click(at, "7×7, 3×3, stride 2")
    assert any(body.endswith("= 3") for body in latex(at))
    assert "indices 6 to 6" not in texts(at)  # the 7×7 grid fits exactly (the photo may not)
    click(at, "7×7, 3×3, stride 3")
    assert any(body.endswith("= 2") for body in latex(at))
    assert "the last 1 row(s)/column(s) of the padded input (indices 6 to 6) are never visited" in texts(at)


def test_seed_example_32_with_padding_2_keeps_32():
    at = open_page("stride_padding", "en")
    click(at, "32×32, 5×5, padding 2")
    assert any("32 + 2\\cdot2" in body and body.endswith("= 32") for body in latex(at))


def test_same_padding_button_keeps_the_size():
    at = open_page("stride_padding", "en")
    at.slider(key="sp_kernel").set_value(7).run()
    at.slider(key="sp_dilation").set_value(2).run()
    click(at, "“Same” padding")
    assert at.slider(key="sp_padding").value == 6 and at.slider(key="sp_stride").value == 1
    image = at.session_state.image["array"]
    assert f"output **{image.shape[0]} × {image.shape[1]}**" in texts(at)


def test_moving_the_stride_changes_the_image_output_shape():
    at = open_page("stride_padding", "en")
    before = texts(at)
    at.slider(key="sp_stride").set_value(4).run()
    assert not at.exception and texts(at) != before
    H, W = at.session_state.image["array"].shape[:2]
    assert f"output **{(H - 3) // 4 + 1} × {(W - 3) // 4 + 1}**" in texts(at)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_impossible_settings_say_what_to_change(lang):
    at = open_page("stride_padding", lang)
    at.slider(key="sp_grid").set_value(3).run()
    at.slider(key="sp_kernel").set_value(11).run()
    at.slider(key="sp_dilation").set_value(5).run()
    assert not at.exception
    assert at.warning, "a sentence says the kernel does not fit"
    assert any("< 1" in body for body in latex(at))
    at.slider(key="sp_kernel").set_value(1).run()
    at.slider(key="sp_padding").set_value(10).run()
    at.selectbox(key="sp_mode").set_value("reflect").run()
    assert not at.exception and at.warning
    at.selectbox(key="sp_mode").set_value("circular").run()
    assert not at.exception and at.warning


def test_step_through_every_window_and_all_extremes():
    at = open_page("stride_padding", "zh")
    for mode in ("zeros", "reflect", "replicate", "circular"):
        at.selectbox(key="sp_mode").set_value(mode).run()
        at.slider(key="sp_padding").set_value(2).run()
        assert not at.exception
    at.session_state["sp_pos"] = 10_000  # past the last window: clamped, never an error
    at.run()
    assert not at.exception
    for key in ("sp_kernel", "sp_stride", "sp_padding", "sp_dilation", "sp_grid"):
        slider = at.slider(key=key)
        for value in (slider.min, slider.max):
            at.slider(key=key).set_value(value).run()
            assert not at.exception, (key, value)
