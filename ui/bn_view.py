"""Display pieces of the batch-normalization page: tensor grids and the charts the browser draws.

Grids are indexed PNGs from cnn_core.batch (encoded once, cached); charts are Vega-Lite specs, so their axis titles
are in the student's language and nothing is drawn by matplotlib on a rerun. No maths here.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn_core.activations import share_of_zeros
from cnn_core.batch import batch_grid_png, batch_mean_spread
from cnn_core.norm import NormError, batch_norm, bn_and_relu
from cnn_core.render import format_number
from ui.errors import show_problem
from ui.page import Page
from ui.proof import show_check
from ui.show import show_histogram, show_png
from ui.strings import labels, t

GRID_WIDTH = 1000  # pixels: the grids are drawn about this wide (maps enlarged by whole factors, hard edges)
COLORS = {"before": "#7f7f7f", "after": "#1f77b4", "scaled": "#d62728", "eval": "#ff7f0e"}


def number(value: float, decimals: int = 2) -> str:
    """A short number for the text: 0.25, 1, 0 (never −0)."""
    return format_number(float(value), decimals)


def kernel_name(name: str) -> str:
    return labels("kernels.", "_name")(name)


def grid_cell(samples: int, gap: int = 4) -> int:
    """Pixels per map so that `samples` columns fill about GRID_WIDTH; 16 … 128."""
    return int(np.clip(GRID_WIDTH // max(1, samples) - gap, 16, 128))


@st.cache_data(show_spinner=False, max_entries=64)
def _grid(key: tuple, options: tuple, _x: np.ndarray) -> tuple[bytes, int]:
    return batch_grid_png(_x, **dict(options))


def show_grid(x: np.ndarray, key: tuple, caption: str, column_width: int = GRID_WIDTH, **options) -> None:
    """An (N, C, H, W) tensor as a grid (cnn_core.batch.batch_grid_png), cached on `key` (what made x) and the
    options; at its own size (enlarged maps keep hard pixel edges), or fitted to the column when wider."""
    png, width = _grid(key, tuple(sorted(options.items())), x)
    show_png(png, caption, "stretch" if width > column_width else width)


def running_chart(curve: np.ndarray, batch_values: np.ndarray, target: float, steps: int, title_y: str) -> None:
    """Running estimate after each step (line), each batch's own value (dots), the population value (dashed)."""
    running, batches, truth = t("batch_norm.series_running"), t("batch_norm.series_batch"), t("batch_norm.series_true")
    rows = [{"step": s, "value": float(v), "series": running} for s, v in enumerate(curve)]
    rows += [{"step": s + 1, "value": float(v), "series": batches} for s, v in enumerate(batch_values)]
    colors = {"domain": [running, batches, truth], "range": [COLORS["after"], "#9ecae1", "#2ca02c"]}
    x = {"field": "step", "type": "quantitative", "title": t("batch_norm.axis_step")}
    y = {"field": "value", "type": "quantitative", "title": title_y, "scale": {"zero": False}}
    color = {"field": "series", "type": "nominal", "scale": colors, "title": None, "legend": {"orient": "bottom"}}
    st.vega_lite_chart({"height": 220, "layer": [  # data inside the layers: sent as is, not via Arrow
        {"data": {"values": rows[len(curve):]}, "mark": {"type": "point", "filled": True, "size": 18},
         "encoding": {"x": x, "y": y, "color": color}},
        {"data": {"values": rows[:len(curve)]}, "mark": {"type": "line", "strokeWidth": 2.5},
         "encoding": {"x": x, "y": y, "color": color}},
        {"data": {"values": [{"value": float(target), "series": truth}]},
         "mark": {"type": "rule", "strokeDash": [6, 4], "strokeWidth": 2}, "encoding": {"y": y, "color": color}},
        {"data": {"values": [{"step": steps}]}, "mark": {"type": "rule", "color": "#444", "strokeWidth": 1},
         "encoding": {"x": x}},
    ]}, width="stretch")


def noise_chart(spread_by_size: np.ndarray, measured: float, batch: int) -> None:
    """Spread of μ_B across batches vs batch size N = 1, 2, …: s/√N (line) and what the training batches showed."""
    rows = [{"N": n, "spread": float(v)} for n, v in enumerate(spread_by_size, start=1)]
    x = {"field": "N", "type": "quantitative", "title": t("batch_norm.axis_batch"), "scale": {"type": "log", "base": 2}}
    y = {"field": "spread", "type": "quantitative", "title": t("batch_norm.axis_spread")}
    st.vega_lite_chart({"height": 200, "layer": [
        {"data": {"values": rows}, "mark": {"type": "line", "color": COLORS["after"]}, "encoding": {"x": x, "y": y}},
        {"data": {"values": [{"N": batch, "spread": float(measured)}]},
         "mark": {"type": "point", "filled": True, "size": 90, "color": COLORS["scaled"]},
         "encoding": {"x": x, "y": y}},
    ]}, width="stretch")


