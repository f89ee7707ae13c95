"""Receptive field: build a stack of conv and pooling layers and see how much of your image one neuron sees.

Widget keys (lessons' ```try blocks may set them):
  rf_preset    two_3x3 | one_5x5 | conv_pool_conv | three_3x3 | one_7x7 | strided_3x3 | dilated_124 | vgg16 |
               alexnet | resnet_stem | custom   (choosing a preset replaces the stack)
  rf_weights   uniform | gaussian | edges | random   (weights of the pictures and of the effective field)
  rf_relu      true | false   (a ReLU after every conv)
  rf_zoom      true | false   (show the feature maps as close-ups around the field)
  rf_row, rf_col   the neuron of the last map (0-based, clamped to the map; a new preset picks the centre)
  per layer i = 0, 1, …: "rf_kind_0" (conv | maxpool | avgpool), "rf_kernel_0" 1–15, "rf_stride_0" 1–8,
               "rf_padding_0" 0–10, "rf_dilation_0" 1–8, "rf_channels_0" 1–2048 (and _1, _2, … for later layers)
  buttons: rf_add_conv, rf_add_pool, rf_up_i, rf_down_i, rf_remove_i, rf_find_live (nearest neuron that is\n           on, offered when the chosen one passes no gradient); the clickable last map: rf_map_click
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from cnn_core.image import to_grayscale
from cnn_core.receptive_field import (
    BOX_COLOR,
    PRESETS,
    SPREAD_COLOR,
    WEIGHT_MODES,
    StackError,
    axis_step,
    boxes_through_stack,
    effective_receptive_field,
    erf_profile_figure,
    feature_maps,
    input_box,
    map_picture,
    nearest_live_neuron,
    neuron_gradient,
    output_shapes,
    parameter_counts,
    picture_with_boxes,
    receptive_field,
    receptive_field_latex,
    spread,
    zoom_region,
)
from cnn_core.render import image_to_uint8, to_png
from ui.image_source import current_digest, current_image
from ui.lesson import show_lesson
from ui.show import show_code, show_figure, show_png, show_problem
from ui.strings import labels, t

DEFAULT_PRESET = "conv_pool_conv"
PRESET_OPTIONS = (*PRESETS, "custom")
KINDS = ("conv", "maxpool", "avgpool")
FIELDS = ("kind", "kernel", "stride", "padding", "dilation", "channels")
LIMITS = dict(kernel=(1, 15), stride=(1, 8), padding=(0, 10), dilation=(1, 8), channels=(1, 2048))
MAX_LAYERS = 12
CHART_CELLS = 48  # the clickable map shows at most this many cells per side (blocks of neurons beyond that)
SS = st.session_state


# ------------------------------------------------------------------------------------------------------------
# The stack in session state: rows of {kind, kernel, stride, padding, dilation, channels}; one widget per field
# ------------------------------------------------------------------------------------------------------------

def preset_rows(name: str) -> list[dict]:
    return [dict(kind=layer["kind"], kernel=layer["kernel_size"], stride=layer["stride"], padding=layer["padding"],
                 dilation=layer["dilation"], channels=layer.get("out_channels") or 64) for layer in PRESETS[name]]


def as_torch_layers(rows: list[dict]) -> list[dict]:
    """The rows with torch's argument names, for cnn_core."""
    return [dict(kind=r["kind"], kernel_size=r["kernel"], stride=r["stride"], padding=r["padding"],
                 dilation=r["dilation"], **({"out_channels": r["channels"]} if r["kind"] == "conv" else {}))
            for r in rows]


def widget_key(field: str, index: int) -> str:
    return f"rf_{field}_{index}"


def write_rows(rows: list[dict]) -> None:
    """Make `rows` the stack and set every row widget to it (before the widgets are drawn)."""
    SS.rf_stack = [dict(r) for r in rows]
    for index in range(MAX_LAYERS + 1):
        for field in FIELDS:
            if index < len(rows):
                SS[widget_key(field, index)] = rows[index][field]
            else:
                SS.pop(widget_key(field, index), None)
    SS._rf_seen = {widget_key(f, i): r[f] for i, r in enumerate(rows) for f in FIELDS}


