"""Pooling: what max and average pooling keep and throw away, on the student's image or a feature map; point at an
output to see which input won it.

Widget keys (lessons' ```try blocks may set them):
  pool_source      "gray" | "rgb" | "feature"   (grayscale image, each RGB channel, or a kernel's feature map)
  pool_feature     a kernel name from cnn_core.KERNELS (used when pool_source is "feature")
  pool_type        "max" | "avg" | "lp"
  pool_kernel 1–8, pool_stride 1–8, pool_padding 0–4, pool_ceil bool (ceil_mode),
  pool_count_pad   bool (count_include_pad of average pooling), pool_norm 1–8 (the p of Lp pooling)
  pool_row, pool_col   the input pixel whose window is explained (a click on the output or the crop sets them)
  pool_crop_row, pool_crop_col   0–100: where the zoomed crop sits (percent); both start where the image is busiest
  pool_noise 0.0–0.5, pool_noise_kind "gaussian" | "salt" | "pepper"
  pool_shift 1–4, pool_shift_dir "right" | "down"
  pool_look        "lost" | "gradient" | "noise" | "shift"   (which closer look is shown under the worked example)
"""

import numpy as np
import pandas as pd
import streamlit as st

from cnn_core import explain, pool
from cnn_core.conv import unvisited
from cnn_core.errors import CnnError
from cnn_core.image import to_grayscale
from cnn_core.kernels import KERNELS
from cnn_core.pool_backward import pool_gradients
from cnn_core.render import colorbar_html, planes_picture
from ui.clickmap import Box, click_cell
from ui.errors import show_problem
from ui.image_source import WORKING_PIXELS, digest_of
from ui.page import Choice, Page, Slider, Toggle
from ui.pool_view import CROP, computed, pooling_input, robustness, show_up_close
from ui.proof import show_check
from ui.strings import t
from ui.worked import show_pool_arithmetic, show_pool_worked_numbers

SHOWN = 400  # the input and its pooled output on screen (px)
TYPES = ("max", "avg", "lp")
LOOKS = ("lost", "gradient", "noise", "shift")  # the "Look closer" panels (ui/pool_view.py), one shown at a time


@st.cache_data(show_spinner=False, max_entries=16)
def _busiest(fingerprint: str, _image: np.ndarray) -> tuple[int, int, int, int]:
    H, W = _image.shape[:2]
    row_percent, col_percent = explain.busiest_spot(to_grayscale(_image)[None, None], CROP)
    top, left, h, w = explain.crop_box(H, W, row_percent, col_percent, CROP)
    return row_percent, col_percent, top + h // 2, left + w // 2


def busiest(image: np.ndarray, part: int) -> int:
    """Where the crop (and the explained window) start on a new image: its busiest spot, not flat sky."""
    return _busiest(digest_of(image), image)[part]


