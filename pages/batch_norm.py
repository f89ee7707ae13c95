"""Batch normalization: a mini-batch made from the student's image, normalised channel by channel.

Widget keys (lessons' ```try blocks may set them):
  bn_kernels     list of 3×3 kernel names (cnn_core.batch.LAYER_KERNELS): the conv layer's filters = the channels
  bn_batch       batch size N, 1 … 32
  bn_crop        crop side in pixels: 32 | 48 | 64 | 96 (smaller when the picture is narrower)
  bn_seed        which random mini-batch, 0 … 999
  bn_channel     the channel (a kernel name) whose statistics are worked out and boxed
  bn_gamma_<kernel>, bn_beta_<kernel>   γ (−2 … 3) and β (−3 … 3) of each channel, for every 3×3 kernel:
                 bn_gamma_identity, bn_gamma_sobel_x, bn_gamma_sobel_y, bn_gamma_prewitt_x, bn_gamma_prewitt_y,
                 bn_gamma_laplacian, bn_gamma_box_blur, bn_gamma_sharpen, bn_gamma_emboss, bn_gamma_outline and
                 bn_beta_identity, bn_beta_sobel_x, bn_beta_sobel_y, bn_beta_prewitt_x, bn_beta_prewitt_y,
                 bn_beta_laplacian, bn_beta_box_blur, bn_beta_sharpen, bn_beta_emboss, bn_beta_outline
                 (a fragment: moving one reruns only its panel)
  bn_momentum    PyTorch's momentum: the weight of the new batch in the running estimates, 0 … 1
  bn_steps       training steps before evaluating, 0 … 100;  buttons bn_next (+1 step) and bn_reset (0)
  bn_place_channel  the channel shown in the placement comparison (default: the first kernel with a negative
                 weight, whose channel has negative values)
"""

import numpy as np
import streamlit as st

from cnn_core.batch import (
    LAYER_KERNELS,
    WORK_SIDE,
    BatchError,
    conv_layer,
    fit_crop,
    fit_side,
    kernel_bank,
    make_batch,
    population_stats,
    stream_stats,
)
from cnn_core.image import to_grayscale
from cnn_core.kernels import KERNELS
from cnn_core.norm import (
    BatchNormSteps,
    batch_norm,
    batch_norm_latex,
    batch_norm_steps,
    batch_norm_train_steps,
    channel_stats,
    normalisation_error,
    running_stats_curve,
    unbiased_variance,
    update_running_stats,
)
from ui import bn_view as view  # the page's display pieces: grids, charts, the noise and placement panels
from ui.errors import show_problem
from ui.image_source import current_digest, current_image
from ui.page import Choice, Multi, Number, Page, Slider
from ui.proof import show_check
from ui.show import show_histogram
from ui.strings import t

DEFAULT_KERNELS = ["sobel_x", "sobel_y", "laplacian", "box_blur"]
MAX_CHANNELS, MAX_BATCH, CROPS = 6, 32, (32, 48, 64, 96)
T_MAX = 100  # training steps computed (and cached) at once; the steps slider picks one of them
POPULATION = 256  # crops behind the "true" statistics
SHOWN = 16  # samples drawn in each grid
NORMALISED_RANGE = 4.0  # fixed colour scale ±4 for normalised maps, so γ and β visibly change them
HISTOGRAM_RANGE = (-6.0, 6.0)
SS = st.session_state


def kernels_now(_image=None) -> list[str]:
    """The chosen kernels (the default ones before the page ran, or when none is chosen: options never empty)."""
    try:
        chosen = SS.get("bn_kernels")
    except Exception:  # noqa: BLE001 — no Streamlit session (a unit test reading the declarations)
        chosen = None
    chosen = [k for k in chosen or () if k in LAYER_KERNELS]  # a stale label from a language switch is no kernel
    return chosen or list(DEFAULT_KERNELS)


def signed_kernel(image) -> str:
    """The first chosen kernel with a negative weight: its channel has negative values for ReLU to cut."""
    return next((k for k in kernels_now() if KERNELS[k].min() < 0), kernels_now()[0])


