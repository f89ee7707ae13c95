"""Batch normalization: a mini-batch made from the student's image, normalised channel by channel.

Widget keys (lessons' ```try blocks may set them):
  "bn_kernels"     list of 3×3 kernel names (cnn_core.batch.LAYER_KERNELS): the conv layer's filters = the channels
  "bn_batch"       batch size N, 1 … 32
  "bn_crop"        crop side in pixels: 32 | 48 | 64 | 96 (smaller when the picture is narrower)
  "bn_seed"        which random mini-batch, 0 … 999
  "bn_channel"     the channel (a kernel name) whose statistics are worked out and boxed
  "bn_gamma_<kernel>", "bn_beta_<kernel>"   γ (−2 … 3) and β (−3 … 3) of every channel shown, e.g.
                   "bn_gamma_sobel_x", "bn_beta_sobel_x", "bn_gamma_sobel_y", "bn_beta_sobel_y",
                   "bn_gamma_laplacian", "bn_beta_laplacian", "bn_gamma_box_blur", "bn_beta_box_blur";
                   they live in a fragment, so moving one reruns only its panel
  "bn_place_channel"  the channel shown in the placement comparison (default: the first with negative values)
  "bn_momentum"    PyTorch's momentum: the weight of the new batch in the running estimates, 0 … 1
  "bn_steps"       training steps before evaluating, 0 … 100;  buttons "bn_next" (+1 step) and "bn_reset" (0)
"""

import numpy as np
import streamlit as st
import torch
import torch.nn.functional as F

from cnn_core.batch import (
    LAYER_KERNELS,
    WORK_SIDE,
    batch_grid_png,
    conv_layer,
    fit_side,
    make_batch,
    population_stats,
    stream_stats,
)
from cnn_core.image import to_grayscale
from cnn_core.norm import (
    BatchNormSteps,
    batch_norm,
    batch_norm_latex,
    batch_norm_steps,
    bn_and_relu,
    channel_stats,
    running_stats_curve,
    update_running_stats,
)
from cnn_core.render import format_number
from ui.image_source import current_digest, current_image
from ui.lesson import show_lesson
from ui.show import show_code, show_histogram, show_png, show_problem, show_torch_check
from ui.strings import labels, t

DEFAULT_KERNELS = ["sobel_x", "sobel_y", "laplacian", "box_blur"]
MAX_CHANNELS = 6
CROPS = (32, 48, 64, 96)
MAX_BATCH = 32
T_MAX = 100  # training steps computed (and cached) at once; the steps slider picks one of them
POPULATION = 256  # crops behind the "true" statistics
SHOWN = 16  # samples drawn in each grid
GRID_WIDTH = 1000  # pixels: the grids are drawn about this wide (maps enlarged by whole factors, hard edges)
NORMALISED_RANGE = 4.0  # fixed colour scale ±4 for normalised maps, so γ and β visibly change them
HISTOGRAM_RANGE = (-6.0, 6.0)
COLORS = {"before": "#7f7f7f", "after": "#1f77b4", "scaled": "#d62728", "eval": "#ff7f0e"}


# ---------------------------------------------------------------------------------------------------------------
# Cached computations (keyed on the image digest and the settings; arrays are passed as _underscore arguments)
# ---------------------------------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=8)
def work_picture(digest: str, _image: np.ndarray) -> np.ndarray:
    """The grayscale picture, resized so its longer side is WORK_SIDE pixels (small tensors, fast reruns)."""
    return fit_side(to_grayscale(_image), WORK_SIDE)


@st.cache_data(show_spinner=False, max_entries=6)  # up to ~35 MB each at batch 32, crop 96, 6 channels
def layer_output(digest: str, kernels: tuple, batch: int, crop: int, seed: int, _gray: np.ndarray):
    """The mini-batch shown (the first batch of the training stream), its conv maps and their statistics."""
    crops = make_batch(_gray, batch, crop, seed=(seed, 0, 0))  # (N, 1, S, S)
    x = conv_layer(crops, kernels)  # (N, C, S − 2, S − 2)
    return crops, x, batch_norm_steps(x)