def show_noise(x: np.ndarray, means: np.ndarray, truth, kernels: list[str], batch: int, channel: int,
               max_batch: int) -> None:
    """Section 5: how much μ_B moves from batch to batch, against the batch size; N = 1 and 1×1 maps."""
    st.subheader(t("batch_norm.noise_title"))
    crop_std, measured = float(truth.crop_means[:, channel].std()), float(means[:, channel].std())
    spread = batch_mean_spread(crop_std, max_batch)
    chart, text = st.columns([3, 2])
    with chart:
        noise_chart(spread, measured, batch)
    with text:
        st.markdown(t("batch_norm.noise_text", name=kernel_name(kernels[channel]), n=batch, measured=f"{measured:.3g}",
                      one=f"{crop_std:.3g}", big=f"{spread[-1]:.3g}", nmax=max_batch))
        if batch == 1:
            st.info(t("batch_norm.batch_one", hw=x.shape[2] * x.shape[3]))
    try:
        batch_norm(x.mean(axis=(2, 3), keepdims=True), None, None, training=True)  # (N, C, 1, 1): after global pooling
        st.caption(t("batch_norm.pooled_ok", n=batch))
    except NormError:
        show_problem(t("batch_norm.pooled_fails", c=x.shape[1]))


@st.fragment
def placement_panel(page: Page, key: tuple, x: np.ndarray, kernels: list[str]) -> None:
    """Section 6 (a fragment): conv → BN → ReLU against conv → ReLU → BN, on the maps and their histograms."""
    st.subheader(t("batch_norm.place_title"))
    st.markdown(t("batch_norm.place_intro"))
    channel = kernels.index(page.draw("bn_place_channel"))
    for column, order in zip(st.columns(2), ("bn_relu", "relu_bn"), strict=True):
        out = bn_and_relu(x, order)[:, channel : channel + 1]  # (N, 1, H, W)
        with column:
            st.markdown(t(f"batch_norm.order_{order}"))
            show_grid(out, (*key, order, channel), t("batch_norm.order_caption"), column_width=GRID_WIDTH // 2,
                      samples=8, vmin=-3.0, vmax=3.0, cell=grid_cell(16), signed=True)
            show_histogram(out, COLORS["after"] if order == "bn_relu" else COLORS["eval"], (-3.0, 5.0), height=150)
            st.markdown(t("batch_norm.order_stats", zeros=f"{100 * share_of_zeros(out):.0f}", mean=number(out.mean()),
                          std=number(out.std()), low=number(out.min())))
            show_check(bn_and_relu, x, order, key=(*key, order), label=t(f"batch_norm.check_{order}"))
    st.caption(t("batch_norm.place_caption"))
    if x[:, channel].min() >= 0:
        st.info(t("batch_norm.place_no_negatives", name=kernel_name(kernels[channel])))


def show_tensor(key: tuple, crops: np.ndarray, x: np.ndarray, kernels: list[str], channel: int,
                samples: int) -> None:
    """Section 1: the crops, and the (N, C, H, W) tensor after the conv layer with one channel boxed."""
    N, C, H, W = x.shape
    st.subheader(t("batch_norm.tensor_title"))
    st.markdown(t("batch_norm.tensor_intro", n=N, s=crops.shape[-1]))
    shown = min(N, samples)
    more = t("batch_norm.first_samples", k=shown, n=N) if N > shown else ""
    cell = grid_cell(shown)
    show_grid(crops, (*key, "crops"), t("batch_norm.crops_caption", n=N, s=crops.shape[-1]) + more, samples=samples,
              vmin=0.0, vmax=1.0, cmap="gray", cell=cell)
    show_grid(x, (*key, "maps"), t("batch_norm.maps_caption", n=N, c=C, h=H, w=W, name=kernel_name(kernels[channel]))
              + more, samples=samples, highlight=channel, cell=cell)
    st.markdown(t("batch_norm.shape_line", label=t("common.output_shape"), n=N, c=C, h=H, w=W))
