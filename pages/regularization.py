"""Overfitting, dropout and weight decay: a network that learns a small subset by heart, the same run with each
cure, and dropout on a feature map of the student's image (training mode vs evaluation mode).

Widget keys (lessons' ```try blocks may set them):
  rg_size    50 | 100 | 200 | 500            training digits of the overfitting runs
  rg_p       0.1–0.8                         dropout probability of the "dropout" run
  rg_wd      0.001 | 0.003 | 0.01 | 0.03     weight decay λ of the "weight decay" run
  rg_map_p   0–0.9                           dropout probability on the feature map of your image
  rg_mode    training | evaluation           dropout's mode on the feature map
  rg_mask    0–50                            which random mask (the seed of the NumPy Generator)
Live answer for the lesson: rg_gap_points (the held-out gap without a cure in the student's run, in points).
"""

import numpy as np
import streamlit as st

from cnn_core.conv import conv2d
from cnn_core.dropout import dropout, summarize
from cnn_core.image import to_grayscale
from cnn_core.kernels import get_kernel
from ui.image_source import current_digest, current_image
from ui.networks import shared_runs, train_shared
from ui.page import Choice, Page, Slider
from ui.proof import show_check
from ui.show import map_png, show_colorbar, show_png
from ui.strings import t

SIZES = (50, 100, 200, 500)
DECAYS = (0.001, 0.003, 0.01, 0.03)
CURES = ("none", "dropout", "weight_decay", "augment")
MAP_SIDE = 256  # the feature map is computed on the picture shrunk to this longer side
# Streamlit 1.67 shrinks a chart to fit its height *including* the legend below it (a 170 px chart drew a 20 px
# plot); fitting only the width keeps the plot the height asked for.
AUTOSIZE = {"type": "fit-x", "contains": "padding"}
COLOURS = ("#4c78a8", "#f58518")  # training blue, held-out orange, on every chart and in the lesson


def gap_points() -> float:
    runs = shared_runs("regularization").get(run_key())
    return round(100 * runs["none"].gap, 1)


PAGE = Page("regularization", controls=(
    Choice("rg_size", "reg.size", SIZES, default=100, style="select_slider"),
    Slider("rg_p", "reg.p", 0.1, 0.8, default=0.5, step=0.1),
    Choice("rg_wd", "reg.wd", DECAYS, default=0.01, style="select_slider"),
    Slider("rg_map_p", "reg.map_p", 0.0, 0.9, default=0.5, step=0.05),
    Choice("rg_mode", "reg.mode", ("training", "evaluation"), default="training", style="radio",
           labels="reg.mode_", extra=dict(horizontal=True)),
    Slider("rg_mask", "reg.mask", 0, 50, default=0),
), code=(dropout,), live_answers={"rg_gap_points": gap_points})


def run_key() -> tuple[int, float, float]:
    state = st.session_state
    return int(state.rg_size), round(float(state.rg_p), 2), float(state.rg_wd)


def train_now(key: tuple[int, float, float], progress) -> None:
    from cnn_core.regularize import overfit_demo  # torch loads with the first training, not with the page

    size, p, wd = key
    train_shared("regularization", key, lambda report: overfit_demo(size, p=p, weight_decay=wd, time_limit=20.0,
                                                                    progress=report),
                 progress, t("reg.training", size=size))


def curve_chart(curves) -> dict:
    rows = [{"epoch": epoch + 1, "acc": value, "curve": t(f"reg.curve_{name}")}
            for name, values in (("train", curves.train_acc), ("test", curves.test_acc))
            for epoch, value in enumerate(values)]
    return {"data": {"values": rows}, "mark": {"type": "line"}, "autosize": AUTOSIZE, "height": 170,
            "encoding": {"x": {"field": "epoch", "type": "quantitative", "title": t("reg.axis_epoch")},
                         "y": {"field": "acc", "type": "quantitative", "title": t("reg.axis_acc"),
                               "scale": {"domain": [0, 1]}, "axis": {"format": "%"}},
                         "color": {"field": "curve", "type": "nominal", "title": None, "legend": {"orient": "bottom"},
                                   "scale": {"domain": [t("reg.curve_train"), t("reg.curve_test")],
                                             "range": list(COLOURS)}}}}


def summary_table(runs: dict) -> str:
    lines = [t("reg.table_head"), "|---|---:|---:|---:|---:|"]
    for cure in CURES:
        c = runs[cure]
        lines.append(f"| {t(f'reg.cure_{cure}')} | {c.train_acc[-1]:.1%} | {c.test_acc[-1]:.1%} | "
                     f"{100 * c.gap:.1f} | {c.loss_gap:.2f} |")
    return "\n".join(lines)


