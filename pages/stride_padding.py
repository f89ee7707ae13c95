"""Stride & padding: the output-size formula with the student's numbers, a step-through, the real image.

Widget keys (lessons' ```try blocks may set them):
  sp_kernel 1–11, sp_stride 1–8, sp_padding 0–10, sp_dilation 1–5, sp_mode zeros | reflect | replicate | circular
  sp_grid   size of the small step-through grid (3–32; numbers are written in the cells up to 16)
  sp_pos    index of the window position in the step-through (0-based, row by row)
"""

import numpy as np
import streamlit as st
import torch
import torch.nn.functional as F

from cnn_core.conv import PADDING_MODES, conv2d, output_size, output_size_latex, pad2d, unvisited
from cnn_core.image import to_grayscale
from cnn_core.render import grid_figure
from ui.image_source import current_digest, current_image
from ui.lesson import show_lesson
from ui.show import show_code, show_figure, show_map, show_problem, show_torch_check
from ui.strings import labels, t

# One-click examples from the seeds: (label key, settings).
EXAMPLES = (
    ("ex_stride1", dict(sp_grid=7, sp_kernel=3, sp_stride=1, sp_padding=0, sp_dilation=1, sp_mode="zeros")),
    ("ex_stride2", dict(sp_grid=7, sp_kernel=3, sp_stride=2, sp_padding=0, sp_dilation=1, sp_mode="zeros")),
    ("ex_stride3", dict(sp_grid=7, sp_kernel=3, sp_stride=3, sp_padding=0, sp_dilation=1, sp_mode="zeros")),
    ("ex_32", dict(sp_grid=32, sp_kernel=5, sp_stride=1, sp_padding=2, sp_dilation=1, sp_mode="zeros")),
)
DEFAULTS = dict(sp_grid=7, sp_kernel=3, sp_stride=1, sp_padding=0, sp_dilation=1, sp_mode="zeros", sp_pos=0)


def apply(settings: dict) -> None:
    st.session_state.update(settings, sp_pos=0)


