"""Channels and 1×1 convolutions: one 3×k×k kernel on the student's colour image, what a layer costs, 1×1 layers.

Widget keys (lessons' ```try blocks may set them):
  ch_kernel   sobel_x_all | sobel_x_gray | red_minus_green | blue_only | blur_mean | opponent_edges | custom
  ch_bias     −1 … 1, the one bias of the output channel
  ch_out      1–6 output channels of the stack (the first ch_out kernels of the list above)
  ch_cin, ch_cout, ch_k, ch_groups, ch_size   the layer whose cost is counted: C_in, C_out, k, groups, output side
  ch_reduce   1–16: a 1×1 convolution keeps this many of the 16 feature maps
Live answers for the lesson: ch_layer_params (parameters of the layer counted on the page).
"""

import numpy as np
import pandas as pd
import streamlit as st

from cnn_core.batch import batch_grid_png
from cnn_core.channels import (
    RGB_KERNELS,
    RGB_TO_GRAY,
    bottleneck,
    channel_sum,
    channel_sum_map,
    conv2d_parameters,
    feature_bank,
    gray_weight,
    grouped_costs,
    pca_reduction,
    pointwise_conv,
    rgb_kernel,
    rgb_planes,
)
from cnn_core.conv import conv2d
from cnn_core.errors import CnnError
from cnn_core.render import format_number, to_png, value_range
from ui.errors import show_problem
from ui.image_source import current_digest, current_image
from ui.page import Choice, Number, Page, Slider
from ui.proof import show_check
from ui.show import map_png, show_colorbar, show_number_grid, show_png
from ui.strings import t

CUSTOM = "custom"
PRESETS = tuple(RGB_KERNELS)
WORK_SIDE = 256  # the picture is resized to this longer side: every map is small and each move fast
BANK_SIDE = 128  # the 16-map bank and its 1×1 reduction work on an even smaller copy
CHANNELS = ("R", "G", "B")

PAGE = Page("channels", controls=(
    Choice("ch_kernel", "channels.kernel", PRESETS + (CUSTOM,), default="sobel_x_gray", labels="channels.kernel_"),
    Slider("ch_bias", "channels.bias", -1.0, 1.0, default=0.0, step=0.05),
    Slider("ch_out", "channels.out", 1, len(PRESETS), default=4),
    Number("ch_cin", "channels.cin", 1, 2048, default=3),
    Number("ch_cout", "channels.cout", 1, 2048, default=64),
    Slider("ch_k", "channels.k", 1, 11, default=3),
    Number("ch_groups", "channels.groups", 1, 2048, default=1),
    Number("ch_size", "channels.size", 1, 1024, default=32),
    Slider("ch_reduce", "channels.reduce", 1, 16, default=4),
), code=(channel_sum, conv2d_parameters, pointwise_conv), live_answers={
    "ch_layer_params": lambda: conv2d_parameters(*(st.session_state[k] for k in ("ch_cin", "ch_cout", "ch_k")),
                                                 groups=st.session_state.ch_groups),
})


@st.cache_data(show_spinner=False, max_entries=16)
def planes(digest: str, side: int, _image: np.ndarray) -> np.ndarray:
    return rgb_planes(_image, side)  # (3, h, w)


def work_image() -> np.ndarray:
    return planes(current_digest(), WORK_SIDE, current_image())


def custom_kernel() -> np.ndarray | None:
    """Three editable 3×3 slices (R, G, B), starting from the default preset; None while a cell is empty."""
    start = rgb_kernel("sobel_x_gray")
    columns, slices = st.columns(3), []
    for c, column in enumerate(columns):
        column.caption(t("channels.slice", c=CHANNELS[c]))
        edited = column.data_editor(pd.DataFrame(start[c].round(3)), key=f"ch_custom_{c}", hide_index=True,
                                    width="content")
        slices.append(edited.to_numpy(dtype=np.float64, na_value=np.nan))
    K = np.stack(slices).astype(np.float32)
    if not np.isfinite(K).all():
        show_problem(t("channels.custom_incomplete"))
        return None
    return K


# Cached by what each picture depends on: the inputs by the image only, the channel maps and their sum by the
# kernel, the output by the bias too (a bias move re-encodes one picture, not eight).
@st.cache_data(show_spinner=False, max_entries=8)
def input_pictures(digest: str, _X: np.ndarray) -> list[bytes]:
    return [map_png(_X[c], signed=False, vmin=0.0, vmax=1.0, cmap="gray", min_side=1, max_width=320)[0]
            for c in range(3)]


@st.cache_resource(show_spinner=False, max_entries=32)  # holds an array: handed back as is, never unpickled
def kernel_pictures(digest: str, kernel: bytes, _X: np.ndarray) -> dict:
    """The per-channel maps (one shared scale) and their sum, as PNGs, and the sum itself (read-only)."""
    K = np.frombuffer(kernel, dtype=np.float32).reshape(3, 3, 3)
    result = channel_sum(_X, K, 0.0, padding=1)
    shared = value_range(result.per_channel, signed=True)[1]  # one scale for the three terms of the sum
    maps = [map_png(result.per_channel[c], signed=True, vmin=-shared, vmax=shared, min_side=1, max_width=320)
            for c in range(3)]
    return dict(maps=maps, total=map_png(result.total, signed=True, min_side=1, max_width=320), sum=result.total)


