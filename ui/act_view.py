"""Display pieces of the activations page: browser-drawn line charts and the "two linear layers are one" panel.

The numbers come from cnn_core (activations, xor); charts are Vega-Lite specs (axis words in the student's
language, nothing drawn by matplotlib on a rerun).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnn_core.render import format_number
from cnn_core.xor import collapse_linear, matrix_latex, random_layers
from ui.page import Page
from ui.show import show_code
from ui.strings import t


def line_chart(rows: list[dict], x_title: str, y_title: str, colors: dict[str, str], log_y: bool = False,
               height: int = 330, points: bool = False) -> None:
    """Lines drawn by the browser (so axis titles and the legend are in the student's language)."""
    y = {"field": "y", "type": "quantitative", "title": y_title}
    if log_y:
        y.update(scale={"type": "log"}, axis={"format": ".0e"})
    color = {"field": "series", "type": "nominal", "title": None, "legend": {"orient": "top", "direction": "vertical"},  # one entry a line: none is cut off
             "scale": {"domain": list(colors), "range": list(colors.values())}}
    st.vega_lite_chart({"height": height, "layer": [{  # data inside a layer: sent as is, not via Arrow
        "data": {"values": rows}, "mark": {"type": "line", "strokeWidth": 2.5, "point": points},
        "encoding": {"x": {"field": "x", "type": "quantitative", "title": x_title}, "y": y, "color": color}}]},
        width="stretch")


@st.fragment
def show_collapse(page: Page) -> None:
    """1. Two linear layers are one (a fragment: a new seed reruns this panel; the whole page only when the
    lesson's question about W₂b₁ for this seed is on screen, see Page.keep_lesson_current)."""
    st.subheader(t("activations.collapse_title"))
    st.caption(t("activations.collapse_caption"))
    seed = page.draw("act_collapse_seed", st.columns([1, 3])[0])
    W1, b1, W2, b2, x = random_layers(seed=int(seed))
    result = collapse_linear(W1, b1, W2, b2, x)
    tex = lambda M: matrix_latex(M, decimals=0)  # noqa: E731
    left, right = st.columns(2)
    with left:
        st.markdown(t("activations.collapse_given"))
        st.latex(rf"W_1 = {tex(W1)},\quad b_1 = {tex(b1)}")
        st.latex(rf"W_2 = {tex(W2)},\quad b_2 = {tex(b2)}")
        st.latex(rf"x^{{(1)}}, x^{{(2)}}, x^{{(3)}} = {', '.join(tex(row) for row in x)}")
    with right:
        st.markdown(t("activations.collapse_merged"))
        st.latex(rf"W = W_2 W_1 = {tex(result.W)}")
        st.latex(rf"b = W_2 b_1 + b_2 = {tex(result.b)}")
        st.latex(rf"W_2(W_1 x + b_1) + b_2 = {', '.join(tex(row) for row in result.two_layers)}")
        st.latex(rf"W x + b = {', '.join(tex(row) for row in result.one_layer)}")
    same, relu_column = st.columns(2)
    same.metric(t("activations.collapse_diff"), f"{result.max_abs_diff:.1e}")
    with relu_column:
        st.latex(rf"W_2\,\mathrm{{ReLU}}(W_1 x + b_1) + b_2 = {', '.join(tex(row) for row in result.with_relu)}")
        differs = float(np.abs(result.with_relu - result.one_layer).max())
        st.caption(t("activations.collapse_relu", diff=format_number(differs, 2)) if differs > 0
                   else t("activations.collapse_relu_same"))
    show_code(collapse_linear)
    page.keep_lesson_current()