def same_padding_now() -> None:
    """P = d(K − 1)/2 keeps the size at stride 1 (odd spans only)."""
    st.session_state.update(sp_stride=1, sp_pos=0,
                            sp_padding=st.session_state.sp_dilation * (st.session_state.sp_kernel - 1) // 2)


def problem_text(n: int, k: int, s: int, p: int, d: int, mode: str, what: str) -> str | None:
    """A translated sentence when these numbers give no output (or the padding mode cannot pad), else None."""
    span = d * (k - 1) + 1
    if span > n + 2 * p:
        return t("sp.no_fit", what=what, k=k, d=d, span=span, padded=n + 2 * p, need=-(-(span - n) // 2))
    if mode == "reflect" and p >= n:
        return t("sp.reflect_too_big", what=what, p=p, n=n)
    if mode == "circular" and p > n:
        return t("sp.circular_too_big", what=what, p=p, n=n)
    return None


@st.cache_data(show_spinner=False, max_entries=32)
def conv_on_image(digest: str, k: int, s: int, p: int, d: int, mode: str, _gray: np.ndarray):
    """Our conv and torch's, with a k×k averaging kernel, on the grayscale image: (ours, max |ours − torch|)."""
    X = _gray[None, None]
    K = np.full((1, 1, k, k), 1.0 / (k * k), dtype=np.float32)
    ours = conv2d(X, K, stride=s, padding=p, dilation=d, padding_mode=mode)[0, 0]
    torch_mode = {"zeros": "constant", "replicate": "replicate", "reflect": "reflect", "circular": "circular"}[mode]
    padded = F.pad(torch.from_numpy(X), (p, p, p, p), mode=torch_mode)
    theirs = F.conv2d(padded, torch.from_numpy(K), stride=s, dilation=d)[0, 0].numpy()
    return ours, float(np.abs(ours - theirs).max())


def step_through(n: int, k: int, s: int, p: int, d: int, mode: str) -> None:
    """Window by window over a small grid: covered cells, their numbers, the output cell being filled."""
    st.subheader(t("sp.step_title", n=n))
    grid = (np.arange(n * n).reshape(n, n) * 7 % 10).astype(np.float32)  # digits 0–9 with a visible pattern
    padded = pad2d(grid, (p, p, p, p), mode)
    rows, cols = output_size(n, k, s, p, d), output_size(n, k, s, p, d)
    positions = rows * cols
    st.session_state.sp_pos = min(st.session_state.get("sp_pos", 0), positions - 1)
    back, slider, forward = st.columns([1, 5, 1], vertical_alignment="bottom")
    back.button(t("sp.prev"), on_click=lambda: st.session_state.update(sp_pos=max(0, st.session_state.sp_pos - 1)),
                disabled=st.session_state.sp_pos == 0, width="stretch")
    forward.button(t("sp.next"), on_click=lambda: st.session_state.update(sp_pos=min(positions - 1, st.session_state.sp_pos + 1)),
                   disabled=st.session_state.sp_pos >= positions - 1, width="stretch")
    if positions > 1:
        slider.slider(t("sp.position"), 0, positions - 1, key="sp_pos")
    position = st.session_state.sp_pos
    i, j = divmod(position, cols)
    window = [(i * s + a * d, j * s + b * d) for a in range(k) for b in range(k)]
    covered = np.array([padded[r, c] for r, c in window])
    output = np.zeros((rows, cols), dtype=np.float32)
    for index in range(position + 1):
        oi, oj = divmod(index, cols)
        output[oi, oj] = padded[oi * s:oi * s + d * (k - 1) + 1:d, oj * s:oj * s + d * (k - 1) + 1:d].sum()
    filled = (np.arange(rows * cols) <= position).reshape(rows, cols)
    numbers = n + 2 * p <= 18
    left, right = st.columns([3, 2])
    with left:
        st.caption(t("sp.grid_caption", n=n, p=p, padded=n + 2 * p, mode=t(f"sp.mode_{mode}")))
        show_figure(grid_figure(padded, p, window, numbers=numbers, cell_inches=0.36 if numbers else 0.14))
    with right:
        st.caption(t("sp.output_caption", rows=rows, cols=cols, i=i, j=j))
        show_figure(grid_figure(output, 0, filled=filled, current=(i, j), numbers=numbers,
                                cell_inches=0.36 if numbers else 0.14))
        st.markdown(t("sp.window_sum", i=i, j=j, terms=" + ".join(f"{v:g}" for v in covered[:25]),
                      more=" + …" if covered.size > 25 else "", total=f"{covered.sum():g}"))


def formula(axis: str, n: int, k: int, s: int, p: int, d: int) -> None:
    st.markdown(f"**{axis}**")
    st.latex(output_size_latex(n, k, s, p, d))
    left_over = unvisited(n, k, s, p, d)
    if d * (k - 1) + 1 <= n + 2 * p and left_over:
        last = n + 2 * p - 1
        st.info(t("sp.unvisited", axis=axis, r=left_over, first=last - left_over + 1, last=last, s=s))


show_lesson("stride_padding")
st.header(t("common.experiment"))
for key, value in DEFAULTS.items():
    st.session_state.setdefault(key, value)

st.caption(t("sp.examples"))
buttons = st.columns(len(EXAMPLES) + 1)
for column, (label, settings) in zip(buttons, EXAMPLES, strict=False):
    column.button(t(f"sp.{label}"), on_click=apply, args=(settings,), width="stretch", wrap=True)
buttons[-1].button(t("sp.ex_same"), on_click=same_padding_now, width="stretch", wrap=True,
                  help=t("sp.ex_same_help"))

sliders = st.columns(6)
k = sliders[0].slider(t("sp.kernel"), 1, 11, key="sp_kernel")
s = sliders[1].slider(t("sp.stride"), 1, 8, key="sp_stride")
p = sliders[2].slider(t("sp.padding"), 0, 10, key="sp_padding")
d = sliders[3].slider(t("sp.dilation"), 1, 5, key="sp_dilation")
mode = sliders[4].selectbox(t("sp.mode"), PADDING_MODES, key="sp_mode", format_func=labels("sp.mode_"))
n = sliders[5].slider(t("sp.grid"), 3, 32, key="sp_grid")

image = current_image()
H, W = image.shape[:2]
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

grid_problem = problem_text(n, k, s, p, d, mode, t("sp.the_grid"))
if grid_problem:
    show_problem(grid_problem)
else:
    step_through(n, k, s, p, d, mode)

st.subheader(t("sp.image_title"))
image_problem = problem_text(min(H, W), k, s, p, d, mode, t("sp.the_image"))
if image_problem:
    show_problem(image_problem)
else:
    gray = to_grayscale(image)
    ours, difference = conv_on_image(current_digest(), k, s, p, d, mode, gray)
    st.markdown(t("sp.image_shapes", h=H, w=W, oh=ours.shape[0], ow=ours.shape[1], k=k))
    # Column widths in proportion to the two widths: both pictures fill their column, so they share one scale
    # and a smaller output really looks smaller, on any screen.
    before, after = st.columns([W, ours.shape[1]])
    with before:
        show_map(gray, t("sp.input_caption", h=H, w=W), signed=False, colorbar=False, min_side=1,
                 vmin=0.0, vmax=1.0, cmap="gray")
    with after:
        show_map(ours, t("sp.output_image_caption", h=ours.shape[0], w=ours.shape[1]), signed=False,
                 colorbar=False, min_side=1, vmin=0.0, vmax=1.0, cmap="gray")
    show_torch_check(difference)
    show_code(output_size, pad2d, conv2d)
