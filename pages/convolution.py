"""Convolution: slide kernels over the student's image; every product and sum visible.

Widget keys (lessons' ```try blocks may set them):
  conv_kernels           list of kernel names from cnn_core.KERNELS, plus "custom" (the editable grid)
  conv_channels          "gray" | "rgb"  (grayscale image, or each RGB channel on its own)
  conv_true_convolution  bool: flip the kernel first (textbook convolution) instead of cross-correlation
  conv_bias              float, added to every output;  conv_relu  bool, max(0, ·) after the bias
  conv_row, conv_col     the output position of the worked example (padding keeps output = input size here)
  conv_custom_size       3 | 5;  conv_custom_base  the preset the editable grid starts from
"""

import numpy as np
import pandas as pd
import streamlit as st
import torch
import torch.nn.functional as F

from cnn_core.conv import conv2d, corr2d, flip_kernel, im2col, same_padding
from cnn_core.image import to_grayscale
from cnn_core.kernels import KERNELS
from cnn_core.render import format_number
from ui.image_source import current_digest, current_image
from ui.lesson import show_lesson
from ui.show import (
    map_png,
    show_code,
    show_colorbar,
    show_image_with_box,
    show_matrix,
    show_png,
    show_problem,
    show_torch_check,
)
from ui.strings import labels, t

CUSTOM = "custom"
DEFAULT_KERNELS = ("diff_x", "sobel_x", "laplacian")
MAX_SHOWN = 4  # kernels side by side; more would make each map too small to read
KERNEL_BOX = 175  # pixels: the tallest kernel picture (5×5) fits
MAP_WIDTH = 400  # pixels of a feature map on screen (up to four side by side)
PATCH_SIZES = (3, 4, 6, 8, 10, 12)
PATCH = 6  # side of the "image as numbers" patch


def channels_of(image: np.ndarray, mode: str) -> tuple[np.ndarray, list[str]]:
    """(C, H, W) planes the kernels run on, and their names: the grayscale image, or R, G and B separately."""
    if mode == "rgb" and image.shape[2] == 3:
        return np.moveaxis(image, 2, 0), ["R", "G", "B"]
    return to_grayscale(image)[None], [t("conv.gray")]


def effective_kernel(K: np.ndarray, true_convolution: bool) -> np.ndarray:
    """The kernel that actually slides: flipped for true convolution, as is for cross-correlation."""
    return flip_kernel(K) if true_convolution else K


@st.cache_data(show_spinner=False, max_entries=64)
def feature_maps(digest: str, mode: str, kernel_bytes: bytes, kernel_shape: tuple, _image: np.ndarray) -> np.ndarray:
    """(C, H, W) maps of one kernel on each plane, 'same' zero padding so each map lines up with the image."""
    planes, _ = channels_of(_image, mode)
    K = np.frombuffer(kernel_bytes, dtype=np.float32).reshape(kernel_shape)
    return conv2d(planes[:, None], K[None, None], padding="same")[:, 0]


@st.cache_data(show_spinner=False, max_entries=64)
def feature_map_pngs(digest: str, mode: str, kernel_bytes: bytes, kernel_shape: tuple, bias: float, relu: bool,
                     _image: np.ndarray) -> list[tuple[bytes, float, float, str]]:
    """The maps as pictures (PNG + colour scale), cached: encoding is the slow part of a rerun."""
    maps = feature_maps(digest, mode, kernel_bytes, kernel_shape, _image) + bias
    if relu:
        maps = np.maximum(maps, 0)
    return [map_png(feature_map, max_width=MAP_WIDTH) for feature_map in maps]