def mark_custom() -> None:
    SS.rf_preset = SS._rf_loaded = "custom"


def sync_stack() -> None:
    """Reconcile the stack with its widgets: a new preset replaces it; a changed row widget (moved by the student
    or set by a lesson's "Try it") edits it, after the preset when both changed in the same click."""
    if "rf_stack" not in SS:
        write_rows(preset_rows(DEFAULT_PRESET))
        SS._rf_loaded = DEFAULT_PRESET
    if SS.get("rf_preset") not in PRESET_OPTIONS:  # widget state is dropped while another page is shown
        SS.rf_preset = SS._rf_loaded
    rows = [dict(r) for r in SS.rf_stack]
    seen = SS.get("_rf_seen", {})
    changed = [(i, f, SS[widget_key(f, i)]) for i in range(MAX_LAYERS) for f in FIELDS
               if widget_key(f, i) in SS and SS[widget_key(f, i)] != seen.get(widget_key(f, i))]
    if SS.rf_preset != SS._rf_loaded:
        if SS.rf_preset != "custom":
            rows = preset_rows(SS.rf_preset)
            neuron_seen = SS.get("_rf_neuron_seen", {})
            for key in ("rf_row", "rf_col"):  # a new network: start from the centre neuron, unless a "Try it" set it
                if SS.get(key) == neuron_seen.get(key):
                    SS.pop(key, None)
        SS._rf_loaded = SS.rf_preset
    edited = False
    for index, field, value in changed:
        if index < len(rows) and value is not None:
            rows[index][field] = value
            edited = True
    if edited:
        mark_custom()
    write_rows(rows)


def move(index: int, delta: int) -> None:
    rows = [dict(r) for r in SS.rf_stack]
    rows[index], rows[index + delta] = rows[index + delta], rows[index]
    write_rows(rows)
    mark_custom()


def remove(index: int) -> None:
    write_rows([dict(r) for i, r in enumerate(SS.rf_stack) if i != index])
    mark_custom()


def add(kind: str) -> None:
    channels = next((r["channels"] for r in reversed(SS.rf_stack) if r["kind"] == "conv"), 64)
    row = (dict(kind="conv", kernel=3, stride=1, padding=1, dilation=1, channels=channels) if kind == "conv"
           else dict(kind="maxpool", kernel=2, stride=2, padding=0, dilation=1, channels=channels))
    write_rows([*SS.rf_stack, row])
    mark_custom()


def stack_builder() -> None:
    st.subheader(t("receptive_field.builder_title"))
    st.caption(t("receptive_field.builder_help"))
    rows = SS.rf_stack
    widths = [0.4, 2.2, 1, 1, 1, 1, 1.3, 0.5, 0.5, 0.5]
    header = st.columns(widths, vertical_alignment="bottom")
    for column, name in zip(header[1:7], FIELDS, strict=True):
        column.markdown(f"**{t(f'receptive_field.col_{name}')}**")
    for index, row in enumerate(rows):
        cells = st.columns(widths, vertical_alignment="center")
        cells[0].markdown(f"**{index + 1}**")
        cells[1].selectbox(t("receptive_field.col_kind"), KINDS, key=widget_key("kind", index),
                           format_func=labels("receptive_field.kind_"), label_visibility="collapsed")
        for column, field in zip(cells[2:7], FIELDS[1:], strict=True):
            low, high = LIMITS[field]
            column.number_input(t(f"receptive_field.col_{field}"), low, high, step=1, key=widget_key(field, index),
                                label_visibility="collapsed",
                                disabled=(field == "channels" and row["kind"] != "conv")
                                or (field == "dilation" and row["kind"] == "avgpool" and row["dilation"] == 1))
        cells[7].button("↑", key=f"rf_up_{index}", on_click=move, args=(index, -1), disabled=index == 0,
                        help=t("receptive_field.move_up"))
        cells[8].button("↓", key=f"rf_down_{index}", on_click=move, args=(index, 1), disabled=index == len(rows) - 1,
                        help=t("receptive_field.move_down"))
        cells[9].button("✕", key=f"rf_remove_{index}", on_click=remove, args=(index,), disabled=len(rows) == 1,
                        help=t("receptive_field.remove"))
    full = len(rows) >= MAX_LAYERS
    left, right, note = st.columns([1, 1, 4])
    left.button(t("receptive_field.add_conv"), key="rf_add_conv", on_click=add, args=("conv",), disabled=full,
                width="stretch")
    right.button(t("receptive_field.add_pool"), key="rf_add_pool", on_click=add, args=("pool",), disabled=full,
                 width="stretch")
    if full:
        note.caption(t("receptive_field.max_layers", n=MAX_LAYERS))