@st.cache_data(show_spinner=False, max_entries=16)
def training_stream(digest: str, kernels: tuple, batch: int, crop: int, seed: int, _gray: np.ndarray):
    """Batch means and variances of T_MAX consecutive training batches."""
    return stream_stats(_gray, kernels, batch, crop, T_MAX, seed)


@st.cache_data(show_spinner=False, max_entries=8)
def population(digest: str, kernels: tuple, crop: int, seed: int, _gray: np.ndarray):
    return population_stats(_gray, kernels, crop, seed, samples=POPULATION)


@st.cache_data(show_spinner=False, max_entries=16)
def torch_difference(digest: str, kernels: tuple, batch: int, crop: int, seed: int, _x: np.ndarray) -> float:
    """Max |ours − torch| for training-mode batch norm and three running-statistic updates on this tensor."""
    C = _x.shape[1]
    mean, var = np.zeros(C, np.float32), np.ones(C, np.float32)
    torch_mean, torch_var = torch.zeros(C), torch.ones(C)
    worst = 0.0
    for _ in range(3):
        ours = batch_norm(_x, mean, var, training=True)
        theirs = F.batch_norm(torch.from_numpy(_x), torch_mean, torch_var, training=True).numpy()
        worst = max(worst, float(np.abs(ours - theirs).max()), float(np.abs(mean - torch_mean.numpy()).max()),
                    float(np.abs(var - torch_var.numpy()).max()))
    return worst


# ---------------------------------------------------------------------------------------------------------------
# Display helpers: pictures and browser-drawn charts (axis titles translated; no words inside matplotlib)
# ---------------------------------------------------------------------------------------------------------------