@st.fragment
def show_overfitting(page: Page) -> None:
    st.subheader(t("reg.overfit_title"))
    size_column, p_column, wd_column = st.columns(3)
    size = page.draw("rg_size", size_column)
    p = page.draw("rg_p", p_column)
    wd = page.draw("rg_wd", wd_column)
    st.markdown(t("reg.overfit_intro", size=size, p=f"{p:g}", wd=f"{wd:g}"))
    start = st.button(t("reg.train"), type="primary", icon=":material/play_arrow:")
    progress = st.empty()
    key = run_key()
    if start:
        train_now(key, progress)
    runs = shared_runs("regularization").get(key)
    if runs is None:
        st.info(t("reg.press_train"))
        return
    for row in (CURES[:2], CURES[2:]):
        for column, cure in zip(st.columns(2), row, strict=True):
            column.markdown(f"**{t(f'reg.cure_{cure}')}**")
            column.vega_lite_chart(curve_chart(runs[cure]), width="stretch")
    st.markdown(summary_table(runs))
    st.caption(t("reg.table_caption"))
    none = runs["none"]
    shrunk = [t(f"reg.cure_{c}") for c in CURES[1:] if runs[c].loss_gap < none.loss_gap]
    st.markdown(t("reg.verdict", train=f"{none.train_acc[-1]:.0%}", test=f"{none.test_acc[-1]:.1%}",
                  gap=f"{100 * none.gap:.1f}", loss_gap=f"{none.loss_gap:.2f}",
                  shrunk=t("reg.list_separator").join(shrunk) if shrunk else "–"))
    if any(c.stopped == "time" for c in runs.values()):
        st.caption(t("reg.time_cut"))


def map_settings() -> tuple[float, bool, int]:
    state = st.session_state
    return float(state.rg_map_p), state.rg_mode == "training", int(state.rg_mask)


@st.cache_data(show_spinner=False, max_entries=16)
def feature_map(digest: str, _image: np.ndarray) -> np.ndarray:
    """A feature map of the picture: ReLU(Sobel x) on its grayscale, shrunk to MAP_SIDE (vertical edges light up)."""
    gray = to_grayscale(_image)
    step = max(1, int(np.ceil(max(gray.shape) / MAP_SIDE)))
    small = np.ascontiguousarray(gray[::step, ::step])
    K = get_kernel("sobel_x")[None, None].astype(np.float32)
    return np.maximum(conv2d(small[None, None], K, padding=1)[0, 0], 0.0)


@st.cache_data(show_spinner=False, max_entries=64)
def dropped_map(digest: str, p: float, training: bool, mask: int, _X: np.ndarray):
    return _X, dropout(_X, p, training=training, rng=np.random.default_rng(mask)), p


@st.cache_data(show_spinner=False, max_entries=64)
def map_pictures(digest: str, p: float, training: bool, mask: int, _X: np.ndarray, _Y: np.ndarray):
    top = float(max(np.percentile(_X[_X > 0], 99) if (_X > 0).any() else 0.0, 1e-6))  # a few strong edges
    # would otherwise turn everything else dark; the same scale before and after, so survivors ×2 look brighter
    scale = dict(signed=False, vmin=0.0, vmax=top, min_side=1, max_width=420)
    return map_png(_X, **scale), map_png(_Y, **scale)


@st.fragment
def show_dropout_map(page: Page) -> None:
    st.subheader(t("reg.map_title"))
    p_column, mode_column, mask_column = st.columns(3)
    page.draw("rg_map_p", p_column)
    page.draw("rg_mode", mode_column)
    page.draw("rg_mask", mask_column)
    p, training, mask = map_settings()
    X = feature_map(current_digest(), current_image())
    X, Y, _ = dropped_map(current_digest(), p, training, mask, X)
    before, after = map_pictures(current_digest(), p, training, mask, X, Y)
    left, right = st.columns(2)
    with left:
        show_png(before[0], t("reg.map_before", h=X.shape[0], w=X.shape[1]))
    with right:
        show_png(after[0], t(f"reg.map_after_{'training' if training else 'evaluation'}", p=f"{p:g}"))
        show_colorbar(*after[1:])
    s = summarize(X, Y, p)
    a, b, c, d = st.columns(4)
    a.metric(t("reg.mean_before"), f"{s.mean_before:.4f}")
    b.metric(t("reg.mean_after"), f"{s.mean_after:.4f}", delta=f"{s.mean_after - s.mean_before:+.4f}",
             delta_color="off")
    c.metric(t("reg.zeroed"), f"{s.fraction_zeroed:.1%}")
    d.metric(t("reg.scale"), "∞" if p == 1 else f"{s.scale:.3g}")
    if not training:
        st.markdown(t("reg.eval_note"))
        show_check(dropout, X, key=(current_digest(), p), p=p, training=False, label=t("reg.check_eval"))
    elif p > 0:
        kept = Y != 0
        st.markdown(t("reg.train_note", p=f"{p:g}", scale=f"{s.scale:.3g}", zeroed=f"{s.fraction_zeroed:.1%}"))
        difference = float(np.abs(Y[kept] * (1 - p) - X[kept]).max(initial=0.0))  # the rule, measured here
        (st.success if difference <= 1e-5 else st.error)(t("reg.rule_check", diff=f"{difference:.1e}"))


def experiment(page: Page) -> None:
    show_overfitting(page)
    show_dropout_map(page)


if __name__ == "__main__":
    PAGE.run(experiment)
