"""The activations page under AppTest: default and extreme widget values, every lesson "try" setting, both languages."""

from pathlib import Path

import pytest
from harness import open_page, texts

from ui.lesson_format import TryIt, parse_lesson

LESSONS = Path(__file__).resolve().parents[2] / "lessons"


def metric(at, label_start: str) -> str:
    """The value of the first metric whose label starts with `label_start`."""
    return next(m.value for m in at.metric if m.label.startswith(label_start))


def metrics(at, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def warnings(at) -> str:
    return "\n".join(w.value for w in at.warning)


@pytest.fixture(scope="module")
def page():
    """One English page reused by the tests that move widgets (each test sets what it relies on)."""
    return open_page("activations", "en")


@pytest.mark.parametrize("lang, title, accuracy", [
    ("en", "Two linear layers without an activation are one layer", "Accuracy on the 4 points"),
    ("zh", "没有激活函数的两个线性层,就是一个线性层", "四个点上的准确率"),
])
def test_default_page_in_both_languages(lang, title, accuracy):
    at = open_page("activations", lang)
    assert not at.exception
    assert title in texts(at)
    assert metrics(at, accuracy) == ["100 %", "50 %"]  # with ReLU: solved; without an activation: on the fence
    assert len([s for s in at.success if "PyTorch" in s.value]) == 3  # functions, feature map, softmax
    assert not at.warning
    assert any(r"W = W_2 W_1" in str(element.value) for element in at.latex)


def test_collapse_seeds(page):
    at = page
    for seed in (999, 0):
        at.number_input(key="act_collapse_seed").set_value(seed).run()
        assert not at.exception
        assert metric(at, "Largest difference") == "0.0e+00"


def test_xor_extremes(page):
    at = page
    at.slider(key="act_hidden").set_value(1).run()
    at.slider(key="act_steps").set_value(50).run()
    at.select_slider(key="act_lr").set_value(0.001).run()
    assert not at.exception
    assert "did not solve XOR" in warnings(at)
    at.slider(key="act_hidden").set_value(32).run()
    at.slider(key="act_steps").set_value(1000).run()
    at.select_slider(key="act_lr").set_value(0.3).run()
    at.radio(key="act_xor_activation").set_value("tanh").run()
    at.number_input(key="act_seed").set_value(99).run()
    assert not at.exception
    assert "did not solve XOR" not in warnings(at)
    assert metrics(at, "Accuracy on the 4 points")[0] == "100 %"
    assert float(metrics(at, "Accuracy on the 4 points")[1].rstrip(" %")) <= 75
    for key, value in (("act_hidden", 16), ("act_steps", 300)):
        at.slider(key=key).set_value(value).run()
    at.select_slider(key="act_lr").set_value(0.03).run()
    at.radio(key="act_xor_activation").set_value("relu").run()
    at.number_input(key="act_seed").set_value(0).run()


@pytest.mark.parametrize("name, slider, value", [
    ("relu", None, None), ("sigmoid", None, None), ("tanh", None, None),
    ("leaky_relu", "act_leaky_slope", 0.0), ("leaky_relu", "act_leaky_slope", 0.5),
    ("elu", "act_elu_alpha", 0.1), ("elu", "act_elu_alpha", 3.0),
])
def test_every_function_and_parameter_extreme(page, name, slider, value):
    at = page
    at.selectbox(key="act_function").set_value(name).run()
    if slider:
        at.slider(key=slider).set_value(value).run()
    assert not at.exception
    assert len([s for s in at.success if "PyTorch" in s.value]) == 3
    assert not at.error
    at.selectbox(key="act_function").set_value("relu").run()


def test_bias_extremes_and_dead_units(page):
    at = page
    at.selectbox(key="act_function").set_value("relu").run()
    at.selectbox(key="act_kernel").set_value("sobel_x").run()
    at.slider(key="act_bias").set_value(-1.0).run()
    assert not at.exception
    assert "pass no gradient" in warnings(at)
    dead = float(metric(at, "Units with no gradient").rstrip(" %"))
    assert dead > 90
    at.selectbox(key="act_function").set_value("leaky_relu").run()
    assert metric(at, "Units with no gradient") == "0.0 %"  # leaky ReLU keeps a slope everywhere
    assert "pass no gradient" not in warnings(at)
    at.selectbox(key="act_function").set_value("relu").run()
    at.slider(key="act_bias").set_value(1.0).run()
    assert not at.exception
    assert float(metric(at, "Units with no gradient").rstrip(" %")) < dead
    at.slider(key="act_bias").set_value(0.0).run()


@pytest.mark.parametrize("kernel", ["identity", "diff_x", "gaussian_blur", "outline"])
def test_kernels(page, kernel):
    at = page
    at.selectbox(key="act_kernel").set_value(kernel).run()
    assert not at.exception
    if kernel in ("identity", "gaussian_blur"):  # no negative values in a blurred image
        assert metric(at, "Negative before") == "0.0 %"
    at.selectbox(key="act_kernel").set_value("sobel_x").run()


def test_depth_extremes(page):
    at = page
    at.slider(key="act_depth").set_value(1).run()
    assert not at.exception
    shallow = float(metric(at, "Sigmoid: gradient at layer 0"))
    at.slider(key="act_depth").set_value(30).run()
    assert not at.exception
    deep = float(metric(at, "Sigmoid: gradient at layer 0"))
    assert deep < 1e-10 < shallow
    at.slider(key="act_depth").set_value(10).run()


@pytest.mark.parametrize("text, words", [
    ("", "Type at least two numbers"),
    ("2 abc 1", "'abc' is not a number"),
    ("3", "You typed 1 number(s)"),
    ("1 2 3 4 5 6 7 8 9", "You typed 9 number(s)"),
    ("1e7 1", "'1e7' is too large"),
    ("1e400 1", "'1e400' is not a number"),
    ("nan 1", "'nan' is not a number"),
])
def test_invalid_logits_give_a_message(page, text, words):
    at = page
    at.text_input(key="act_logits").input(text).run()
    assert not at.exception
    assert words in warnings(at)
    at.text_input(key="act_logits").input("2 1 0.1 -1").run()
    assert not at.warning


def test_large_logits_and_temperature_extremes(page):
    at = page
    at.text_input(key="act_logits").input("1000, 1001，1002").run()  # commas and a Chinese comma work too
    assert not at.exception
    assert "The textbook formula fails here" in warnings(at)
    assert any("PyTorch" in s.value for s in at.success)
    at.slider(key="act_temperature").set_value(0.1).run()
    assert not at.exception
    at.slider(key="act_temperature").set_value(5.0).run()
    assert not at.exception
    assert "The textbook formula fails here" in warnings(at)  # 1002 / 5 is still far above 88
    at.text_input(key="act_logits").input("2 1 0.1 -1").run()
    at.slider(key="act_temperature").set_value(1.0).run()
    assert not at.warning


def test_invalid_logits_message_in_chinese():
    at = open_page("activations", "zh")
    at.text_input(key="act_logits").input("1 二").run()
    assert not at.exception
    assert "“二”不是一个数" in warnings(at)


def test_every_try_block_of_the_lesson_runs(page):
    """Apply each "Try it" setting of the English lesson the way the button does, then rerun."""
    at = page
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
