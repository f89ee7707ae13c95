"""The transfer-learning page under AppTest: training the curves, the four tasks on a canvas of digits, the sliding
window equal to the fully convolutional pass; both languages, extreme canvases."""

import re

import pytest
from harness import open_page, texts


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_defaults_show_the_four_tasks_and_offer_training(lang):
    at = open_page("transfer", lang)
    assert not at.exception and not at.warning and not at.error
    assert at.info  # nothing trained yet: the page says to press the button
    assert len(at.get("imgs")) >= 4 or len(at.get("image")) >= 4  # the four task pictures
    assert len(at.success) == 2  # sliding window = fully convolutional; the paint vs F.conv_transpose2d


def test_training_draws_the_curve_and_frozen_beats_scratch_with_one_example():
    at = open_page("transfer", "en")
    next(b for b in at.button if b.label.startswith("Train for")).click().run()
    assert not at.exception, at.exception
    assert at.get("vega_lite_chart")
    frozen, scratch = (float(v) for v in re.search(
        r"frozen features reach \*\*([\d.]+)%\*\* .* from scratch \*\*([\d.]+)%\*\*", texts(at)).groups())
    assert frozen > scratch + 5


def test_detection_finds_the_placed_digits():
    at = open_page("transfer", "en")
    shown = texts(at)
    placed = re.search(r"left to right: ([\d, ]+)\.", shown).group(1).split(", ")
    found = re.findall(r"(\d) \(\d+%\)", re.search(r"answer: \d+ boxes — (.*)", shown).group(1))
    assert found == placed


@pytest.mark.parametrize("digits, threshold", [(1, 0.95), (6, 0.3)])
def test_extreme_canvases(digits, threshold):
    at = open_page("transfer", "zh")
    at.slider(key="tf_digits").set_value(digits).run()
    at.slider(key="tf_threshold").set_value(threshold).run()
    assert not at.exception and "Traceback" not in texts(at)
    assert any("3.8e-06" in s.value or "e-0" in s.value for s in at.success)
