"""Activations: why a network needs a nonlinearity, and what ReLU, leaky ReLU, ELU, sigmoid, tanh and softmax do.

Widget keys (lessons' ```try blocks may set them):
  act_collapse_seed   0 … 999: which random small W1, b1, W2, b2 and inputs x ("two linear layers are one")
  act_xor_activation  "relu" | "tanh": the hidden nonlinearity of the XOR network (always compared with none)
  act_hidden          hidden units of the XOR network, 1 … 32
  act_steps           Adam steps, 50 … 1000
  act_lr              learning rate: 0.001 | 0.003 | 0.01 | 0.03 | 0.1 | 0.3
  act_seed            initial weights of the XOR networks, 0 … 99
  act_function        "relu" | "leaky_relu" | "elu" | "sigmoid" | "tanh": plotted, and applied to the feature map
  act_leaky_slope     negative_slope α of leaky ReLU, 0.0 … 0.5
  act_elu_alpha       α of ELU, 0.1 … 3.0
  act_depth           layers of the vanishing-gradient chain, 1 … 30
  act_kernel          a kernel name from cnn_core.kernels.KERNELS: its feature map of the current image
  act_bias            bias added to that feature map before the activation, −1.0 … 1.0
  act_logits          text: 2 … 8 numbers separated by spaces (commas work too), the logits of the softmax
  act_temperature     softmax temperature T, 0.1 … 5.0
"""

import math
import re

import numpy as np
import pandas as pd
import streamlit as st
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from cnn_core.activations import (
    ACTIVATIONS,
    FORMULAS,
    apply,
    chain_gradients,
    gradient_norms_by_depth,
    share_of_zeros,
    softmax,
    softmax_naive,
)
from cnn_core.conv import conv2d
from cnn_core.image import to_grayscale
from cnn_core.kernels import KERNELS
from cnn_core.render import format_number, value_range
from cnn_core.xor import XOR_X, XOR_Y, collapse_linear, matrix_latex, random_layers, train_xor
from ui.image_source import current_digest, current_image
from ui.lesson import show_lesson
from ui.show import show_code, show_figure, show_histogram, show_map, show_problem, show_torch_check
from ui.strings import labels, t

FUNCTIONS = ("relu", "leaky_relu", "elu", "sigmoid", "tanh")
XOR_FUNCTIONS = ("relu", "tanh")
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
DEFAULTS = dict(act_collapse_seed=0, act_xor_activation="relu", act_hidden=16, act_steps=300, act_lr=0.03,
                act_seed=0, act_function="relu", act_leaky_slope=0.1, act_elu_alpha=1.0, act_depth=10,
                act_kernel="sobel_x", act_bias=0.0, act_logits="2 1 0.1 -1", act_temperature=1.0)
PLOT_X = np.linspace(-5, 5, 401, dtype=np.float32)  # contains 0 exactly (index 200)
MAX_LOGITS, MAX_ABS_LOGIT = 8, 1e6
COLORS = {"f": "#1f77b4", "grad": "#d62728", "with": "#1f77b4", "without": "#7f7f7f",
          "sigmoid": "#d62728", "tanh": "#ff7f0e", "relu": "#1f77b4", "leaky_relu": "#2ca02c", "elu": "#9467bd"}


def number(value: float, decimals: int = 3) -> str:
    return format_number(float(value), decimals)


def parameter_of(name: str) -> float | None:
    """α of the chosen function (leaky ReLU's slope or ELU's α), None for the others."""
    return {"leaky_relu": st.session_state.act_leaky_slope, "elu": st.session_state.act_elu_alpha}.get(name)


def function_label(name: str, parameter: float | None) -> str:
    label = t(f"activations.fn_{name}")
    return f"{label} (α = {number(parameter, 2)})" if parameter is not None else label


def torch_activation(name: str, x: torch.Tensor, parameter: float | None) -> torch.Tensor:
    if name == "leaky_relu":
        return F.leaky_relu(x, parameter)
    if name == "elu":
        return F.elu(x, parameter)
    return {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[name](x)


def line_chart(rows: list[dict], x_title: str, y_title: str, colors: dict[str, str], log_y: bool = False,
               height: int = 330, points: bool = False) -> None:
    """Lines drawn by the browser (so axis titles and the legend are in the student's language)."""
    y = {"field": "y", "type": "quantitative", "title": y_title}
    if log_y:
        y["scale"] = {"type": "log"}
        y["axis"] = {"format": ".0e"}
    spec = {
        "data": {"values": rows},
        "mark": {"type": "line", "strokeWidth": 2.5, "point": points},
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "title": x_title},
            "y": y,
            "color": {"field": "series", "type": "nominal", "title": None, "legend": {"orient": "top"},
                      "scale": {"domain": list(colors), "range": list(colors.values())}},
        },
        "height": height,
    }
    st.vega_lite_chart(spec, width="stretch")


