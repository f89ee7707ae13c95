"""Learning a kernel: gradient descent finds K from X and Y = X ⋆ K — d2l's stripe, then the student's image.

Widget keys (lessons' ```try blocks may set them):
  lk_d2l_lr 0.05…1.5, lk_d2l_steps 1–60           d2l's 6×8 stripe and its edge detector [1, −1]
  lk_target sobel_x | sobel_y | laplacian | sharpen | box_blur | emboss | hidden (a random integer kernel)
  lk_size 3 | 5 (the kernel learned; a 3×3 target sits in the middle of a 5×5), lk_noise 0–1 (× the target's spread)
  lk_source image | noise (learn from your image, or from random pixels of the same size), lk_seed 0–99
  lk_auto true: the safe step 1/λ_max of this image; false: lk_lr 0.001…3, lk_steps 10–1000, lk_view step shown
"""

import numpy as np
import streamlit as st

from cnn_core.errors import CnnError
from cnn_core.image import to_grayscale
from cnn_core.kernels import get_kernel
from cnn_core.learn import (
    correlate_valid,
    d2l_stripe,
    fit_kernel,
    kernel_gradient,
    kernel_lr_limits,
    make_target,
)
from cnn_core.render import fit_width
from ui.errors import show_problem
from ui.image_source import current_digest, current_image
from ui.learning_show import bmatrix, show_lines
from ui.page import Choice, Number, Page, Slider, Toggle
from ui.proof import show_check
from ui.show import show_map, show_number_grid
from ui.strings import t

TARGETS = ("sobel_x", "sobel_y", "laplacian", "sharpen", "box_blur", "emboss", "hidden")
WIDTH = 128  # the image is thinned to this width for learning: every step stays far below a millisecond

PAGE = Page("learn_kernel", controls=(
    Choice("lk_d2l_lr", "learn_kernel.d2l_lr", (0.05, 0.1, 0.3, 0.7, 1.0, 1.3, 1.5), default=0.7,
           style="select_slider"),
    Slider("lk_d2l_steps", "learn_kernel.d2l_steps", 1, 60, default=40),
    Choice("lk_target", "learn_kernel.target", TARGETS, default="sobel_x", labels="learn_kernel.k_"),
    Choice("lk_size", "learn_kernel.size", (3, 5), default=3, style="radio", labels="learn_kernel.size_",
           extra=dict(horizontal=True)),
    Slider("lk_noise", "learn_kernel.noise", 0.0, 1.0, default=0.0, step=0.05),
    Choice("lk_source", "learn_kernel.source", ("image", "noise"), default="image", style="radio",
           labels="learn_kernel.source_", extra=dict(horizontal=True)),
    Number("lk_seed", "learn_kernel.seed", 0, 99, default=0),
    Toggle("lk_auto", "learn_kernel.auto", default=True),
    Choice("lk_lr", "learn_kernel.lr", (0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0, 3.0), default=0.1,
           style="select_slider"),
    Slider("lk_steps", "learn_kernel.steps", 10, 1000, default=300, step=10),
    Slider("lk_view", "learn_kernel.view", 0, 1000, default=1000),
), code=(fit_kernel, kernel_lr_limits, kernel_gradient), live_answers={
    "lk_lambda": lambda: 1 / kernel_lr_limits(learning_image(current_digest(), "image", 0, current_image()),
                                              st.session_state.lk_size)[0],
    "lk_limit": lambda: kernel_lr_limits(learning_image(current_digest(), "image", 0, current_image()),
                                         st.session_state.lk_size)[1],
})


@st.cache_data(show_spinner=False, max_entries=32)
def d2l_fit(lr: float, steps: int):
    X, Y = d2l_stripe()
    return X, Y, fit_kernel(X, Y, (1, 2), lr=lr, steps=steps)


