"""The "Learning a kernel" page under AppTest: d2l's [1, −1] is found, the image run is explained in words, the
divergence limit comes from the image, both languages."""

import re

import numpy as np
import pytest
from harness import open_page, texts

from cnn_core.image import to_grayscale
from cnn_core.learn import d2l_stripe, fit_kernel, kernel_lr_limits
from cnn_core.render import fit_width


def learned_kernels(shown: str) -> list[np.ndarray]:
    """Every kernel the page wrote in a sentence, "[a, b; c, d]" → array."""
    return [np.array([[float(v) for v in row.split(",")] for row in text.split(";")])
            for text in re.findall(r"\[(-?\d[\d., ;-]*)\]", shown)]


def image_limit(at, size: int = 3) -> float:
    return kernel_lr_limits(fit_width(to_grayscale(at.session_state.image["array"]), 128), size)[1]


@pytest.mark.parametrize("lang, converged", [("en", "Converged with η = 0.7"), ("zh", "η = 0.7 时收敛了")])
def test_defaults_find_d2l_edge_detector_and_explain_the_image_run(lang, converged):
    at = open_page("learn_kernel", lang)
    shown = texts(at)
    X, Y = d2l_stripe()
    fit = fit_kernel(X, Y, (1, 2), lr=0.7, steps=40)
    assert fit.outcome == "converged" and converged in shown
    np.testing.assert_allclose(learned_kernels(shown)[0], [[1, -1]], atol=1e-3)  # d2l's kernel, found again
    assert f"{image_limit(at):.3g}" in shown  # the divergence limit of this very image
    assert shown.count("PyTorch") >= 2 and not at.error and not at.warning


def test_too_large_a_step_on_the_stripe_is_stopped_and_explained():
    at = open_page("learn_kernel", "en")
    at.select_slider(key="lk_d2l_lr").set_value(1.5).run()
    assert not at.exception
    warning = at.warning[0].value
    assert "Learning rate 1.5 is too large" in warning and "below 1.4" in warning
    assert "nan" not in texts(at).lower()


def test_chinese_divergence_on_the_image_names_its_limit():
    at = open_page("learn_kernel", "zh")
    at.toggle(key="lk_auto").set_value(False).run()
    at.select_slider(key="lk_lr").set_value(3.0).run()
    assert not at.exception
    warning = at.warning[0].value
    assert "太大了" in warning and f"{image_limit(at):.3g}" in warning


def test_random_pixels_recover_the_hidden_kernel_and_the_step_slider_shows_history():
    at = open_page("learn_kernel", "en")
    at.selectbox(key="lk_target").set_value("hidden").run()
    at.radio(key="lk_source").set_value("noise").run()
    shown = texts(at)
    assert "Converged with η =" in shown
    hidden = np.random.default_rng(0).integers(-2, 3, (3, 3))  # the page's hidden kernel for seed 0
    np.testing.assert_allclose(learned_kernels(shown)[-1], hidden, atol=2e-3)
    assert "The kernel that made the target map" in shown  # revealed at the last step
    at.slider(key="lk_view").set_value(0).run()
    assert not at.exception
    assert "The kernel after step 0" in texts(at) and "Hidden until the last step" in texts(at)


def test_five_by_five_kernel_with_noise_runs_without_errors():
    at = open_page("learn_kernel", "en")
    at.radio(key="lk_size").set_value(5).run()
    at.slider(key="lk_noise").set_value(1.0).run()
    at.slider(key="lk_steps").set_value(1000).run()
    assert not at.exception and not at.error
    assert "the kernel 5 × 5" in texts(at)