@st.cache_data(show_spinner=False, max_entries=64)
def torch_difference(digest: str, mode: str, kernel_bytes: bytes, kernel_shape: tuple, _image: np.ndarray) -> float:
    """Max |ours − torch| for the same kernel on the same planes."""
    planes, _ = channels_of(_image, mode)
    K = np.frombuffer(kernel_bytes, dtype=np.float32).reshape(kernel_shape)
    ours = feature_maps(digest, mode, kernel_bytes, kernel_shape, _image)
    top, bottom, left, right = same_padding(K.shape, (1, 1))  # explicit 'same' padding, as torch pads it
    padded = F.pad(torch.from_numpy(np.ascontiguousarray(planes[:, None])), (left, right, top, bottom))
    theirs = F.conv2d(padded, torch.from_numpy(K[None, None].copy()))[:, 0].numpy()
    return float(np.abs(ours - theirs).max())


def custom_kernel_editor() -> np.ndarray | None:
    """The editable grid; None (with a message) when a cell is empty or not a number."""
    size_column, base_column = st.columns(2)
    size = size_column.radio(t("conv.custom_size"), [3, 5], key="conv_custom_size", horizontal=True)
    bases = [name for name, K in KERNELS.items() if K.shape == (size, size)]
    if st.session_state.get("conv_custom_base") not in bases:
        st.session_state.conv_custom_base = bases[0]
    base = base_column.selectbox(t("conv.custom_base"), bases, key="conv_custom_base",
                                 format_func=labels("kernels.", "_name"))
    start = pd.DataFrame(KERNELS[base].astype(float), columns=[str(c) for c in range(size)])
    edited = st.data_editor(start, key=f"conv_custom_grid_{size}_{base}", hide_index=True, width="content",
                            column_config={str(c): st.column_config.NumberColumn(str(c), min_value=-100.0, max_value=100.0,
                                                                                format="%.3g") for c in range(size)})
    values = edited.to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values).all():
        show_problem(t("conv.custom_incomplete"))
        return None
    return values.astype(np.float32)


def chosen_kernels() -> dict[str, np.ndarray]:
    names = list(KERNELS) + [CUSTOM]
    st.session_state.conv_kernels = [n for n in st.session_state.conv_kernels if n in names]
    picked = st.multiselect(t("conv.kernels"), names, key="conv_kernels", max_selections=MAX_SHOWN,
                            format_func=labels("kernels.", "_name"), help=t("conv.kernels_help"))
    kernels = {}
    for name in picked:
        if name == CUSTOM:
            with st.expander(t("conv.custom_title"), expanded=True):
                K = custom_kernel_editor()
            if K is not None:
                kernels[name] = K
        else:
            kernels[name] = KERNELS[name]
    return kernels


def start_at_strongest_response(image: np.ndarray) -> None:
    """For each new image, put the worked example where the first kernel responds most: an edge, not flat sky."""
    digest = current_digest()
    if st.session_state.get("conv_position_for") == digest and "conv_row" in st.session_state:
        return
    st.session_state.conv_position_for = digest
    presets = [name for name in st.session_state.conv_kernels if name in KERNELS]
    if presets:
        K = KERNELS[presets[0]]
        response = np.abs(feature_maps(digest, "gray", K.tobytes(), K.shape, image)[0])
        margin = max(K.shape)  # skip the border: zero padding makes every edge of the picture look like an edge
        inner = response[margin:-margin, margin:-margin] if min(response.shape) > 2 * margin else response
        row, col = np.unravel_index(int(inner.argmax()), inner.shape)
        if inner is not response:
            row, col = row + margin, col + margin
    else:
        row, col = image.shape[0] // 2, image.shape[1] // 2
    st.session_state.conv_row, st.session_state.conv_col = int(row), int(col)


