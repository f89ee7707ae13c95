"""Display pieces of the pooling page: its cached work (every pooled result, once per input and settings), the
up-close panel (what pooling loses, or where the gradient flows) and the robustness panels (noise, shift).

The page shows one of the four at a time (its "Look closer" choice): every element drawn costs the browser ~1.5 ms
on each settings move, and the four together are about half of the page's. Each panel is a fragment: moving the
crop, the noise or the shift reruns that panel alone.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn_core import explain
from cnn_core.pool_backward import pool_gradients
from cnn_core.render import colorbar_html, to_png, up_close_pictures
from ui.page import Page
from ui.proof import show_check
from ui.show import map_png, show_gallery
from ui.strings import t

CROP, ZOOM = 24, 240  # the zoomed crop (input pixels) and its pictures on screen (px: 10 screen px a pixel)


# Big read-only arrays: cache_resource hands back the same object (cache_data unpickles ~10 MB on every rerun).
@st.cache_resource(show_spinner=False, max_entries=8)
def pooling_input(digest: str, source: str, feature: str, _image: np.ndarray) -> np.ndarray:
    return explain.pooling_input(_image, source, feature)


@st.cache_resource(show_spinner=False, max_entries=24)
def computed(key: tuple, what: tuple, _X: np.ndarray):
    """Every pooled result of the page, cached on (input, what): key = (digest, source, feature)."""
    name, *args = what
    if name == "pool":
        with np.errstate(invalid="ignore"):
            return explain.pool(_X, *args)
    if name == "loss":
        loss, grads = explain.pooling_loss(_X, *args), pool_gradients(_X, *args)
        return {**loss, "grads": grads, "summary": explain.loss_summary(loss, grads)}
    if name == "global":  # _X is the image here: its channels and every kernel's ReLU map
        return explain.global_pool_layer(_X)
    how, pooling = args
    change = explain.pooled_change(_X, changed_input(key, how, _X), *pooling)
    return {**change, "pngs": [map_png(change[n][0].mean(axis=0), signed=True, max_width=380) for n in ("max", "avg")]}


@st.cache_resource(show_spinner=False, max_entries=8)
def changed_input(key: tuple, how: tuple, _X: np.ndarray) -> np.ndarray:
    """The noisy or shifted input, once per (input, how): ("noise", kind, amount) or ("shift", pixels, direction)."""
    return (explain.add_noise if how[0] == "noise" else explain.shift)(_X, how[1], how[2])


@st.cache_data(show_spinner=False, max_entries=32)
def zoom_pngs(key: tuple, what: tuple, crop: tuple, scale: tuple, _X: np.ndarray, _results: dict):
    """The up-close pictures of one crop, encoded once at the size they are shown (240 px: 10 screen px a pixel)."""
    pictures, limit, top_grad = up_close_pictures(_X, _results, _results["grads"], crop, what[2], what[3], scale, ZOOM)
    return [to_png(picture) for picture in pictures], limit, top_grad


@st.fragment
def show_up_close(page: Page, X: np.ndarray, key: tuple, scale: dict, settings: tuple, look: str) -> None:
    """A zoomed crop (its sliders move this panel alone), and on it either what pooling loses (max vs average,
    pooled and blown back up) or where the gradient flows back to (look = "lost" | "gradient")."""
    k, s, p, ceil, count_pad = settings[1:6]
    title, caption = ("lost_title", "lost_caption") if look == "lost" else ("grad_title", "grad_caption")
    st.subheader(t(f"pooling.{title}"))
    st.caption(t(f"pooling.{caption}"))
    row_column, col_column = st.columns(2)
    crop = explain.crop_box(*X.shape[2:], page.draw("pool_crop_row", row_column), page.draw("pool_crop_col", col_column),
                            CROP)
    what = ("loss", k, s, p, ceil, count_pad)
    results = computed(key, what, X)
    summary = results["summary"]
    pngs, limit, top_grad = zoom_pngs(key, what, crop, tuple(scale.values()), X, results)
    if look == "gradient":
        show_gallery(pngs[5:], [t(f"pooling.{c}") for c in ("grad_lit_caption", "grad_max_caption", "grad_avg_caption")],
                     [None] + [colorbar_html(0.0, top_grad, "viridis", ZOOM)] * 2)
        first, second = st.columns(2)
        first.metric(t("pooling.grad_reached_max"), f"{100 * summary['reached_max']:.1f} %")
        second.metric(t("pooling.grad_reached_avg"), f"{100 * summary['reached_avg']:.1f} %")
        show_check(pool_gradients, X, k, s, p, ceil, count_pad, key=(*key, *what), label=t("pooling.grad_check_label"),
                   on_copy=0)
        return
    show_gallery(pngs[:3], [t("pooling.crop_caption", h=crop[2], w=crop[3], top=crop[0], left=crop[1])]
                 + [t("pooling.upsampled_caption", type=t(f"pooling.type_{n}")) for n in ("max", "avg")])
    metrics, maps = st.columns([1, 2])
    with metrics:
        for name in ("max", "avg"):
            st.metric(t(f"pooling.lost_metric_{name}"), f"{summary[f'lost_{name}']:.4f}")
        st.caption(t("pooling.lost_max_sign", share=f"{100 * summary['max_not_below']:.0f}"))
    with maps:
        show_gallery(pngs[3:5], [t("pooling.lost_map_caption", type=t(f"pooling.type_{n}")) for n in ("max", "avg")],
                     [colorbar_html(-limit, limit, "RdBu_r", ZOOM)] * 2, columns=2)


@st.fragment
def robustness(page: Page, X: np.ndarray, key: tuple, pooling: tuple, which: str) -> None:
    """Noise or a shift: how much do the pooled outputs change? (Each moves on its own.)"""
    st.subheader(t(f"pooling.{which}_title"))
    st.caption(t(f"pooling.{which}_caption"))
    left, right = st.columns([1, 1] if which == "noise" else [2, 1])  # the noise kinds' names whole
    keys = ("pool_noise_kind", "pool_noise") if which == "noise" else ("pool_shift", "pool_shift_dir")
    how = (which, page.draw(keys[0], left), page.draw(keys[1], right))
    change = computed(key, ("change", how, pooling), X)
    base = float(np.abs(change["input"]).mean())
    columns = st.columns(3)
    columns[0].metric(t("pooling.change_input"), f"{base:.4f}")
    for column, name in zip(columns[1:], ("max", "avg"), strict=True):
        value = float(np.abs(change[name]).mean())
        column.metric(t(f"pooling.change_{name}"), f"{value:.4f}",
                      t("pooling.change_ratio", ratio=f"{value / base:.2f}" if base > 0 else "—"),
                      delta_color="off", delta_arrow="off")
    show_gallery([png for png, *_ in change["pngs"]], [t(f"pooling.change_map_{n}") for n in ("max", "avg")],
                 [colorbar_html(lo, hi, cmap, 380) for _, lo, hi, cmap in change["pngs"]], columns=2, width="stretch")
    if which == "noise":
        st.caption(t("pooling.noise_bias", **{n: f"{float(change[n].mean()):+.4f}" for n in ("max", "avg")}))
    elif how[1] % pooling[1] == 0:
        st.caption(t("pooling.shift_multiple", s=pooling[1]))
