"""Activations: why a network needs a nonlinearity, and what ReLU, leaky ReLU, ELU, sigmoid, tanh and softmax do.

Widget keys (lessons' ```try blocks may set them):
  act_collapse_seed   0 … 999: which random small W1, b1, W2, b2 and inputs x ("two linear layers are one")
  act_xor_activation  relu | tanh: the hidden nonlinearity of the XOR network (always compared with none)
  act_hidden          hidden units of the XOR network, 1 … 32
  act_steps           Adam steps, 50 … 1000
  act_lr              learning rate: 0.001 | 0.003 | 0.01 | 0.03 | 0.1 | 0.3
  act_seed            initial weights of the XOR networks, 0 … 99
  act_function        relu | leaky_relu | elu | sigmoid | tanh: plotted, and applied to the feature map
  act_leaky_slope     negative_slope α of leaky ReLU, 0.0 … 0.5
  act_elu_alpha       α of ELU, 0.1 … 3.0
  act_depth           layers of the vanishing-gradient chain, 1 … 30
  act_kernel          a kernel name from cnn_core.kernels.KERNELS: its feature map of the current image
  act_bias            bias added to that feature map before the activation, −1.0 … 1.0
  act_logits          text: 2 … 8 numbers separated by spaces (commas work too), the logits of the softmax
  act_temperature     softmax temperature T, 0.1 … 5.0
"""

import math

import numpy as np
import pandas as pd
import streamlit as st

from cnn_core.activations import (
    ACTIVATIONS,
    FORMULAS,
    ActivationError,
    apply,
    chain_gradients,
    gradient_norms_by_depth,
    map_ranges,
    parse_numbers,
    softmax,
    softmax_naive,
    unit_shares,
)
from cnn_core.conv import conv2d
from cnn_core.figures import boundary_picture
from cnn_core.image import to_grayscale
from cnn_core.kernels import KERNELS
from cnn_core.render import format_number, to_png
from cnn_core.xor import XOR_X, XOR_Y, collapse_linear, matrix_latex, random_layers, train_xor
from ui.act_view import line_chart, show_collapse
from ui.errors import show_problem
from ui.image_source import WORKING_PIXELS
from ui.page import Choice, Number, Page, Slider, Text
from ui.proof import show_check
from ui.show import show_code, show_histogram, show_map, show_png
from ui.strings import t

FUNCTIONS = ("relu", "leaky_relu", "elu", "sigmoid", "tanh")
PLOT_X = np.linspace(-5, 5, 401, dtype=np.float32)  # contains 0 exactly (index 200)
COLORS = {"f": "#1f77b4", "grad": "#d62728", "with": "#1f77b4", "without": "#7f7f7f",
          "sigmoid": "#d62728", "tanh": "#ff7f0e", "relu": "#1f77b4", "leaky_relu": "#2ca02c", "elu": "#9467bd"}
SS = st.session_state

PAGE = Page("activations", controls=(
    Number("act_collapse_seed", "activations.collapse_seed", 0, 999, default=0),
    Choice("act_xor_activation", "activations.xor_activation", ("relu", "tanh"), default="relu", style="radio",
           labels="activations.fn_", extra={"horizontal": True}),
    Slider("act_hidden", "activations.xor_hidden", 1, 32, default=16),
    Slider("act_steps", "activations.xor_steps", 50, 1000, default=300, step=50),
    Choice("act_lr", "activations.xor_lr", (0.001, 0.003, 0.01, 0.03, 0.1, 0.3), default=0.03, style="select_slider"),
    Number("act_seed", "activations.xor_seed", 0, 99, default=0),
    Choice("act_function", "activations.function", FUNCTIONS, default="relu", labels="activations.fn_"),
    Slider("act_leaky_slope", "activations.leaky_slope", 0.0, 0.5, default=0.1, step=0.01,
           help="activations.leaky_slope_help"),
    Slider("act_elu_alpha", "activations.elu_alpha", 0.1, 3.0, default=1.0, step=0.1, help="activations.elu_alpha_help"),
    Slider("act_depth", "activations.depth", 1, 30, default=10),
    Choice("act_kernel", "activations.kernel", tuple(KERNELS), default="sobel_x", labels="kernels.",
           labels_suffix="_name"),
    Slider("act_bias", "activations.bias", -1.0, 1.0, default=0.0, step=0.05, help="activations.bias_help"),
    Text("act_logits", "activations.logits", default="2 1 0.1 -1", help="activations.logits_help"),
    Slider("act_temperature", "activations.temperature", 0.1, 5.0, default=1.0, step=0.1,
           help="activations.temperature_help"),
), live_answers={  # a quiz answer: the first entry of W₂b₁ for the random layers on the page now
    "act_w2b1_first": lambda: float((lambda W1, b1, W2, b2, x: (W2 @ b1)[0])(*random_layers(seed=SS.act_collapse_seed))),
}, pixels=WORKING_PIXELS)  # the feature map panel: a bigger image is worked on as a smaller copy