# ------------------------------------------------------------------------------------------------------------
# Cached computations (keyed on the image digest and a hashable description of the stack)
# ------------------------------------------------------------------------------------------------------------

def stack_key(rows: list[dict]) -> tuple:
    return tuple(tuple(r[f] for f in FIELDS) for r in rows)


def layers_of(key: tuple) -> list[dict]:
    return as_torch_layers([dict(zip(FIELDS, values, strict=True)) for values in key])


@st.cache_data(show_spinner=False, max_entries=16)
def cached_maps(digest: str, key: tuple, weights: str, relu: bool, _gray: np.ndarray) -> list[np.ndarray]:
    return feature_maps(layers_of(key), _gray, weights, relu)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_erf(digest: str, key: tuple, weights: str, relu: bool, row: int, col: int,
               _gray: np.ndarray) -> tuple[np.ndarray, float]:
    """The effective field, and the largest raw |∂y/∂x| outside the theoretical field (must be 0)."""
    layers = layers_of(key)
    gradient = np.abs(neuron_gradient(layers, _gray, row, col, weights, relu))
    box = input_box(receptive_field(layers)[-1], row, col).clip(*_gray.shape)
    outside = gradient.copy()
    outside[box.top:box.bottom, box.left:box.right] = 0
    peak = gradient.max()
    return (gradient / peak if peak > 0 else gradient).astype(np.float32), float(outside.max())


# ------------------------------------------------------------------------------------------------------------
# Display pieces
# ------------------------------------------------------------------------------------------------------------

def problem_text(error: StackError) -> str:
    key = f"receptive_field.error_{error.reason}"
    text = t(key, **error.details)
    return text if text != key else t("receptive_field.error_other", message=str(error))


def number(value: float) -> str:
    return f"{value:g}"


def pair_text(values) -> str:
    return number(values[0]) if values[0] == values[1] else f"{number(values[0])}, {number(values[1])}"


