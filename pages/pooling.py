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
from cnn_core.render import colorbar_html, planes_picture, to_png, up_close_pictures
from ui.clickmap import Box, click_cell
from ui.errors import show_problem
from ui.image_source import current_digest, current_image, digest_of
from ui.page import Choice, Page, Slider, Toggle
from ui.proof import show_check
from ui.show import map_png, show_gallery
from ui.strings import t
from ui.worked import show_pool_arithmetic, show_pool_worked_numbers

CROP, SHOWN, ZOOM = 24, 400, 240  # zoomed crop (input pixels); input and zoomed pictures on screen (px)
TYPES = ("max", "avg", "lp")


@st.cache_data(show_spinner=False, max_entries=16)
def _busiest(fingerprint: str, _image: np.ndarray) -> tuple[int, int, int, int]:
    H, W = _image.shape[:2]
    row_percent, col_percent = explain.busiest_spot(to_grayscale(_image)[None, None], CROP)
    top, left, h, w = explain.crop_box(H, W, row_percent, col_percent, CROP)
    return row_percent, col_percent, top + h // 2, left + w // 2


def busiest(image: np.ndarray, part: int) -> int:
    """Where the crop (and the explained window) start on a new image: its busiest spot, not flat sky."""
    return _busiest(digest_of(image), image)[part]


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
), code=(pool.pool_output_size, pool.pool2d, pool.max_pool2d_naive, pool.max_pool2d, pool.avg_pool2d_naive,
         pool.avg_pool2d, pool.lp_pool2d, explain.pool_example, pool_gradients))


# Big read-only arrays: cache_resource hands back the same object (cache_data unpickles ~10 MB on every rerun).
@st.cache_resource(show_spinner=False, max_entries=8)
def pooling_input(digest: str, source: str, feature: str, _image: np.ndarray) -> np.ndarray:
    return explain.pooling_input(_image, source, feature)


@st.cache_resource(show_spinner=False, max_entries=24)
def computed(key: tuple, what: tuple, _X: np.ndarray):
    """Every pooled result of the page, cached on (input, what): key = (digest, source, feature)."""
    name, *args = what
    if name == "pool":
        with np.errstate(invalid="ignore"):
            return explain.pool(_X, *args)
    if name == "loss":
        loss, grads = explain.pooling_loss(_X, *args), pool_gradients(_X, *args)
        return {**loss, "grads": grads, "summary": explain.loss_summary(loss, grads)}
    if name == "global":  # _X is the image here: its channels and every kernel's ReLU map
        return explain.global_pool_layer(_X)
    how, pooling = args
    change = explain.pooled_change(_X, changed_input(key, how, _X), *pooling)
    return {**change, "pngs": [map_png(change[n][0].mean(axis=0), signed=True, max_width=380) for n in ("max", "avg")]}


@st.cache_resource(show_spinner=False, max_entries=8)
def changed_input(key: tuple, how: tuple, _X: np.ndarray) -> np.ndarray:
    """The noisy or shifted input, once per (input, how): ("noise", kind, amount) or ("shift", pixels, direction)."""
    return (explain.add_noise if how[0] == "noise" else explain.shift)(_X, how[1], how[2])


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


def pick(page: Page, top: int = 0, left: int = 0, k: int = 1, s: int = 1, p: int = 0):
    """A click callback: on the output (cell i, j → its window's centre) or on the input / a crop (offset top, left).
    The zoomed crop moves there too."""
    def picked(i: int, j: int) -> None:
        row, col = top + explain.centre_of(i, k, s, p), left + explain.centre_of(j, k, s, p)
        H, W = current_image().shape[:2]
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
        click_cell(planes_picture(X[:, :, top:top + h, left:left + w], **scale), "pool_crop_click",
                   pick(page, top, left), chosen=here, width=260,
                   boxes=[Box(example.top - top, example.left - left, k, k),
                          Box(example.winner[0] - top, example.winner[1] - left, color="#d62728")],
                   caption=t("pooling.explain_crop", channel=name, i=i, j=j, h=h, w=w, top=top, left=left))
    show_pool_arithmetic(example, numbers, sums, (H, W), settings, scale, float(Y[0, 0, i, j]))


