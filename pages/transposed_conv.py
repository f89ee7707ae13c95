"""Transposed convolution: how segmentation networks make a small map large. The output-size formula with the
student's numbers, a step-through in which each input value scatters a scaled copy of the kernel, the same op as
an ordinary convolution over a stretched input, and the checkerboard when the kernel is not a multiple of the stride.

Widget keys (lessons' ```try blocks may set them):
  tc_grid 2–5 (input of the step-through), tc_kernel 1–5, tc_stride 1–4, tc_padding 0–3, tc_output_padding 0–3,
  tc_dilation 1–3, tc_step 0–24 (which input value scatters now, row by row)
  tc_ck 1–8, tc_cs 1–4   kernel and stride of the checkerboard panel (upsampling your image)
Live answer for the lesson: tc_output_size (output rows of the step-through with the settings on the page).
"""

import numpy as np
import streamlit as st

from cnn_core.cells import grid_picture
from cnn_core.image import to_grayscale
from cnn_core.render import to_png
from cnn_core.transpose import (
    TransposeError,
    checkerboard_strength,
    conv_transpose2d,
    conv_transpose_output_size,
    conv_transpose_output_size_latex,
    insert_zeros,
    overlap_map,
    overlap_pattern,
    scatter_steps,
)
from ui.errors import show_problem
from ui.image_source import current_digest, current_image
from ui.page import Page, Slider
from ui.proof import show_check
from ui.show import map_png, show_colorbar, show_number_grid, show_png
from ui.strings import t

WORK_SIDE = 96  # the image is shrunk to this longer side before the checkerboard experiment


def settings() -> tuple[int, int, int, int, int, int]:
    """(input size, kernel, stride, padding, output padding, dilation) of the step-through, as set now."""
    s = st.session_state
    return s.tc_grid, s.tc_kernel, s.tc_stride, s.tc_padding, s.tc_output_padding, s.tc_dilation


PAGE = Page("transposed_conv", controls=(
    Slider("tc_grid", "tconv.grid", 2, 5, default=2),
    Slider("tc_kernel", "tconv.kernel", 1, 5, default=3),
    Slider("tc_stride", "tconv.stride", 1, 4, default=2),
    Slider("tc_padding", "tconv.padding", 0, 3, default=0),
    Slider("tc_output_padding", "tconv.output_padding", 0, 3, default=0),
    Slider("tc_dilation", "tconv.dilation", 1, 3, default=1),
    Slider("tc_step", "tconv.step", 0, 24, default=0),
    Slider("tc_ck", "tconv.ck", 1, 8, default=3),
    Slider("tc_cs", "tconv.cs", 1, 4, default=2),
), code=(conv_transpose2d, scatter_steps), live_answers={
    "tc_output_size": lambda: conv_transpose_output_size(*settings()),
})


def grid_input(n: int) -> np.ndarray:
    return (np.arange(n * n).reshape(n, n) % 3 + 1).astype(np.float32)  # small whole numbers: 1, 2, 3, 1, …


def grid_kernel(k: int) -> np.ndarray:
    a = np.arange(k)
    return (1 + (a[:, None] + a[None, :]) % 2).astype(np.float32)  # 1 and 2 in a chequer, easy to add by eye