def number(value: float, decimals: int = 3) -> str:
    return format_number(float(value), decimals)


def parameter_of(name: str) -> float | None:
    """α of the chosen function (leaky ReLU's slope or ELU's α), None for the others."""
    return {"leaky_relu": SS.act_leaky_slope, "elu": SS.act_elu_alpha}.get(name)


def function_label(name: str, parameter: float | None) -> str:
    label = t(f"activations.fn_{name}")
    return f"{label} (α = {number(parameter, 2)})" if parameter is not None else label


@st.cache_data(show_spinner=False, max_entries=32)
def xor_pair(activation: str, hidden: int, steps: int, lr: float, seed: int):
    """The same network trained twice from the same initial weights, with the nonlinearity and without; and
    their decision pictures as PNGs."""
    pair = (train_xor(hidden, activation, steps, lr, seed), train_xor(hidden, "none", steps, lr, seed))
    return pair, [to_png(boundary_picture(r.grid, r.grid_probabilities, XOR_X, XOR_Y)) for r in pair]


@st.fragment
def show_xor(page: Page) -> None:
    """2. XOR (a fragment): the network with a nonlinearity against the same one without."""
    st.subheader(t("activations.xor_title"))
    st.caption(t("activations.xor_caption"))
    activation, hidden, steps, lr, seed = (page.draw(key, column) for key, column in zip(
        ("act_xor_activation", "act_hidden", "act_steps", "act_lr", "act_seed"), st.columns([2, 2, 2, 2, 1]),
        strict=True))
    (with_f, without), pictures = xor_pair(activation, hidden, steps, lr, int(seed))
    series = {t("activations.xor_with", f=t(f"activations.fn_{activation}")): COLORS["with"],
              t("activations.xor_without"): COLORS["without"]}
    columns = st.columns(3)
    for column, result, title, png in zip(columns, (with_f, without), series, pictures, strict=False):
        with column:
            st.markdown(f"**{title}**")
            show_png(png, width=330)
            with st.container(horizontal=True):  # side by side when they fit, else one under the other (1024 px)
                st.metric(t("activations.xor_accuracy"), f"{100 * result.accuracy:.0f} %", width="content")
                st.metric(t("activations.xor_final_loss"), number(result.losses[-1], 4), width="content")
    with columns[2]:
        st.markdown(f"**{t('activations.xor_loss_title')}**")
        rows = [{"x": step + 1, "y": float(max(value, 1e-8)), "series": title}
                for result, title in zip((with_f, without), series, strict=False)
                for step, value in enumerate(result.losses)]
        line_chart(rows, t("activations.axis_step"), t("activations.axis_loss"), series, log_y=True, height=320)
        st.caption(t("activations.xor_time", seconds=f"{with_f.seconds + without.seconds:.2f}"))
    st.caption(t("activations.xor_legend"))
    if with_f.accuracy < 1:
        st.info(t("activations.xor_stuck", hidden=hidden))
    collapsed = collapse_linear(without.W1, without.b1, without.W2, without.b2, XOR_X)
    st.markdown(t("activations.xor_without_is_a_line"))
    st.latex(rf"W_2 W_1 = {matrix_latex(collapsed.W, 3)},\quad W_2 b_1 + b_2 = {matrix_latex(collapsed.b, 3)}"
             rf",\quad \mathcal{{L}}_{{\min}} = \ln 2 \approx {math.log(2):.4f}")
    show_code(train_xor)


