"""Receptive field: build a stack of conv and pooling layers and see how much of your image one neuron sees.

Widget keys (lessons' ```try blocks may set them):
  rf_preset    two_3x3 | one_5x5 | conv_pool_conv | three_3x3 | one_7x7 | strided_3x3 | dilated_124 | vgg16 |
               alexnet | resnet_stem | custom   (choosing a preset replaces the stack)
  rf_weights   uniform | gaussian | edges | random   (weights of the pictures and of the effective field)
  rf_relu      true | false   (a ReLU after every conv)
  rf_zoom      true | false   (show the feature maps as close-ups around the field)
  rf_row, rf_col   the neuron of the last map (0-based, clamped to the map; a new preset picks the centre)
The stack builder (ui/layer_stack.py) declares one row of controls per layer i = 0 … 11: rf_kind_i, rf_kernel_i,
rf_stride_i, rf_padding_i, rf_dilation_i, rf_channels_i (a lesson sets a whole stack through rf_preset instead).
In the address bar a custom stack is one parameter, rf_layers=c3p1,m2s2,c3d2o128 (cnn_core.rf_layers.stack_text).
Buttons: rf_add_conv, rf_add_pool, rf_up_i, rf_down_i, rf_remove_i, rf_find_live (the nearest neuron that is on);
the clickable last map: rf_map_click.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn_core.figures import field_pictures, png
from cnn_core.image import to_grayscale
from cnn_core.receptive_field import axis_step, boxes_through_stack, input_box, receptive_field, receptive_field_latex
from cnn_core.render import image_to_uint8
from cnn_core.rf_effective import effective_receptive_field, nearest_live_neuron, neuron_gradient
from cnn_core.rf_layers import StackError, output_shapes, parameter_counts
from cnn_core.rf_network import WEIGHT_MODES, feature_maps, neuron_gradient_numpy, normalised_field, relu_biases, spread
from ui.clickmap import Box, click_cell
from ui.errors import show_problem
from ui.image_source import WORKING_PIXELS
from ui.layer_stack import (
    DEFAULT_PRESET,
    PRESET_OPTIONS,
    STACK_CONTROLS,
    as_torch_layers,
    current_rows,
    layers_of,
    stack_builder,
    stack_from_link,
    stack_key,
    stack_to_link,
    sync_stack,
)
from ui.page import Choice, Page, Slider, Toggle
from ui.proof import show_check, show_difference
from ui.rf_view import layer_table, profile_chart
from ui.show import show_png
from ui.strings import t

SS = st.session_state
CLICK_CELLS = 48  # the clickable last map: at most this many cells per side (blocks of b × b neurons beyond)


def last_map(image: np.ndarray) -> tuple[int, int]:
    """(height, width) of the last layer's map on this image, (1, 1) when the stack does not fit. Remembered per
    (stack, image size): the neuron sliders' bounds and defaults ask for it several times per run."""
    rows = current_rows()
    key = (stack_key(rows), image.shape[:2])
    if key not in _LAST_MAPS:
        if len(_LAST_MAPS) > 256:
            _LAST_MAPS.clear()
        try:
            _LAST_MAPS[key] = output_shapes(as_torch_layers(rows), image.shape[:2])[-1]
        except StackError:
            _LAST_MAPS[key] = (1, 1)
    return _LAST_MAPS[key]


_LAST_MAPS: dict[tuple, tuple[int, int]] = {}


