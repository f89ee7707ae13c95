"""Residual networks: the degradation problem trained live, a residual block on the student's image, and why the
shortcut lets deep stacks train (the gradient at every layer; the receptive field through a block).

Widget keys (lessons' ```try blocks may set them):
  rn_depth       8 | 14 | 20 | 26 | 32   layers with weights of the plain and the residual network trained here
  rn_shortcut    identity | projection   the block on the image: identity (stride 1, 3 → 3 channels) or a 1×1
                                         projection (stride 2, 3 → 6 channels)
  rn_scale       0–2: BN₂'s γ, how strongly F(x) is added (0 makes F(x) = 0: the block passes x through)
  rn_channel     0–5: the channel shown (clamped to the block's output channels)
  rn_grad_depth  20 | 32 | 44 | 56       depth of the two fresh networks whose gradients are measured
Live answers for the lesson: rn_blocks (blocks of the network at rn_depth), rn_shortcut_params (parameters of the
shortcut on screen).
"""


import numpy as np
import streamlit as st

from cnn_core.channels import rgb_planes
from cnn_core.render import format_number, value_range
from cnn_core.resnet import basic_block, basic_block_steps, block_parameters, demo_block, shortcut_parameters
from cnn_core.resnet_train import block_receptive_field, degradation, gradient_profile, make_net, parameter_count
from ui.image_source import current_digest, current_image
from ui.networks import shared_runs, train_shared
from ui.page import Choice, Page, Slider
from ui.proof import show_check
from ui.show import map_png, show_colorbar, show_png
from ui.strings import t

TRAIN_DEPTHS = (8, 14, 20, 26, 32)
GRAD_DEPTHS = (20, 32, 44, 56)
WORK_SIDE = 160  # the block runs on the picture resized to this longer side
TIME_LIMIT = 8.0  # seconds of training per network per click: a student waits at most about twice this
COLOURS = {"field": "net", "type": "nominal", "title": None, "legend": {"orient": "bottom"},
           "scale": {"range": ["#e45756", "#4c78a8"]}}  # plain red, residual blue, on every chart

PAGE = Page("resnet", controls=(
    Choice("rn_depth", "resnet.depth", TRAIN_DEPTHS, default=20, style="select_slider"),
    Choice("rn_shortcut", "resnet.shortcut", ("identity", "projection"), default="identity", style="radio",
           labels="resnet.shortcut_", extra=dict(horizontal=True)),
    Slider("rn_scale", "resnet.scale", 0.0, 2.0, default=0.3, step=0.1),
    Slider("rn_channel", "resnet.channel", 0, 5, default=0),
    Choice("rn_grad_depth", "resnet.grad_depth", GRAD_DEPTHS, default=56, style="select_slider"),
), code=(basic_block_steps, degradation), live_answers={
    "rn_blocks": lambda: (st.session_state.rn_depth - 2) // 2,
    "rn_shortcut_params": lambda: shortcut_parameters(3, block_shape()[0], block_shape()[1] == 2),
})


def block_shape() -> tuple[int, int]:
    """(output channels, stride) of the block on the image."""
    return (6, 2) if st.session_state.rn_shortcut == "projection" else (3, 1)


def smooth(values, width: int = 5) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    kernel = np.ones(min(width, len(values))) / min(width, len(values))
    return np.convolve(values, kernel, mode="valid")


def loss_chart(result) -> dict:
    rows = [{"step": i + 1, "loss": float(v), "net": t(f"resnet.{name}")}
            for name, history in (("plain", result.plain), ("residual", result.residual))
            for i, v in enumerate(smooth(history.batch_loss))]
    return {"data": {"values": rows}, "mark": {"type": "line"}, "height": 260,
            "encoding": {"x": {"field": "step", "type": "quantitative", "title": t("resnet.axis_step")},
                         "y": {"field": "loss", "type": "quantitative", "title": t("resnet.axis_loss")},
                         "color": COLOURS}}


def train_now(depth: int, progress) -> None:
    train_shared("resnet", depth, lambda report: degradation(depth, time_limit=TIME_LIMIT, progress=report),
                 progress, t("resnet.training", depth=depth))