@st.fragment
def show_d2l(page: Page) -> None:
    """d2l 7.2.4: learn [1, −1] back from the stripe and its edges."""
    st.subheader(t("learn_kernel.d2l_title"))
    left, right = st.columns(2)
    lr, steps = page.draw("lk_d2l_lr", left), page.draw("lk_d2l_steps", right)
    X, Y, fit = d2l_fit(lr, steps)
    columns = st.columns(3)
    for column, values, caption in zip(columns, (X, Y, correlate_valid(X, fit.kernel)),
                                       ("d2l_X", "d2l_Y", "d2l_Y_hat"), strict=True):
        with column:
            st.caption(t(f"learn_kernel.{caption}", steps=len(fit.losses) - 1))
            show_number_grid(values, decimals=2, cell_px=28)  # 8 columns fit a third of the page at 1400 px
    loss, kernel = st.columns(2)
    with loss:
        show_lines([{"x": i, "y": max(float(v), 1e-12), "series": t("learn_kernel.axis_loss")}
                    for i, v in enumerate(fit.losses)], t("learn_kernel.axis_step"), t("learn_kernel.axis_loss"), True)
    with kernel:
        show_lines([{"x": i, "y": float(K[0, j]), "series": f"K[0, {j}]"} for i, K in enumerate(fit.kernels)
                    for j in (0, 1)], t("learn_kernel.axis_step"), t("learn_kernel.axis_kernel"))
    explain_fit(fit, steps, decimals=4)
    show_check(correlate_valid, X, fit.kernel, key=("d2l", lr, steps), label=t("learn_kernel.check_d2l"))


def explain_fit(fit, steps: int, decimals: int = 3) -> None:
    """What happened, in words: the final kernel, the safe step and the limit of this image."""
    numbers = dict(lr=f"{fit.lr:.3g}", limit=f"{fit.lr_limit:.3g}", safe=f"{fit.lr_limit / 2:.3g}", steps=steps,
                   loss=f"{fit.losses[-1]:.3g}",
                   kernel="[" + "; ".join(", ".join(f"{v:.{decimals}f}" for v in row) for row in fit.kernel) + "]")
    if fit.error is not None:
        show_problem(fit.error)
    else:
        (st.success if fit.outcome == "converged" else st.info)(t(f"learn_kernel.outcome_{fit.outcome}", **numbers))
    st.caption(t("learn_kernel.limits", **numbers))


@st.cache_data(show_spinner=False, max_entries=16)
def learning_image(digest: str, source: str, seed: int, _image: np.ndarray) -> np.ndarray:
    """The grayscale image thinned to ≤ WIDTH wide, or random pixels of the same size."""
    gray = fit_width(to_grayscale(_image), WIDTH)
    return gray if source == "image" else np.random.default_rng(seed).random(gray.shape, dtype=np.float32)


