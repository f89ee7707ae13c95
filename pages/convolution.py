"""Convolution: slide kernels over the student's image; every product and sum visible; point at a map to explain it.

Widget keys (lessons' ```try blocks may set them):
  conv_kernels           kernel names from cnn_core.KERNELS, plus "custom" (the editable grid); up to 4
  conv_channels          "gray" | "rgb"  (grayscale image, or each RGB channel on its own)
  conv_true_convolution  bool: flip the kernel first (textbook convolution) instead of cross-correlation
  conv_bias              −1.0–1.0, added to every output;  conv_relu  bool, max(0, ·) after the bias
  conv_row, conv_col     the output position of the worked example ('same' padding: output = image size); they
                         start where the first default kernel responds most; a click on a map or the image sets them
  conv_example_kernel, conv_example_channel   the map the worked example explains (a click on a map sets them)
  conv_patch             3 | 4 | 6 | 8 | 10 | 12: side of the "image as numbers" patch around the position
  conv_custom_size       3 | 5;  conv_custom_base  the preset the editable grid starts from
Live answers for the lesson's quiz: conv_image_width, conv_kernel_width, conv_valid_width.
"""

import numpy as np
import pandas as pd
import streamlit as st

from cnn_core.conv import conv2d, corr2d, flip_kernel, im2col
from cnn_core.explain import conv_example, feature_maps, patch_around, planes_of, strongest_response
from cnn_core.image import to_grayscale
from cnn_core.kernels import KERNELS
from cnn_core.render import format_number, image_to_uint8
from ui.clickmap import Box, click_cell
from ui.errors import show_problem
from ui.image_source import current_digest, current_image, digest_of
from ui.page import Choice, Multi, Number, Page, Slider, Toggle
from ui.proof import show_check
from ui.show import show_number_grid
from ui.strings import t

CUSTOM = "custom"
NAMES = (*KERNELS, CUSTOM)
DEFAULT_KERNELS = ("diff_x", "sobel_x", "laplacian")
MAX_SHOWN = 4  # kernels side by side; more would make each map too small to read
MAP_WIDTH = {1: 420, 2: 400, 3: 270, 4: 200}  # screen pixels of a feature map, by the number of kernels shown
PATCH_SIZES = (3, 4, 6, 8, 10, 12)
KERNEL_BOX = 190  # pixels: the tallest kernel grid (5×5) fits


@st.cache_data(show_spinner=False, max_entries=16)
def _start(fingerprint: str, _image: np.ndarray) -> tuple[int, int]:
    return strongest_response(to_grayscale(_image), KERNELS[DEFAULT_KERNELS[0]])


def start_at(image: np.ndarray) -> tuple[int, int]:
    """Where the worked example starts on a new image: the strongest edge of the first default kernel."""
    return _start(digest_of(image), image)


def first_kernel_width() -> int:
    names = [name for name in st.session_state.get("conv_kernels", ()) if name in KERNELS]
    return KERNELS[names[0]].shape[1] if names else KERNELS[DEFAULT_KERNELS[0]].shape[1]


PAGE = Page("convolution", controls=(
    Multi("conv_kernels", "conv.kernels", NAMES, default=list(DEFAULT_KERNELS), max_selections=MAX_SHOWN,
          labels="kernels.", labels_suffix="_name", help="conv.kernels_help"),
    Choice("conv_channels", "conv.channels", ("gray", "rgb"), default="gray", style="radio", labels="conv.channels_",
           help="conv.channels_help"),
    Toggle("conv_true_convolution", "conv.true_convolution", help="conv.true_convolution_help"),
    Slider("conv_bias", "conv.bias", -1.0, 1.0, default=0.0, step=0.05),
    Toggle("conv_relu", "conv.relu", help="conv.relu_help"),
    Number("conv_row", "conv.row", 0, lambda image: image.shape[0] - 1, default=lambda image: start_at(image)[0]),
    Number("conv_col", "conv.col", 0, lambda image: image.shape[1] - 1, default=lambda image: start_at(image)[1]),
    Choice("conv_example_kernel", "conv.example_kernel", NAMES, default=DEFAULT_KERNELS[0], labels="kernels.",
           labels_suffix="_name"),
    Choice("conv_example_channel", "conv.example_channel", (0, 1, 2), default=0, labels="conv.plane_"),
    Choice("conv_patch", "conv.patch_size", PATCH_SIZES, default=6, style="select_slider", help="conv.patch_size_help"),
    Choice("conv_custom_size", "conv.custom_size", (3, 5), default=3, style="radio", extra=dict(horizontal=True)),
    Choice("conv_custom_base", "conv.custom_base", tuple(KERNELS), default="identity", labels="kernels.",
           labels_suffix="_name"),
), code=(corr2d, im2col, conv2d, conv_example), live_answers={
    "conv_image_width": lambda: current_image().shape[1],
    "conv_kernel_width": first_kernel_width,
    "conv_valid_width": lambda: current_image().shape[1] - first_kernel_width() + 1,
})


