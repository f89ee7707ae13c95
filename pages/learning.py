"""How a network learns: a neuron and a 2-3-1 network, the loss, gradient descent, backpropagation, training.

Widget keys (lessons' ```try blocks may set them):
  ln_x1, ln_x2 inputs of the 2-3-1 network (−2…2), ln_y its target, ln_act sigmoid | tanh | relu, ln_seed weights
  ln_w, ln_b   the line ŷ = w·x + b (also where gradient descent starts), ln_lr learning rate, ln_steps 1–200
  ln_epochs 1–30, ln_batch 8…256, ln_train_lr 0.01…3   the training run on the digits
  ln_hidden    hidden units of the fully connected layer whose parameters are counted on your image
"""

import numpy as np
import streamlit as st

from cnn_core.conv import conv2d
from cnn_core.errors import CnnError
from cnn_core.image import to_grayscale
from cnn_core.kernels import get_kernel
from cnn_core.learn import (
    HIDDEN_ACTIVATIONS,
    LINE_X,
    LINE_Y,
    gradient_descent,
    line_loss,
    linear,
    linear_backward,
    mse_loss,
    parameter_counts,
    pixel_permutation,
    shuffle_pixels,
    tiny_net,
    tiny_net_grads,
    tiny_net_params,
)
from cnn_core.render import fit_width
from ui.errors import show_problem
from ui.image_source import current_digest, current_image
from ui.learning_show import bmatrix, num, show_lines, surface_png
from ui.page import Choice, Number, Page, Slider
from ui.proof import show_check
from ui.show import show_map, show_png
from ui.strings import t

LINE_LRS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.28, 0.3, 0.35, 0.5)
TRAIN_LRS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
TIME_LIMIT = 5.0  # seconds per training run: one thread, never blocking the other students for long
COLORS = {"train": "#1f77b4", "test": "#d62728"}

PAGE = Page("learning", controls=(
    Slider("ln_x1", "learning.x1", -2.0, 2.0, default=1.0, step=0.1),
    Slider("ln_x2", "learning.x2", -2.0, 2.0, default=-0.5, step=0.1),
    Slider("ln_y", "learning.target", -2.0, 2.0, default=0.5, step=0.1),
    Choice("ln_act", "learning.activation", tuple(HIDDEN_ACTIVATIONS), default="sigmoid", style="radio",
           labels="learning.act_", extra=dict(horizontal=True)),
    Number("ln_seed", "learning.seed", 0, 99, default=0),
    Slider("ln_w", "learning.w", -3.0, 6.0, default=-2.0, step=0.1),
    Slider("ln_b", "learning.b", -3.0, 8.0, default=6.0, step=0.1),
    Choice("ln_lr", "learning.lr", LINE_LRS, default=0.1, style="select_slider"),
    Slider("ln_steps", "learning.steps", 1, 200, default=50),
    Slider("ln_epochs", "learning.epochs", 1, 30, default=10),
    Choice("ln_batch", "learning.batch", (8, 16, 32, 64, 128, 256), default=32, style="select_slider"),
    Choice("ln_train_lr", "learning.train_lr", TRAIN_LRS, default=0.3, style="select_slider"),
    Choice("ln_hidden", "learning.hidden", (100, 1000, 4096), default=1000, style="select_slider"),
), code=(linear, linear_backward, mse_loss, tiny_net, gradient_descent), live_answers={
    "ln_loss": lambda: float(line_loss(st.session_state.ln_w, st.session_state.ln_b)),
    "ln_y_hat": lambda: network().y_hat,
    "ln_limit": lambda: gradient_descent(lr=0.1, steps=1).lr_limit,
    "ln_fc_params": lambda: parameter_counts(*image_shape(), hidden=st.session_state.ln_hidden)["fc"],
    "ln_img_h": lambda: image_shape()[0], "ln_img_w": lambda: image_shape()[1], "ln_img_c": lambda: image_shape()[2],
})


def image_shape() -> tuple[int, int, int]:
    return current_image().shape


def network():
    s = st.session_state
    return tiny_net([s.ln_x1, s.ln_x2], s.ln_y, tiny_net_params(int(s.ln_seed)), s.ln_act)