@st.cache_data(show_spinner=False, max_entries=64)
def output_picture(digest: str, kernel: bytes, bias: float, _total: np.ndarray) -> tuple:
    return map_png(_total + np.float32(bias), signed=True, min_side=1, max_width=320)


def sum_pictures(digest: str, kernel: bytes, bias: float, X: np.ndarray) -> dict:
    """Every picture of the channel sum as PNG: inputs, per-channel maps, sum, output (the sum plus the bias)."""
    by_kernel = kernel_pictures(digest, kernel, X)
    return dict(inputs=input_pictures(digest, X), maps=by_kernel["maps"], total=by_kernel["total"],
                output=output_picture(digest, kernel, bias, by_kernel["sum"]), shape=by_kernel["sum"].shape)


def show_png_map(entry, caption: str) -> None:
    png, lo, hi, cmap = entry
    show_png(png, caption)
    show_colorbar(lo, hi, cmap)


@st.fragment
def one_output_channel(page: Page) -> None:
    st.subheader(t("channels.sum_title"))
    left, right = st.columns(2)
    name = page.draw("ch_kernel", left)
    bias = page.draw("ch_bias", right)
    K = custom_kernel() if name == CUSTOM else rgb_kernel(name)
    if K is None:
        return
    X = work_image()
    if name != CUSTOM:
        st.caption(t(f"channels.about_{name}"))
    pictures = sum_pictures(current_digest(), K.tobytes(), bias, X)
    h, w = pictures["shape"]
    st.markdown(t("channels.sum_intro", h=h, w=w))
    for c in range(3):
        image_col, kernel_col, map_col = st.columns([3, 2, 3], vertical_alignment="center")
        with image_col:
            show_png(pictures["inputs"][c], t("channels.input_channel", c=CHANNELS[c]))
        with kernel_col:
            st.markdown(t("channels.times_slice", c=CHANNELS[c]))
            show_number_grid(K[c], decimals=2, signed=True, cell_px=42)
        with map_col:
            show_png_map(pictures["maps"][c], t("channels.channel_map", c=CHANNELS[c]))
    total_col, plus_col, output_col = st.columns([3, 2, 3], vertical_alignment="center")
    with total_col:
        show_png_map(pictures["total"], t("channels.total"))
    with plus_col:
        st.markdown(t("channels.plus_bias", b=format_number(bias, 2)))
    with output_col:
        show_png_map(pictures["output"], t("channels.output", h=h, w=w))
    st.markdown(t("channels.one_kernel_params", n=conv2d_parameters(3, 1, 3)))
    show_check(channel_sum_map, X, K, bias, key=(current_digest(), K.tobytes(), bias), padding=1,
               label=t("channels.check_sum"))


@st.cache_data(show_spinner=False, max_entries=32)
def stack_pictures(digest: str, count: int, _X: np.ndarray) -> tuple[list, tuple]:
    bank = np.stack([rgb_kernel(name) for name in PRESETS[:count]])  # (C_out, 3, 3, 3)
    Y = conv2d(_X[None], bank, padding=1)[0]  # (C_out, H, W)
    return [map_png(Y[o], signed=True, min_side=1, max_width=200)[0] for o in range(count)], Y.shape


@st.fragment
def output_stack(page: Page) -> None:
    st.subheader(t("channels.stack_title"))
    count = page.draw("ch_out")
    pngs, (C, h, w) = stack_pictures(current_digest(), count, work_image())
    st.markdown(t("channels.stack_intro", c=C, h=h, w=w, n=conv2d_parameters(3, C, 3)))
    columns = st.columns(len(PRESETS))
    for o, png in enumerate(pngs):
        with columns[o]:
            show_png(png, t("channels.stack_map", o=o, name=t(f"channels.kernel_{PRESETS[o]}")))


def example_layer(page: Page) -> None:
    page.set(ch_cin=3, ch_cout=64, ch_k=3, ch_groups=1, ch_size=32)