def show_functions(page: Page) -> tuple[str, float | None]:
    """3. The chosen function and its derivative, plotted, with the formulas and a few values."""
    st.subheader(t("activations.functions_title"))
    controls = st.columns(3)
    name = page.draw("act_function", controls[0])
    page.draw("act_leaky_slope", controls[1], disabled=name != "leaky_relu")
    page.draw("act_elu_alpha", controls[2], disabled=name != "elu")
    parameter = parameter_of(name)
    y, dy = apply(name, PLOT_X, parameter)
    chart, formulas = st.columns([3, 2])
    with chart:
        names = {"f(x)": COLORS["f"], "f′(x)": COLORS["grad"]}
        rows = [{"x": float(x), "y": float(v), "series": series}
                for series, values in zip(names, (y, dy), strict=True) for x, v in zip(PLOT_X, values, strict=True)]
        line_chart(rows, "x", t("activations.axis_f"), names)
    with formulas:
        for tex in FORMULAS[name]:
            st.latex(tex)
        st.caption(t(f"activations.about_{name}"))
        if name in ("relu", "leaky_relu", "elu"):
            st.caption(t(f"activations.kink_{name}"))
        sample = np.array([-3, -1, 0, 1, 3], dtype=np.float32)
        fs, dfs = apply(name, sample, parameter)
        st.dataframe(pd.DataFrame({"x": [number(v) for v in sample], "f(x)": [number(v) for v in fs],
                                   "f′(x)": [number(v) for v in dfs]}).set_index("x").T, width="stretch")
    show_check(apply, name, PLOT_X, parameter, key=(name, parameter), label=t("activations.check_functions"))
    show_code(*ACTIVATIONS[name][:2])
    return name, parameter


@st.fragment
def show_vanishing(page: Page, name: str, parameter: float | None) -> None:
    """4. Vanishing gradients (a fragment: the depth reruns only this panel)."""
    st.subheader(t("activations.vanishing_title"))
    st.caption(t("activations.vanishing_caption"))
    depth = page.draw("act_depth")
    shown = ["sigmoid", "tanh", "relu"] + ([name] if name not in ("sigmoid", "tanh", "relu") else [])
    colors, rows, first_layer = {}, [], {}
    for curve in shown:
        label, own = function_label(curve, parameter if curve == name else None), parameter if curve == name else None
        colors[label] = COLORS[curve]
        norms = gradient_norms_by_depth(curve, depth, parameter=own)
        first_layer[label] = float(norms[0])
        rows += [{"x": k, "y": float(max(v, 1e-30)), "series": label} for k, v in enumerate(norms)]
    chart, numbers = st.columns([3, 2])
    with chart:
        line_chart(rows, t("activations.axis_layer"), t("activations.axis_gradient"), colors, log_y=True,
                   points=depth <= 12)
    with numbers:
        st.latex(rf"\frac{{\partial L}}{{\partial h_0}} \propto \prod_{{k=1}}^{{{depth}}} f'(z_k)\, W_k")
        mantissa, exponent = f"{0.25 ** depth:.2e}".split("e")
        st.latex(rf"\sigma'(z) \le \tfrac14 \;\Rightarrow\; \left(\tfrac14\right)^{{{depth}}}"
                 rf" \approx {mantissa} \times 10^{{{int(exponent)}}}")
        st.caption(t("activations.vanishing_bound"))
        for label, value in first_layer.items():
            st.metric(t("activations.vanishing_metric", f=label), f"{value:.1e}")
    show_check(gradient_norms_by_depth, name, depth, key=(name, depth, parameter), parameter=parameter,
               label=t("activations.check_vanishing", f=function_label(name, parameter)))
    show_code(chain_gradients)


@st.cache_data(show_spinner=False, max_entries=16)
def feature_map(digest: str, kernel: str, _image: np.ndarray) -> np.ndarray:
    """The kernel's feature map of the grayscale image, 'same' padding: (H, W)."""
    return conv2d(to_grayscale(_image)[None, None], KERNELS[kernel][None, None], padding="same")[0, 0]