def grid_cell(samples: int, gap: int = 4) -> int:
    """Pixels per map so that `samples` columns fill about GRID_WIDTH; 16 … 128."""
    return int(np.clip(GRID_WIDTH // max(1, samples) - gap, 16, 128))


def show_grid(grid: tuple[bytes, int], caption: str, column_width: int = GRID_WIDTH) -> None:
    """A grid (PNG bytes, width) at its own size (enlarged maps keep hard pixel edges), or fitted to the column."""
    png, width = grid
    show_png(png, caption, "stretch" if width > column_width else width)


def number(value: float, decimals: int = 2) -> str:
    """A short number for the text: 0.25, 1, 0 (never −0)."""
    return format_number(float(value), decimals)


def running_chart(curve: np.ndarray, batch_values: np.ndarray, target: float, steps: int, title_y: str) -> None:
    """Running estimate after each step (line), each batch's own value (dots), the population value (dashed)."""
    running, batches, truth = t("batch_norm.series_running"), t("batch_norm.series_batch"), t("batch_norm.series_true")
    rows = [{"step": s, "value": float(v), "series": running} for s, v in enumerate(curve)]
    rows += [{"step": s + 1, "value": float(v), "series": batches} for s, v in enumerate(batch_values)]
    colors = {"domain": [running, batches, truth], "range": [COLORS["after"], "#9ecae1", "#2ca02c"]}
    x = {"field": "step", "type": "quantitative", "title": t("batch_norm.axis_step")}
    y = {"field": "value", "type": "quantitative", "title": title_y, "scale": {"zero": False}}
    color = {"field": "series", "type": "nominal", "scale": colors, "title": None, "legend": {"orient": "bottom"}}
    spec = {
        "data": {"values": rows},
        "height": 220,
        "layer": [
            {"transform": [{"filter": {"field": "series", "equal": batches}}],
             "mark": {"type": "point", "filled": True, "size": 18}, "encoding": {"x": x, "y": y, "color": color}},
            {"transform": [{"filter": {"field": "series", "equal": running}}],
             "mark": {"type": "line", "strokeWidth": 2.5}, "encoding": {"x": x, "y": y, "color": color}},
            {"data": {"values": [{"value": float(target), "series": truth}]},
             "mark": {"type": "rule", "strokeDash": [6, 4], "strokeWidth": 2}, "encoding": {"y": y, "color": color}},
            {"data": {"values": [{"step": steps}]}, "mark": {"type": "rule", "color": "#444", "strokeWidth": 1},
             "encoding": {"x": x}},
        ],
    }
    st.vega_lite_chart(spec, width="stretch")


def noise_chart(crop_std: float, measured: float, batch: int) -> None:
    """Spread of μ_B across batches vs batch size: s/√N (line) and what the training batches showed (dot)."""
    rows = [{"N": n, "spread": crop_std / np.sqrt(n)} for n in range(1, MAX_BATCH + 1)]
    x = {"field": "N", "type": "quantitative", "title": t("batch_norm.axis_batch"), "scale": {"type": "log", "base": 2}}
    y = {"field": "spread", "type": "quantitative", "title": t("batch_norm.axis_spread")}
    spec = {
        "height": 200,
        "layer": [
            {"data": {"values": rows}, "mark": {"type": "line", "color": COLORS["after"]}, "encoding": {"x": x, "y": y}},
            {"data": {"values": [{"N": batch, "spread": float(measured)}]},
             "mark": {"type": "point", "filled": True, "size": 90, "color": COLORS["scaled"]},
             "encoding": {"x": x, "y": y}},
        ],
    }
    st.vega_lite_chart(spec, width="stretch")


def kernel_name(name: str) -> str:
    return labels("kernels.", "_name")(name)


# ---------------------------------------------------------------------------------------------------------------
# The panels
# ---------------------------------------------------------------------------------------------------------------

def controls() -> tuple[list[str], int, int, int]:
    """Kernels (channels), batch size, crop size and seed; values set by "Try it" buttons are cleaned first."""
    state = st.session_state
    if "bn_kernels" not in state:
        state.bn_kernels = list(DEFAULT_KERNELS)
    chosen = state.bn_kernels if isinstance(state.bn_kernels, list) else [state.bn_kernels]
    state.bn_kernels = [name for name in chosen if name in LAYER_KERNELS][:MAX_CHANNELS]
    if state.get("bn_crop") not in CROPS:
        state.bn_crop = 64
    columns = st.columns([3, 2, 2, 1])
    kernels = columns[0].multiselect(t("batch_norm.kernels"), LAYER_KERNELS, key="bn_kernels",
                                     max_selections=MAX_CHANNELS, format_func=labels("kernels.", "_name"),
                                     help=t("batch_norm.kernels_help"))
    batch = columns[1].slider(t("batch_norm.batch"), 1, MAX_BATCH, 8, key="bn_batch", help=t("batch_norm.batch_help"))
    crop = columns[2].select_slider(t("batch_norm.crop"), CROPS, key="bn_crop", help=t("batch_norm.crop_help"))
    seed = columns[3].number_input(t("batch_norm.seed"), 0, 999, 0, key="bn_seed", help=t("batch_norm.seed_help"))
    return kernels, int(batch), int(crop), int(seed)


def show_tensor(crops: np.ndarray, x: np.ndarray, kernels: list[str], channel: int) -> None:
    """Section 1: the crops, and the (N, C, H, W) tensor after the conv layer with one channel boxed."""
    N, C, H, W = x.shape
    st.subheader(t("batch_norm.tensor_title"))
    st.markdown(t("batch_norm.tensor_intro", n=N, s=crops.shape[-1]))
    shown = min(N, SHOWN)
    more = t("batch_norm.first_samples", k=shown, n=N) if N > shown else ""
    cell = grid_cell(shown)
    show_grid(batch_grid_png(crops, samples=SHOWN, vmin=0.0, vmax=1.0, cmap="gray", cell=cell),
              t("batch_norm.crops_caption", n=N, s=crops.shape[-1]) + more)
    show_grid(batch_grid_png(x, samples=SHOWN, highlight=channel, cell=cell),
              t("batch_norm.maps_caption", n=N, c=C, h=H, w=W, name=kernel_name(kernels[channel])) + more)
    st.markdown(t("batch_norm.shape_line", label=t("common.output_shape"), n=N, c=C, h=H, w=W))


def show_statistics(steps: BatchNormSteps, x: np.ndarray, kernels: list[str], channel: int) -> None:
    """Section 2: μ_B and σ²_B of the chosen channel with the numbers, and histograms before and after."""
    N, C, H, W = x.shape
    st.subheader(t("batch_norm.stats_title", name=kernel_name(kernels[channel])))
    st.markdown(t("batch_norm.stats_intro", n=N, h=H, w=W, m=steps.count))
    index = (0, H // 2, W // 2)
    lines = batch_norm_latex(steps, channel, index)
    formulas, table = st.columns([5, 4])
    with formulas:
        for line in lines[:3]:
            st.latex(line)
        st.caption(t("batch_norm.which_x", row=H // 2, col=W // 2))
    with table:
        st.dataframe(  # 6 digits: m/(m − 1) is close to 1 when m is in the tens of thousands
            {t("batch_norm.col_channel"): [kernel_name(k) for k in kernels],
             "μ_B": steps.mean, "σ²_B": steps.var, t("batch_norm.col_unbiased"): steps.var_unbiased},
            hide_index=True, column_config={name: st.column_config.NumberColumn(format="%.6g")
                                            for name in ("μ_B", "σ²_B", t("batch_norm.col_unbiased"))})
        st.caption(t("batch_norm.table_caption"))
    before, after = st.columns(2)
    with before:
        st.markdown(t("batch_norm.hist_before"))
        show_histogram(x[:, channel], COLORS["before"])
    with after:
        st.markdown(t("batch_norm.hist_after"))
        show_histogram(steps.x_hat[:, channel], COLORS["after"], HISTOGRAM_RANGE)
    st.caption(t("batch_norm.hist_caption"))


@st.fragment
def gamma_beta_panel(x: np.ndarray, steps: BatchNormSteps, kernels: list[str], channel: int) -> None:
    """Section 3 (a fragment: moving γ or β reruns only this panel): y = γ x̂ + β per channel."""
    N, C, H, W = x.shape
    st.subheader(t("batch_norm.gamma_title"))
    st.markdown(t("batch_norm.gamma_intro"))
    gammas, betas = np.ones(C, np.float32), np.zeros(C, np.float32)
    for c, (column, name) in enumerate(zip(st.columns(C), kernels, strict=True)):
        with column:
            st.markdown(f"**{kernel_name(name)}**")
            gammas[c] = st.slider("γ", -2.0, 3.0, 1.0, 0.1, key=f"bn_gamma_{name}")
            betas[c] = st.slider("β", -3.0, 3.0, 0.0, 0.1, key=f"bn_beta_{name}")
    y = batch_norm(x, None, None, gammas, betas, training=True)  # (N, C, H, W)
    show_grid(batch_grid_png(y, samples=SHOWN, highlight=channel, vmin=-NORMALISED_RANGE, vmax=NORMALISED_RANGE,
                         cell=grid_cell(min(N, SHOWN)), signed=True),
              t("batch_norm.y_caption", r=number(NORMALISED_RANGE)))
    for c, column in enumerate(st.columns(C)):
        with column:
            show_histogram(y[:, c], COLORS["scaled"], HISTOGRAM_RANGE, bins=36, height=130)
            st.caption(t("batch_norm.y_stats", mean=number(y[:, c].mean()), std=number(y[:, c].std())))
    st.latex(batch_norm_latex(steps, channel, (0, H // 2, W // 2), float(gammas[channel]), float(betas[channel]))[3])
    if np.any(gammas == 0):
        st.info(t("batch_norm.gamma_zero"))
    elif np.any(gammas < 0):
        st.info(t("batch_norm.gamma_negative"))


def step_once() -> None:
    st.session_state.bn_steps = min(T_MAX, int(st.session_state.get("bn_steps", 10)) + 1)


def reset_steps() -> None:
    st.session_state.bn_steps = 0


def show_train_eval(gray: np.ndarray, x: np.ndarray, kernels: list[str], batch: int, crop: int, seed: int,
                    channel: int) -> None:
    """Section 4: running estimates over training steps; evaluating with them after too few steps."""
    digest = current_digest()
    st.subheader(t("batch_norm.train_title"))
    st.markdown(t("batch_norm.train_intro"))
    left, middle, right = st.columns([2, 2, 1])
    momentum = left.slider(t("batch_norm.momentum"), 0.0, 1.0, 0.1, 0.01, key="bn_momentum",
                           help=t("batch_norm.momentum_help"))
    steps = middle.slider(t("batch_norm.steps"), 0, T_MAX, 10, key="bn_steps", help=t("batch_norm.steps_help"))
    right.button(t("batch_norm.next"), key="bn_next", on_click=step_once, width="stretch")
    right.button(t("batch_norm.reset"), key="bn_reset", on_click=reset_steps, width="stretch")

    means, variances, count = training_stream(digest, tuple(kernels), batch, crop, seed, gray)
    truth = population(digest, tuple(kernels), crop, seed, gray)
    mean_curve, var_curve = running_stats_curve(means, variances, count, momentum)
    name = kernel_name(kernels[channel])
    st.markdown(t("batch_norm.curves_caption", name=name, steps=steps, momentum=f"{momentum:g}"))
    mean_column, var_column = st.columns(2)
    with mean_column:
        running_chart(mean_curve[:, channel], means[:, channel], truth.mean[channel], steps, t("batch_norm.axis_mean"))
    with var_column:
        unbiased = variances[:, channel] * count / (count - 1)
        running_chart(var_curve[:, channel], unbiased, truth.var[channel], steps, t("batch_norm.axis_var"))

    running_mean = mean_curve[steps].astype(np.float32)
    running_var = var_curve[steps].astype(np.float32)
    evaluated = batch_norm(x, running_mean, running_var, training=False)  # (N, C, H, W), this batch in eval mode
    trained = batch_norm(x, None, None, training=True)
    st.markdown(t("batch_norm.eval_title", steps=steps))
    table_names = {key: t(f"batch_norm.col_{key}") for key in
                   ("channel", "running_mean", "true_mean", "running_var", "true_var", "eval_mean", "eval_std")}
    st.dataframe(
        {table_names["channel"]: [kernel_name(k) for k in kernels],
         table_names["running_mean"]: running_mean, table_names["true_mean"]: truth.mean,
         table_names["running_var"]: running_var, table_names["true_var"]: truth.var,
         table_names["eval_mean"]: evaluated.mean(axis=(0, 2, 3)), table_names["eval_std"]: evaluated.std(axis=(0, 2, 3))},
        hide_index=True, column_config={label: st.column_config.NumberColumn(format="%.4g")
                                        for key, label in table_names.items() if key != "channel"})
    worst = float(np.max(np.abs(evaluated.std(axis=(0, 2, 3)) - 1) + np.abs(evaluated.mean(axis=(0, 2, 3)))))
    (st.warning if worst > 0.5 else st.success)(
        t("batch_norm.eval_mismatch" if worst > 0.5 else "batch_norm.eval_match", worst=f"{worst:.2f}"))
    train_column, eval_column = st.columns(2)
    with train_column:
        st.markdown(t("batch_norm.hist_train", name=name))
        show_histogram(trained[:, channel], COLORS["after"], HISTOGRAM_RANGE)
    with eval_column:
        st.markdown(t("batch_norm.hist_eval", name=name, steps=steps))
        show_histogram(evaluated[:, channel], COLORS["eval"], HISTOGRAM_RANGE)
    show_noise(x, means, truth, kernels, batch, channel)


def show_noise(x: np.ndarray, means: np.ndarray, truth, kernels: list[str], batch: int, channel: int) -> None:
    """Section 5: how much μ_B moves from batch to batch, against the batch size; N = 1 and 1×1 maps."""
    st.subheader(t("batch_norm.noise_title"))
    name = kernel_name(kernels[channel])
    crop_std = float(truth.crop_means[:, channel].std())
    measured = float(means[:, channel].std())
    chart, text = st.columns([3, 2])
    with chart:
        noise_chart(crop_std, measured, batch)
    with text:
        st.markdown(t("batch_norm.noise_text", name=name, n=batch, measured=f"{measured:.3g}",
                      one=f"{crop_std:.3g}", big=f"{crop_std / np.sqrt(MAX_BATCH):.3g}", nmax=MAX_BATCH))
        if batch == 1:
            st.info(t("batch_norm.batch_one", hw=x.shape[2] * x.shape[3]))
    pooled = x.mean(axis=(2, 3), keepdims=True)  # (N, C, 1, 1): what global average pooling would leave
    try:
        batch_norm(pooled, None, None, training=True)
        st.caption(t("batch_norm.pooled_ok", n=batch))
    except ValueError:
        show_problem(t("batch_norm.pooled_fails", c=x.shape[1]))


def show_placement(x: np.ndarray, kernels: list[str]) -> None:
    """Section 6: conv → BN → ReLU against conv → ReLU → BN, on the maps and their histograms."""
    st.subheader(t("batch_norm.place_title"))
    st.markdown(t("batch_norm.place_intro"))
    if st.session_state.get("bn_place_channel") not in kernels:  # default: the first channel with negative values
        signed = [name for c, name in enumerate(kernels) if x[:, c].min() < 0]
        st.session_state.bn_place_channel = (signed or kernels)[0]
    name = st.selectbox(t("batch_norm.place_channel"), kernels, key="bn_place_channel",
                        format_func=labels("kernels.", "_name"))
    channel = kernels.index(name)
    for column, order in zip(st.columns(2), ("bn_relu", "relu_bn"), strict=True):
        out = bn_and_relu(x, order)[:, channel : channel + 1]  # (N, 1, H, W)
        with column:
            st.markdown(t(f"batch_norm.order_{order}"))
            show_grid(batch_grid_png(out, samples=8, vmin=-3.0, vmax=3.0, cell=grid_cell(16), signed=True),
                      t("batch_norm.order_caption"), column_width=GRID_WIDTH // 2)
            show_histogram(out, COLORS["after"] if order == "bn_relu" else COLORS["eval"], (-3.0, 5.0), height=150)
            zeros = float(np.mean(out == 0))
            st.markdown(t("batch_norm.order_stats", zeros=f"{100 * zeros:.0f}", mean=number(out.mean()),
                          std=number(out.std()), low=number(out.min())))
    st.caption(t("batch_norm.place_caption"))
    if x[:, channel].min() >= 0:
        st.info(t("batch_norm.place_no_negatives", name=kernel_name(kernels[channel])))


# ---------------------------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------------------------

show_lesson("batch_norm")
st.header(t("common.experiment"))
kernels, batch, crop_wanted, seed = controls()
gray = work_picture(current_digest(), current_image())
crop = min(crop_wanted, *gray.shape)

if not kernels:
    show_problem(t("batch_norm.no_kernel"))
elif crop < 8:
    show_problem(t("batch_norm.too_narrow", h=gray.shape[0], w=gray.shape[1]))
else:
    if crop < crop_wanted:
        st.caption(t("batch_norm.crop_reduced", wanted=crop_wanted, crop=crop, h=gray.shape[0], w=gray.shape[1]))
    if st.session_state.get("bn_channel") not in kernels:
        st.session_state.bn_channel = "box_blur" if "box_blur" in kernels else kernels[0]  # a mean far from 0
    key = (current_digest(), tuple(kernels), batch, crop, seed)
    crops, x, steps = layer_output(*key, gray)
    channel_name = st.selectbox(t("batch_norm.channel"), kernels, key="bn_channel",
                                format_func=labels("kernels.", "_name"), help=t("batch_norm.channel_help"))
    channel = kernels.index(channel_name)
    show_tensor(crops, x, kernels, channel)
    show_statistics(steps, x, kernels, channel)
    show_torch_check(torch_difference(*key, x))
    show_code(batch_norm_steps, channel_stats, update_running_stats, batch_norm)
    gamma_beta_panel(x, steps, kernels, channel)
    show_train_eval(gray, x, kernels, batch, crop, seed, channel)
    show_placement(x, kernels)
