"""The pooling page under AppTest: defaults and extreme widget values, impossible settings, both languages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from harness import latex, open_page, png_bytes, texts

from cnn_core import explain
from cnn_core.image import to_grayscale
from ui.image_source import WORKING_PIXELS
from ui.lesson_format import TryIt, parse_lesson

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
PAGE = Path(__file__).resolve().parents[2] / "pages" / "pooling.py"


def shape_line(at) -> str:
    return next(m.value for m in at.markdown if "→ **(1," in m.value)


def expected_size(n: int, k: int, s: int, p: int = 0, ceil: bool = False) -> int:
    if not ceil:
        return (n + 2 * p - k) // s + 1
    out = -(-(n + 2 * p - k) // s) + 1
    return out - 1 if (out - 1) * s >= n + p else out


def set_widgets(at, **values):
    for key, value in values.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("lang, words", [("en", "Output size, with your numbers"), ("zh", "输出尺寸")])
def test_defaults_show_shape_formula_and_torch_check(lang, words):
    at = open_page("pooling", lang)
    H, W = at.session_state.image["array"].shape[:2]
    assert words in texts(at)
    assert f"(1, 1, {H // 2}, {W // 2})" in shape_line(at)  # 2×2 max pooling, stride 2, gray
    assert any(latex.value.strip("$\n").endswith(f"= {H // 2}") for latex in at.latex)
    assert not at.warning
    assert len(at.success) >= 2  # PyTorch checks: the pooled output and the global average pooling
    assert "max |difference|" in texts(at) or "最大绝对误差" in texts(at)
    assert at.dataframe, "the global average pooling table"
    set_widgets(at, pool_look="gradient")
    assert "25.0 %" in texts(at)  # 2×2 / 2 max pooling: one pixel in four receives a gradient


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_one_closer_look_at_a_time_and_the_worked_numbers_only_when_opened(lang):
    """The four closer looks are drawn one at a time (each costs the browser on every settings move), and the
    worked numbers' expander only while it is open."""
    at = open_page("pooling", lang)
    strings = tomllib.loads((LESSONS / lang / "ui" / "pooling.toml").read_text(encoding="utf-8"))
    titles = {look: strings[f"{name}_title"] for look, name in
              (("lost", "lost"), ("gradient", "grad"), ("noise", "noise"), ("shift", "shift"))}
    for look in ("lost", "gradient", "noise", "shift", "lost"):
        set_widgets(at, pool_look=look)
        shown = {other for other, title in titles.items() if any(title in h.value for h in at.subheader)}
        assert shown == {look}
    patch = max(re.split(r"\{[a-z]+\}", strings["worked_patch"]), key=len)  # its longest fixed words
    assert patch not in texts(at)
    set_widgets(at, _pool_worked_open=True)
    assert patch in texts(at)


def test_moving_kernel_and_stride_changes_the_shape():
    at = open_page("pooling", "en")
    H, W = at.session_state.image["array"].shape[:2]
    before = shape_line(at)
    set_widgets(at, pool_kernel=3, pool_stride=3, pool_padding=1)
    assert shape_line(at) != before
    assert f"(1, 1, {expected_size(H, 3, 3, 1)}, {expected_size(W, 3, 3, 1)})" in shape_line(at)


@pytest.mark.parametrize("kind", ["max", "avg", "lp"])
def test_extreme_windows_in_every_pooling_type(kind):
    at = open_page("pooling", "en")
    H, W = at.session_state.image["array"].shape[:2]
    set_widgets(at, pool_type=kind, pool_kernel=8, pool_stride=8, pool_padding=4, pool_ceil=True, pool_norm=8,
                pool_count_pad=False)
    assert not at.warning
    p = 0 if kind == "lp" else 4  # torch's lp_pool2d has no padding
    assert f"(1, 1, {expected_size(H, 8, 8, p, True)}, {expected_size(W, 8, 8, p, True)})" in shape_line(at)
    set_widgets(at, pool_kernel=1, pool_stride=1, pool_padding=0, pool_ceil=False, pool_norm=1)
    assert f"(1, 1, {H}, {W})" in shape_line(at)  # a 1×1 window changes nothing
    assert not at.error  # every PyTorch check passed