def show_numbers(image: np.ndarray) -> None:
    """'The image as numbers': a patch of pixel values, as grayscale and as the three RGB matrices."""
    st.subheader(t("conv.numbers_title"))
    H, W = image.shape[:2]
    st.session_state.setdefault("conv_patch", PATCH)
    size = st.columns([1, 2])[0].select_slider(t("conv.patch_size"), PATCH_SIZES, key="conv_patch",
                                               help=t("conv.patch_size_help"))
    st.caption(t("conv.numbers_caption", n=size))
    row = min(st.session_state.get("conv_row", H // 2), H - 1)
    col = min(st.session_state.get("conv_col", W // 2), W - 1)
    size = min(size, H, W)
    top, left = max(0, min(row - size // 2, H - size)), max(0, min(col - size // 2, W - size))
    gray, gray_names = channels_of(image, "gray")
    planes, names = (np.concatenate([gray, np.moveaxis(image, 2, 0)]), gray_names + ["R", "G", "B"]) \
        if image.shape[2] == 3 else (gray, gray_names)
    columns = st.columns([2] + [1] * len(names))
    with columns[0]:
        show_image_with_box(top, left, size, size, t("conv.patch_where", top=top, left=left, n=size))
    for column, plane, name in zip(columns[1:], planes, names, strict=False):
        with column:
            st.markdown(f"**{name}**")
            show_matrix(plane[top:top + size, left:left + size], signed=False, cell_inches=2.2 / max(size, 6),
                        vmin=0.0, vmax=1.0, decimals=2 if size <= 8 else 1)


def show_feature_maps(image: np.ndarray, kernels: dict[str, np.ndarray], mode: str, flip: bool, bias: float,
                      relu: bool) -> None:
    st.subheader(t("conv.maps_title"))
    digest = current_digest()
    _, names = channels_of(image, mode)
    for column, (name, K) in zip(st.columns(max(1, len(kernels))), kernels.items(), strict=False):
        slid = effective_kernel(K, flip)
        pictures = feature_map_pngs(digest, mode, slid.tobytes(), slid.shape, bias, relu, image)
        with column:
            st.markdown(f"**{t(f'kernels.{name}_name')}**")
            st.caption(t(f"kernels.{name}"))
            with st.container(height=KERNEL_BOX, border=False):  # same height for every kernel: maps line up
                show_matrix(slid, decimals=3, signed=True, cell_inches=0.32 if K.shape[0] > 3 else 0.4)
            for plane_name, (png, lo, hi, cmap) in zip(names, pictures, strict=True):
                show_png(png, t("conv.map_caption", name=plane_name, h=image.shape[0], w=image.shape[1]))
                show_colorbar(lo, hi, cmap)


def show_worked_example(image: np.ndarray, kernels: dict[str, np.ndarray], mode: str, flip: bool, bias: float,
                        relu: bool) -> None:
    """One output value computed by hand: patch, kernel, products, their sum (+ bias, ReLU)."""
    st.subheader(t("conv.example_title"))
    planes, names = channels_of(image, mode)
    H, W = planes.shape[1:]
    which, channel, row_column, col_column = st.columns(4)
    name = which.selectbox(t("conv.example_kernel"), list(kernels), key="conv_example_kernel",
                           format_func=labels("kernels.", "_name"))
    plane_index = channel.selectbox(t("conv.example_channel"), range(len(names)), format_func=names.__getitem__,
                                    key="conv_example_channel") if len(names) > 1 else 0
    for key, limit in (("conv_row", H - 1), ("conv_col", W - 1)):
        if st.session_state.get(key, 0) > limit:
            st.session_state[key] = limit
    row = row_column.number_input(t("conv.row"), 0, H - 1, key="conv_row")
    col = col_column.number_input(t("conv.col"), 0, W - 1, key="conv_col")
    K = effective_kernel(kernels[name], flip)
    kh, kw = K.shape
    top_pad, _, left_pad, _ = same_padding((kh, kw), (1, 1))
    padded = np.pad(planes[plane_index], ((top_pad, kh), (left_pad, kw)))  # zero 'same' padding, as in the maps
    patch = padded[row:row + kh, col:col + kw]
    products = patch * K
    total = float(products.sum())
    value = total + bias
    shown = max(value, 0.0) if relu else value

    where, patch_column, kernel_column, products_column = st.columns([3, 2, 2, 2])
    with where:
        show_image_with_box(row - top_pad, col - left_pad, kh, kw, t("conv.example_where", row=row, col=col))
    with patch_column:
        st.markdown(t("conv.example_patch"))
        show_matrix(patch, signed=False, cell_inches=0.42)
    with kernel_column:
        st.markdown(t("conv.example_kernel_flipped") if flip else t("conv.example_kernel_used"))
        show_matrix(K, decimals=3, signed=True, cell_inches=0.42)
    with products_column:
        st.markdown(t("conv.example_products"))
        show_matrix(products, decimals=3, signed=True, cell_inches=0.42)
    st.markdown(t("conv.example_sum"))
    terms = " + ".join(f"({format_number(p, 3)})" for p in products.ravel()[:9])
    more = r" + \dots" if products.size > 9 else ""
    st.latex(rf"\sum = {terms}{more} = {total:.4f}")
    st.latex(rf"y = {total:.4f} + ({bias:g}) = {value:.4f}" + (rf"\qquad \mathrm{{ReLU}}(y) = {shown:.4f}" if relu else ""))
    in_map = feature_maps(current_digest(), mode, K.tobytes(), K.shape, image)[plane_index, row, col] + bias
    st.caption(t("conv.example_map_value", value=f"{max(in_map, 0.0) if relu else in_map:.4f}"))


def show_flip_comparison(kernels: dict[str, np.ndarray], image: np.ndarray, mode: str) -> None:
    """Cross-correlation vs convolution: the flipped kernel, and how much the two results differ here."""
    st.subheader(t("conv.flip_title"))
    st.caption(t("conv.flip_caption"))
    digest = current_digest()
    for column, (name, K) in zip(st.columns(max(1, len(kernels))), kernels.items(), strict=False):
        with column:
            st.markdown(f"**{t(f'kernels.{name}_name')}**")
            as_is, flipped = st.columns(2)
            with as_is:
                st.caption(t("conv.flip_as_is"))
                show_matrix(K, decimals=2, signed=True, cell_inches=0.3)
            with flipped:
                st.caption(t("conv.flip_flipped"))
                show_matrix(flip_kernel(K), decimals=2, signed=True, cell_inches=0.3)
            difference = np.abs(feature_maps(digest, mode, K.tobytes(), K.shape, image)
                                - feature_maps(digest, mode, flip_kernel(K).tobytes(), K.shape, image)).max()
            symmetric = np.allclose(K, flip_kernel(K))
            st.markdown(t("conv.flip_same" if symmetric else "conv.flip_differs", diff=f"{difference:.3g}"))


show_lesson("convolution")
st.header(t("common.experiment"))
image = current_image()

st.session_state.setdefault("conv_kernels", list(DEFAULT_KERNELS))
start_at_strongest_response(image)
show_numbers(image)
kernels = chosen_kernels()
controls = st.columns([1, 2, 1])
mode = controls[0].radio(t("conv.channels"), ["gray", "rgb"], key="conv_channels",
                         format_func=labels("conv.channels_"), disabled=image.shape[2] == 1,
                         help=t("conv.channels_help"))
flip = controls[1].toggle(t("conv.true_convolution"), key="conv_true_convolution", help=t("conv.true_convolution_help"))


@st.fragment
def live_panel(image: np.ndarray, kernels: dict[str, np.ndarray], mode: str, flip: bool) -> None:
    """Bias, ReLU, the maps and the worked example: moving these reruns only this panel, not the whole page."""
    columns = st.columns([1, 2, 1])
    bias = columns[0].slider(t("conv.bias"), -1.0, 1.0, 0.0, 0.05, key="conv_bias")
    relu = columns[1].toggle("ReLU", key="conv_relu", help=t("conv.relu_help"))
    show_feature_maps(image, kernels, mode, flip, bias, relu)
    show_worked_example(image, kernels, mode, flip, bias, relu)


if not kernels:
    show_problem(t("conv.no_kernel"))
else:
    live_panel(image, kernels, mode, flip)
    show_flip_comparison(kernels, image, mode)
    first = next(iter(kernels.values()))
    slid = effective_kernel(first, flip)
    show_torch_check(torch_difference(current_digest(), mode, slid.tobytes(), slid.shape, image))
    show_code(corr2d, im2col, conv2d)