@st.fragment
def layer_cost(page: Page) -> None:
    st.subheader(t("channels.cost_title"))
    columns = st.columns(5)
    cin, cout, k, groups, size = (page.draw(key, column) for key, column in
                                  zip(("ch_cin", "ch_cout", "ch_k", "ch_groups", "ch_size"), columns, strict=True))
    st.button(t("channels.example_layer"), on_click=example_layer, args=(page,))
    try:
        rows = grouped_costs(cin, cout, k, (size, size), groups)
    except CnnError as error:
        show_problem(error)
        return
    standard, grouped, depthwise, separable = rows
    total = f"{grouped.parameters:,}".replace(",", "{,}")  # a thousands comma, not a KaTeX spacing comma
    st.latex(rf"C_\text{{out}}\left(\frac{{C_\text{{in}}}}{{g}}\,k^2 + 1\right) = {cout}\left(\frac{{{cin}}}{{{groups}}}"
             rf"\cdot {k}^2 + 1\right) = {total}")
    table = pd.DataFrame({
        t("channels.col_layer"): [t(f"channels.row_{row.name}", g=groups, c=cin) for row in rows],
        t("channels.col_params"): [f"{row.parameters:,}" for row in rows],
        t("channels.col_mult_adds"): [f"{row.mult_adds:,}" for row in rows],
        t("channels.col_saving"): [f"{standard.mult_adds / row.mult_adds:.1f}×" for row in rows],
    })
    st.dataframe(table, hide_index=True)
    st.markdown(t("channels.cost_notes", c=cin, k=k, n=cout, ratio=f"{separable.mult_adds / standard.mult_adds:.3f}"))


@st.cache_data(show_spinner=False, max_entries=16)
def gray_pictures(digest: str, _X: np.ndarray) -> tuple[bytes, bytes, tuple]:
    gray = pointwise_conv(_X, gray_weight())[0]
    colour = (np.clip(_X.transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)
    h, w = gray.shape
    i, j = h // 2, w // 2
    return to_png(colour), map_png(gray, signed=False, vmin=0.0, vmax=1.0, cmap="gray", min_side=1)[0], \
        (i, j, *(float(v) for v in _X[:, i, j]), float(gray[i, j]))


@st.cache_data(show_spinner=False, max_entries=64)
def reduction_pictures(digest: str, kept: int, _X: np.ndarray) -> tuple[bytes, list, float]:
    """The 16 maps as one grid (rows: copy, blur, Sobel x, Sobel y; columns: R, G, B, gray), the r reduced maps
    in rows of up to 8 (one shared scale), and the share of variance they keep."""
    maps = feature_bank(_X)  # (16, h, w), ordered kernel by kernel, source by source
    reduction = pca_reduction(maps, kept)
    reduced = pointwise_conv(maps, reduction.weight, reduction.bias)  # (r, h, w)
    bank, _ = batch_grid_png(maps.reshape(4, 4, *maps.shape[1:]).transpose(1, 0, 2, 3), cell=120, gap=3)
    scale = value_range(reduced, signed=True)[1]
    rows = [batch_grid_png(reduced[start:start + 8, None], cell=120, gap=3, signed=True, vmin=-scale, vmax=scale)[0]
            for start in range(0, kept, 8)]
    return bank, rows, reduction.kept_variance


@st.fragment
def one_by_one(page: Page) -> None:
    st.subheader(t("channels.gray_title"))
    colour, gray, (i, j, r, g, b, y) = gray_pictures(current_digest(), work_image())
    left, middle, right = st.columns([3, 2, 3], vertical_alignment="center")
    with left:
        show_png(colour, t("channels.rgb_input"))
    with middle:
        show_number_grid(np.asarray(RGB_TO_GRAY, dtype=np.float32)[:, None], decimals=3, signed=False, cell_px=60)
        st.caption(t("channels.gray_weights"))
    with right:
        show_png(gray, t("channels.gray_output"))
    st.latex(rf"y_{{{i},{j}}} = 0.299 \cdot {r:.3f} + 0.587 \cdot {g:.3f} + 0.114 \cdot {b:.3f} = {y:.3f}")
    X_small = planes(current_digest(), BANK_SIDE, current_image())
    show_check(pointwise_conv, X_small[None], gray_weight(), key=(current_digest(), "gray"), label=t("channels.check_gray"))

    st.subheader(t("channels.reduce_title"))
    kept = page.draw("ch_reduce")
    bank, reduced, share = reduction_pictures(current_digest(), kept, X_small)
    st.markdown(t("channels.bank_intro"))
    left, _ = st.columns([3, 2])
    with left:
        show_png(bank, t("channels.bank_caption"))
    st.markdown(t("channels.reduced_intro", r=kept, share=f"{share:.1%}"))
    for png in reduced:
        show_png(png, width="content")
    side = X_small.shape[1:]
    cost = bottleneck(16, kept, 16, 3, side)
    st.markdown(t("channels.bottleneck", h=side[0], w=side[1], r=kept,
                  direct_p=f"{cost.direct.parameters:,}", direct_m=f"{cost.direct.mult_adds:,}",
                  reduced_p=f"{cost.reduce.parameters + cost.reduced.parameters:,}",
                  reduced_m=f"{cost.reduce.mult_adds + cost.reduced.mult_adds:,}",
                  ratio=f"{cost.mult_adds_ratio:.1f}"))


def experiment(page: Page) -> None:
    one_output_channel(page)
    output_stack(page)
    layer_cost(page)
    one_by_one(page)


if __name__ == "__main__":
    PAGE.run(experiment)