@st.fragment
def show_degradation(page: Page) -> None:
    st.subheader(t("resnet.degradation_title"))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    depth = page.draw("rn_depth", left)
    start = right.button(t("resnet.train"), type="primary", icon=":material/play_arrow:", width="stretch")
    params = parameter_count(make_net(depth, residual=True))
    st.markdown(t("resnet.degradation_intro", depth=depth, blocks=(depth - 2) // 2, params=f"{params:,}"))
    progress = st.empty()
    if start:
        train_now(depth, progress)
    result = shared_runs("resnet").get(depth)
    if result is None:
        st.info(t("resnet.press_train", depth=depth))
        return
    st.vega_lite_chart(loss_chart(result), width="stretch")
    plain, residual = st.columns(2)
    for column, name, history in ((plain, "plain", result.plain), (residual, "residual", result.residual)):
        column.metric(t(f"resnet.final_{name}"), f"{history.train_loss[-1]:.3f}",
                      help=t("resnet.final_help"))
        column.caption(t("resnet.accuracy", acc=f"{history.train_acc[-1]:.0%}", seconds=f"{history.seconds:.1f}",
                         steps=len(history.batch_loss)))
    if result.plain.stopped == "time":
        st.caption(t("resnet.time_cut", steps=len(result.plain.batch_loss), seconds=f"{TIME_LIMIT:g}"))
    verdict = "worse" if result.plain_loss > result.residual_loss else "not_worse"
    st.markdown(t(f"resnet.verdict_{verdict}", plain=f"{result.plain_loss:.3f}",
                  residual=f"{result.residual_loss:.3f}"))
    shallow = shared_runs("resnet").get(8)
    if depth != 8 and shallow is not None:
        st.caption(t("resnet.shallow_reference", plain=f"{shallow.plain_loss:.3f}", depth=depth,
                     deep=f"{result.plain_loss:.3f}"))


@st.cache_data(show_spinner=False, max_entries=16)
def work_planes(digest: str, _image: np.ndarray) -> np.ndarray:
    return rgb_planes(_image, WORK_SIDE)  # (3, h, w) in [0, 1]


@st.cache_data(show_spinner=False, max_entries=64)
def block_weights(digest: str, shortcut: str, scale: float, _X: np.ndarray) -> dict:
    """basic_block's arguments for this picture: identity 3 → 3 at stride 1, or projection 3 → 6 at stride 2."""
    C_out, stride = (6, 2) if shortcut == "projection" else (3, 1)
    return demo_block(_X, C_out, stride, residual_scale=scale)


@st.cache_data(show_spinner=False, max_entries=64)
def block_pictures(digest: str, shortcut: str, scale: float, channel: int, _X: np.ndarray) -> dict:
    steps = basic_block_steps(_X, **block_weights(digest, shortcut, scale, _X))
    C_out = steps.output.shape[0]
    c = min(channel, C_out - 1)
    shared = value_range(np.stack([a[c] for a in (steps.shortcut, steps.residual, steps.sum)]), signed=True)[1]
    picture = lambda a: map_png(a[c], signed=True, vmin=-shared, vmax=shared, min_side=1, max_width=300)  # noqa: E731
    return dict(x=map_png(_X[min(c, 2)], signed=False, vmin=0.0, vmax=1.0, cmap="gray", min_side=1,
                          max_width=300)[0],
                shortcut=picture(steps.shortcut), residual=picture(steps.residual), sum=picture(steps.sum),
                output=picture(steps.output), shape=steps.output.shape, input_shape=_X.shape,
                pass_through=float(np.abs(steps.output - _X).max()) if shortcut == "identity" else None)


@st.fragment
def show_block(page: Page) -> None:
    st.subheader(t("resnet.block_title"))
    columns = st.columns([2, 3, 2])
    shortcut = page.draw("rn_shortcut", columns[0])
    scale = page.draw("rn_scale", columns[1])
    C_out, stride = block_shape()
    channel = page.draw("rn_channel", columns[2], hi=C_out - 1)
    X = work_planes(current_digest(), current_image())
    pictures = block_pictures(current_digest(), shortcut, scale, channel, X)
    (C, H, W), (Co, Ho, Wo) = pictures["input_shape"], pictures["shape"]
    st.markdown(t(f"resnet.block_{shortcut}", c=C, h=H, w=W, co=Co, ho=Ho, wo=Wo))
    names = ("x", "shortcut", "residual", "sum", "output") if shortcut == "projection" else \
        ("x", "residual", "sum", "output")
    for column, name in zip(st.columns(len(names)), names, strict=True):
        with column:
            entry = pictures[name]
            show_png(entry if name == "x" else entry[0], t(f"resnet.map_{name}", c=min(channel, C_out - 1)))
            if name != "x":
                show_colorbar(*entry[1:])
    if pictures["pass_through"] is not None and scale == 0:
        st.success(t("resnet.pass_through", diff=f"{pictures['pass_through']:.1e}"))
    parts = block_parameters(C, Co, projection=shortcut == "projection")
    st.markdown(t("resnet.block_params", total=f"{parts['total']:,}", shortcut=f"{parts['shortcut']:,}", c=C, c2=2 * C,
                  proj=f"{shortcut_parameters(C, 2 * C, True):,}", r18=f"{shortcut_parameters(64, 128, True):,}"))
    field = block_receptive_field(stride)
    st.markdown(t("resnet.field", residual=field.residual_path, skip=field.shortcut_path, block=field.block,
                  jump=field.jumps[0], centre=format_number(field.centres[0], 1)))
    show_check(basic_block, X[None], key=(current_digest(), shortcut, scale), label=t("resnet.check_block"),
               **block_weights(current_digest(), shortcut, scale, X))


@st.cache_data(show_spinner=False, max_entries=8)
def profile(depth: int):
    return gradient_profile(depth)


@st.fragment
def show_gradients(page: Page) -> None:
    st.subheader(t("resnet.gradient_title"))
    depth = page.draw("rn_grad_depth")
    with st.spinner(t("resnet.measuring")):
        result = profile(depth)
    rows = [{"layer": i + 1, "norm": float(v), "net": t(f"resnet.{name}")}
            for name, norms in (("plain", result.plain), ("residual", result.residual))
            for i, v in enumerate(norms[:-1])]
    st.vega_lite_chart({"data": {"values": rows}, "mark": {"type": "line", "point": True}, "height": 260,
                        "encoding": {"x": {"field": "layer", "type": "quantitative", "title": t("resnet.axis_layer")},
                                     "y": {"field": "norm", "type": "quantitative", "scale": {"type": "log"},
                                           "title": t("resnet.axis_norm")},
                                     "color": COLOURS}}, width="stretch")
    st.markdown(t("resnet.gradient_spread", depth=depth, plain=f"{result.plain_spread:,.0f}",
                  residual=f"{result.residual_spread:,.1f}"))


def experiment(page: Page) -> None:
    show_degradation(page)
    show_block(page)
    show_gradients(page)


if __name__ == "__main__":
    PAGE.run(experiment)