@st.fragment
def show_network(page: Page) -> None:
    """Forward pass with every number, then the chain rule back, beside torch autograd's gradients."""
    st.subheader(t("learning.forward_title"))
    columns = st.columns(5)
    for key, column in zip(("ln_x1", "ln_x2", "ln_y", "ln_act", "ln_seed"), columns, strict=True):
        page.draw(key, column)
    r, p = network(), tiny_net_params(int(st.session_state.ln_seed))
    f = t(f"learning.fn_{st.session_state.ln_act}")
    for line in (rf"z = W_1 x + b_1 = {bmatrix(p['W1'])}{bmatrix(r.x)} + {bmatrix(p['b1'])} = {bmatrix(r.z1, 3)}",
                 rf"h = {f}(z) = {bmatrix(r.h, 3)}",
                 rf"\hat y = W_2 h + b_2 = {bmatrix(p['W2'])}{bmatrix(r.h, 3)} + {bmatrix(p['b2'])} = {r.y_hat:.4f}",
                 rf"L = (\hat y - y)^2 = ({r.y_hat:.4f} - {r.y:.1f})^2 = {r.loss:.4f}"):
        st.latex(line)  # one formula per line: each fits a phone's width
    st.subheader(t("learning.backward_title"))
    g, d = r.grads, (lambda v: rf"\frac{{\partial L}}{{\partial {v}}}")  # noqa: E731
    dy = d(r"\hat y")
    ours, theirs = st.columns(2)
    with ours:
        for line in (rf"{dy} = 2(\hat y - y) = {g['y_hat'][0]:.4f}",
                     rf"{d('W_2')} = {dy}\, h^\top = {bmatrix(g['W2'], 4)}",
                     rf"{d('b_2')} = {dy} = {g['b2'][0]:.4f}",
                     rf"{d('h')} = W_2^\top {dy} = {bmatrix(g['h'], 4)}",
                     rf"{d('z')} = {d('h')} \odot {f}'(z) = {bmatrix(g['z1'], 4)}",
                     rf"{d('W_1')} = {d('z')}\, x^\top = {bmatrix(g['W1'], 4)}",
                     rf"{d('b_1')} = {d('z')} = {bmatrix(g['b1'], 4)}"):
            st.latex(line)
    with theirs:
        from cnn_core.learn_torch import tiny_net_grads as autograd  # torch loads here, not when the page opens
        s = st.session_state
        args = ([s.ln_x1, s.ln_x2], s.ln_y, p["W1"], p["b1"], p["W2"], p["b2"])
        st.markdown(t("learning.autograd_title"))
        for name, value in zip(("W_1", "b_1", "W_2", "b_2"), autograd(*args, activation=s.ln_act), strict=True):
            st.latex(rf"{d(name)} = {bmatrix(np.asarray(value), 4)}")
        show_check(tiny_net_grads, *args, activation=s.ln_act, key=(*args[:2], s.ln_seed, s.ln_act),
                   label=t("learning.check_backprop"))


@st.fragment
def show_descent(page: Page) -> None:
    """The loss of the student's line on five points, then gradient descent from there."""
    st.subheader(t("learning.loss_title"))
    left, right = st.columns(2)
    w, b = page.draw("ln_w", left), page.draw("ln_b", right)
    y_hat = linear(LINE_X[:, None], [[w]], [b])[:, 0]
    columns = (("col_x", LINE_X, 1), ("col_y", LINE_Y, 1), ("col_yhat", y_hat, 2), ("col_sq", (y_hat - LINE_Y) ** 2, 3))
    st.table({t(f"learning.{name}"): [num(v, d) for v in values] for name, values, d in columns})
    st.markdown(t("learning.mse", loss=f"{mse_loss(y_hat, LINE_Y):.3f}"))
    show_check(mse_loss, y_hat, LINE_Y, key=("line", w, b), label=t("learning.check_mse"))
    st.subheader(t("learning.descent_title"))
    left, right = st.columns(2)
    lr, steps = page.draw("ln_lr", left), page.draw("ln_steps", right)
    result = gradient_descent((w, b), lr, steps)
    picture, curve = st.columns([5, 4])
    with picture:
        show_png(surface_png(w, b, lr, steps), t("learning.surface_caption"))
    with curve:
        show_lines([{"x": i, "y": float(v), "series": t("learning.axis_loss")} for i, v in enumerate(result.losses)],
                   t("learning.axis_step"), t("learning.axis_loss"), log_y=True)
        numbers = dict(lr=f"{lr:g}", smooth=f"{result.lr_smooth:.3f}", limit=f"{result.lr_limit:.3f}",
                       steps=len(result.losses) - 1, loss=f"{result.losses[-1]:.4g}",
                       w=f"{result.path[-1][0]:.3f}", b=f"{result.path[-1][1]:.3f}")
        if result.error is not None:
            show_problem(result.error)
        else:
            key = "oscillating_done" if result.outcome == "oscillating" and result.converged else result.outcome
            (st.success if result.converged else st.info)(t(f"learning.outcome_{key}", **numbers))
        st.caption(t("learning.limits", **numbers))


@st.cache_resource(show_spinner=False)
def shared_runs() -> dict:
    """Training runs shared by every session (the same settings train once per server), newest last."""
    return {}


def training(shuffled: bool, epochs: int, batch: int, lr: float):
    """One training run on the digits; a progress bar while it runs (one thread, a few seconds at most)."""
    runs, key = shared_runs(), (shuffled, epochs, batch, lr)
    if key not in runs:
        from cnn_core import train_digits
        bar = st.progress(0.0, text=t("learning.training_now"))
        try:
            run = train_digits(shuffled, epochs, batch, lr, time_limit=TIME_LIMIT,
                               on_epoch=lambda h: bar.progress(min(1.0, h.epochs / epochs)))
        except CnnError as error:  # a learning rate that blows the loss up: its curves so far, and why
            run = error
        bar.empty()
        runs[key] = run
        while len(runs) > 32:
            runs.pop(next(iter(runs)), None)
    return runs[key]