def layer_table(rows, layers, shapes, fields, params, image_shape, channels) -> None:
    """One row per layer: output size, receptive field, jump, start, parameter count."""
    name = {k: t(f"receptive_field.kind_{k}") for k in KINDS}
    table = [{t("receptive_field.table_layer"): 0, t("receptive_field.table_type"): t("receptive_field.table_input"),
              t("receptive_field.table_settings"): "",
              t("receptive_field.table_output"): f"{image_shape[0]}×{image_shape[1]}",
              t("receptive_field.table_field"): "1×1", t("receptive_field.table_jump"): "1",
              t("receptive_field.table_start"): "0", t("receptive_field.table_params"): 0}]
    for number_, (row, shape, rf, count) in enumerate(zip(rows, shapes, fields, params, strict=True), start=1):
        table.append({
            t("receptive_field.table_layer"): number_,
            t("receptive_field.table_type"): name[row["kind"]],
            t("receptive_field.table_settings"): f"{row['kernel']} / {row['stride']} / {row['padding']} / "
                                                 f"{row['dilation']}",
            t("receptive_field.table_output"): f"{shape[0]}×{shape[1]}",
            t("receptive_field.table_field"): f"{rf.size[0]}×{rf.size[1]}",
            t("receptive_field.table_jump"): pair_text(rf.jump),
            t("receptive_field.table_start"): pair_text(rf.start),
            t("receptive_field.table_params"): count,
        })
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
    st.caption(t("receptive_field.table_help", c=channels))
    st.markdown(t("receptive_field.total_params", total=f"{sum(params):,}"))
    conv_rows = [r for r in rows if r["kind"] == "conv"]
    if conv_rows:  # VGG's comparison: every conv with C channels in and out, against one layer with the same field
        size, c = fields[-1].size[1], conv_rows[-1]["channels"]
        stack = sum(r["kernel"] ** 2 * c * c + c for r in conv_rows)
        single = size * size * c * c + c
        text = "receptive_field.single_layer" if single >= stack else "receptive_field.single_layer_fewer"
        st.markdown(t(text, k=size, c=c, stack=f"{stack:,}", params=f"{single:,}", ratio=f"{single / stack:.1f}"))


def formula(layers) -> None:
    st.markdown(f"**{t('receptive_field.formula_title')}**")
    st.markdown(t("receptive_field.formula_intro"))
    st.latex(r"r_l = r_{l-1} + (k_l - 1)\, j_{l-1}, \qquad j_l = j_{l-1}\, s_l")
    st.latex(receptive_field_latex(layers, axis=1))


