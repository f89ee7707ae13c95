"""The receptive-field page's stack builder: a table of layers the student edits, one row of widgets per layer.

The stack lives in session state (`rf_stack`: rows of {kind, kernel, stride, padding, dilation, channels}); every
field of every row is a declared scaffold control (`STACK_CONTROLS`, keys rf_<field>_<i>), not settable by a
lesson (a lesson picks a preset) and not in the address bar one by one. `sync_stack` reconciles the two before
anything is drawn: a new preset replaces the stack; a row widget that changed (moved by the student) edits it, after
the preset when both changed in the same click, and marks the stack as the student's own ("custom").

A custom stack goes into the address bar as one line of text, `rf_layers=c3p1,m2s2,c3d2o128` (the format of
cnn_core.rf_layers.stack_text), so a copied link reproduces it: `stack_to_link` writes it after every run,
`stack_from_link` reads a link's (cleaned like every value from outside) before the page's scaffold runs.
"""

from __future__ import annotations

import html

import streamlit as st

from cnn_core.rf_layers import StackError, parse_stack_text, stack_text
from cnn_core.rf_presets import PRESETS
from ui.page import Choice, Number, Page
from ui.strings import t

DEFAULT_PRESET = "conv_pool_conv"
PRESET_OPTIONS = (*PRESETS, "custom")
KINDS = ("conv", "maxpool", "avgpool")
FIELDS = ("kind", "kernel", "stride", "padding", "dilation", "channels")
LIMITS = dict(kernel=(1, 15), stride=(1, 8), padding=(0, 10), dilation=(1, 8), channels=(1, 2048))
FALLBACK = dict(kind="conv", kernel=3, stride=1, padding=0, dilation=1, channels=64)
MAX_LAYERS = 12
LINK = "rf_layers"  # the address-bar parameter that carries a custom stack
SS = st.session_state


def widget_key(field: str, index: int) -> str:
    return f"rf_{field}_{index}"


STACK_CONTROLS = tuple(
    Choice(widget_key("kind", i), "receptive_field.col_kind", KINDS, default="conv", labels="receptive_field.kind_",
           lesson=False, url=False) if field == "kind" else
    Number(widget_key(field, i), f"receptive_field.col_{field}", *LIMITS[field], default=FALLBACK[field],
           lesson=False, url=False)
    for i in range(MAX_LAYERS) for field in FIELDS)
CONTROLS = {control.key: control for control in STACK_CONTROLS}


def preset_rows(name: str) -> list[dict]:
    return [dict(kind=layer["kind"], kernel=layer["kernel_size"], stride=layer["stride"], padding=layer["padding"],
                 dilation=layer["dilation"], channels=layer.get("out_channels") or 64) for layer in PRESETS[name]]


def as_torch_layers(rows: list[dict]) -> list[dict]:
    """The rows with torch's argument names, for cnn_core."""
    return [dict(kind=r["kind"], kernel_size=r["kernel"], stride=r["stride"], padding=r["padding"],
                 dilation=r["dilation"], **({"out_channels": r["channels"]} if r["kind"] == "conv" else {}))
            for r in rows]


def stack_key(rows: list[dict]) -> tuple:
    """A hashable description of the stack (for caches)."""
    return tuple(tuple(r[f] for f in FIELDS) for r in rows)


def layers_of(key: tuple) -> list[dict]:
    return as_torch_layers([dict(zip(FIELDS, values, strict=True)) for values in key])


def current_rows() -> list[dict]:
    """The stack now (the default preset before the page has run once, e.g. in a test of the declarations)."""
    try:
        rows = SS.get("rf_stack")
    except Exception:  # noqa: BLE001 — no Streamlit session (a unit test reading the page's declarations)
        rows = None
    return [dict(r) for r in rows] if rows else preset_rows(DEFAULT_PRESET)


def write_rows(rows: list[dict]) -> None:
    """Make `rows` the stack and set every row widget to it (before the widgets are drawn)."""
    SS.rf_stack = [dict(r) for r in rows]
    for index in range(MAX_LAYERS):
        for field in FIELDS:
            if index < len(rows):
                SS[widget_key(field, index)] = rows[index][field]
            else:
                SS.pop(widget_key(field, index), None)
    SS._rf_seen = {widget_key(f, i): r[f] for i, r in enumerate(rows) for f in FIELDS}


def rows_to_text(rows: list[dict]) -> str:
    """The rows as one line, e.g. "c3p1,m2s2,c3d2o128" (cnn_core.rf_layers.stack_text)."""
    return stack_text(as_torch_layers(rows))


def rows_from_text(text: str) -> list[dict]:
    """A stack written as text → rows, cleaned as the scaffold cleans every value from outside: each number clamped
    to its control's range, at most MAX_LAYERS layers (the first ones); a pool keeps the channels it receives.
    Raises StackError when a part of the text is not a layer."""
    rows, channels = [], FALLBACK["channels"]
    for index, layer in enumerate(parse_stack_text(text)[:MAX_LAYERS]):
        row = dict(kind=layer["kind"], kernel=layer["kernel_size"], stride=layer["stride"], padding=layer["padding"],
                   dilation=layer["dilation"], channels=layer.get("out_channels", channels))
        row = {field: CONTROLS[widget_key(field, index)].clean(value, None) for field, value in row.items()}
        channels = row["channels"] if row["kind"] == "conv" else channels
        rows.append(row)
    return rows