@pytest.mark.parametrize("lang, words", [("en", "more than half the window"), ("zh", "超过了窗口")])
def test_padding_over_half_the_window_is_refused_with_a_sentence(lang, words):
    at = open_page("pooling", lang)
    set_widgets(at, pool_kernel=2, pool_padding=3)
    assert len(at.warning) == 1 and words in at.warning[0].value
    assert "Traceback" not in texts(at)
    set_widgets(at, pool_kernel=6)
    assert not at.warning


def test_sources_rgb_and_feature_maps():
    at = open_page("pooling", "en")
    H, W = at.session_state.image["array"].shape[:2]
    set_widgets(at, pool_source="rgb")
    assert f"(1, 3, {H // 2}, {W // 2})" in shape_line(at)
    for name in ("sobel_x", "laplacian", "gaussian_blur"):
        set_widgets(at, pool_source="feature", pool_feature=name, pool_type="avg")
        assert f"(1, 1, {H // 2}, {W // 2})" in shape_line(at)
        assert not at.error


def test_lp_pooling_of_a_signed_feature_map_warns_about_nan():
    """Odd p on a map with negative values: (negative sum)^(1/p) is NaN in torch too; the page says so."""
    at = open_page("pooling", "en")
    set_widgets(at, pool_source="feature", pool_feature="sobel_x", pool_type="lp", pool_norm=3)
    assert any("NaN" in w.value for w in at.warning)
    assert not at.error  # NaNs in the same places as torch, so the check still passes
    set_widgets(at, pool_norm=2)
    assert not at.warning


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_noise_shift_and_crop_extremes(lang):
    at = open_page("pooling", lang)
    set_widgets(at, pool_look="noise")
    for kind in ("gaussian", "salt", "pepper"):
        set_widgets(at, pool_noise_kind=kind, pool_noise=0.5)
    set_widgets(at, pool_noise=0.0)
    assert "0.0000" in texts(at)  # no noise, no change
    set_widgets(at, pool_look="lost", pool_crop_row=0, pool_crop_col=100)
    set_widgets(at, pool_crop_row=100, pool_crop_col=0)
    set_widgets(at, pool_look="shift")
    set_widgets(at, pool_shift=4, pool_shift_dir="down", pool_crop_row=0, pool_crop_col=100)
    set_widgets(at, pool_shift=2, pool_crop_row=100, pool_crop_col=0)
    # a shift by the stride (2) moves the output instead of leaving it in place: the page points this out
    assert "multiple of the stride" in texts(at) or "整数倍" in texts(at)


def test_gaussian_noise_moves_max_pooling_more_than_average_pooling():
    at = open_page("pooling", "en")
    set_widgets(at, pool_look="noise", pool_noise_kind="gaussian", pool_noise=0.2)
    values = {m.label: float(m.value) for m in at.metric if "mean |change|" in m.label}
    assert values["Max-pooled: mean |change|"] > values["Average-pooled: mean |change|"]


def test_every_try_button_setting_of_both_lessons_runs():
    at = open_page("pooling", "en")
    for lang in ("en", "zh"):
        lesson = parse_lesson((LESSONS / lang / "pooling.md").read_text(encoding="utf-8"))
        for step in lesson.steps:
            for part in step.parts:
                if isinstance(part, TryIt):
                    set_widgets(at, **part.settings)
                    assert not at.warning and not at.error, part.label
                    if "pool_look" in part.settings:  # a Try-it about noise, a shift, … opens that closer look
                        title = {"lost": "Up close", "gradient": "gradient flow back", "noise": "add noise",
                                 "shift": "move the image"}[part.settings["pool_look"]]
                        assert any(title in h.value for h in at.subheader), part.label


def test_lesson_try_button_sets_the_widgets():
    at = open_page("pooling", "en")
    at.query_params["step"] = "3"
    at.run()
    next(b for b in at.button if "ResNet" in b.label).click().run()
    assert not at.exception
    assert (at.slider(key="pool_kernel").value, at.slider(key="pool_stride").value,
            at.slider(key="pool_padding").value) == (3, 2, 1)