@st.fragment
def show_feature_map(page: Page, name: str, parameter: float | None) -> None:
    """5. The activation on a real feature map (a fragment: kernel and bias rerun only this panel)."""
    st.subheader(t("activations.map_title"))
    st.caption(t("activations.map_caption", f=function_label(name, parameter)))
    left, right = st.columns(2)
    kernel, bias = page.draw("act_kernel", left), page.draw("act_bias", right)
    before = feature_map(page.digest(), kernel, page.image()) + np.float32(bias)
    after, slope = apply(name, before, parameter)
    ranges = map_ranges(name, before, after)
    maps = st.columns(2)
    captions = (t("activations.map_before", h=before.shape[0], w=before.shape[1]),
                t("activations.map_after", f=function_label(name, parameter)))
    names = ((page.digest(), kernel, bias), (page.digest(), kernel, bias, name, parameter))  # what each map holds
    for column, values, (lo, hi), caption, color, shown in zip(maps, (before, after), ranges, captions,
                                                               (COLORS["without"], COLORS["with"]), names, strict=True):
        with column:
            show_map(values, caption, signed=lo < 0, vmin=lo, vmax=hi, cache_key=shown)
            show_histogram(values, color, (lo, hi), height=220, share_title=True)
    shares = unit_shares(before, after, slope)
    metrics = st.columns(4)
    for column, label, share in zip(metrics, ("share_negative", "share_zero_before", "share_zero_after",
                                              "share_no_gradient"), (shares.negative_before, shares.zero_before,
                                                                     shares.zero_after, shares.no_gradient), strict=True):
        column.metric(t(f"activations.{label}"), f"{100 * share:.1f} %",
                      help=t("activations.share_no_gradient_help") if label == "share_no_gradient" else None)
    if shares.no_gradient > 0.5:  # an observation about this input, with the moves that change it
        st.info(t("activations.mostly_dead", share=f"{100 * shares.no_gradient:.0f}",
                  more=t("activations.mostly_dead_bias") if bias < 1 else ""))
    show_check(apply, name, before, parameter, key=(page.digest(), kernel, bias, name, parameter), on_copy=1,
               label=t("activations.check_map"))


@st.fragment
def show_softmax(page: Page) -> None:
    """6. Softmax and temperature (a fragment)."""
    st.subheader(t("activations.softmax_title"))
    st.caption(t("activations.softmax_caption"))
    left, right = st.columns([3, 2])
    text, temperature = page.draw("act_logits", left), page.draw("act_temperature", right)
    try:
        logits = parse_numbers(text)
    except ActivationError as error:
        show_problem(error)
        return
    scaled = logits / np.float32(temperature)
    probabilities = softmax(scaled, dim=0)
    names = [f"z{i + 1}" for i in range(len(logits))]
    chart, table = st.columns([3, 2])
    with chart:
        rows = [{"name": n, "p": float(p), "label": number(p, 3)} for n, p in zip(names, probabilities, strict=True)]
        encoding = {"x": {"field": "name", "type": "nominal", "title": None, "sort": None, "axis": {"labelAngle": 0}},
                    "y": {"field": "p", "type": "quantitative", "title": t("activations.axis_probability"),
                          "scale": {"domain": [0, 1]}}}
        st.vega_lite_chart({"height": 280, "encoding": encoding, "layer": [  # layer data: no Arrow conversion
            {"data": {"values": rows}, "mark": {"type": "bar", "color": COLORS["with"]}},
            {"data": {"values": rows}, "mark": {"type": "text", "dy": -8}, "encoding": {"text": {"field": "label"}}}]},
                           width="stretch")
    with table:
        st.latex(FORMULAS["softmax"][0])
        shifted = scaled - scaled.max()
        st.dataframe(pd.DataFrame({"z": [number(v) for v in logits], "(z − max z)/T": [number(v) for v in shifted],
                                   "exp": [number(v, 4) for v in np.exp(shifted)],
                                   "p": [number(v, 4) for v in probabilities]}, index=names), width="stretch")
    if not np.isfinite(softmax_naive(scaled, dim=0)).all():
        st.warning(t("activations.naive_overflow", top=number(float(scaled.max()), 1)), icon=":material/info:")
    else:
        st.caption(t("activations.naive_same"))
    show_check(softmax, scaled, key=(tuple(scaled.tolist()),), dim=0, label=t("activations.check_softmax"))
    show_code(softmax)


def experiment(page: Page) -> None:
    show_collapse(page)
    show_xor(page)
    st.divider()
    show_one_function(page)
    st.divider()
    show_softmax(page)


@st.fragment
def show_one_function(page: Page) -> None:
    """3–5: the chosen function, then its vanishing gradients and its effect on a feature map (each a fragment of
    its own inside this one): the function or its α reruns these three panels, not the XOR and softmax ones."""
    name, parameter = show_functions(page)
    show_vanishing(page, name, parameter)
    show_feature_map(page, name, parameter)


if __name__ == "__main__":
    PAGE.run(experiment)
