"""The "How a network learns" page under AppTest: every number of the forward pass, the learning rate in words, the
checks against PyTorch, both languages."""

import numpy as np
import pytest
from harness import latex, open_page, texts

from cnn_core.learn import LINE_X, LINE_Y, gradient_descent, parameter_counts, tiny_net, tiny_net_params


def test_defaults_show_every_number_and_every_check_passes():
    at = open_page("learning", "en")
    shown = texts(at)
    forward = tiny_net([1.0, -0.5], 0.5, tiny_net_params(0), "sigmoid")
    # The forward pass with the numbers of cnn_core (first hidden sum 0.3·1 − 0.5·(−0.5) + 0.2 = 0.75).
    assert any(r"\begin{bmatrix}0.75 \\" in body for body in latex(at))
    assert any(f"= {forward.y_hat:.4f}" in body for body in latex(at))
    assert any(f"= {forward.loss:.4f}" in body for body in latex(at))
    # The line w = −2, b = 6 on the five points: the worked numbers of the lesson.
    assert "**L = 31.782**" in shown
    expected = gradient_descent((-2.0, 6.0), 0.1, 50)
    assert expected.outcome == "converged" and "η = 0.1 converged" in shown
    assert shown.count("checked against PyTorch") >= 3 and not at.error
    H, W, C = at.session_state.image["array"].shape
    assert f"{parameter_counts(H, W, C, hidden=1000)['fc']:,}" in shown
    # The fully connected network learns digits, and the shuffle changes nothing.
    held_out = [m for m in at.metric if m.label.startswith("Held-out accuracy")]
    assert len(held_out) == 2 and held_out[0].value == held_out[1].value
    assert float(held_out[0].value.rstrip(" %")) > 85
    assert "shuffling changed nothing" in shown


@pytest.mark.parametrize("lr, words", [(0.01, "is too small"), (0.28, "overshoots"), (0.35, "is too large")])
def test_the_learning_rate_is_explained_in_words(lr, words):
    at = open_page("learning", "en")
    at.select_slider(key="ln_lr").set_value(lr).run()
    assert not at.exception
    shown = texts(at)
    assert words in shown
    assert "nan" not in shown.lower().replace("nanoseconds", "")
    if lr == 0.35:  # divergence is a warning that names the safe limit, computed from the loss
        assert at.warning and f"below {gradient_descent(lr=lr).lr_limit:.3g}" in at.warning[0].value


def test_chinese_page_says_the_same_in_chinese():
    at = open_page("learning", "zh")
    at.select_slider(key="ln_lr").set_value(0.5).run()
    assert not at.exception
    assert "太大了" in at.warning[0].value and "**L = 31.782**" in texts(at)
    assert "收敛" not in at.warning[0].value
    at.slider(key="ln_w").set_value(2.0).run()
    at.slider(key="ln_b").set_value(1.0).run()
    loss = float(np.mean((2 * LINE_X + 1 - LINE_Y) ** 2))
    assert f"**L = {loss:.3f}**" in texts(at)


def test_backprop_numbers_follow_the_widgets_and_match_autograd():
    at = open_page("learning", "en")
    at.radio(key="ln_act").set_value("relu").run()
    at.number_input(key="ln_seed").set_value(3).run()
    at.slider(key="ln_x1").set_value(1.5).run()
    r = tiny_net([1.5, -0.5], 0.5, tiny_net_params(3), "relu")
    bodies = latex(at)
    assert any(r"\mathrm{ReLU}'(z)" in body for body in bodies)
    assert any(f"2(\\hat y - y) = {r.grads['y_hat'][0]:.4f}" in body for body in bodies)
    assert "Our hand-written gradients of W₁, b₁, W₂, b₂: checked against PyTorch" in texts(at) and not at.error


def test_a_learning_rate_that_breaks_training_is_reported_not_crashed():
    at = open_page("learning", "en")
    at.select_slider(key="ln_train_lr").set_value(3.0).run()
    at.slider(key="ln_epochs").set_value(2).run()
    assert not at.exception
    assert at.session_state.ln_train_lr == 3.0  # 3.0 travels through the address bar as "3" and must come back
    shown = texts(at)
    assert "Traceback" not in shown and "nan" not in shown.lower()
    # Either the loss blew up (a warning that says so and names the learning rate) or the run ended stuck.
    diverged = [w.value for w in at.warning if "diverged" in w.value]
    assert (diverged and "(it was 3)" in diverged[0]) or "held-out images it never learned from" in shown