@pytest.mark.parametrize("lang, words", [("en", "does not fit"), ("zh", "放不进")])
def test_tiny_upload_too_small_for_the_window(lang, words):
    at = open_page("pooling", lang)
    at.selectbox(key="image_source").set_value("upload").run()
    tiny = (np.arange(5 * 7).reshape(5, 7) * 7 % 256).astype(np.uint8)
    at.file_uploader(key="upload_file").upload("tiny.png", png_bytes(tiny), "image/png").run()
    assert not at.exception
    assert "(1, 1, 2, 3)" in shape_line(at)
    set_widgets(at, pool_kernel=8, pool_padding=0)
    assert any(words in w.value for w in at.warning)
    assert at.dataframe  # global average pooling still works
    set_widgets(at, pool_source="rgb")  # a gray upload has no colour channels: pooled as gray, and the page says so
    assert "only one channel" in texts(at) or "只有一个通道" in texts(at)


def test_single_pixel_upload_with_a_1x1_window():
    at = open_page("pooling", "en")
    at.selectbox(key="image_source").set_value("upload").run()
    at.file_uploader(key="upload_file").upload("dot.png", png_bytes(np.full((1, 1, 3), 200, np.uint8)), "image/png").run()
    assert not at.exception
    assert any("does not fit" in w.value for w in at.warning)  # the default 2×2 window
    set_widgets(at, pool_kernel=1, pool_stride=1, pool_shift=4, pool_noise=0.5, pool_noise_kind="salt")
    assert "(1, 1, 1, 1) → **(1, 1, 1, 1)**" in shape_line(at)
    for look in ("gradient", "noise", "shift"):  # every closer look copes with one pixel
        set_widgets(at, pool_look=look)


def test_every_string_the_page_names_exists():
    """Literal t("pooling.…") keys, the option labels built from prefixes, and a sentence in errors.toml for every
    reason a pooling op can give (the limits arrive as details, never written twice)."""
    source = PAGE.read_text(encoding="utf-8") + "".join((PAGE.parents[1] / "ui" / name).read_text(encoding="utf-8")
                                                        for name in ("worked.py", "pool_view.py"))
    strings = {}
    for lang in ("en", "zh"):
        with (LESSONS / lang / "ui" / "pooling.toml").open("rb") as file:
            strings[lang] = tomllib.load(file)
        with (LESSONS / lang / "ui" / "errors.toml").open("rb") as file:
            errors = tomllib.load(file)
        reasons = set(re.findall(r'PoolError\([^)]*?"([a-z_]+)"', (PAGE.parents[1] / "cnn_core" / "pool.py").read_text()
                                 + (PAGE.parents[1] / "cnn_core" / "explain.py").read_text(), flags=re.S))
        assert reasons and reasons - set(errors) == set(), lang
    used = set(re.findall(r't\("pooling\.([a-z_]+)"', source))
    used |= {f"{prefix}_{option}" for prefix, options in (
        ("source", ("gray", "rgb", "feature")), ("type", ("max", "avg", "lp")),
        ("noise", ("gaussian", "salt", "pepper")), ("dir", ("right", "down")),
        ("change", ("max", "avg")), ("change_map", ("max", "avg")), ("lost_metric", ("max", "avg")),
        ("look", ("lost", "gradient", "noise", "shift")),
        ("", ("noise_title", "shift_title", "noise_caption", "shift_caption", "lost_title", "lost_caption",
              "grad_title", "grad_caption"))) for option in options}
    used = {key.lstrip("_") for key in used}
    assert used - set(strings["en"]) == set()
    assert set(strings["en"]) == set(strings["zh"])
    assert not any(key.startswith("error_") for key in strings["en"])  # the sentences live in errors.toml