def plane_names(mode: str) -> list[str]:
    return ["R", "G", "B"] if mode == "rgb" and current_image().shape[2] == 3 else [t("conv.gray")]


@st.cache_resource(show_spinner=False, max_entries=32)  # read-only arrays: no copy per rerun (cache_data pickles)
def maps_of(digest: str, mode: str, kernel: bytes, shape: tuple, _image: np.ndarray) -> np.ndarray:
    """(C, H, W): one kernel on each plane, cached per image and kernel (the slow part; bias and ReLU are not)."""
    return feature_maps(planes(digest, mode, _image), np.frombuffer(kernel, np.float32).reshape(shape))


@st.cache_data(show_spinner=False, max_entries=64)
def flip_difference(digest: str, mode: str, kernel: bytes, shape: tuple, _image: np.ndarray) -> float:
    """max |cross-correlation − convolution| of one kernel on this image."""
    flipped = feature_maps(planes(digest, mode, _image), flip_kernel(np.frombuffer(kernel, np.float32).reshape(shape)))
    return float(np.abs(maps_of(digest, mode, kernel, shape, _image) - flipped).max())


@st.cache_resource(show_spinner=False, max_entries=16)
def planes(digest: str, mode: str, _image: np.ndarray) -> np.ndarray:
    """(C, H, W) planes of the image (grayscale, or R, G, B), made once per image: not on every click."""
    return planes_of(_image, mode)


def shown_map(maps: np.ndarray, plane: int, bias: float, relu: bool) -> np.ndarray:
    value = maps[plane] + np.float32(bias)
    return np.maximum(value, 0) if relu else value


def custom_kernel_editor(page: Page) -> np.ndarray | None:
    """The editable grid; None (with a message) when a cell is empty or not a number."""
    size_column, base_column = st.columns(2)
    size = page.draw("conv_custom_size", size_column)
    base = page.draw("conv_custom_base", base_column, only=[n for n, K in KERNELS.items() if K.shape == (size, size)])
    start = pd.DataFrame(KERNELS[base].astype(float), columns=[str(c) for c in range(size)])
    edited = st.data_editor(start, key=f"conv_custom_grid_{size}_{base}", hide_index=True, width="content",
                            column_config={str(c): st.column_config.NumberColumn(str(c), min_value=-100.0,
                                                                                max_value=100.0, format="%.3g")
                                           for c in range(size)})
    values = edited.to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values).all():
        show_problem(t("conv.custom_incomplete"))
        return None
    return values.astype(np.float32)


def chosen_kernels(page: Page) -> dict[str, np.ndarray]:
    kernels = {}
    for name in page.draw("conv_kernels"):
        if name == CUSTOM:
            with st.expander(t("conv.custom_title"), expanded=True):
                K = custom_kernel_editor(page)
            if K is not None:
                kernels[name] = K
        else:
            kernels[name] = KERNELS[name]
    return kernels


def pick(page: Page, name: str | None = None, plane: int | None = None):
    """A click callback: the clicked cell (of the map of `name` on `plane`, or of the image) becomes the example."""
    def picked(row: int, col: int) -> None:
        values = dict(conv_row=row, conv_col=col)
        if name is not None:
            values.update(conv_example_kernel=name, conv_example_channel=plane)
        page.set(**values)
    return picked