def display_range(x: np.ndarray) -> tuple[float, float]:
    """The range a map and its histogram are drawn on: ±(99.5th percentile of |x|) when x has negative values,
    else min … 99.5th percentile, so a few extreme pixels do not squeeze everything else into one colour or bar."""
    lo, hi = value_range(x, signed=True)
    if x.min() >= 0:
        lo = float(x.min())
        hi = hi if hi > lo else lo + 1.0
    return lo, hi


# ---------------------------------------------------------------------------------------------------------------
# 1. Two linear layers are one
# ---------------------------------------------------------------------------------------------------------------

def rows_latex(M: np.ndarray) -> str:
    return matrix_latex(M, decimals=0)


@st.fragment
def show_collapse() -> None:
    st.subheader(t("activations.collapse_title"))
    st.caption(t("activations.collapse_caption"))
    seed = st.columns([1, 3])[0].number_input(t("activations.collapse_seed"), 0, 999, step=1, key="act_collapse_seed")
    W1, b1, W2, b2, x = random_layers(seed=int(seed))
    result = collapse_linear(W1, b1, W2, b2, x)
    left, right = st.columns(2)
    with left:
        st.markdown(t("activations.collapse_given"))
        st.latex(rf"W_1 = {rows_latex(W1)},\quad b_1 = {rows_latex(b1)}")
        st.latex(rf"W_2 = {rows_latex(W2)},\quad b_2 = {rows_latex(b2)}")
        st.latex(rf"x^{{(1)}}, x^{{(2)}}, x^{{(3)}} = {', '.join(rows_latex(row) for row in x)}")
    with right:
        st.markdown(t("activations.collapse_merged"))
        st.latex(rf"W = W_2 W_1 = {rows_latex(result.W)}")
        st.latex(rf"b = W_2 b_1 + b_2 = {rows_latex(result.b)}")
        st.latex(rf"W_2(W_1 x + b_1) + b_2 = {', '.join(rows_latex(row) for row in result.two_layers)}")
        st.latex(rf"W x + b = {', '.join(rows_latex(row) for row in result.one_layer)}")
    same, relu_column = st.columns(2)
    same.metric(t("activations.collapse_diff"), f"{result.max_abs_diff:.1e}")
    with relu_column:
        st.latex(rf"W_2\,\mathrm{{ReLU}}(W_1 x + b_1) + b_2 = {', '.join(rows_latex(row) for row in result.with_relu)}")
        differs = float(np.abs(result.with_relu - result.one_layer).max())
        st.caption(t("activations.collapse_relu", diff=number(differs, 2)) if differs > 0
                   else t("activations.collapse_relu_same"))
    show_code(collapse_linear)


# ---------------------------------------------------------------------------------------------------------------
# 2. XOR: a straight line is not enough
# ---------------------------------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=32)
def xor_pair(activation: str, hidden: int, steps: int, lr: float, seed: int):
    """The same network trained twice from the same initial weights: with the hidden nonlinearity and without."""
    return (train_xor(hidden, activation, steps, lr, seed), train_xor(hidden, "none", steps, lr, seed))


