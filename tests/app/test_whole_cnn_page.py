"""The "A whole CNN" page under AppTest: the network table, every input (held-out, drawn, the sidebar image), the
forward pass with its PyTorch check, a short training run from random weights, a diverging one, both languages.

Each test opens the page once and walks through several settings: opening the app costs most of the time.
"""

import base64
import io

import numpy as np
import pytest
from harness import open_page, texts
from PIL import Image, ImageDraw


def click(at, label):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception


def drawing(strokes, size: int = 224, pen: int = 18) -> str:
    """A PNG data URL like the canvas sends: black strokes on white."""
    picture = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(picture).line(strokes, fill="black", width=pen, joint="curve")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


ZERO = [(112, 30), (78, 55), (70, 112), (78, 170), (112, 195), (146, 170), (154, 112), (146, 55), (112, 30)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_defaults_show_the_table_the_pass_and_the_check(lang):
    at = open_page("whole_cnn", lang)
    shown = texts(at)
    assert "6,082" in shown  # the parameter total of the table
    assert "4,810" in shown and "79%" in shown  # the fully connected layers' share
    assert ("The network says" if lang == "en" else "网络的回答是") in shown
    assert at.success, "the PyTorch check of the 10 outputs passed"
    assert not at.warning and not at.error
    # The 13 layers of the pass are all drawn (plus the input), every one as a picture.
    assert all(f"`{name}`" in shown for name in ("conv1", "pool2", "flatten", "fc2"))


def test_held_out_digits_mistakes_and_opened_maps():
    at = open_page("whole_cnn", "en")
    at.slider(key="wc_index").set_value(358).run()
    assert not at.exception and "The network says" in texts(at)
    click(at, "Next mistake")
    index = at.slider(key="wc_index").value
    assert "Wrong: it is a" in texts(at), index
    for layer, channel in (("pool2", 15), ("conv1", 15), ("bn2", 0)):
        at.selectbox(key="wc_layer").set_value(layer).run()
        at.slider(key="wc_channel").set_value(channel).run()
        assert not at.exception, at.exception
    assert at.slider(key="wc_channel").value <= 15
    assert "`bn2`, channel 0" in texts(at)


def test_a_drawn_digit_is_reduced_and_read():
    at = open_page("whole_cnn", "en")
    at.radio(key="wc_source").set_value("draw").run()
    assert not at.exception and "Draw a digit on the pad" in texts(at)
    at.session_state["wc_drawing"] = drawing(ZERO)
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "The 32×32 bitmap" in shown
    assert "The network says **0**" in shown


def test_the_sidebar_image_is_reduced_or_refused_with_a_sentence():
    at = open_page("whole_cnn", "zh")
    at.radio(key="wc_source").set_value("image").run()
    assert not at.exception, at.exception
    at.selectbox(key="image_source").set_value("digit").run()  # the white-on-black "3" sample
    assert not at.exception, at.exception
    assert "网络的回答是 **3**" in texts(at)
    flat = np.full((40, 40, 3), 200, np.uint8)
    at.session_state["wc_drawing"] = "data:image/png;base64," + base64.b64encode(_png(flat)).decode()
    at.radio(key="wc_source").set_value("draw").run()
    assert not at.exception and at.warning  # one flat tone: "no digit found", in Chinese
    assert "没有找到数字" in at.warning[0].value


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_short_training_run_then_a_diverging_one(lang):
    at = open_page("whole_cnn", lang)
    at.slider(key="wc_epochs").set_value(2).run()
    at.select_slider(key="wc_batch").set_value(64).run()
    click(at, "Train" if lang == "en" else "训练")
    yours = at.session_state["wc_yours"]
    assert yours["history"].epochs == 2 and yours["weights"] is not None
    assert at.session_state["wc_net"] == "yours"  # the view switched to the new network
    assert at.success and ("Your network: 2 epoch(s)" if lang == "en" else "你的网络：2 轮") in texts(at)
    at.select_slider(key="wc_lr").set_value(5).run()
    at.select_slider(key="wc_batch").set_value(32).run()
    click(at, "Train" if lang == "en" else "训练")
    assert at.warning and ("diverged" if lang == "en" else "发散") in at.warning[0].value
    assert at.session_state["wc_yours"]["weights"] is None
    assert ("You have not trained a network yet" if lang == "en" else "你还没有训练过网络") in texts(at)