# pixels: each setting pools the whole picture several times, so a bigger image is worked on as a smaller copy
PAGE = Page("pooling", controls=(
    Choice("pool_source", "pooling.source", ("gray", "rgb", "feature"), default="gray", style="radio",
           labels="pooling.source_", help="pooling.source_help", extra=dict(horizontal=True)),
    Choice("pool_feature", "pooling.feature", tuple(KERNELS), default="sobel_x", labels="kernels.", labels_suffix="_name"),
    Choice("pool_type", "pooling.type", TYPES, default="max", style="radio", labels="pooling.type_",
           extra=dict(horizontal=True)),
    Slider("pool_kernel", "pooling.kernel", 1, 8, default=2), Slider("pool_stride", "pooling.stride", 1, 8, default=2),
    Slider("pool_padding", "pooling.padding", 0, 4, default=0, help="pooling.padding_help"),
    Slider("pool_norm", "pooling.norm", 1, 8, default=2, help="pooling.norm_help"),
    Toggle("pool_ceil", "pooling.ceil", help="pooling.ceil_help"), Toggle("pool_count_pad", "pooling.count_pad", default=True, help="pooling.count_pad_help"),
    Slider("pool_row", "common.row", 0, lambda image: image.shape[0] - 1, default=lambda image: busiest(image, 2)),
    Slider("pool_col", "common.col", 0, lambda image: image.shape[1] - 1, default=lambda image: busiest(image, 3)),
    Slider("pool_crop_row", "pooling.crop_row", 0, 100, default=lambda image: busiest(image, 0)),
    Slider("pool_crop_col", "pooling.crop_col", 0, 100, default=lambda image: busiest(image, 1)),
    Slider("pool_noise", "pooling.noise_amount", 0.0, 0.5, default=0.1, step=0.01, help="pooling.noise_amount_help"),
    Choice("pool_noise_kind", "pooling.noise_kind", explain.NOISE_KINDS, default="gaussian", labels="pooling.noise_"),
    Slider("pool_shift", "pooling.shift_pixels", 1, 4, default=1),
    Choice("pool_shift_dir", "pooling.shift_dir", explain.DIRECTIONS, default="right", style="radio",
           labels="pooling.dir_", extra=dict(horizontal=True)),
    Choice("pool_look", "pooling.look", LOOKS, default="lost", style="radio", labels="pooling.look_",
           help="pooling.look_help", extra=dict(horizontal=True)),
), pixels=WORKING_PIXELS, live_answers={  # the lesson's question about the pooled width on the page now
    "pool_input_width": lambda: PAGE.image().shape[1],
    "pool_output_width": lambda: explain.output_shape(*PAGE.image().shape[:2], *(st.session_state[key] for key in (
        "pool_kernel", "pool_stride", "pool_padding", "pool_ceil")))[1],
}, code=(pool.pool_output_size, pool.pool2d, pool.max_pool2d_naive, pool.max_pool2d, pool.avg_pool2d_naive,
         pool.avg_pool2d, pool.lp_pool2d, explain.pool_example, pool_gradients))


def show_formula(H: int, W: int, C: int, k: int, s: int, p: int, ceil: bool) -> None:
    st.subheader(t("pooling.shape_title"))
    for column, axis, n in zip(st.columns(2), (t("pooling.height"), t("pooling.width")), (H, W), strict=True):
        with column:
            st.markdown(f"**{axis}** (n = {n})")
            st.latex(pool.pool_output_size_latex(n, k, s, p, 1, ceil))
            if ceil and pool.ceil_correction(n, k, s, p):
                st.caption(t("pooling.ceil_dropped", axis=axis))
            elif not ceil and unvisited(n, k, s, p):
                st.caption(t("pooling.floor_dropped", axis=axis, r=unvisited(n, k, s, p)))
    OH, OW = explain.output_shape(H, W, k, s, p, ceil)
    st.markdown(t("pooling.shape_line", label=t("common.output_shape"), c=C, h=H, w=W, oh=OH, ow=OW,
                  kept=f"{100 * OH * OW / (H * W):.1f}"))


def shown(X: np.ndarray, scale: dict) -> tuple:
    """What a clickable map of X (1, C, H, W) is given: one channel as its values on `scale` (a palette picture,
    the numbers in the tooltip), three channels as the colours themselves."""
    if X.shape[1] == 1:
        return (lambda: np.nan_to_num(X[0, 0])), scale
    return (lambda: planes_picture(X, **scale)), {}


def pick(page: Page, top: int = 0, left: int = 0, k: int = 1, s: int = 1, p: int = 0):
    """A click callback: on the output (cell i, j → its window's centre) or on the input / a crop (offset top, left).
    The zoomed crop moves there too."""
    def picked(i: int, j: int) -> None:
        row, col = top + explain.centre_of(i, k, s, p), left + explain.centre_of(j, k, s, p)
        H, W = page.image().shape[:2]
        page.set(pool_row=row, pool_col=col, pool_crop_row=explain.crop_percent(row, H, CROP),
                 pool_crop_col=explain.crop_percent(col, W, CROP))
    return picked