@st.fragment
def show_training(page: Page) -> None:
    st.subheader(t("learning.train_title"))
    columns = st.columns(3)
    epochs, batch, lr = (page.draw(k, c) for k, c in zip(("ln_epochs", "ln_batch", "ln_train_lr"), columns,
                                                           strict=True))
    run = training(False, epochs, batch, lr)
    history = getattr(run, "history", run)
    if isinstance(run, CnnError):
        show_problem(run)
    st.caption(t("learning.train_counts", batches=history.batches_per_epoch, batch=batch,
                 steps=len(history.batch_loss), seconds=f"{history.seconds:.1f}"))
    if history.stopped == "time":
        st.info(t("learning.train_time", epochs=history.epochs, limit=f"{TIME_LIMIT:g}"))
    series = {"train": t("learning.series_train"), "test": t("learning.series_test")}
    loss, accuracy = st.columns(2)
    for column, kind, title in ((loss, "loss", "learning.axis_loss"), (accuracy, "acc", "learning.axis_acc")):
        with column:
            show_lines([{"x": e + 1, "y": float(v), "series": series[side]} for side in series
                        for e, v in enumerate(getattr(history, f"{side}_{kind}"))], t("learning.axis_epoch"), t(title),
                       colors={series[side]: COLORS[side] for side in series})
    if history.epochs:
        gap = history.train_acc[-1] - history.test_acc[-1]
        st.markdown(t("learning.train_result", train=f"{100 * history.train_acc[-1]:.1f}",
                      test=f"{100 * history.test_acc[-1]:.1f}", gap=f"{100 * gap:.1f}"))


@st.cache_data(show_spinner=False, max_entries=16)
def shuffled_maps(digest: str, _image: np.ndarray):
    """The image (thinned to ≤ 256 wide), its pixels shuffled, and a Sobel feature map of each."""
    gray = fit_width(to_grayscale(_image), 256)
    shuffled = shuffle_pixels(gray, pixel_permutation(*gray.shape, seed=0))
    edges = [conv2d(x[None, None], get_kernel("sobel_x")[None, None])[0, 0] for x in (gray, shuffled)]
    return gray, shuffled, *edges


@st.fragment
def show_fc_vs_conv(page: Page) -> None:
    st.subheader(t("learning.fc_title"))
    H, W, C = image_shape()
    hidden = page.draw("ln_hidden", st.columns(3)[0])
    counts = parameter_counts(H, W, C, hidden=hidden, out_channels=64, kernel_size=3)
    fc, conv = st.columns(2)
    fc.metric(t("learning.fc_params", h=H, w=W, c=C, hidden=hidden), f"{counts['fc']:,}")
    conv.metric(t("learning.conv_params", c=C), f"{counts['conv']:,}")
    st.caption(t("learning.fc_ratio", ratio=f"{counts['fc'] / counts['conv']:,.0f}"))
    gray, shuffled, edges, noise = shuffled_maps(current_digest(), current_image())
    for column, picture, caption, signed in zip(st.columns(4), (gray, shuffled, edges, noise), (
            "learning.pic_image", "learning.pic_shuffled", "learning.pic_edges", "learning.pic_noise"),
            (False, False, True, True), strict=True):
        with column:
            show_map(picture, t(caption), signed=signed, colorbar=False, min_side=1, max_width=320,
                     **({} if signed else dict(cmap="gray", vmin=0.0, vmax=1.0)))
    show_check(conv2d, shuffled[None, None], get_kernel("sobel_x")[None, None], key=(current_digest(), "shuffled"),
               label=t("learning.check_shuffled"))
    st.markdown(t("learning.digits_title"))
    plain, mixed = training(False, 10, 32, 0.3), training(True, 10, 32, 0.3)
    if isinstance(plain, CnnError) or isinstance(mixed, CnnError):
        return show_problem(plain if isinstance(plain, CnnError) else mixed)
    from cnn_core import digits_sample
    images, scrambled = digits_sample(6)
    for i, column in enumerate(st.columns(12)):
        with column:
            show_map((images if i < 6 else scrambled)[i % 6], signed=False, colorbar=False, min_side=64,
                     cmap="gray", vmin=0.0, vmax=1.0)
    n = min(plain.epochs, mixed.epochs)  # a busy server may have cut one run short (time limit)
    left, right = st.columns(2)
    left.metric(t("learning.acc_plain"), f"{100 * plain.test_acc[n - 1]:.1f} %")
    right.metric(t("learning.acc_shuffled"), f"{100 * mixed.test_acc[n - 1]:.1f} %")
    gap = float(np.max(np.abs(np.subtract(plain.test_acc[:n], mixed.test_acc[:n]))))
    (st.success if gap <= 1 / 359 else st.info)(t("learning.same_accuracy", epochs=n, gap=f"{100 * gap:.2f}"))


def experiment(page: Page) -> None:
    for panel in (show_network, show_descent, show_training, show_fc_vs_conv):  # each a fragment of its own
        panel(page)


if __name__ == "__main__":
    PAGE.run(experiment)