def work_size(image: np.ndarray) -> tuple[int, int, int]:
    """(crop, map height, map width) the page works with on this image and these settings."""
    crop = fit_crop(work_picture(current_digest(), image).shape, SS.bn_crop)
    return crop, crop - 2, crop - 2


PAGE = Page("batch_norm", controls=(
    Multi("bn_kernels", "batch_norm.kernels", LAYER_KERNELS, default=DEFAULT_KERNELS, max_selections=MAX_CHANNELS,
          labels="kernels.", labels_suffix="_name", help="batch_norm.kernels_help"),
    Slider("bn_batch", "batch_norm.batch", 1, MAX_BATCH, default=8, help="batch_norm.batch_help"),
    Choice("bn_crop", "batch_norm.crop", CROPS, default=64, style="select_slider", help="batch_norm.crop_help"),
    Number("bn_seed", "batch_norm.seed", 0, 999, default=0, help="batch_norm.seed_help"),
    Choice("bn_channel", "batch_norm.channel", kernels_now, labels="kernels.", labels_suffix="_name",
           default=lambda image: "box_blur" if "box_blur" in kernels_now() else kernels_now()[0],
           help="batch_norm.channel_help"),
    *(Slider(f"bn_gamma_{k}", "batch_norm.gamma_label", -2.0, 3.0, default=1.0, step=0.1) for k in LAYER_KERNELS),
    *(Slider(f"bn_beta_{k}", "batch_norm.beta_label", -3.0, 3.0, default=0.0, step=0.1) for k in LAYER_KERNELS),
    Slider("bn_momentum", "batch_norm.momentum", 0.0, 1.0, default=0.1, step=0.01, help="batch_norm.momentum_help"),
    Slider("bn_steps", "batch_norm.steps", 0, T_MAX, default=10, help="batch_norm.steps_help"),
    Choice("bn_place_channel", "batch_norm.place_channel", kernels_now, default=signed_kernel, labels="kernels.",
           labels_suffix="_name"),
), code=(batch_norm_steps, channel_stats, update_running_stats, batch_norm), live_answers={
    "bn_channels": lambda: len(SS.bn_kernels),
    "bn_map_height": lambda: work_size(current_image())[1],
    "bn_map_width": lambda: work_size(current_image())[2],
    "bn_values_per_channel": lambda: SS.bn_batch * work_size(current_image())[1] * work_size(current_image())[2],
})


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


# ---------------------------------------------------------------------------------------------------------------
# The panels
# ---------------------------------------------------------------------------------------------------------------