def show_explained(page: Page, X: np.ndarray, Y: np.ndarray, name: str, scale: dict, settings: tuple,
                   i: int, j: int) -> None:
    """Which input won: the chosen output's window on a zoomed crop, its numbers, the arithmetic, the map's value."""
    kind, k, s, p, ceil, count_pad, norm = settings
    p = 0 if kind == "lp" else p  # torch's lp_pool2d has no padding
    H, W = X.shape[2:]
    example = explain.pool_example(X[0, 0], i, j, k, s, p, ceil, count_pad)
    st.subheader(t("pooling.explain_title"))
    st.caption(t("pooling.explain_caption"))
    top, left, h, w = explain.crop_box(H, W, explain.crop_percent(example.top + k // 2, H, CROP),
                                       explain.crop_percent(example.left + k // 2, W, CROP), CROP)
    crop, numbers, sums = st.columns([3, 2, 3])
    with crop:  # `chosen` in the crop's own coordinates, like the click it reports
        here = (st.session_state.pool_row - top, st.session_state.pool_col - left)
        values, colours = shown(X[:, :, top:top + h, left:left + w], scale)
        click_cell(values, "pool_crop_click", pick(page, top, left), chosen=here, width=260, **colours,
                   boxes=[Box(example.top - top, example.left - left, k, k),
                          Box(example.winner[0] - top, example.winner[1] - left, color="#d62728")],
                   caption=t("pooling.explain_crop", channel=name, i=i, j=j, h=h, w=w, top=top, left=left))
    show_pool_arithmetic(example, numbers, sums, (H, W), settings, scale, float(Y[0, 0, i, j]))


@st.fragment
def explore(page: Page, X: np.ndarray, key: tuple, names: list[str], settings: tuple) -> None:
    """The input and its pooled output (click to explain), which input won, and the closer look: a click (which
    also moves the zoomed crop) or another look reruns only this panel."""
    kind, k, s, p, ceil, count_pad, norm = settings
    state, (H, W) = st.session_state, X.shape[2:]
    scale = explain.display_scale(X, state.pool_source == "feature")
    Y = computed(key, ("pool", *settings), X)
    out_scale = explain.display_scale(np.nan_to_num(Y), True) if kind == "lp" else scale  # Lp: p = 1 is a sum
    p = 0 if kind == "lp" else p  # torch's lp_pool2d has no padding
    i, j = explain.window_of(state.pool_row, k, s, p, Y.shape[2]), explain.window_of(state.pool_col, k, s, p, Y.shape[3])
    before, after = st.columns(2)
    with before:
        values, colours = shown(X, scale)
        click_cell(values, "pool_input_click", pick(page), chosen=(state.pool_row, state.pool_col), width=SHOWN,
                   cache_key=(*key, "input"), boxes=[Box(i * s - p, j * s - p, k, k)], **colours,
                   caption=t("pooling.input_caption", h=H, w=W, name=", ".join(names)))
    with after:
        values, colours = shown(Y, out_scale)
        click_cell(values, "pool_output_click", pick(page, k=k, s=s, p=p), chosen=(i, j), boxes=[Box(i, j)],
                   width=max(120, round(SHOWN * Y.shape[3] / W)), cache_key=(*key, "output", settings), **colours,
                   caption=t(f"pooling.type_{kind}") + " — " + t("pooling.output_caption", h=Y.shape[2], w=Y.shape[3]))
        st.caption(t("pooling.output_hint"))
    if X.shape[1] == 1:  # one scale for the input and its pooled output
        cmap = "RdBu_r" if out_scale["signed"] else "viridis"
        st.markdown(colorbar_html(out_scale["vmin"], out_scale["vmax"], cmap), unsafe_allow_html=True)
    if kind == "lp" and settings[3]:
        st.info(t("pooling.lp_no_padding"))
    if np.isnan(Y).any():
        show_problem(t("pooling.lp_nan", p=norm))
    show_check(explain.pool, X, *settings, key=(*key, *settings), label=t(f"pooling.type_{kind}"), on_copy=0)
    show_explained(page, X, Y, names[0], scale, settings, i, j)
    show_pool_worked_numbers(X, names[0], state.pool_row, state.pool_col, settings)
    look = page.draw("pool_look")
    if look in ("lost", "gradient"):
        show_up_close(page, X, key, scale, settings, look)
    else:
        robustness(page, X, key, settings[1:6], look)


def show_global(image: np.ndarray, digest: str) -> None:
    st.subheader(t("pooling.gap_title"))
    st.caption(t("pooling.gap_caption"))
    layer = computed((digest,), ("global",), image)
    averages, maxima = pool.adaptive_avg_pool2d(layer, 1)[0, :, 0, 0], layer.max(axis=(2, 3))[0]
    names = (["R", "G", "B"] if image.shape[2] == 3 else [t("pooling.gray")]) + [f"ReLU({t(f'kernels.{n}_name')})"
                                                                                for n in KERNELS]
    table = pd.DataFrame({t("pooling.gap_channel"): names, t("pooling.gap_average"): averages.round(4),
                          t("pooling.gap_max"): maxima.round(4)})
    left, right = st.columns([3, 2])
    left.dataframe(table, hide_index=True, width="stretch", height=35 * (len(names) + 1) + 3)
    with right:
        H, W = image.shape[:2]
        st.markdown(t("pooling.gap_shrink", c=len(names), h=H, w=W, total=f"{len(names) * H * W:,}"))
        st.latex(r"y_c = \frac{1}{H W} \sum_{i=1}^{H} \sum_{j=1}^{W} x_{c,i,j}")
        show_check(pool.adaptive_avg_pool2d, layer, 1, key=(digest, "global"), label=t("pooling.gap_average"))


def experiment(page: Page) -> None:
    pooled(page)
    show_global(page.image(), page.digest())  # depends on the image alone: a pooling setting leaves it as it is


@st.fragment
def pooled(page: Page) -> None:
    """Everything the pooling settings change (a fragment: the global pooling table below stays)."""
    image, digest = page.image(), page.digest()
    first_row = st.columns([2, 2, 2])
    source, kind = page.draw("pool_source", first_row[0]), page.draw("pool_type", first_row[2])
    feature = page.draw("pool_feature", first_row[1], disabled=source != "feature")
    row = st.columns(4)
    k, s, p = (page.draw(name, row[i]) for i, name in enumerate(("pool_kernel", "pool_stride", "pool_padding")))
    norm = page.draw("pool_norm", row[3], disabled=kind != "lp")
    toggles = st.container(horizontal=True, gap="large")  # whole labels side by side (in narrow columns they broke)
    ceil, count_pad = page.draw("pool_ceil", toggles), page.draw("pool_count_pad", toggles)
    if source == "rgb" and image.shape[2] == 1:
        st.caption(t("pooling.rgb_on_gray"))
    X = pooling_input(digest, source, feature, image)
    key = (digest, source, feature if source == "feature" else "")
    names = (["R", "G", "B"] if X.shape[1] == 3 else
             [t(f"kernels.{feature}_name") if source == "feature" else t("pooling.gray")])
    H, W = X.shape[2:]
    try:
        _ = explain.output_shape(H, W, k, s, p, ceil), explain.output_shape(H, W, k, s, 0, ceil)  # Lp: no padding. "_ =": magic would show it
    except CnnError as error:
        show_problem(error)
    else:
        show_formula(H, W, X.shape[1], k, s, 0 if kind == "lp" else p, ceil)
        explore(page, X, key, names, (kind, k, s, p, ceil, count_pad, norm))
    page.keep_lesson_current()  # the lesson's live question uses these settings


if __name__ == "__main__":
    PAGE.run(experiment)