@st.cache_data(show_spinner=False, max_entries=32)
def zoom_pngs(key: tuple, what: tuple, crop: tuple, scale: tuple, _X: np.ndarray, _results: dict):
    """The up-close pictures of one crop, encoded once at the size they are shown (240 px: 10 screen px a pixel)."""
    pictures, limit, top_grad = up_close_pictures(_X, _results, _results["grads"], crop, what[2], what[3], scale, ZOOM)
    return [to_png(picture) for picture in pictures], limit, top_grad


def show_up_close(page: Page, X: np.ndarray, key: tuple, scale: dict, settings: tuple) -> None:
    """Max vs average pooled and blown back up (what was lost), then where the gradient flows back to."""
    k, s, p, ceil, count_pad = settings[1:6]
    st.subheader(t("pooling.lost_title"))
    st.caption(t("pooling.lost_caption"))
    row_column, col_column = st.columns(2)
    crop = explain.crop_box(*X.shape[2:], page.draw("pool_crop_row", row_column), page.draw("pool_crop_col", col_column),
                            CROP)
    what = ("loss", k, s, p, ceil, count_pad)
    results = computed(key, what, X)
    summary = results["summary"]
    pngs, limit, top_grad = zoom_pngs(key, what, crop, tuple(scale.values()), X, results)
    show_gallery(pngs[:3], [t("pooling.crop_caption", h=crop[2], w=crop[3], top=crop[0], left=crop[1])]
                 + [t("pooling.upsampled_caption", type=t(f"pooling.type_{n}")) for n in ("max", "avg")], width=ZOOM)
    metrics, maps = st.columns([1, 2])
    with metrics:
        for name in ("max", "avg"):
            st.metric(t(f"pooling.lost_metric_{name}"), f"{summary[f'lost_{name}']:.4f}")
        st.caption(t("pooling.lost_max_sign", share=f"{100 * summary['max_not_below']:.0f}"))
    with maps:
        show_gallery(pngs[3:5], [t("pooling.lost_map_caption", type=t(f"pooling.type_{n}")) for n in ("max", "avg")],
                     [colorbar_html(-limit, limit, "RdBu_r", ZOOM)] * 2, columns=2, width=ZOOM)
    st.subheader(t("pooling.grad_title"))
    st.caption(t("pooling.grad_caption"))
    show_gallery(pngs[5:], [t(f"pooling.{c}") for c in ("grad_lit_caption", "grad_max_caption", "grad_avg_caption")],
                 [None] + [colorbar_html(0.0, top_grad, "viridis", ZOOM)] * 2, width=ZOOM)
    first, second = st.columns(2)
    first.metric(t("pooling.grad_reached_max"), f"{100 * summary['reached_max']:.1f} %")
    second.metric(t("pooling.grad_reached_avg"), f"{100 * summary['reached_avg']:.1f} %")
    show_check(pool_gradients, X, k, s, p, ceil, count_pad, key=(*key, *what), label=t("pooling.grad_check_label"), on_copy=0)


