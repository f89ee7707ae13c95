"""Stride & padding: the output-size formula with the student's numbers, a step-through, the real image.

Widget keys (lessons' ```try blocks may set them):
  sp_kernel 1–11, sp_stride 1–8, sp_padding 0–10, sp_dilation 1–5, sp_mode zeros | reflect | replicate | circular
  sp_grid   size of the small step-through grid (3–32; numbers are written in the cells up to 16)
  sp_pos    index of the window position in the step-through (0-based, row by row)
"""

import numpy as np
import streamlit as st

from cnn_core.conv import PADDING_MODES, check_fit, conv2d, output_size, output_size_latex, pad2d, unvisited
from cnn_core.errors import CnnError
from cnn_core.image import to_grayscale
from cnn_core.windows import positions, step_through
from ui.errors import show_problem
from ui.image_source import current_digest, current_image
from ui.page import Choice, Page, Slider
from ui.proof import show_check
from ui.show import map_png, show_png
from ui.stepper import show_stepper
from ui.strings import t

PAGE = Page("stride_padding", controls=(
    Slider("sp_kernel", "sp.kernel", 1, 11, default=3),
    Slider("sp_stride", "sp.stride", 1, 8, default=1),
    Slider("sp_padding", "sp.padding", 0, 10, default=0),
    Slider("sp_dilation", "sp.dilation", 1, 5, default=1),
    Choice("sp_mode", "sp.mode", PADDING_MODES, default="zeros", labels="sp.mode_"),
    Slider("sp_grid", "sp.grid", 3, 32, default=7),
    Slider("sp_pos", "sp.position", 0, 32 * 32 - 1, default=0),
), code=(output_size, pad2d, conv2d), live_answers={
    # Check-yourself questions answered from the student's own settings (lessons' `answer: =name`).
    "sp_image_height": lambda: current_image().shape[0],
    "sp_output_height": lambda: output_size(current_image().shape[0], *settings()),
    "sp_grid_windows": lambda: output_size(st.session_state.sp_grid, *settings()) ** 2,
})

# One-click examples from the lesson: (label key, settings).
EXAMPLES = (
    ("ex_stride1", dict(sp_grid=7, sp_kernel=3, sp_stride=1, sp_padding=0, sp_dilation=1, sp_mode="zeros")),
    ("ex_stride2", dict(sp_grid=7, sp_kernel=3, sp_stride=2, sp_padding=0, sp_dilation=1, sp_mode="zeros")),
    ("ex_stride3", dict(sp_grid=7, sp_kernel=3, sp_stride=3, sp_padding=0, sp_dilation=1, sp_mode="zeros")),
    ("ex_32", dict(sp_grid=32, sp_kernel=5, sp_stride=1, sp_padding=2, sp_dilation=1, sp_mode="zeros")),
)
DISPLAY_WIDTH = 640  # pixels: the widest the input picture is shown (half the page at most)
GRID = (np.arange(32 * 32).reshape(32, 32) * 7 % 10).astype(np.float32)  # digits 0–9 with a visible pattern


def settings() -> tuple[int, int, int, int]:
    """(kernel, stride, padding, dilation) as set on the page now."""
    state = st.session_state
    return state.sp_kernel, state.sp_stride, state.sp_padding, state.sp_dilation