@st.cache_data(show_spinner=False, max_entries=512)
def grid_png(values_bytes: bytes, shape: tuple, padding: int, window: tuple, current: tuple | None) -> bytes:
    """A grid of numbers as PNG (Pillow, a few ms; cached, since stepping back and forth redraws the same ones)."""
    values = np.frombuffer(values_bytes, dtype=np.float32).reshape(shape)
    cell = int(min(40, max(12, 360 // max(shape))))
    return to_png(grid_picture(values, padding, window, current, cell=cell, numbers=cell >= 20))


def show_grid(values: np.ndarray, caption: str, padding: int = 0, window=(), current=None) -> None:
    values = np.ascontiguousarray(values, dtype=np.float32)
    show_png(grid_png(values.tobytes(), values.shape, padding, tuple(window), current), caption, width="content")


def show_formula(n: int, k: int, s: int, p: int, op: int, d: int) -> bool:
    st.subheader(t("tconv.formula_title"))
    st.latex(r"o = (i - 1)\cdot s - 2p + d\,(k - 1) + \text{output\_padding} + 1")
    try:
        st.latex(conv_transpose_output_size_latex(n, k, s, p, op, d))
    except TransposeError as error:
        show_problem(error)
        return False
    st.markdown(t("tconv.formula_reading", n=n, s=s, spread=(n - 1) * s + d * (k - 1) + 1, p=p, op=op,
                  out=conv_transpose_output_size(n, k, s, p, op, d)))
    return True


@st.fragment
def show_step_through(page: Page) -> None:
    n, k, s, p, op, d = settings()
    if not show_formula(n, k, s, p, op, d):
        return
    st.subheader(t("tconv.step_title"))
    X, K = grid_input(n), grid_kernel(k)
    steps = scatter_steps(X, K, s, p, op, d)
    index = page.draw("tc_step", hi=len(steps) - 1)
    step = steps[min(index, len(steps) - 1)]
    taps = [(step.top + a * d, step.left + b * d) for a in range(k) for b in range(k)]
    columns = st.columns([2, 2, 4])
    with columns[0]:
        show_grid(X, t("tconv.input_caption", n=n, i=step.row, j=step.col, v=f"{step.value:g}"),
                  current=(step.row, step.col))
        show_number_grid(K, decimals=0)
        st.caption(t("tconv.kernel_caption", k=k))
    with columns[1]:
        show_number_grid(step.copy, decimals=0)
        st.caption(t("tconv.copy_caption", v=f"{step.value:g}", d=d))
    with columns[2]:
        show_grid(step.canvas, t("tconv.canvas_caption", rows=step.canvas.shape[0], cols=step.canvas.shape[1], p=p,
                                 o=step.output.shape[0], done=index + 1, total=len(steps)),
                  padding=p, window=taps)
    st.markdown(t("tconv.step_text", i=step.row, j=step.col, v=f"{step.value:g}", top=step.top, left=step.left,
                  s=s))
    show_check(conv_transpose2d, X[None, None], K[None, None], key=(n, k, s, p, op, d), stride=s, padding=p,
               output_padding=op, dilation=d, label=t("tconv.check_grid"))
    with st.expander(t("tconv.as_conv_title")):
        edge = d * (k - 1) - p
        stretched = insert_zeros(X, s)
        if edge < 0:
            st.markdown(t("tconv.as_conv_crop", edge=-edge))
            return
        padded = np.pad(stretched, ((edge, edge + op), (edge, edge + op)))
        st.markdown(t("tconv.as_conv_text", s=s, zeros=s - 1, edge=edge, op=op, k=k, d=d))
        show_grid(padded, t("tconv.as_conv_caption", rows=padded.shape[0], cols=padded.shape[1]), padding=0,
                  window=[(edge + s * i, edge + s * j) for i in range(n) for j in range(n)])


@st.cache_data(show_spinner=False, max_entries=32)
def upsampled(digest: str, k: int, s: int, _image: np.ndarray):
    """The picture shrunk by s (block means), then enlarged by s with a transposed convolution whose kernel is
    all ones scaled so that an even overlap gives back the block means: the checkerboard shows where it is uneven."""
    gray = to_grayscale(_image)
    step = max(1, int(np.ceil(max(gray.shape) / WORK_SIDE)))
    small = gray[::step, ::step]
    h, w = (small.shape[0] // s) * s, (small.shape[1] // s) * s
    coarse = small[:h, :w].reshape(h // s, s, w // s, s).mean(axis=(1, 3)).astype(np.float32)
    K = np.full((1, 1, k, k), (s / k) ** 2, dtype=np.float32)  # k²/s² copies overlap on average: mean stays
    big = conv_transpose2d(coarse[None, None], K, stride=s)[0, 0]
    scale = dict(signed=False, min_side=1, max_width=380, vmin=0.0, vmax=float(max(big.max(), 1e-6)), cmap="gray")
    return coarse, K, map_png(coarse, **scale)[0], map_png(big, **scale)[0], big.shape


@st.fragment
def show_checkerboard(page: Page) -> None:
    st.subheader(t("tconv.checker_title"))
    left, right = st.columns(2)
    k = page.draw("tc_ck", left)
    s = page.draw("tc_cs", right)
    counts = overlap_pattern(k, s)
    strength = checkerboard_strength(k, s)
    st.markdown(t("tconv.pattern", k=k, s=s, counts=", ".join(map(str, counts)), strength=f"{strength:.0%}"))
    st.markdown(t("tconv.even" if strength == 0 else "tconv.uneven", k=k, s=s))
    counts_map = overlap_map(4, k, s)
    coarse, K, small_png, big_png, shape = upsampled(current_digest(), k, s, current_image())
    columns = st.columns([1, 1, 2])
    with columns[0]:
        png, lo, hi, cmap = map_png(counts_map, signed=False, min_side=160, vmin=0.0)
        show_png(png, t("tconv.overlap_caption", k=k, s=s))
        show_colorbar(lo, hi, cmap)
    with columns[1]:
        show_png(small_png, t("tconv.small_caption", h=coarse.shape[0], w=coarse.shape[1], s=s))
    with columns[2]:
        show_png(big_png, t("tconv.big_caption", h=shape[0], w=shape[1], k=k, s=s))
    show_check(conv_transpose2d, coarse[None, None], K, key=(current_digest(), k, s), stride=s,
               label=t("tconv.check_image"))


def experiment(page: Page) -> None:
    columns = st.columns(6)
    for key, column in zip(("tc_grid", "tc_kernel", "tc_stride", "tc_padding", "tc_output_padding", "tc_dilation"),
                           columns, strict=True):
        page.draw(key, column)
    show_step_through(page)
    show_checkerboard(page)


if __name__ == "__main__":
    PAGE.run(experiment)