@st.fragment
def explore(page: Page, X: np.ndarray, key: tuple, names: list[str], settings: tuple) -> None:
    """The input and its pooled output (click to explain), which input won, and up close: a click or a crop move
    reruns only this panel."""
    kind, k, s, p, ceil, count_pad, norm = settings
    state, (H, W) = st.session_state, X.shape[2:]
    scale = explain.display_scale(X, state.pool_source == "feature")
    Y = computed(key, ("pool", *settings), X)
    out_scale = explain.display_scale(np.nan_to_num(Y), True) if kind == "lp" else scale  # Lp: p = 1 is a sum
    p = 0 if kind == "lp" else p  # torch's lp_pool2d has no padding
    i, j = explain.window_of(state.pool_row, k, s, p, Y.shape[2]), explain.window_of(state.pool_col, k, s, p, Y.shape[3])
    before, after = st.columns(2)
    with before:
        click_cell(lambda: planes_picture(X, **scale), "pool_input_click", pick(page),
                   chosen=(state.pool_row, state.pool_col), width=SHOWN,
                   cache_key=(*key, "input"), boxes=[Box(i * s - p, j * s - p, k, k)],
                   caption=t("pooling.input_caption", h=H, w=W, name=", ".join(names)))
    with after:
        click_cell(lambda: planes_picture(Y, **out_scale), "pool_output_click", pick(page, k=k, s=s, p=p),
                   chosen=(i, j), width=max(120, round(SHOWN * Y.shape[3] / W)), boxes=[Box(i, j)],
                   cache_key=(*key, "output", settings),
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
    show_up_close(page, X, key, scale, settings)


@st.fragment
def robustness(page: Page, X: np.ndarray, key: tuple, pooling: tuple, which: str) -> None:
    """Noise or a shift: how much do the pooled outputs change? (Each moves on its own.)"""
    st.subheader(t(f"pooling.{which}_title"))
    st.caption(t(f"pooling.{which}_caption"))
    left, right = st.columns([1, 2] if which == "noise" else [2, 1])
    keys = ("pool_noise_kind", "pool_noise") if which == "noise" else ("pool_shift", "pool_shift_dir")
    how = (which, page.draw(keys[0], left), page.draw(keys[1], right))
    change = computed(key, ("change", how, pooling), X)
    base = float(np.abs(change["input"]).mean())
    columns = st.columns(3)
    columns[0].metric(t("pooling.change_input"), f"{base:.4f}")
    for column, name in zip(columns[1:], ("max", "avg"), strict=True):
        value = float(np.abs(change[name]).mean())
        column.metric(t(f"pooling.change_{name}"), f"{value:.4f}",
                      t("pooling.change_ratio", ratio=f"{value / base:.2f}" if base > 0 else "—"),
                      delta_color="off", delta_arrow="off")
    show_gallery([png for png, *_ in change["pngs"]], [t(f"pooling.change_map_{n}") for n in ("max", "avg")],
                 [colorbar_html(lo, hi, cmap, 380) for _, lo, hi, cmap in change["pngs"]], columns=2, width="stretch")
    if which == "noise":
        st.caption(t("pooling.noise_bias", **{n: f"{float(change[n].mean()):+.4f}" for n in ("max", "avg")}))
    elif how[1] % pooling[1] == 0:
        st.caption(t("pooling.shift_multiple", s=pooling[1]))


def show_global(image: np.ndarray) -> None:
    st.subheader(t("pooling.gap_title"))
    st.caption(t("pooling.gap_caption"))
    layer = computed((current_digest(),), ("global",), image)
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
        show_check(pool.adaptive_avg_pool2d, layer, 1, key=(current_digest(), "global"), label=t("pooling.gap_average"))


def experiment(page: Page) -> None:
    image = current_image()
    first_row = st.columns([2, 2, 2])
    source, kind = page.draw("pool_source", first_row[0]), page.draw("pool_type", first_row[2])
    feature = page.draw("pool_feature", first_row[1], disabled=source != "feature")
    row = st.columns([2, 2, 2, 2, 2, 3])
    k, s, p = (page.draw(name, row[i]) for i, name in enumerate(("pool_kernel", "pool_stride", "pool_padding")))
    norm = page.draw("pool_norm", row[3], disabled=kind != "lp")
    ceil, count_pad = page.draw("pool_ceil", row[4]), page.draw("pool_count_pad", row[5])
    if source == "rgb" and image.shape[2] == 1:
        st.caption(t("pooling.rgb_on_gray"))
    X = pooling_input(current_digest(), source, feature, image)
    key = (current_digest(), source, feature if source == "feature" else "")
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
        robustness(page, X, key, (k, s, p, ceil, count_pad), "noise")
        robustness(page, X, key, (k, s, p, ceil, count_pad), "shift")
    show_global(image)


if __name__ == "__main__":
    PAGE.run(experiment)