@pytest.mark.parametrize("kind, settings", [
    ("max", dict(pool_kernel=2, pool_stride=2, pool_padding=0)),
    ("max", dict(pool_kernel=3, pool_stride=2, pool_padding=1, pool_ceil=True)),
    ("avg", dict(pool_kernel=3, pool_stride=1, pool_padding=1, pool_count_pad=False)),
])
def test_the_explained_output_is_the_window_torch_pools(kind, settings):
    """Point at an input pixel: the page explains the output whose window is centred nearest to it, and its
    numbers are torch's (the max, where it sat, the mean)."""
    import torch
    import torch.nn.functional as F

    at = open_page("pooling", "en")
    set_widgets(at, pool_type=kind, pool_row=300, pool_col=400, **settings)
    gray = torch.from_numpy(to_grayscale(at.session_state.image["array"]))[None, None]
    k, s, p = settings["pool_kernel"], settings["pool_stride"], settings["pool_padding"]
    ceil, count_pad = settings.get("pool_ceil", False), settings.get("pool_count_pad", True)
    i, j = explain.window_of(300, k, s, p, 10**6), explain.window_of(400, k, s, p, 10**6)
    assert i * s - p <= 300 < i * s - p + k and j * s - p <= 400 < j * s - p + k  # its window holds the pixel
    Y, indices = F.max_pool2d(gray, k, s, p, ceil_mode=ceil, return_indices=True)
    mean = F.avg_pool2d(gray, k, s, p, ceil, count_pad)[0, 0, i, j].item()
    text = texts(at)
    assert f"at ({i}, {j})" in text
    maximum = float(next(body for body in latex(at) if body.startswith(r"\max(")).rsplit("=", 1)[1])
    assert maximum == pytest.approx(Y[0, 0, i, j].item(), abs=5e-5)
    assert f"flat index {indices[0, 0, i, j].item()}" in text
    fraction = next(body for body in latex(at) if body.startswith(r"\frac"))
    assert float(fraction.rsplit("=", 1)[1]) == pytest.approx(mean, rel=1e-3)
    holds = float(re.search(r"holds (-?[\d.e-]+) at", text).group(1))
    assert holds == pytest.approx((Y if kind == "max" else F.avg_pool2d(gray, k, s, p, ceil, count_pad))
                                  [0, 0, i, j].item(), rel=1e-3)


@pytest.mark.parametrize("lang, words", [("en", "this page works on a 627 × 627 copy"), ("zh", "缩小后的 627 × 627 副本")])
def test_a_big_upload_is_pooled_as_a_smaller_copy_and_the_page_says_so(lang, words):
    """A 1024² photo has 2.7 times the sample's pixels: each setting pools a 627² area-averaged copy (the whole
    image's mean kept), the shapes, bounds and clicks are the copy's, and the page says so."""
    at = open_page("pooling", lang)
    at.selectbox(key="image_source").set_value("upload").run()
    ramp = np.linspace(0, 255, 1024, dtype=np.float32)
    photo = np.stack([np.add.outer(ramp, ramp) / 2, np.tile(ramp, (1024, 1)), np.full((1024, 1024), 90.0)], axis=-1)
    at.file_uploader(key="upload_file").upload("big.png", png_bytes(photo.astype(np.uint8)), "image/png").run()
    assert not at.exception, at.exception
    image, copy = at.session_state.image["array"], at.session_state.image["copies"][WORKING_PIXELS]
    assert image.shape == (1024, 1024, 3) and copy.shape == (627, 627, 3)
    np.testing.assert_allclose(copy.mean(axis=(0, 1)), image.mean(axis=(0, 1)), atol=2e-3)
    assert words in texts(at)
    assert "(1, 1, 627, 627) → **(1, 1, 313, 313)**" in shape_line(at)
    set_widgets(at, pool_row=1000, pool_col=-5)  # the explained pixel lies on the copy
    assert (at.session_state.pool_row, at.session_state.pool_col) == (626, 0)


def test_the_lesson_asks_for_the_pooled_width_of_the_page_now():
    """The live question of the last step is filled in from the page (the sample is 768 pixels wide) and checked
    against the width the page computes; after a move it is asked again with the new numbers."""
    from ui.lesson import load_lesson

    steps = load_lesson("pooling", "en").steps
    part = next(i for i, quiz in enumerate(steps[-1].parts) if getattr(quiz, "live", None) == "pool_output_width")
    at = open_page("pooling", "en")
    at.query_params["step"] = str(len(steps))
    at.run()
    assert "Your input on the page is 768 pixels wide. With max pooling, window 2, stride 2, padding 0" in texts(at)
    right_before = len(at.success)  # the PyTorch checks are successes too
    at.number_input(key=f"quiz_pooling_en_{len(steps) - 1}_{part}").set_value(384).run()
    assert len(at.success) == right_before + 1
    set_widgets(at, pool_kernel=3, pool_stride=2, pool_padding=1, pool_ceil=True)
    assert "window 3, stride 2, padding 1" in texts(at)