def show_feature_maps(page: Page, slid: dict, maps: dict, mode: str, bias: float, relu: bool) -> None:
    st.subheader(t("conv.maps_title"))
    st.caption(t("conv.click_hint"))
    image, digest, state = current_image(), current_digest(), st.session_state
    width, names = MAP_WIDTH[len(slid)], plane_names(mode)
    for column, (name, K) in zip(st.columns(len(slid)), slid.items(), strict=True):
        with column:
            show_number_grid(K, decimals=3, signed=True, cell_px=36 if K.shape[1] > 3 else 46, height_px=KERNEL_BOX,
                             title=f"**{t(f'kernels.{name}_name')}**\n\n:gray[:small[{t(f'kernels.{name}')}]]")
            for plane, plane_name in enumerate(names):
                explained = name == state.conv_example_kernel and plane == (state.conv_example_channel if len(names) > 1
                                                                             else 0)
                caption = t("conv.map_caption", name=plane_name, h=image.shape[0], w=image.shape[1])
                click_cell(lambda m=maps[name], plane=plane: shown_map(m, plane, bias, relu), f"conv_map_{name}_{plane}",
                           pick(page, name, plane), chosen=(state.conv_row, state.conv_col),
                           boxes=[Box(state.conv_row, state.conv_col, color="#ffc800" if explained else "#888888")],
                           cache_key=(digest, mode, K.tobytes(), plane, bias, relu, width), width=width, colorbar=True,
                           caption=caption, download_name=f"{t(f'kernels.{name}_name')} · {caption}")


def show_worked_example(page: Page, slid: dict, maps: dict, mode: str, bias: float, relu: bool) -> None:
    """One output value computed by hand: where, patch, kernel, products, their sum (+ bias, ReLU)."""
    st.subheader(t("conv.example_title"))
    image, digest, names, state = current_image(), current_digest(), plane_names(mode), st.session_state
    if state.conv_example_kernel not in slid:
        state.conv_example_kernel = next(iter(slid))
    name = state.conv_example_kernel
    # Which map is explained: a click on it, or one of these buttons (the kernels shown change what can be chosen).
    st.caption(t("conv.example_kernel"))
    for column, other in zip(st.columns(MAX_SHOWN), slid, strict=False):
        column.button(t(f"kernels.{other}_name"), key=f"conv_explain_{other}", on_click=page.set,
                      kwargs=dict(conv_example_kernel=other), type="primary" if other == name else "secondary",
                      width="stretch")
    channel, row_column, col_column = st.columns(3)
    plane = page.draw("conv_example_channel", channel) if len(names) > 1 else 0
    row, col = page.draw("conv_row", row_column), page.draw("conv_col", col_column)
    K = slid[name]
    example = conv_example(planes(digest, mode, image)[plane], K, row, col)
    where, patch_column, kernel_column, products_column = st.columns([3, 2, 2, 2])
    with where:
        click_cell(lambda: image_to_uint8(image), "conv_image", pick(page), chosen=(row, col),
                   boxes=[Box(example.top, example.left, *K.shape)], cache_key=(digest, "image"), width=300,
                   caption=t("conv.example_where", row=row, col=col))
    cell = 52 if K.shape[1] <= 3 else 40
    with patch_column:
        show_number_grid(example.patch, decimals=2, signed=False, vmin=0.0, vmax=1.0, cell_px=cell, legend=True,
                         title=t("conv.example_patch"))
    with kernel_column:
        show_number_grid(K, decimals=3, signed=True, cell_px=cell, title=t(
            "conv.example_kernel_flipped" if state.conv_true_convolution else "conv.example_kernel_used"))
    with products_column:
        show_number_grid(example.products, decimals=3, signed=True, cell_px=cell, legend=True,
                         title=t("conv.example_products"))
    st.markdown(t("conv.example_sum"))
    terms = " + ".join(f"({format_number(p, 3)})" for p in example.products.ravel()[:9])
    more = r" + \dots" if example.products.size > 9 else ""
    total, value = example.total, example.total + bias
    st.latex(rf"\sum = {terms}{more} = {total:.4f}")
    st.latex(rf"y = {total:.4f} + ({bias:g}) = {value:.4f}" + (rf"\qquad \mathrm{{ReLU}}(y) = {max(value, 0):.4f}"
                                                                if relu else ""))
    in_map = float(shown_map(maps[name], plane, bias, relu)[row, col])
    st.caption(t("conv.example_map_value", value=f"{in_map:.4f}"))