def boundary_figure(result) -> Figure:
    """P(class 1) over the square around the four points (red → 1, blue → 0), the 0.5 boundary, the points."""
    fig = Figure(figsize=(3.3, 3.1), dpi=110)
    ax = fig.add_subplot()
    g, P = result.grid, result.grid_probabilities
    ax.imshow(P, origin="lower", extent=(g[0], g[-1], g[0], g[-1]), cmap="RdBu_r", vmin=0, vmax=1,
              interpolation="bilinear")
    if P.min() < 0.5 < P.max() and P.max() - P.min() > 1e-3:  # a flat p ≈ 0.5 has no meaningful boundary
        ax.contour(g, g, P, levels=[0.5], colors="black", linewidths=1.8)
    for (x1, x2), label in zip(XOR_X, XOR_Y, strict=False):
        ax.scatter([x1], [x2], s=160, marker="o" if label else "s", c="#b2182b" if label else "#2166ac",
                   edgecolors="white", linewidths=2, zorder=3)
    ax.set_xticks([0, 1])
    ax.set_yticks([0, 1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    fig.tight_layout(pad=0.3)
    return fig


@st.fragment
def show_xor() -> None:
    st.subheader(t("activations.xor_title"))
    st.caption(t("activations.xor_caption"))
    columns = st.columns([2, 2, 2, 2, 1])
    activation = columns[0].radio(t("activations.xor_activation"), XOR_FUNCTIONS, key="act_xor_activation",
                                  horizontal=True, format_func=labels("activations.fn_"))
    hidden = columns[1].slider(t("activations.xor_hidden"), 1, 32, key="act_hidden")
    steps = columns[2].slider(t("activations.xor_steps"), 50, 1000, step=50, key="act_steps")
    lr = columns[3].select_slider(t("activations.xor_lr"), LEARNING_RATES, key="act_lr")
    seed = columns[4].number_input(t("activations.xor_seed"), 0, 99, step=1, key="act_seed")
    with_f, without = xor_pair(activation, hidden, steps, lr, int(seed))
    name = t(f"activations.fn_{activation}")
    series = {t("activations.xor_with", f=name): COLORS["with"], t("activations.xor_without"): COLORS["without"]}
    pictures = st.columns(3)
    for column, result, title in zip(pictures, (with_f, without), series, strict=False):
        with column:
            st.markdown(f"**{title}**")
            show_figure(boundary_figure(result))
            accuracy, loss = st.columns(2)
            accuracy.metric(t("activations.xor_accuracy"), f"{100 * result.accuracy:.0f} %")
            loss.metric(t("activations.xor_final_loss"), number(result.losses[-1], 4))
    with pictures[2]:
        st.markdown(f"**{t('activations.xor_loss_title')}**")
        rows = [{"x": step + 1, "y": float(max(value, 1e-8)), "series": title}
                for result, title in zip((with_f, without), series, strict=False)
                for step, value in enumerate(result.losses)]
        line_chart(rows, t("activations.axis_step"), t("activations.axis_loss"), series, log_y=True, height=320)
        st.caption(t("activations.xor_time", seconds=f"{with_f.seconds + without.seconds:.2f}"))
    st.caption(t("activations.xor_legend"))
    if with_f.accuracy < 1:
        show_problem(t("activations.xor_stuck", hidden=hidden))
    collapsed = collapse_linear(without.W1, without.b1, without.W2, without.b2, XOR_X)
    st.markdown(t("activations.xor_without_is_a_line"))
    st.latex(rf"W_2 W_1 = {matrix_latex(collapsed.W, 3)},\quad W_2 b_1 + b_2 = {matrix_latex(collapsed.b, 3)}"
             rf",\quad \mathcal{{L}}_{{\min}} = \ln 2 \approx {math.log(2):.4f}")
    show_code(train_xor)


# ---------------------------------------------------------------------------------------------------------------
# 3. The functions and their derivatives
# ---------------------------------------------------------------------------------------------------------------

def show_functions() -> tuple[str, float | None]:
    st.subheader(t("activations.functions_title"))
    controls = st.columns(3)
    name = controls[0].selectbox(t("activations.function"), FUNCTIONS, key="act_function",
                                 format_func=labels("activations.fn_"))
    controls[1].slider(t("activations.leaky_slope"), 0.0, 0.5, step=0.01, key="act_leaky_slope",
                       disabled=name != "leaky_relu", help=t("activations.leaky_slope_help"))
    controls[2].slider(t("activations.elu_alpha"), 0.1, 3.0, step=0.1, key="act_elu_alpha",
                       disabled=name != "elu", help=t("activations.elu_alpha_help"))
    parameter = parameter_of(name)
    y, dy = apply(name, PLOT_X, parameter)
    chart, formulas = st.columns([3, 2])
    with chart:
        labels_ = {"f(x)": COLORS["f"], "f′(x)": COLORS["grad"]}
        rows = [{"x": float(x), "y": float(v), "series": series}
                for series, values in zip(labels_, (y, dy), strict=False) for x, v in zip(PLOT_X, values, strict=False)]
        line_chart(rows, "x", t("activations.axis_f"), labels_)
    with formulas:
        function_tex, derivative_tex = FORMULAS[name]
        st.latex(function_tex)
        st.latex(derivative_tex)
        st.caption(t(f"activations.about_{name}"))
        if name in ("relu", "leaky_relu", "elu"):
            st.caption(t(f"activations.kink_{name}"))
        sample = np.array([-3, -1, 0, 1, 3], dtype=np.float32)
        fs, dfs = apply(name, sample, parameter)
        st.dataframe(pd.DataFrame({"x": [number(v) for v in sample], "f(x)": [number(v) for v in fs],
                                   "f′(x)": [number(v) for v in dfs]}).set_index("x").T, width="stretch")
    xt = torch.from_numpy(PLOT_X.copy()).requires_grad_(True)
    theirs = torch_activation(name, xt, parameter)
    theirs.sum().backward()
    show_torch_check(max(float(np.abs(y - theirs.detach().numpy()).max()), float(np.abs(dy - xt.grad.numpy()).max())))
    function, derivative, _ = ACTIVATIONS[name]
    show_code(function, derivative)
    return name, parameter


# ---------------------------------------------------------------------------------------------------------------
# 4. Vanishing gradients
# ---------------------------------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=64)
def depth_curve(name: str, depth: int, parameter: float | None) -> np.ndarray:
    return gradient_norms_by_depth(name, depth, parameter=parameter)


@st.fragment
def show_vanishing(name: str, parameter: float | None) -> None:
    st.subheader(t("activations.vanishing_title"))
    st.caption(t("activations.vanishing_caption"))
    depth = st.slider(t("activations.depth"), 1, 30, key="act_depth")
    shown = ["sigmoid", "tanh", "relu"] + ([name] if name not in ("sigmoid", "tanh", "relu") else [])
    colors, rows, first_layer = {}, [], {}
    for curve in shown:
        label = function_label(curve, parameter if curve == name else None)
        colors[label] = COLORS[curve]
        norms = depth_curve(curve, depth, parameter if curve == name else None)
        first_layer[curve] = float(norms[0])
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
        for curve in shown:
            st.metric(t("activations.vanishing_metric", f=function_label(curve, parameter if curve == name else None)),
                      f"{first_layer[curve]:.1e}")
    show_code(chain_gradients)


# ---------------------------------------------------------------------------------------------------------------
# 5. On a real feature map
# ---------------------------------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=16)
def feature_map(digest: str, kernel: str, _image: np.ndarray) -> np.ndarray:
    """The kernel's feature map of the grayscale image, 'same' padding: (H, W)."""
    gray = to_grayscale(_image)
    return conv2d(gray[None, None], KERNELS[kernel][None, None], padding="same")[0, 0]


@st.fragment
def show_feature_map(name: str, parameter: float | None) -> None:
    st.subheader(t("activations.map_title"))
    st.caption(t("activations.map_caption", f=function_label(name, parameter)))
    left, right = st.columns(2)
    kernel = left.selectbox(t("activations.kernel"), list(KERNELS), key="act_kernel",
                            format_func=labels("kernels.", "_name"))
    bias = right.slider(t("activations.bias"), -1.0, 1.0, step=0.05, key="act_bias", help=t("activations.bias_help"))
    before = feature_map(current_digest(), kernel, current_image()) + np.float32(bias)
    after, slope = apply(name, before, parameter)
    before_range = display_range(before)
    if name in ("relu", "leaky_relu", "elu"):  # identity for x > 0: the same scale shows what was cut or squeezed
        after_range = before_range if after.min() < 0 else (0.0, before_range[1])
    else:  # sigmoid and tanh squash into their own small range
        after_range = display_range(after)
    maps = st.columns(2)
    for column, values, (lo, hi), caption, color in (
            (maps[0], before, before_range, t("activations.map_before", h=before.shape[0], w=before.shape[1]),
             COLORS["without"]),
            (maps[1], after, after_range, t("activations.map_after", f=function_label(name, parameter)), COLORS["with"])):
        with column:
            show_map(values, caption, signed=lo < 0, vmin=lo, vmax=hi)
            show_histogram(values, color, (lo, hi), height=220, share_title=True)
    metrics = st.columns(4)
    metrics[0].metric(t("activations.share_negative"), f"{100 * float((before < 0).mean()):.1f} %")
    metrics[1].metric(t("activations.share_zero_before"), f"{100 * share_of_zeros(before):.1f} %")
    metrics[2].metric(t("activations.share_zero_after"), f"{100 * share_of_zeros(after):.1f} %")
    metrics[3].metric(t("activations.share_no_gradient"), f"{100 * share_of_zeros(slope):.1f} %",
                      help=t("activations.share_no_gradient_help"))
    if share_of_zeros(slope) > 0.9:
        show_problem(t("activations.mostly_dead", share=f"{100 * share_of_zeros(slope):.0f}"))
    theirs = torch_activation(name, torch.from_numpy(before), parameter).numpy()
    show_torch_check(float(np.abs(after - theirs).max()))


# ---------------------------------------------------------------------------------------------------------------
# 6. Softmax and temperature
# ---------------------------------------------------------------------------------------------------------------

def parse_logits(text: str) -> tuple[list[float] | None, str | None]:
    """'2 1 0.1 -1' (spaces, commas or Chinese commas) → numbers, or (None, the translated reason)."""
    tokens = [token for token in re.split(r"[\s,，;；]+", text.strip()) if token]
    if not tokens:
        return None, t("activations.logits_empty")
    values = []
    for token in tokens:
        try:
            value = float(token.replace("−", "-"))
        except ValueError:
            return None, t("activations.logits_bad", token=token[:20])
        if not math.isfinite(value):  # "nan", "inf" and 1e400 parse as floats but are no usable scores
            return None, t("activations.logits_bad", token=token[:20])
        if abs(value) > MAX_ABS_LOGIT:
            return None, t("activations.logits_too_big", token=token[:20], limit=f"{MAX_ABS_LOGIT:.0e}")
        values.append(value)
    if not 2 <= len(values) <= MAX_LOGITS:
        return None, t("activations.logits_count", n=len(values), most=MAX_LOGITS)
    return values, None


@st.fragment
def show_softmax() -> None:
    st.subheader(t("activations.softmax_title"))
    st.caption(t("activations.softmax_caption"))
    left, right = st.columns([3, 2])
    text = left.text_input(t("activations.logits"), key="act_logits", help=t("activations.logits_help"))
    temperature = right.slider(t("activations.temperature"), 0.1, 5.0, step=0.1, key="act_temperature",
                               help=t("activations.temperature_help"))
    values, problem = parse_logits(text)
    if problem:
        show_problem(problem)
        return
    logits = np.array(values, dtype=np.float32)
    scaled = logits / np.float32(temperature)
    probabilities = softmax(scaled, dim=0)
    names = [f"z{i + 1}" for i in range(len(values))]
    chart, table = st.columns([3, 2])
    with chart:
        rows = [{"name": n, "p": float(p), "label": number(p, 3)} for n, p in zip(names, probabilities, strict=False)]
        encoding = {"x": {"field": "name", "type": "nominal", "title": None, "sort": None, "axis": {"labelAngle": 0}},
                    "y": {"field": "p", "type": "quantitative", "title": t("activations.axis_probability"),
                          "scale": {"domain": [0, 1]}}}
        st.vega_lite_chart({"data": {"values": rows}, "height": 280, "encoding": encoding, "layer": [
            {"mark": {"type": "bar", "color": COLORS["with"]}},
            {"mark": {"type": "text", "dy": -8}, "encoding": {"text": {"field": "label"}}},
        ]}, width="stretch")
    with table:
        st.latex(FORMULAS["softmax"][0])
        shifted = scaled - scaled.max()
        st.dataframe(pd.DataFrame({
            "z": [number(v) for v in logits],
            "(z − max z)/T": [number(v) for v in shifted],
            "exp": [number(v, 4) for v in np.exp(shifted)],
            "p": [number(v, 4) for v in probabilities],
        }, index=names), width="stretch")
    naive = softmax_naive(scaled, dim=0)
    if not np.isfinite(naive).all():
        show_problem(t("activations.naive_overflow", top=number(float(scaled.max()), 1)))
    else:
        st.caption(t("activations.naive_same"))
    theirs = F.softmax(torch.from_numpy(scaled), dim=0).numpy()
    show_torch_check(float(np.abs(probabilities - theirs).max()))
    show_code(softmax)


# ---------------------------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------------------------

show_lesson("activations")
st.header(t("common.experiment"))
for widget, value in DEFAULTS.items():
    st.session_state.setdefault(widget, value)
if st.session_state.act_kernel not in KERNELS:
    st.session_state.act_kernel = DEFAULTS["act_kernel"]
if st.session_state.act_lr not in LEARNING_RATES:
    st.session_state.act_lr = DEFAULTS["act_lr"]

show_collapse()
show_xor()
st.divider()
chosen, alpha = show_functions()
show_vanishing(chosen, alpha)
show_feature_map(chosen, alpha)
st.divider()
show_softmax()
