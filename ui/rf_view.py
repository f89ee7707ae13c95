"""Display pieces of the receptive-field page: the layer table and the gradient's profile (the clickable last map
is ui.clickmap's).

Charts are Vega-Lite specs the browser draws (cheap to send, axis words in the student's language); the numbers
come from cnn_core (receptive_field, rf_network). No maths here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cnn_core.receptive_field import Box, same_field_comparison
from cnn_core.rf_network import profile
from ui.layer_stack import as_torch_layers
from ui.strings import t


def pair_text(values) -> str:
    return f"{values[0]:g}" if values[0] == values[1] else f"{values[0]:g}, {values[1]:g}"


def layer_table(rows, shapes, fields, params, image_shape) -> None:
    """One row per layer: output size, receptive field, jump, start, parameter count; then VGG's comparison."""
    columns = [t(f"receptive_field.table_{name}") for name in
               ("layer", "type", "settings", "output", "field", "jump", "start", "params")]
    table = [[0, t("receptive_field.table_input"), "", f"{image_shape[0]}×{image_shape[1]}", "1×1", "1", "0", 0]]
    for number, (row, shape, rf, count) in enumerate(zip(rows, shapes, fields, params, strict=True), start=1):
        table.append([number, t(f"receptive_field.kind_{row['kind']}"),
                      f"{row['kernel']} / {row['stride']} / {row['padding']} / {row['dilation']}",
                      f"{shape[0]}×{shape[1]}", f"{rf.size[0]}×{rf.size[1]}", pair_text(rf.jump),
                      pair_text(rf.start), count])
    narrow = {columns[i]: st.column_config.Column(width="small") for i in (0, 5, 6)}  # layer, jump, centre
    st.dataframe(pd.DataFrame(table, columns=columns), hide_index=True, width="stretch", column_config=narrow)
    st.caption(t("receptive_field.table_help", c=image_shape[2]))
    st.markdown(t("receptive_field.total_params", total=f"{sum(params):,}"))
    convs = [r for r in rows if r["kind"] == "conv"]
    if convs:  # every conv with C channels in and out, against one layer with the same field
        same = same_field_comparison(as_torch_layers(rows), convs[-1]["channels"])
        text = "receptive_field.single_layer" if same.single >= same.stack else "receptive_field.single_layer_fewer"
        st.markdown(t(text, k=same.k, c=same.channels, stack=f"{same.stack:,}", params=f"{same.single:,}",
                      ratio=f"{same.ratio:.1f}"))


def profile_chart(erf: np.ndarray, box: Box) -> None:
    """|∂y/∂x| summed over rows (bars), a Gaussian with its mean and σ (dashed), the theoretical field (band)."""
    shown = profile(erf, box, axis=1)
    if shown is None:
        return
    rows = [{"x": int(x), "a": x - 0.5, "b": x + 0.5, "share": float(s), "gauss": float(g)}
            for x, s, g in zip(shown.position, shown.share, shown.gaussian, strict=True)]
    domain = [int(shown.position[0]) - 0.5, int(shown.position[-1]) + 0.5]
    x = {"field": "x", "type": "quantitative", "title": "x", "scale": {"domain": domain}}
    span = {"x": {"field": "a", "type": "quantitative", "title": "x", "scale": {"domain": domain}}, "x2": {"field": "b"}}
    band = {"data": {"values": [{"a": shown.field[0] - 0.5, "b": shown.field[1] + 0.5}]},
            "mark": {"type": "rect", "color": "#ffc800", "opacity": 0.18}, "encoding": span}
    st.vega_lite_chart({"height": 200, "layer": [  # data inside the layers: sent as is, not via Arrow
        band, {"data": {"values": rows}, "mark": {"type": "rect", "color": "#3b6fb6", "opacity": 0.85,
                                                  "stroke": "white", "strokeWidth": 0.5},
               "encoding": {**span, "y": {"field": "share", "type": "quantitative", "title": None}}},
        {"data": {"values": rows}, "mark": {"type": "line", "color": "#d1495b", "strokeDash": [5, 3],
                                            "interpolate": "monotone"},
         "encoding": {"x": x, "y": {"field": "gauss", "type": "quantitative"}}}]}, width="stretch")
    st.caption(t("receptive_field.erf_profile", mu=f"{shown.centre:.1f}", sigma=f"{shown.sigma:.2f}"))