def show_statistics(key: tuple, steps: BatchNormSteps, x: np.ndarray, kernels: list[str], channel: int) -> None:
    """Section 2: μ_B and σ²_B of the chosen channel with the numbers, and histograms before and after."""
    N, C, H, W = x.shape
    st.subheader(t("batch_norm.stats_title", name=view.kernel_name(kernels[channel])))
    st.markdown(t("batch_norm.stats_intro", n=N, h=H, w=W, m=steps.count))
    lines = batch_norm_latex(steps, channel, (0, H // 2, W // 2))
    formulas, table = st.columns([5, 4])
    with formulas:
        for line in lines[:3]:
            st.latex(line)
        st.caption(t("batch_norm.which_x", row=H // 2, col=W // 2))
    with table:
        unbiased = t("batch_norm.col_unbiased")
        st.dataframe(  # 6 digits: m/(m − 1) is close to 1 when m is in the tens of thousands
            {t("batch_norm.col_channel"): [view.kernel_name(k) for k in kernels], "μ_B": steps.mean, "σ²_B": steps.var,
             unbiased: steps.var_unbiased}, hide_index=True,
            column_config={name: st.column_config.NumberColumn(format="%.6g") for name in ("μ_B", "σ²_B", unbiased)})
        st.caption(t("batch_norm.table_caption"))
    before, after = st.columns(2)
    with before:
        st.markdown(t("batch_norm.hist_before"))
        show_histogram(x[:, channel], view.COLORS["before"])
    with after:
        st.markdown(t("batch_norm.hist_after"))
        show_histogram(steps.x_hat[:, channel], view.COLORS["after"], HISTOGRAM_RANGE)
    st.caption(t("batch_norm.hist_caption"))
    show_check(batch_norm_train_steps, x, key=(*key, "train"), steps=3, momentum=0.1, label=t("batch_norm.check_train"))


@st.fragment
def gamma_beta_panel(page: Page, key: tuple, x: np.ndarray, steps: BatchNormSteps, kernels: list[str],
                     channel: int) -> None:
    """Section 3 (a fragment: moving γ or β reruns only this panel): y = γ x̂ + β per channel."""
    N, C, H, W = x.shape
    st.subheader(t("batch_norm.gamma_title"))
    st.markdown(t("batch_norm.gamma_intro"))
    for column, name in zip(st.columns(C), kernels, strict=True):
        column.markdown(f"**{view.kernel_name(name)}**")
        page.draw(f"bn_gamma_{name}", column)
        page.draw(f"bn_beta_{name}", column)
    gammas = np.array([page.value(f"bn_gamma_{k}") for k in kernels], np.float32)
    betas = np.array([page.value(f"bn_beta_{k}") for k in kernels], np.float32)
    y = batch_norm(x, None, None, gammas, betas, training=True)  # (N, C, H, W)
    view.show_grid(y, (*key, tuple(gammas), tuple(betas)), t("batch_norm.y_caption", r=view.number(NORMALISED_RANGE)),
                   samples=SHOWN, highlight=channel, vmin=-NORMALISED_RANGE, vmax=NORMALISED_RANGE,
                   cell=view.grid_cell(min(N, SHOWN)), signed=True)
    means, variances, _ = channel_stats(y)
    for c, column in enumerate(st.columns(C)):
        with column:
            show_histogram(y[:, c], view.COLORS["scaled"], HISTOGRAM_RANGE, bins=36, height=130)
            st.caption(t("batch_norm.y_stats", mean=view.number(means[c]), std=view.number(np.sqrt(variances[c]))))
    st.latex(batch_norm_latex(steps, channel, (0, H // 2, W // 2), float(gammas[channel]), float(betas[channel]))[3])
    if np.any(gammas == 0):
        st.info(t("batch_norm.gamma_zero"))
    elif np.any(gammas < 0):
        st.info(t("batch_norm.gamma_negative"))
    show_check(batch_norm, x, None, None, gammas, betas, key=(*key, tuple(gammas), tuple(betas)), training=True,
               label=t("batch_norm.check_gamma"))


def step_once() -> None:
    PAGE.set(bn_steps=SS.bn_steps + 1)


@st.fragment
def train_eval_panel(page: Page, key: tuple, gray: np.ndarray, x: np.ndarray, kernels: list[str],
                     channel: int) -> None:
    """Section 4 (a fragment): running estimates over training steps; evaluating with them after too few steps."""
    digest, _, batch, crop, seed = key
    st.subheader(t("batch_norm.train_title"))
    st.markdown(t("batch_norm.train_intro"))
    left, middle, right = st.columns([2, 2, 1])
    momentum, steps = page.draw("bn_momentum", left), page.draw("bn_steps", middle)
    right.button(t("batch_norm.next"), key="bn_next", on_click=step_once, width="stretch", disabled=steps >= T_MAX,
                 wrap=True)
    right.button(t("batch_norm.reset"), key="bn_reset", on_click=page.set, kwargs=dict(bn_steps=0), width="stretch")
    means, variances, count = training_stream(digest, tuple(kernels), batch, crop, seed, gray)
    truth = population(digest, tuple(kernels), crop, seed, gray)
    mean_curve, var_curve = running_stats_curve(means, variances, count, momentum)
    name = view.kernel_name(kernels[channel])
    st.markdown(t("batch_norm.curves_caption", name=name, steps=steps, momentum=f"{momentum:g}"))
    mean_column, var_column = st.columns(2)
    with mean_column:
        view.running_chart(mean_curve[:, channel], means[:, channel], truth.mean[channel], steps, t("batch_norm.axis_mean"))
    with var_column:
        view.running_chart(var_curve[:, channel], unbiased_variance(variances[:, channel], count), truth.var[channel], steps,
                      t("batch_norm.axis_var"))
    running_mean, running_var = mean_curve[steps].astype(np.float32), var_curve[steps].astype(np.float32)
    evaluated = batch_norm(x, running_mean, running_var, training=False)  # (N, C, H, W), this batch in eval mode
    eval_mean, eval_var, _ = channel_stats(evaluated)
    st.markdown(t("batch_norm.eval_title", steps=steps))
    names = {k: t(f"batch_norm.col_{k}") for k in
             ("channel", "running_mean", "true_mean", "running_var", "true_var", "eval_mean", "eval_std")}
    st.dataframe({names["channel"]: [view.kernel_name(k) for k in kernels], names["running_mean"]: running_mean,
                  names["true_mean"]: truth.mean, names["running_var"]: running_var, names["true_var"]: truth.var,
                  names["eval_mean"]: eval_mean, names["eval_std"]: np.sqrt(eval_var)}, hide_index=True,
                 column_config={label: st.column_config.NumberColumn(format="%.4g") for k, label in names.items()
                                if k != "channel"})
    worst = normalisation_error(evaluated)
    if worst <= 0.5:
        st.success(t("batch_norm.eval_match", worst=f"{worst:.2f}"))
    else:  # an observation, not a fault: the running estimates need steps (or weight) to catch up
        advice = [t("batch_norm.eval_more_steps", most=T_MAX)] if steps < T_MAX else []
        advice += [t("batch_norm.eval_more_momentum")] if momentum < 1 else []
        st.info(t("batch_norm.eval_frozen" if momentum == 0 else "batch_norm.eval_gap", worst=f"{worst:.2f}",
                  steps=steps, advice=" ".join(advice)))
    train_column, eval_column = st.columns(2)
    with train_column:
        st.markdown(t("batch_norm.hist_train", name=name))
        show_histogram(batch_norm(x, None, None, training=True)[:, channel], view.COLORS["after"], HISTOGRAM_RANGE)
    with eval_column:
        st.markdown(t("batch_norm.hist_eval", name=name, steps=steps))
        show_histogram(evaluated[:, channel], view.COLORS["eval"], HISTOGRAM_RANGE)
    show_check(batch_norm, x, running_mean, running_var, key=(*key, momentum, steps), training=False,
               label=t("batch_norm.check_eval"))
    view.show_noise(x, means, truth, kernels, batch, channel, MAX_BATCH)


def experiment(page: Page) -> None:
    columns = st.columns([3, 2, 2, 1])
    kernels, batch, crop_wanted, seed = (page.draw(k, c) for k, c in zip(("bn_kernels", "bn_batch", "bn_crop",
                                                                          "bn_seed"), columns, strict=True))
    gray = work_picture(current_digest(), current_image())
    try:
        kernel_bank(kernels)  # at least one kernel
        crop = fit_crop(gray.shape, crop_wanted)
    except BatchError as error:
        show_problem(error)
        return
    if crop < crop_wanted:
        st.caption(t("batch_norm.crop_reduced", wanted=crop_wanted, crop=crop, h=gray.shape[0], w=gray.shape[1]))
    key = (current_digest(), tuple(kernels), batch, crop, seed)
    crops, x, steps = layer_output(*key, gray)
    channel = kernels.index(page.draw("bn_channel"))
    view.show_tensor(key, crops, x, kernels, channel, SHOWN)
    show_statistics(key, steps, x, kernels, channel)
    gamma_beta_panel(page, key, x, steps, kernels, channel)
    train_eval_panel(page, key, gray, x, kernels, channel)
    view.placement_panel(page, key, x, kernels)


if __name__ == "__main__":
    PAGE.run(experiment)