def stack_from_link() -> None:
    """A link's rf_layers becomes the stack (a custom one) when this session did not write that text itself, so a
    page switch or a move never undoes the student's edits. Text that cannot be read gives the default stack, and
    the reason waits in `_rf_link_problem` for the page to say. Call before the page's scaffold runs: the neuron a
    link names (rf_row, rf_col) is clamped to the last map of the stack."""
    text = st.query_params.get(LINK)
    if not text or text == SS.get("_rf_link"):
        return
    SS._rf_link = text
    try:
        rows, preset = rows_from_text(text), "custom"
    except StackError as error:
        rows, preset = preset_rows(DEFAULT_PRESET), DEFAULT_PRESET
        SS._rf_link_problem = error
        st.query_params.pop(LINK, None)
        if st.query_params.get("rf_preset") == "custom":
            st.query_params.pop("rf_preset")  # or the scaffold would call the default stack "custom"
    write_rows(rows)
    SS.rf_preset = SS._rf_loaded = preset


def stack_to_link() -> None:
    """The stack into the address bar when it is the student's own (a preset's name in rf_preset is enough)."""
    text = rows_to_text(SS.rf_stack) if SS.get("rf_preset") == "custom" else None
    if text:
        st.query_params[LINK] = text
    else:
        st.query_params.pop(LINK, None)
    SS._rf_link = text


def mark_custom() -> None:
    SS.rf_preset = SS._rf_loaded = "custom"


def sync_stack() -> None:
    """Reconcile the stack with its widgets (see the module docstring). Call before drawing them."""
    if "rf_stack" not in SS:
        write_rows(preset_rows(DEFAULT_PRESET))
        SS._rf_loaded = DEFAULT_PRESET
    rows = [dict(r) for r in SS.rf_stack]
    seen = SS.get("_rf_seen", {})
    changed = [(i, f, SS[widget_key(f, i)]) for i in range(len(rows)) for f in FIELDS
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
        if index < len(rows) and value is not None:  # a new preset may be shorter than the old stack
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


# Pixels of each cell of a builder row. A row is one horizontal container of fixed-width widgets rather than ten
# columns: a stack edit redraws every row, and each column is one more element for the browser to lay out
# (README, "the element budget"). The widths fit one line at 1024 px; on a phone a row wraps.
CELL_PX = dict(index=20, kind=124, kernel=54, stride=54, padding=54, dilation=54, channels=74)


def stack_builder(page: Page) -> list[dict]:
    """The table of layers (type, kernel, stride, padding, dilation, channels; move, remove, add); returns the rows."""
    st.subheader(t("receptive_field.builder_title"))
    st.caption(t("receptive_field.builder_help"))
    rows = SS.rf_stack
    header = st.container(key="rf_builder_head", horizontal=True, gap="xxsmall", vertical_alignment="bottom")
    header.markdown("", width=CELL_PX["index"])
    for name in FIELDS:  # small, whole words: narrow cells broke them
        text = html.escape(t(f"receptive_field.col_{name}"))
        header.markdown(f'<div style="font-size:0.8rem;font-weight:600;line-height:1.2;overflow-wrap:normal;'
                        f'word-break:keep-all">{text}</div>', unsafe_allow_html=True, width=CELL_PX[name])
    table = st.container(key="rf_builder")  # on a phone its inputs show their own labels (ui/classroom.py)
    for index, row in enumerate(rows):
        cells = table.container(horizontal=True, gap="xxsmall", vertical_alignment="center")
        cells.markdown(f"**{index + 1}**", width=CELL_PX["index"])
        for field in FIELDS:
            disabled = ((field == "channels" and row["kind"] != "conv")
                        or (field == "dilation" and row["kind"] == "avgpool" and row["dilation"] == 1))
            page.draw(widget_key(field, index), cells, disabled=disabled, label_visibility="collapsed",
                      width=CELL_PX[field])
        cells.button("↑", key=f"rf_up_{index}", on_click=move, args=(index, -1), disabled=index == 0,
                     help=t("receptive_field.move_up"))
        cells.button("↓", key=f"rf_down_{index}", on_click=move, args=(index, 1), disabled=index == len(rows) - 1,
                     help=t("receptive_field.move_down"))
        cells.button("✕", key=f"rf_remove_{index}", on_click=remove, args=(index,), disabled=len(rows) == 1,
                     help=t("receptive_field.remove"))
    full = len(rows) >= MAX_LAYERS
    left, right, note = st.columns([3, 3, 6])
    left.button(t("receptive_field.add_conv"), key="rf_add_conv", on_click=add, args=("conv",), disabled=full,
                width="stretch", wrap=True)
    right.button(t("receptive_field.add_pool"), key="rf_add_pool", on_click=add, args=("pool",), disabled=full,
                 width="stretch", wrap=True)
    if full:
        note.caption(t("receptive_field.max_layers", n=MAX_LAYERS))
    return [dict(r) for r in rows]