# pixels: each stack edit runs the stack over the whole picture; a bigger image is worked on as a smaller copy
PAGE = Page("receptive_field", controls=(
    Choice("rf_preset", "receptive_field.preset", PRESET_OPTIONS, default=DEFAULT_PRESET,
           labels="receptive_field.preset_"),
    Choice("rf_weights", "receptive_field.weights", WEIGHT_MODES, default="uniform", labels="receptive_field.weights_",
           help="receptive_field.weights_help"),
    Toggle("rf_relu", "receptive_field.relu", default=False, help="receptive_field.relu_help"),
    Toggle("rf_zoom", "receptive_field.maps_zoom", default=True),
    Slider("rf_row", "receptive_field.row", 0, lambda image: last_map(image)[0] - 1,
           default=lambda image: last_map(image)[0] // 2),
    Slider("rf_col", "receptive_field.col", 0, lambda image: last_map(image)[1] - 1,
           default=lambda image: last_map(image)[1] // 2),
    *STACK_CONTROLS,
), pixels=WORKING_PIXELS, code=(receptive_field, axis_step, input_box, neuron_gradient, effective_receptive_field, normalised_field),
    live_answers={"rf_field_plus_3x3": lambda: plus_3x3(receptive_field(as_torch_layers(current_rows()))[-1])})


def maps_key(key: tuple) -> tuple:
    """The stack as the maps and fields see it: one channel per layer (cnn_core.rf_network), so a layer's channel
    count, which moves only the parameter counts, reuses every map, field and picture already made."""
    return tuple((*values[:-1], 1) for values in key)


def plus_3x3(rf) -> int:
    """The field width after one more 3×3 conv with stride 1: r + (3 − 1)·j (a quiz answer from the table)."""
    return axis_step(rf.size[1], rf.jump[1], 0, 3, 1, 0)[0]


# ------------------------------------------------------------------------------------------------------------
# Cached work, keyed on the image digest and a hashable description of the stack
# ------------------------------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=8)
def gray_of(digest: str, _image: np.ndarray) -> np.ndarray:
    return to_grayscale(_image)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_maps(digest: str, key: tuple, weights: str, relu: bool, _gray: np.ndarray) -> tuple[np.ndarray, ...]:
    return feature_maps(layers_of(key), _gray, weights, relu)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_biases(digest: str, key: tuple, weights: str, _gray: np.ndarray) -> list[float]:
    return relu_biases(layers_of(key), _gray, weights)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_erf(digest: str, key: tuple, weights: str, relu: bool, row: int, col: int,
               _gray: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The effective field by autograd; its largest difference from the NumPy gradient by hand (both scaled to
    their peak); and the largest autograd |∂y/∂x| outside the theoretical field (must be 0)."""
    layers = layers_of(key)
    biases = cached_biases(digest, key, weights, _gray) if relu else None  # one pass over the whole image
    erf = effective_receptive_field(layers, _gray, row, col, weights, relu, biases=biases)
    by_hand = normalised_field(neuron_gradient_numpy(layers, _gray, row, col, weights, relu, biases=biases))
    box = input_box(receptive_field(layers)[-1], row, col).clip(*_gray.shape)
    outside = erf.copy()
    outside[box.top:box.bottom, box.left:box.right] = 0
    return erf, float(np.abs(erf - by_hand).max()), float(outside.max())


# ------------------------------------------------------------------------------------------------------------
# Display pieces
# ------------------------------------------------------------------------------------------------------------

def on_map_click(row: int, col: int) -> None:
    PAGE.set(rf_row=row, rf_col=col)


def pick_live_neuron(key: tuple, weights: str, relu: bool, row: int, col: int) -> None:
    found = nearest_live_neuron(layers_of(key), to_grayscale(PAGE.image()), row, col, weights, relu)
    if found is not None:
        PAGE.set(rf_row=found[0], rf_col=found[1])
    else:
        SS._rf_no_live = True


def neuron_picker(page: Page, last: np.ndarray, key: tuple) -> tuple[int, int]:
    """The last map, clickable (ui.clickmap: a click picks that neuron), and the row / column sliders."""
    H, W = last.shape
    page.set(rf_row=SS.get("rf_row", H // 2), rf_col=SS.get("rf_col", W // 2))  # clamped to this map
    block = max(1, -(-max(H, W) // CLICK_CELLS))  # the click grid's cells: b × b neurons each
    caption = "receptive_field.last_map" if block == 1 else "receptive_field.last_map_blocks"
    st.caption(t(caption, h=H, w=W, n=len(key[1]), b=block))
    click_cell(last, "rf_map_click", on_map_click, chosen=(SS.rf_row, SS.rf_col), width=230, max_cells=CLICK_CELLS,
               boxes=[Box(SS.rf_row, SS.rf_col, 1, 1, "#ffc800")], cache_key=key)
    for key, size in (("rf_row", H), ("rf_col", W)):
        if size > 1:
            page.draw(key)
    if H == 1 and W == 1:
        st.caption(t("receptive_field.only_neuron", row=0, col=0))
    SS._rf_neuron_seen = {"rf_row": SS.rf_row, "rf_col": SS.rf_col}
    return SS.rf_row, SS.rf_col


@st.cache_data(show_spinner=False, max_entries=64)
def neuron_pictures(digest: str, key: tuple, weights: str, relu: bool, row: int, col: int, zoom: bool,
                    _image: np.ndarray, _maps: tuple, _erf: np.ndarray) -> tuple[bytes, bytes, list[bytes]]:
    """The pictures of one neuron's field (cnn_core.figures.field_pictures) as PNGs, encoded at display size."""
    whole, near, gallery = field_pictures(image_to_uint8(_image), layers_of(key), row, col, _erf, _maps, zoom,
                                          side=340, map_side=230)  # the columns are about this wide at 1400 px
    return png(whole), png(near), [png(picture) for picture in gallery]


@st.fragment
def neuron_panel(page: Page, key: tuple) -> None:
    """The chosen neuron: its field on the image and on every map, and its effective field. A fragment: the
    neuron, the weights and the ReLU change only these pictures, not the stack or its table above."""
    image, digest = page.image(), page.digest()
    st.subheader(t("receptive_field.neuron_title"))
    st.caption(t("receptive_field.neuron_help"))
    weights_column, relu_column, _ = st.columns([2, 2, 1], vertical_alignment="bottom")
    weights, relu = page.draw("rf_weights", weights_column), page.draw("rf_relu", relu_column)
    gray, layers = gray_of(digest, image), layers_of(key)
    maps = cached_maps(digest, key, weights, relu, gray)
    pick_column, image_column, zoom_column = st.columns([1.1, 1.3, 1.3])
    with pick_column:
        row, col = neuron_picker(page, maps[-1], (digest, key, weights, relu))
    box = input_box(receptive_field(layers)[-1], row, col)
    clipped = box.clip(*gray.shape)
    erf, by_hand, outside = cached_erf(digest, key, weights, relu, row, col, gray)
    stats = spread(erf)
    whole, near, gallery = neuron_pictures(digest, key, weights, relu, row, col, page.value("rf_zoom"), image,
                                           maps, erf)
    with image_column:
        st.markdown(t("receptive_field.on_image", row=row, col=col, top=box.top, bottom=box.bottom - 1, left=box.left,
                      right=box.right - 1, h=box.height, w=box.width))
        if clipped != box:
            st.caption(t("receptive_field.on_image_clipped", ch=clipped.height, cw=clipped.width, h=box.height,
                         w=box.width))
        show_png(whole, t("receptive_field.image_caption"))
    with zoom_column:
        show_png(near, t("receptive_field.zoom_caption", pct=95))

    st.markdown(f"#### {t('receptive_field.erf_title')}")
    text_column, plot_column = st.columns([1, 1])
    with text_column:
        if stats is None:
            st.info(t("receptive_field.dead_neuron"))
            st.button(t("receptive_field.find_live"), key="rf_find_live", on_click=pick_live_neuron,
                      args=(key, weights, relu, row, col))
            if SS.pop("_rf_no_live", False):
                st.caption(t("receptive_field.no_live"))
        else:
            share = 100 * stats.box.height * stats.box.width / max(1, clipped.height * clipped.width)
            st.markdown(t("receptive_field.erf_stats", sh=f"{stats.sigma[0]:.2f}", sw=f"{stats.sigma[1]:.2f}",
                          pct=95, bh=stats.box.height, bw=stats.box.width, h=box.height, w=box.width,
                          share=f"{share:.0f}"))
        st.markdown(t("receptive_field.erf_why"))
        st.caption(t("receptive_field.erf_depends"))
        if outside == 0:
            st.success(t("receptive_field.autograd_ok", outside=f"{outside:.1e}"), icon=":material/check_circle:")
        else:
            st.error(t("receptive_field.autograd_bad", outside=f"{outside:.1e}"), icon=":material/warning:")
        show_difference(by_hand, 1e-6, t("receptive_field.check_by_hand"))
    with plot_column:
        if stats is not None:
            profile_chart(erf, box)

    heading, toggle = st.columns([3, 1], vertical_alignment="bottom")
    heading.markdown(f"#### {t('receptive_field.maps_title')}")
    page.draw("rf_zoom", toggle)
    st.caption(t("receptive_field.maps_help"))
    fields = boxes_through_stack(layers, row, col)
    captions = [t("receptive_field.map_input", h=gray.shape[0], w=gray.shape[1], bh=fields[0].height,
                  bw=fields[0].width)]
    captions += [t("receptive_field.map_caption", n=i + 1, kind=t(f"receptive_field.kind_{values[0]}"),
                   h=m.shape[0], w=m.shape[1], bh=fields[i + 1].height, bw=fields[i + 1].width)
                 for i, (values, m) in enumerate(zip(key, maps, strict=True))]
    for start in range(0, len(gallery), 4):
        for column, picture, caption in zip(st.columns(4), gallery[start:start + 4], captions[start:start + 4],
                                        strict=False):
            with column:
                show_png(picture, caption)
    show_check(feature_maps, layers, gray, weights, relu, key=(digest, key, weights, relu), on_copy=1,
               label=t("receptive_field.check_maps"))


# ------------------------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------------------------

def experiment(page: Page) -> None:
    sync_stack()
    if (problem := SS.pop("_rf_link_problem", None)) is not None:
        show_problem(problem)  # the link's stack could not be read: the default one is shown
    page.draw("rf_preset", st.columns([3, 2])[0])  # wide enough for "conv → pool → conv"-like names
    rows = stack_builder(page)
    stack_to_link()
    layers, image = as_torch_layers(rows), page.image()
    try:
        fields = receptive_field(layers)
        shapes = output_shapes(layers, image.shape[:2])
        params = parameter_counts(layers, image.shape[2])
    except StackError as error:
        show_problem(error)
        return
    st.subheader(t("receptive_field.table_title"))
    layer_table(rows, shapes, fields, params, image.shape)  # the whole width: eight columns (at 1024 px too)
    words, formulas = st.columns([2, 3])
    words.markdown(f"**{t('receptive_field.formula_title')}**\n\n{t('receptive_field.formula_intro')}")
    with formulas:
        st.latex(r"r_l = r_{l-1} + (k_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l")
        st.latex(receptive_field_latex(layers, axis=1))
    neuron_panel(page, maps_key(stack_key(rows)))


if __name__ == "__main__":
    stack_from_link()  # before the scaffold reads the neuron from the link: its range depends on the stack
    PAGE.run(experiment)