def target_kernel(name: str, size: int, seed: int) -> np.ndarray:
    """The kernel to be found: a library kernel, or a hidden one of small integers; a 3×3 sits inside a 5×5."""
    K = np.random.default_rng(seed).integers(-2, 3, (3, 3)).astype(np.float32) if name == "hidden" \
        else get_kernel(name)
    return np.pad(K, (size - 3) // 2)


@st.cache_data(show_spinner=False, max_entries=32)
def image_fit(digest: str, source: str, name: str, size: int, noise: float, lr, steps: int, seed: int,
              _image: np.ndarray):
    X = learning_image(digest, source, seed, _image)
    Y = make_target(X, target_kernel(name, size, seed), noise, seed)
    return X, Y, fit_kernel(X, Y, size, lr=lr, steps=steps, seed=seed)


@st.fragment
def show_on_image(page: Page) -> None:
    st.subheader(t("learn_kernel.image_title"))
    first, second, third = st.columns(3)
    name, size, noise = page.draw("lk_target", first), page.draw("lk_size", second), page.draw("lk_noise", third)
    source, seed, auto = page.draw("lk_source", first), page.draw("lk_seed", second), page.draw("lk_auto", third)
    lr_column, steps_column = st.columns(2)
    lr = page.draw("lk_lr", lr_column, disabled=auto)
    steps = page.draw("lk_steps", steps_column)
    digest = current_digest()
    try:
        X, Y, fit = image_fit(digest, source, name, size, noise, None if auto else lr, steps, seed, current_image())
    except CnnError as error:  # an image smaller than the kernel
        return show_problem(error)
    st.caption(t("learn_kernel.image_shapes", h=X.shape[0], w=X.shape[1], oh=Y.shape[0], ow=Y.shape[1], k=size))
    explain_fit(fit, len(fit.losses) - 1)
    show_steps(page, X, Y, fit, target_kernel(name, size, seed), name == "hidden")
    show_gradient(X, Y, fit, (digest, source, name, size, noise, seed))


@st.fragment
def show_steps(page: Page, X, Y, fit, target: np.ndarray, hidden: bool) -> None:
    """One step of the run: the kernel (numbers and picture), the predicted map, the loss so far (a fragment of its
    own: moving the step reruns only this)."""
    last = len(fit.losses) - 1
    step = page.draw("lk_view", hi=last) if last > 0 else 0
    K = fit.kernels[step]
    kernel, picture, truth = st.columns(3)
    with kernel:
        st.caption(t("learn_kernel.kernel_at", step=step))
        st.latex(f"K = {bmatrix(K, 3)}")  # LaTeX, not a figure: it changes at every step and must stay cheap
    with picture:
        show_map(K, t("learn_kernel.kernel_picture"), signed=True, colorbar=False, min_side=120, width=150)
    with truth:
        st.caption(t("learn_kernel.target_hidden" if hidden and step < last else "learn_kernel.target_kernel"))
        if hidden and step < last:
            st.markdown(t("learn_kernel.hidden_note"))
        else:
            show_number_grid(target, decimals=2)
    predicted, wanted, curve = st.columns(3)
    scale = dict(signed=True, colorbar=False, vmin=-float(np.abs(Y).max()), vmax=float(np.abs(Y).max()))  # one scale
    with predicted:
        show_map(correlate_valid(X, K), t("learn_kernel.y_hat_at", step=step), **scale)
    with wanted:
        show_map(Y, t("learn_kernel.y_target"), **scale)
    with curve:
        loss = t("learn_kernel.axis_loss")
        show_lines([{"x": i, "y": max(float(v), 1e-12), "series": loss} for i, v in enumerate(fit.losses)],
                   t("learn_kernel.axis_step"), loss, True, rule=step)


def show_gradient(X, Y, fit, key: tuple) -> None:
    """∂L/∂K at the starting kernel is the input correlated with ∂L/∂Ŷ: shown once, as pictures."""
    st.subheader(t("learn_kernel.gradient_title"))
    dY, dK = kernel_gradient(X, fit.kernels[0], Y)
    image, output_grad, kernel_grad = st.columns(3)
    with image:
        show_map(X, t("learn_kernel.grad_X"), signed=False, colorbar=False, cmap="gray", vmin=0.0, vmax=1.0)
    with output_grad:
        show_map(dY, t("learn_kernel.grad_dY"), signed=True, colorbar=False)
    with kernel_grad:
        st.caption(t("learn_kernel.grad_dK"))
        show_number_grid(dK, decimals=4, signed=True, cell_px=64)  # red > 0 > blue, as in the maps beside it
    st.latex(r"\frac{\partial L}{\partial K} = X \star \frac{\partial L}{\partial \hat Y}, \qquad "
             r"\frac{\partial L}{\partial \hat Y} = \frac{2}{M}(\hat Y - Y)")
    show_check(kernel_gradient, X, fit.kernels[0], Y, key=key, label=t("learn_kernel.check_gradient"))


def experiment(page: Page) -> None:
    show_d2l(page)
    show_on_image(page)


if __name__ == "__main__":
    PAGE.run(experiment)