def chart_of_map(values: np.ndarray, row: int, col: int) -> tuple[alt.LayerChart, int]:
    """The last map as clickable cells (blocks of b×b neurons when it is large); the chosen cell outlined."""
    H, W = values.shape
    b = max(1, -(-max(H, W) // CHART_CELLS))
    starts_r, starts_c = np.arange(0, H, b), np.arange(0, W, b)
    means = np.add.reduceat(np.add.reduceat(values, starts_r, axis=0), starts_c, axis=1)
    counts = np.outer(np.diff(np.append(starts_r, H)), np.diff(np.append(starts_c, W)))
    centre_r = np.minimum(starts_r + b // 2, H - 1)
    centre_c = np.minimum(starts_c + b // 2, W - 1)
    rr, cc = np.meshgrid(centre_r, centre_c, indexing="ij")
    data = pd.DataFrame({"row": rr.ravel(), "col": cc.ravel(), "value": (means / counts).ravel().round(4)})
    signed = bool(values.min() < 0)
    scale = (alt.Scale(scheme="redblue", reverse=True, domainMid=0) if signed else alt.Scale(scheme="viridis"))
    pick = alt.selection_point(name="rf_neuron", fields=["row", "col"], on="click", empty=False)
    axis_r, axis_c = alt.Axis(title=None, labels=False, ticks=False), alt.Axis(title=None, labels=False, ticks=False)
    cells = alt.Chart(data).mark_rect().encode(
        x=alt.X("col:O", axis=axis_c), y=alt.Y("row:O", axis=axis_r),
        color=alt.Color("value:Q", scale=scale, legend=None),
        tooltip=[alt.Tooltip("row:O", title=t("receptive_field.tooltip_row")),
                 alt.Tooltip("col:O", title=t("receptive_field.tooltip_col")),
                 alt.Tooltip("value:Q", title=t("receptive_field.tooltip_value"))],
    ).add_params(pick)
    chosen = pd.DataFrame({"row": [int(centre_r[min(row // b, len(centre_r) - 1)])],
                           "col": [int(centre_c[min(col // b, len(centre_c) - 1)])]})
    outline = alt.Chart(chosen).mark_rect(fill=None, stroke="#ffc800", strokeWidth=3).encode(x="col:O", y="row:O")
    cells_high = len(starts_r)
    height = int(min(420, max(160, 320 * cells_high / max(len(starts_c), 1))))
    return (cells + outline).properties(height=height), b


def on_map_click() -> None:
    state = SS.get("rf_map_click")
    try:
        points = state["selection"]["rf_neuron"]
    except (KeyError, TypeError):
        return
    if points:
        SS.rf_row, SS.rf_col = int(points[0]["row"]), int(points[0]["col"])


def pick_live_neuron(key: tuple, weights: str, relu: bool, row: int, col: int) -> None:
    found = nearest_live_neuron(layers_of(key), to_grayscale(current_image()), row, col, weights, relu)
    if found is not None:
        SS.rf_row, SS.rf_col = found
    else:
        SS._rf_no_live = True


def neuron_picker(last: np.ndarray, layer_count: int) -> tuple[int, int]:
    H, W = last.shape
    SS.rf_row = int(min(max(SS.get("rf_row", H // 2), 0), H - 1))  # clamp: the stack or image may have changed
    SS.rf_col = int(min(max(SS.get("rf_col", W // 2), 0), W - 1))
    chart, block = chart_of_map(last, SS.rf_row, SS.rf_col)
    caption = ("receptive_field.last_map" if block == 1 else "receptive_field.last_map_blocks")
    st.caption(t(caption, h=H, w=W, n=layer_count, b=block))
    st.altair_chart(chart, key="rf_map_click", on_select=on_map_click, selection_mode="rf_neuron", width="stretch")
    if H > 1:
        st.slider(t("receptive_field.row"), 0, H - 1, key="rf_row")
    if W > 1:
        st.slider(t("receptive_field.col"), 0, W - 1, key="rf_col")
    if H == 1 and W == 1:
        st.caption(t("receptive_field.only_neuron", row=0, col=0))
    SS._rf_neuron_seen = {"rf_row": SS.rf_row, "rf_col": SS.rf_col}
    return SS.rf_row, SS.rf_col


@st.fragment
def neuron_panel(rows: list[dict], weights: str, relu: bool) -> None:
    """The chosen neuron: its field on the image and on every map, and its effective field (reruns alone)."""
    image, digest = current_image(), current_digest()
    gray = to_grayscale(image)
    key = stack_key(rows)
    layers = layers_of(key)
    maps = cached_maps(digest, key, weights, relu, gray)
    st.subheader(t("receptive_field.neuron_title"))
    st.caption(t("receptive_field.neuron_help"))
    pick_column, image_column, zoom_column = st.columns([1.1, 1.3, 1.3])
    with pick_column:
        row, col = neuron_picker(maps[-1], len(rows))
    rf = receptive_field(layers)[-1]
    box = input_box(rf, row, col)
    H, W = gray.shape
    clipped = box.clip(H, W)
    erf, outside = cached_erf(digest, key, weights, relu, row, col, gray)
    stats = spread(erf)
    region = zoom_region(box, H, W)
    picture = image_to_uint8(image)
    with image_column:
        st.markdown(t("receptive_field.on_image", row=row, col=col, top=box.top, bottom=box.bottom - 1, left=box.left,
                      right=box.right - 1, h=box.height, w=box.width))
        if clipped != box:
            st.caption(t("receptive_field.on_image_clipped", ch=clipped.height, cw=clipped.width, h=box.height,
                         w=box.width))
        boxes = [(region, (255, 255, 255)), (box, BOX_COLOR)]
        show_png(to_png(picture_with_boxes(picture, boxes, min_side=1, max_side=520, max_margin=max(H, W) // 8)),
                 t("receptive_field.image_caption"))
    with zoom_column:
        crop = (slice(region.top, region.bottom), slice(region.left, region.right))
        shown = [(box.shift(-region.top, -region.left), BOX_COLOR)]
        if stats is not None:  # drawn first, so the theoretical box stays on top where the two touch
            shown.insert(0, (stats.box.shift(-region.top, -region.left), SPREAD_COLOR))
        zoomed = picture_with_boxes(picture[crop], shown, heat=erf[crop], min_side=320, max_side=520)
        show_png(to_png(zoomed), t("receptive_field.zoom_caption", pct=95))

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
    with plot_column:
        if stats is not None:
            show_figure(erf_profile_figure(erf, box, axis=1))
            st.caption(t("receptive_field.erf_profile"))

    heading, toggle = st.columns([3, 1], vertical_alignment="bottom")
    heading.markdown(f"#### {t('receptive_field.maps_title')}")
    close_up = toggle.toggle(t("receptive_field.maps_zoom"), key="rf_zoom")
    st.caption(t("receptive_field.maps_help"))
    field_boxes = boxes_through_stack(layers, row, col)
    drawn = [(picture, field_boxes[0], t("receptive_field.map_input", h=H, w=W, bh=field_boxes[0].height,
                                             bw=field_boxes[0].width))]
    for index, (values, row_spec) in enumerate(zip(maps, rows, strict=True)):
        field = field_boxes[index + 1]
        drawn.append((values, field,
                      t("receptive_field.map_caption", n=index + 1, kind=t(f"receptive_field.kind_{row_spec['kind']}"),
                        h=values.shape[0], w=values.shape[1], bh=field.height, bw=field.width)))
    pictures = []
    for shown, field, caption in drawn:  # shown: the RGB image, or a map's values (coloured after cropping)
        h, w = shown.shape[:2]
        if close_up:  # the field and a margin around it, enlarged; colours scaled to what is shown
            near = zoom_region(field, h, w, min_size=12)
            shown, field = shown[near.top:near.bottom, near.left:near.right], field.shift(-near.top, -near.left)
        shown = shown if shown.ndim == 3 else map_picture(shown)
        pictures.append((picture_with_boxes(shown, [(field, BOX_COLOR)], min_side=200, max_side=360,
                                            max_margin=max(h, w) // 4), caption))
    per_row = 4
    for start in range(0, len(pictures), per_row):
        columns = st.columns(per_row)
        for column, (shown_picture, caption) in zip(columns, pictures[start:start + per_row], strict=False):
            with column:
                show_png(to_png(shown_picture), caption)


# ------------------------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------------------------

def experiment() -> None:
    st.header(t("common.experiment"))
    sync_stack()
    SS.setdefault("rf_weights", "uniform")
    SS.setdefault("rf_relu", False)
    SS.setdefault("rf_zoom", True)
    preset_column, weights_column, relu_column = st.columns([2, 2, 1], vertical_alignment="bottom")
    preset_column.selectbox(t("receptive_field.preset"), PRESET_OPTIONS, key="rf_preset",
                            format_func=labels("receptive_field.preset_"))
    weights = weights_column.selectbox(t("receptive_field.weights"), WEIGHT_MODES, key="rf_weights",
                                       format_func=labels("receptive_field.weights_"),
                                       help=t("receptive_field.weights_help"))
    relu = relu_column.toggle(t("receptive_field.relu"), key="rf_relu", help=t("receptive_field.relu_help"))
    stack_builder()

    rows = [dict(r) for r in SS.rf_stack]
    layers = as_torch_layers(rows)
    image = current_image()
    channels = image.shape[2]
    try:
        fields = receptive_field(layers)
        shapes = output_shapes(layers, image.shape[:2])
        params = parameter_counts(layers, channels)
    except StackError as error:
        show_problem(problem_text(error))
        return
    st.subheader(t("receptive_field.table_title"))
    table_column, formula_column = st.columns([3, 2])
    with table_column:
        layer_table(rows, layers, shapes, fields, params, image.shape, channels)
    with formula_column:
        formula(layers)
    neuron_panel(rows, weights, relu)
    show_code(receptive_field, axis_step, input_box, neuron_gradient, effective_receptive_field)


show_lesson("receptive_field")
experiment()