def show_numbers(page: Page) -> None:
    """'The image as numbers': a patch of pixel values around the position, as gray and as the RGB matrices."""
    st.subheader(t("conv.numbers_title"))
    image, digest, state = current_image(), current_digest(), st.session_state
    size = min(page.draw("conv_patch", st.columns([1, 2])[0]), *image.shape[:2])
    st.caption(t("conv.numbers_caption", n=size))
    shown, names = [planes(digest, "gray", image)[0]], [t("conv.gray")]
    _, top, left = patch_around(shown[0], state.conv_row, state.conv_col, size)
    if image.shape[2] == 3:
        shown, names = shown + list(planes(digest, "rgb", image)), names + ["R", "G", "B"]
    cell, decimals = max(21, min(40, 250 // size)), 2 if size <= 8 else 1  # numbers stay ≥ 14 px and fit a column

    def matrix(plane: np.ndarray, name: str) -> None:
        show_number_grid(plane[top:top + size, left:left + size], decimals=decimals, signed=False, vmin=0.0,
                         vmax=1.0, cell_px=cell, legend=name == names[0], title=f"**{name}**")

    picture, gray = st.columns([3, 2])
    with picture:
        click_cell(lambda: image_to_uint8(image), "conv_patch_image", pick(page),
                   chosen=(state.conv_row, state.conv_col), boxes=[Box(top, left, size, size)],
                   cache_key=(digest, "image"), width=300, caption=t("conv.patch_where", top=top, left=left, n=size))
    with gray:
        matrix(shown[0], names[0])
    for column, plane, name in zip(st.columns(3), shown[1:], names[1:], strict=False):
        with column:
            matrix(plane, name)


@st.fragment
def explorer(page: Page, slid: dict[str, np.ndarray], maps: dict[str, np.ndarray], mode: str) -> None:
    """Bias, ReLU, the maps, the worked example and the numbers around it: moving any of these, or clicking a
    map, reruns only this panel."""
    columns = st.columns([1, 2, 1])
    bias, relu = page.draw("conv_bias", columns[0]), page.draw("conv_relu", columns[1])
    show_feature_maps(page, slid, maps, mode, bias, relu)
    show_worked_example(page, slid, maps, mode, bias, relu)
    show_numbers(page)


def show_flip_comparison(kernels: dict[str, np.ndarray], mode: str) -> None:
    """Cross-correlation vs convolution: the flipped kernel, and how much the two results differ here."""
    st.subheader(t("conv.flip_title"))
    st.caption(t("conv.flip_caption"))
    image, digest = current_image(), current_digest()
    for column, (name, K) in zip(st.columns(len(kernels)), kernels.items(), strict=True):
        with column:
            st.markdown(f"**{t(f'kernels.{name}_name')}**")
            as_is, flipped = st.columns(2)
            with as_is:
                st.caption(t("conv.flip_as_is"))
                show_number_grid(K, decimals=2, signed=True, cell_px=34)
            with flipped:
                st.caption(t("conv.flip_flipped"))
                show_number_grid(flip_kernel(K), decimals=2, signed=True, cell_px=34)
            F = flip_kernel(K)
            difference = flip_difference(digest, mode, K.tobytes(), K.shape, image)
            symmetric = np.allclose(K, F)
            st.markdown(t("conv.flip_same" if symmetric else "conv.flip_differs", diff=f"{difference:.3g}"))


def experiment(page: Page) -> None:
    image = current_image()
    kernels = chosen_kernels(page)
    controls = st.columns([1, 2, 1])
    mode = page.draw("conv_channels", controls[0], disabled=image.shape[2] == 1)
    mode = mode if image.shape[2] == 3 else "gray"
    flip = page.draw("conv_true_convolution", controls[1])
    if not kernels:
        show_problem(t("conv.no_kernel"))
        return
    slid = {name: flip_kernel(K) if flip else K for name, K in kernels.items()}  # the kernels as they slide
    # The maps are computed (or fetched) once per full run and handed to the fragment, whose own reruns reuse them.
    maps = {name: maps_of(current_digest(), mode, K.tobytes(), K.shape, image) for name, K in slid.items()}
    explorer(page, slid, maps, mode)
    show_flip_comparison(kernels, mode)
    X = planes(current_digest(), mode, image)[:, None]  # (C, 1, H, W): every channel, every kernel, checked
    for name, K in slid.items():
        show_check(conv2d, X, K[None, None], key=(current_digest(), mode, K.tobytes(), K.shape),
                   padding="same", label=t("conv.check_label", name=t(f"kernels.{name}_name")), on_copy=0)


if __name__ == "__main__":
    PAGE.run(experiment)