def same_padding_now() -> None:
    """P = d(K − 1)/2 keeps the size at stride 1 (odd spans only)."""
    state = st.session_state
    PAGE.set(sp_stride=1, sp_pos=0, sp_padding=state.sp_dilation * (state.sp_kernel - 1) // 2)


def fits(n: int, k: int, s: int, p: int, d: int, mode: str, where: str) -> bool:
    """Show why these settings give no output on an n-pixel axis, if they do not."""
    try:
        check_fit(n, k, s, p, d, mode)
        return True
    except CnnError as error:
        show_problem(error, where=where)
        return False


def show_step_through(page: Page, n: int, k: int, s: int, p: int, d: int, mode: str) -> None:
    """Window by window over a small grid: covered cells, their numbers, the output cell being filled.

    Drawn by the browser (ui/stepper.py): play, drag and click move the window with no rerun per frame."""
    st.subheader(t("sp.step_title", n=n))
    padded = pad2d(GRID[:n, :n], (p, p, p, p), mode)
    rows, cols = positions(n, k, s, p, d)
    output, _ = step_through(padded, k, s, d)
    position = min(page.value("sp_pos"), rows * cols - 1)
    labels = dict(play=t("sp.play"), pause=t("sp.pause"), position=t("sp.position"), output_cell=t("sp.output_cell"),
                  input=t("sp.grid_caption", n=n, p=p, padded=n + 2 * p, mode=t(f"sp.mode_{mode}")),
                  output=t("sp.stepper_output", rows=rows, cols=cols))
    show_stepper(padded, output, p, k, s, d, position, labels, numbers=n + 2 * p <= 18, key="sp_stepper",
                 on_position=lambda value: page.set(sp_pos=value))


def formula(axis: str, n: int, k: int, s: int, p: int, d: int) -> None:
    st.markdown(f"**{axis}**")
    st.latex(output_size_latex(n, k, s, p, d))
    left_over = unvisited(n, k, s, p, d)
    if d * (k - 1) + 1 <= n + 2 * p and left_over:
        last = n + 2 * p - 1
        st.info(t("sp.unvisited", axis=axis, r=left_over, first=last - left_over + 1, last=last, s=s))


GRAY_SCALE = dict(signed=False, min_side=1, vmin=0.0, vmax=1.0, cmap="gray", max_width=DISPLAY_WIDTH)


@st.cache_data(show_spinner=False, max_entries=8)
def gray_png(digest: str, _gray: np.ndarray) -> bytes:
    return map_png(_gray, **GRAY_SCALE)[0]


@st.cache_data(show_spinner=False, max_entries=32)
def conv_on_image(digest: str, k: int, s: int, p: int, d: int, mode: str, _gray: np.ndarray) -> tuple[bytes, tuple]:
    """A k×k averaging kernel on the grayscale image (the picture stays recognisable at any setting): the output
    as a PNG at display width (encoding is the slow part of a rerun, so it is cached too), and its shape."""
    ours = conv2d(_gray[None, None], averaging(k), stride=s, padding=p, dilation=d, padding_mode=mode)[0, 0]
    return map_png(ours, **GRAY_SCALE)[0], ours.shape


def averaging(k: int) -> np.ndarray:
    return np.full((1, 1, k, k), 1.0 / (k * k), dtype=np.float32)


def show_on_image(k: int, s: int, p: int, d: int, mode: str) -> None:
    st.subheader(t("sp.image_title"))
    image = current_image()
    H, W = image.shape[:2]
    if not fits(min(H, W), k, s, p, d, mode, t("sp.where_image")):
        return
    gray = to_grayscale(image)
    before_png = gray_png(current_digest(), gray)
    after_png, (OH, OW) = conv_on_image(current_digest(), k, s, p, d, mode, gray)
    st.markdown(t("sp.image_shapes", h=H, w=W, oh=OH, ow=OW, k=k))
    # Column widths in proportion to the two widths: both pictures fill their column, so they share one scale
    # and a smaller output really looks smaller, on any screen.
    before, after = st.columns([W, OW])
    scale = dict(signed=False, vmin=0.0, vmax=1.0, cmap="gray")  # as conv_on_image draws them
    with before:
        show_png(before_png, t("sp.input_caption", h=H, w=W), numbers=gray, **scale)
    with after:  # the numbers are computed again only if the student downloads them
        show_png(after_png, t("sp.output_image_caption", h=OH, w=OW), numbers=lambda: conv2d(
            gray[None, None], averaging(k), stride=s, padding=p, dilation=d, padding_mode=mode)[0, 0], **scale)
    show_check(conv2d, gray[None, None], averaging(k), key=(current_digest(), k, s, p, d, mode), stride=s,
               padding=p, dilation=d, padding_mode=mode, label=t("sp.check_label"), on_copy=0)


def experiment(page: Page) -> None:
    st.caption(t("sp.examples"))
    buttons = st.columns(len(EXAMPLES) + 1)
    for column, (label, settings) in zip(buttons, EXAMPLES, strict=False):
        column.button(t(f"sp.{label}"), on_click=page.set, kwargs=dict(settings, sp_pos=0), width="stretch",
                      wrap=True)
    buttons[-1].button(t("sp.ex_same"), on_click=same_padding_now, width="stretch", wrap=True,
                       help=t("sp.ex_same_help"))
    with st.container(key="controls_sp"):  # six in a row at 1400 px, three and three at 1024 (ui/classroom.py)
        sliders = st.columns(6)
        k, s, p, d, mode, n = (page.draw(key, column) for key, column in zip(
            ("sp_kernel", "sp_stride", "sp_padding", "sp_dilation", "sp_mode", "sp_grid"), sliders, strict=True))

    H, W = current_image().shape[:2]
    st.subheader(t("sp.formula_title"))
    st.latex(r"O = \left\lfloor \frac{n + 2P - D\,(K-1) - 1}{S} \right\rfloor + 1")
    grid_column, image_column = st.columns(2)
    with grid_column:
        st.markdown(t("sp.formula_grid", n=n))
        formula(t("sp.width"), n, k, s, p, d)
    with image_column:
        st.markdown(t("sp.formula_image", h=H, w=W))
        formula(t("sp.height"), H, k, s, p, d)
        formula(t("sp.width"), W, k, s, p, d)

    if fits(n, k, s, p, d, mode, t("sp.where_grid")):
        show_step_through(page, n, k, s, p, d, mode)
    show_on_image(k, s, p, d, mode)


if __name__ == "__main__":
    PAGE.run(experiment)
