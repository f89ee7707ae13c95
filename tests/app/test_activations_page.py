"""The activations page under AppTest: default and extreme widget values, every lesson "try" setting, both languages.

Every test opens its own page (no shared AppTest: a test must not depend on what another one moved); a test that
walks through several values walks through them on its own page.
"""

import math
from pathlib import Path

import pytest
from harness import open_page, texts

from cnn_core.xor import best_linear_accuracy
from ui.lesson_format import TryIt, parse_lesson

LESSONS = Path(__file__).resolve().parents[2] / "lessons"


def metric(at, label_start: str) -> str:
    """The value of the first metric whose label starts with `label_start`."""
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def metrics(at, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def percent(text: str) -> float:
    return float(text.rstrip(" %"))


def joined(elements) -> str:
    return "\n".join(e.value for e in elements)


def torch_checks(at) -> int:
    """Results checked against PyTorch: the plotted function and its slope, the gradient chain, the map, softmax."""
    return len([s for s in at.success if "PyTorch" in s.value])


@pytest.mark.parametrize("lang, title, accuracy, loss", [
    ("en", "Two linear layers without an activation are one layer", "Accuracy on the 4 points", "Final loss"),
    ("zh", "没有激活函数的两个线性层，就是一个线性层", "四个点上的准确率", "最终损失"),
])
def test_default_page_in_both_languages(lang, title, accuracy, loss):
    at = open_page("activations", lang)
    assert not at.exception
    assert title in texts(at)
    with_relu, without = metrics(at, accuracy)
    assert with_relu == "100 %"  # a hidden ReLU layer solves XOR
    # Without an activation the network is one linear classifier: no straight line gets more than 3 of 4 points,
    # and its cross-entropy cannot go below ln 2 (p = 0.5 everywhere is the best a line can do on average).
    assert percent(without) <= 100 * best_linear_accuracy() == 75
    assert float(metrics(at, loss)[1]) >= math.log(2) - 1e-3
    assert torch_checks(at) == 4 and not at.error
    assert not at.warning
    assert any(r"W = W_2 W_1" in str(element.value) for element in at.latex)


def test_collapse_seeds():
    at = open_page("activations", "en")
    for seed in (999, 0):
        at.number_input(key="act_collapse_seed").set_value(seed).run()
        assert not at.exception
        assert float(metric(at, "Largest difference")) < 1e-12  # float64: only the order of the sums differs


def test_xor_extremes():
    at = open_page("activations", "en")
    at.slider(key="act_hidden").set_value(1).run()
    at.slider(key="act_steps").set_value(50).run()
    at.select_slider(key="act_lr").set_value(0.001).run()
    assert not at.exception
    assert "did not solve XOR" in joined(at.info) and not at.warning  # an observation, not a fault
    at.slider(key="act_hidden").set_value(32).run()
    at.slider(key="act_steps").set_value(1000).run()
    at.select_slider(key="act_lr").set_value(0.3).run()
    at.radio(key="act_xor_activation").set_value("tanh").run()
    at.number_input(key="act_seed").set_value(99).run()
    assert not at.exception
    assert "did not solve XOR" not in joined(at.info)
    with_tanh, without = metrics(at, "Accuracy on the 4 points")
    assert with_tanh == "100 %" and percent(without) <= 100 * best_linear_accuracy()


def test_every_function_and_parameter_extreme():
    at = open_page("activations", "en")
    for name, slider, value in [("sigmoid", None, None), ("tanh", None, None), ("leaky_relu", "act_leaky_slope", 0.0),
                                ("leaky_relu", "act_leaky_slope", 0.5), ("elu", "act_elu_alpha", 0.1),
                                ("elu", "act_elu_alpha", 3.0), ("relu", None, None)]:
        at.selectbox(key="act_function").set_value(name).run()
        if slider:
            at.slider(key=slider).set_value(value).run()
        assert not at.exception, (name, value)
        assert torch_checks(at) == 4 and not at.error, (name, value)


def test_bias_extremes_and_dead_units():
    at = open_page("activations", "en")
    at.selectbox(key="act_kernel").set_value("sobel_x").run()
    at.slider(key="act_bias").set_value(-1.0).run()
    assert not at.exception
    dead = percent(metric(at, "Units with no gradient"))
    # ReLU′ is 0 exactly where the input is ≤ 0, so the dead share is the share of inputs ≤ 0
    assert dead == pytest.approx(percent(metric(at, "Negative before")) + percent(metric(at, "Exact zeros before")),
                                 abs=0.11)
    assert dead > 90 and "pass no gradient" in joined(at.info) and not at.warning
    assert "bias (up to +1)" in joined(at.info)  # advice the bias slider can follow
    at.selectbox(key="act_function").set_value("leaky_relu").run()
    assert metric(at, "Units with no gradient") == "0.0 %"  # leaky ReLU keeps a slope everywhere
    assert "pass no gradient" not in joined(at.info)
    at.selectbox(key="act_function").set_value("relu").run()
    at.slider(key="act_bias").set_value(1.0).run()
    assert not at.exception
    assert percent(metric(at, "Units with no gradient")) < dead


def test_kernels():
    at = open_page("activations", "en")
    for kernel in ("identity", "diff_x", "gaussian_blur", "outline"):
        at.selectbox(key="act_kernel").set_value(kernel).run()
        assert not at.exception, kernel
        if kernel in ("identity", "gaussian_blur"):  # no negative values in a blurred image
            assert metric(at, "Negative before") == "0.0 %"


def test_depth_extremes():
    at = open_page("activations", "en")
    at.slider(key="act_depth").set_value(1).run()
    assert not at.exception
    shallow = float(metric(at, "Sigmoid: gradient at layer 0"))
    at.slider(key="act_depth").set_value(30).run()
    assert not at.exception
    deep = float(metric(at, "Sigmoid: gradient at layer 0"))
    assert deep < 0.25 ** 30 * 10 ** 3 and deep < 1e-10 < shallow  # σ′ ≤ 1/4 per layer, weights ~ He scale
    assert torch_checks(at) == 4


def test_invalid_logits_give_a_message():
    at = open_page("activations", "en")
    for text, words in [("", "Type at least two numbers"), ("2 abc 1", "'abc' is not a number"),
                        ("3", "You typed 1 number(s)"), ("1 2 3 4 5 6 7 8 9", "You typed 9 number(s)"),
                        ("1e7 1", "'1e7' is too large"), ("1e400 1", "'1e400' is not a number"),
                        ("nan 1", "'nan' is not a number")]:
        at.text_input(key="act_logits").input(text).run()
        assert not at.exception, text
        assert words in joined(at.warning), text
    at.text_input(key="act_logits").input("2 1 0.1 -1").run()
    assert not at.warning


def test_large_logits_and_temperature_extremes():
    at = open_page("activations", "en")
    at.text_input(key="act_logits").input("1000, 1001，1002").run()  # commas and a Chinese comma work too
    assert not at.exception
    assert "The textbook formula fails here" in joined(at.warning)
    assert torch_checks(at) == 4
    at.slider(key="act_temperature").set_value(0.1).run()
    assert not at.exception
    at.slider(key="act_temperature").set_value(5.0).run()
    assert not at.exception
    assert "The textbook formula fails here" in joined(at.warning)  # 1002 / 5 is still far above 88


def test_invalid_logits_message_in_chinese():
    at = open_page("activations", "zh")
    at.text_input(key="act_logits").input("1 二").run()
    assert not at.exception
    assert "“二”不是一个数" in joined(at.warning)


def test_every_try_block_of_the_lesson_runs():
    """Apply each "Try it" setting of the English lesson the way the button does, then rerun."""
    at = open_page("activations", "en")
    lesson = parse_lesson((LESSONS / "en" / "activations.md").read_text(encoding="utf-8"))
    blocks = [part for step in lesson.steps for part in step.parts if isinstance(part, TryIt)]
    assert len(blocks) >= 10
    for block in blocks:
        for key, value in block.settings.items():
            at.session_state[key] = value
        at.run()
        assert not at.exception, block.label
        for key, value in block.settings.items():
            assert at.session_state[key] == value, (block.label, key)
