"""Pooling: what max and average pooling keep and throw away, on the student's image or a feature map.

Widget keys (lessons' ```try blocks may set them):
  pool_source      "gray" | "rgb" | "feature"   (grayscale image, each RGB channel, or a kernel's feature map)
  pool_feature     a kernel name from cnn_core.KERNELS (used when pool_source is "feature")
  pool_type        "max" | "avg" | "lp"
  pool_kernel 1–8, pool_stride 1–8, pool_padding 0–4, pool_ceil bool (ceil_mode),
  pool_count_pad   bool (count_include_pad of average pooling), pool_norm 1–8 (the p of Lp pooling)
  pool_crop_row, pool_crop_col   0–100: where the zoomed crop of the gradient map sits (percent of the image)
  pool_noise 0.0–0.5, pool_noise_kind "gaussian" | "salt" | "pepper"
  pool_shift 1–4, pool_shift_dir "right" | "down"
"""

import numpy as np
import pandas as pd
import streamlit as st
import torch
import torch.nn.functional as F

from cnn_core import render
from cnn_core.conv import conv2d, unvisited
from cnn_core.image import to_grayscale
from cnn_core.kernels import KERNELS
from cnn_core.pool import (
    PoolError,
    adaptive_avg_pool2d,
    avg_pool2d,
    avg_pool2d_naive,
    ceil_correction,
    lp_pool2d,
    max_pool2d,
    max_pool2d_naive,
    max_pool2d_with_indices,
    pool_output_size,
    pool_output_size_latex,
)
from cnn_core.pool_backward import avg_pool2d_backward, interpolate_nearest, max_pool2d_backward
from cnn_core.render import SIGNED_CMAP, UNSIGNED_CMAP, colorize, image_to_uint8, matrix_figure
from ui.image_source import current_digest, current_image
from ui.lesson import show_lesson
from ui.show import (
    show_code,
    show_colorbar,
    show_figure,
    show_map,
    show_picture,
    show_png,
    show_problem,
    show_torch_check,
)
from ui.strings import labels, t

SOURCES = ("gray", "rgb", "feature")
TYPES = ("max", "avg", "lp")
NOISE_KINDS = ("gaussian", "salt", "pepper")
DIRECTIONS = ("right", "down")
DEFAULTS = dict(pool_source="gray", pool_feature="sobel_x", pool_type="max", pool_kernel=2, pool_stride=2,
                pool_padding=0, pool_ceil=False, pool_count_pad=True, pool_norm=2, pool_crop_row=50,
                pool_crop_col=50, pool_noise=0.1, pool_noise_kind="gaussian", pool_shift=1, pool_shift_dir="right")
CROP = 24  # side of the zoomed crop, in input pixels
PATCH = 8  # side of the "numbers" patch
NOISE_SEED = 0


# ------------------------------------------------------------------------------------------------------------
# Computations (cached on the image digest and the parameters)
# ------------------------------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=32)
def feature_map(digest: str, name: str, _gray: np.ndarray) -> np.ndarray:
    """One kernel's feature map of the grayscale image, 'same' padding: (H, W), lined up with the image."""
    return conv2d(_gray[None, None], KERNELS[name][None, None], padding="same")[0, 0]


def pooling_input(image: np.ndarray, source: str, feature: str) -> tuple[np.ndarray, list[str]]:
    """The (1, C, H, W) tensor that gets pooled, and a name per channel."""
    if source == "rgb" and image.shape[2] == 3:
        return np.ascontiguousarray(np.moveaxis(image, 2, 0)[None]), ["R", "G", "B"]
    gray = to_grayscale(image)
    if source == "feature":
        return feature_map(current_digest(), feature, gray)[None, None], [t(f"kernels.{feature}_name")]
    return gray[None, None], [t("pooling.gray")]


def pool(X: np.ndarray, kind: str, k: int, s: int, p: int, ceil: bool, count_pad: bool, norm: int) -> np.ndarray:
    if kind == "max":
        return max_pool2d(X, k, s, p, ceil_mode=ceil)
    if kind == "avg":
        return avg_pool2d(X, k, s, p, ceil, count_pad)
    return lp_pool2d(X, norm, k, s, ceil)  # torch's lp_pool2d has no padding


def torch_pool(X: np.ndarray, kind: str, k: int, s: int, p: int, ceil: bool, count_pad: bool, norm: int):
    Xt = torch.from_numpy(np.ascontiguousarray(X))
    if kind == "max":
        return F.max_pool2d(Xt, k, s, p, ceil_mode=ceil).numpy()
    if kind == "avg":
        return F.avg_pool2d(Xt, k, s, p, ceil, count_pad).numpy()
    return F.lp_pool2d(Xt, norm, k, s, ceil).numpy()


@st.cache_data(show_spinner=False, max_entries=24)
def pooled(key: tuple, kind: str, k: int, s: int, p: int, ceil: bool, count_pad: bool, norm: int,
           _X: np.ndarray) -> tuple[np.ndarray, float]:
    """The chosen pooling of the input and max |ours − torch| on it. `key` = (digest, source, feature)."""
    with np.errstate(invalid="ignore"):
        ours = pool(_X, kind, k, s, p, ceil, count_pad, norm)
        theirs = torch_pool(_X, kind, k, s, p, ceil, count_pad, norm)
    both = np.isfinite(ours) & np.isfinite(theirs)
    same_gaps = np.array_equal(np.isnan(ours), np.isnan(theirs))
    difference = float(np.abs(ours[both] - theirs[both]).max(initial=0.0)) if same_gaps else float("inf")
    return ours, difference


@st.cache_data(show_spinner=False, max_entries=24)
def max_and_avg(key: tuple, k: int, s: int, p: int, ceil: bool, count_pad: bool, _X: np.ndarray) -> dict:
    """Max and average pooling side by side, each upsampled back (nearest) to the input size, and the gradients
    of their sums with respect to the input (where the gradient flows back to), checked against torch autograd."""
    H, W = _X.shape[2:]
    Y_max, indices = max_pool2d_with_indices(_X, k, s, p, ceil_mode=ceil)
    Y_avg = avg_pool2d(_X, k, s, p, ceil, count_pad)
    grad_max = max_pool2d_backward(np.ones_like(Y_max), indices, _X.shape)
    grad_avg = avg_pool2d_backward(np.ones_like(Y_avg), _X.shape, k, s, p, ceil, count_pad)
    x = torch.from_numpy(np.ascontiguousarray(_X)).requires_grad_(True)
    F.max_pool2d(x, k, s, p, ceil_mode=ceil).sum().backward()
    torch_grad_max = x.grad.numpy().copy()
    x.grad = None
    F.avg_pool2d(x, k, s, p, ceil, count_pad).sum().backward()
    grad_difference = max(float(np.abs(grad_max - torch_grad_max).max()), float(np.abs(grad_avg - x.grad.numpy()).max()))
    return dict(max=Y_max, avg=Y_avg, up_max=interpolate_nearest(Y_max, (H, W)),
                up_avg=interpolate_nearest(Y_avg, (H, W)), grad_max=grad_max, grad_avg=grad_avg,
                grad_difference=grad_difference)


def add_noise(X: np.ndarray, kind: str, amount: float) -> np.ndarray:
    """Seeded noise: Gaussian with σ = amount × the input's value range, or a fraction `amount` of pixels set to
    the brightest (salt) or darkest (pepper) value of the input."""
    rng = np.random.default_rng(NOISE_SEED)
    low, high = float(X.min()), float(X.max())
    if kind == "gaussian":
        return (X + rng.standard_normal(X.shape).astype(np.float32) * np.float32(amount * (high - low))).astype(np.float32)
    hit = rng.random(X.shape) < amount
    return np.where(hit, np.float32(high if kind == "salt" else low), X).astype(np.float32)


def shift(X: np.ndarray, pixels: int, direction: str) -> np.ndarray:
    """Move the picture `pixels` to the right (or down); the uncovered edge repeats the first column (row)."""
    axis = 3 if direction == "right" else 2
    moved = np.roll(X, pixels, axis=axis)
    edge = [slice(None)] * 4
    edge[axis] = slice(0, pixels)
    first = [slice(None)] * 4
    first[axis] = slice(0, 1)
    moved[tuple(edge)] = X[tuple(first)]
    return moved


@st.cache_data(show_spinner=False, max_entries=24)
def perturbed(key: tuple, how: tuple, k: int, s: int, p: int, ceil: bool, count_pad: bool, _X: np.ndarray) -> dict:
    """Max and average pooling of the input and of a changed input (noise or shift, `how`), and their changes."""
    changed = add_noise(_X, how[1], how[2]) if how[0] == "noise" else shift(_X, how[1], how[2])
    result = {"input": changed - _X}
    for name, function in (("max", lambda Z: max_pool2d(Z, k, s, p, ceil_mode=ceil)),
                           ("avg", lambda Z: avg_pool2d(Z, k, s, p, ceil, count_pad))):
        result[name] = function(changed) - function(_X)
    return result


@st.cache_data(show_spinner=False, max_entries=8)
def global_pools(digest: str, _image: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Global average (and global max) pooling of a small 'layer': the image's channels plus every kernel's
    feature map after ReLU. Returns the averages, the maxima and max |ours − torch| of the averages."""
    gray = to_grayscale(_image)
    planes = [np.moveaxis(_image, 2, 0)] + [np.maximum(feature_map(digest, name, gray), 0)[None] for name in KERNELS]
    X = np.concatenate(planes)[None]  # (1, C, H, W)
    averages = adaptive_avg_pool2d(X, 1)[0, :, 0, 0]
    maxima = X.max(axis=(2, 3))[0]
    theirs = F.adaptive_avg_pool2d(torch.from_numpy(X), 1)[0, :, 0, 0].numpy()
    return averages, maxima, float(np.abs(averages - theirs).max())


# ------------------------------------------------------------------------------------------------------------
# Display helpers
# ------------------------------------------------------------------------------------------------------------

def scale_of(X: np.ndarray, source: str) -> dict:
    """One colour scale for the input and everything pooled from it, so the pictures can be compared."""
    if source == "feature":
        m = float(np.abs(X).max()) or 1.0
        return dict(signed=bool(X.min() < 0), vmin=-m if X.min() < 0 else 0.0, vmax=m)
    return dict(signed=False, vmin=0.0, vmax=1.0)


def to_rgb(X: np.ndarray, scale: dict) -> np.ndarray:
    """(1, C, H, W) → (H, W, 3) uint8: the colours themselves for three channels, a colour map for one."""
    X = np.nan_to_num(X)
    if X.shape[1] == 3:
        top = max(1.0, float(X.max()))  # Lp outputs can exceed 1; scale them down to show them
        return image_to_uint8(np.moveaxis(X[0], 0, 2) / top)
    return colorize(X[0, 0], scale["signed"], scale["vmin"], scale["vmax"])[0]


def show_scaled(Y: np.ndarray, caption: str, scale: dict, width: int) -> None:
    """A (1, C, h, w) result drawn `width` screen pixels wide, so a pooled output looks as much smaller as it is."""
    picture = to_rgb(Y, scale)
    factor = max(1, -(-width // picture.shape[1]))  # enlarge small maps with hard pixel edges, never blur them
    picture = render.fit_width(np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1), width)
    show_png(render.to_png(picture), caption, max(1, width))
    if Y.shape[1] == 1:
        show_colorbar(scale["vmin"], scale["vmax"], SIGNED_CMAP if scale["signed"] else UNSIGNED_CMAP)


def zoom(picture: np.ndarray, factor: int, s: int, p: int, top: int, left: int,
         lit: np.ndarray | None = None) -> np.ndarray:
    """Enlarge a crop `factor` times with hard pixel edges and draw orange lines where pooling windows start
    (every s pixels, shifted by the padding). With `lit` (bool, same shape), the other pixels are dimmed."""
    if lit is not None:
        picture = np.where(lit, picture, (picture * 0.22).astype(np.uint8))
    shown = np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)
    for axis, origin in ((0, top), (1, left)):
        for line in range(picture.shape[axis] + 1):
            if (origin + line + p) % s == 0:
                index = min(line * factor, shown.shape[axis] - 1)
                if axis == 0:
                    shown[index, :] = (255, 176, 0)
                else:
                    shown[:, index] = (255, 176, 0)
    return shown


def show_zoomed_map(values: np.ndarray, caption: str, factor: int, s: int, p: int, top: int, left: int,
                    signed: bool, limit: float) -> None:
    """A 2-D crop as a colour map on a fixed scale (0..limit, or ±limit when signed), zoomed, with its colour bar."""
    limit = max(limit, 1e-6)
    picture, lo, hi, cmap = colorize(values, signed, -limit if signed else 0.0, limit)
    show_picture(zoom(picture, factor, s, p, top, left), caption)
    show_colorbar(lo, hi, cmap)


def crop_box(H: int, W: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the zoomed crop, from the two position sliders (percent)."""
    h, w = min(CROP, H), min(CROP, W)
    return (int((H - h) * st.session_state.pool_crop_row / 100), int((W - w) * st.session_state.pool_crop_col / 100),
            h, w)


def busiest_spot(X: np.ndarray) -> tuple[int, int]:
    """Crop position (percent) with the most detail: the window of largest variance, E[x²] − E[x]², found with
    two average poolings. So the zoomed crop starts on an edge rather than on flat sky."""
    H, W = X.shape[2:]
    h, w = min(CROP, H), min(CROP, W)
    gray = X.mean(axis=1, keepdims=True)
    step = (max(1, h // 2), max(1, w // 2))
    variance = avg_pool2d(gray * gray, (h, w), step) - avg_pool2d(gray, (h, w), step) ** 2
    i, j = np.unravel_index(int(np.argmax(variance[0, 0])), variance.shape[2:])
    return (round(100 * i * step[0] / (H - h)) if H > h else 50, round(100 * j * step[1] / (W - w)) if W > w else 50)


def problem_sentence(error: PoolError) -> str:
    text = t(f"pooling.error_{error.reason}", **error.details)
    return str(error) if text == f"pooling.error_{error.reason}" else text


def sizes(H: int, W: int, k: int, s: int, p: int, ceil: bool) -> tuple[int, int] | str:
    """(OH, OW), or the translated reason why these settings give no output."""
    try:
        return pool_output_size(H, k, s, p, 1, ceil), pool_output_size(W, k, s, p, 1, ceil)
    except PoolError as error:
        return problem_sentence(error)


# ------------------------------------------------------------------------------------------------------------
# Page sections
# ------------------------------------------------------------------------------------------------------------

def show_formula(H: int, W: int, C: int, k: int, s: int, p: int, ceil: bool) -> None:
    st.subheader(t("pooling.shape_title"))
    height, width = st.columns(2)
    for column, axis, n in ((height, t("pooling.height"), H), (width, t("pooling.width"), W)):
        with column:
            st.markdown(f"**{axis}** (n = {n})")
            st.latex(pool_output_size_latex(n, k, s, p, 1, ceil))
            if ceil and ceil_correction(n, k, s, p):
                st.caption(t("pooling.ceil_dropped", axis=axis))
            elif not ceil and unvisited(n, k, s, p):
                st.caption(t("pooling.floor_dropped", axis=axis, r=unvisited(n, k, s, p)))
    OH, OW = pool_output_size(H, k, s, p, 1, ceil), pool_output_size(W, k, s, p, 1, ceil)
    st.markdown(t("pooling.shape_line", label=t("common.output_shape"), c=C, h=H, w=W, oh=OH, ow=OW,
                  kept=f"{100 * OH * OW / (H * W):.1f}"))


def show_worked_numbers(X: np.ndarray, names: list[str], k: int, s: int, p: int, ceil: bool, count_pad: bool) -> None:
    """The seed's 2×2 example, then an 8×8 patch of the current input pooled window by window (naive loops)."""
    with st.expander(t("pooling.worked_title"), expanded=False):
        example = np.array([[[[1, 2], [3, 4]]]], dtype=np.float32)
        left, right = st.columns([1, 3])
        with left:
            show_figure(matrix_figure(example[0, 0], decimals=0, signed=False, cell_inches=0.5))
        with right:
            biggest, where = max_pool2d_naive(example, 2)
            st.latex(rf"\max(1, 2, 3, 4) = {biggest[0, 0, 0, 0]:g}, \qquad \operatorname{{argmax}} = {where[0, 0, 0, 0]}")
            st.latex(rf"\frac{{1 + 2 + 3 + 4}}{{4}} = {avg_pool2d_naive(example, 2)[0, 0, 0, 0]:g}, \qquad"
                     rf"\left(1^2 + 2^2 + 3^2 + 4^2\right)^{{1/2}} = \sqrt{{30}} \approx {lp_pool2d(example, 2, 2)[0, 0, 0, 0]:.3f}")
            st.caption(t("pooling.worked_seed"))
        H, W = X.shape[2:]
        crop_top, crop_left, h, w = crop_box(H, W)  # the patch sits in the middle of the zoomed crop
        top = min(max(0, crop_top + (h - PATCH) // 2), max(0, H - PATCH))
        left_edge = min(max(0, crop_left + (w - PATCH) // 2), max(0, W - PATCH))
        patch = X[:1, :1, top:top + PATCH, left_edge:left_edge + PATCH]
        st.markdown(t("pooling.worked_patch", n=patch.shape[2], m=patch.shape[3], top=top, left=left_edge,
                      channel=names[0], k=k, s=s, p=p))
        try:
            Y_max, _ = max_pool2d_naive(patch, k, s, p, ceil_mode=ceil)
            Y_avg = avg_pool2d_naive(patch, k, s, p, ceil, count_pad)
        except PoolError as error:
            show_problem(problem_sentence(error))
            return
        columns = st.columns([PATCH, max(1, Y_max.shape[3]), max(1, Y_max.shape[3])])
        for column, values, caption in ((columns[0], patch, t("pooling.worked_input")),
                                        (columns[1], Y_max, t("pooling.worked_max")),
                                        (columns[2], Y_avg, t("pooling.worked_avg"))):
            with column:
                st.caption(caption)
                show_figure(matrix_figure(values[0, 0], decimals=2, cell_inches=0.42))


def show_main(X: np.ndarray, key: tuple, names: list[str], source: str, kind: str, k: int, s: int, p: int,
              ceil: bool, count_pad: bool, norm: int) -> None:
    scale = scale_of(X, source)
    Y, difference = pooled(key, kind, k, s, 0 if kind == "lp" else p, ceil, count_pad, norm, X)
    H, W = X.shape[2:]
    shown = 400  # the input's width on screen; the output is drawn at the same scale, so it looks smaller
    before, after = st.columns(2)
    with before:
        show_scaled(X, t("pooling.input_caption", h=H, w=W, name=", ".join(names)), scale, shown)
    with after:
        caption = t(f"pooling.type_{kind}") + " — " + t("pooling.output_caption", h=Y.shape[2], w=Y.shape[3])
        if kind == "lp":  # Lp values are not on the input's scale (p = 1 is a sum)
            top = float(np.nanmax(np.abs(Y))) or 1.0
            scale = dict(signed=bool(np.nanmin(Y) < 0), vmin=-top if np.nanmin(Y) < 0 else 0.0, vmax=top)
        show_scaled(Y, caption, scale, round(shown * Y.shape[3] / W))
    if kind == "lp" and p:
        st.info(t("pooling.lp_no_padding"))
    if np.isnan(Y).any():
        show_problem(t("pooling.lp_nan", p=norm))
    show_torch_check(difference)
    functions = {"max": (max_pool2d_naive, max_pool2d, max_pool2d_with_indices),
                 "avg": (avg_pool2d_naive, avg_pool2d), "lp": (lp_pool2d, avg_pool2d)}[kind]
    show_code(pool_output_size, *functions)


@st.fragment
def show_zoom(X: np.ndarray, results: dict, source: str, k: int, s: int, p: int) -> None:
    """Up close: max vs average pooled and blown back up (what was lost), then where the gradient flows back."""
    st.subheader(t("pooling.lost_title"))
    st.caption(t("pooling.lost_caption"))
    H, W = X.shape[2:]
    row_column, col_column = st.columns(2)
    row_column.slider(t("pooling.crop_row"), 0, 100, key="pool_crop_row")
    col_column.slider(t("pooling.crop_col"), 0, 100, key="pool_crop_col")
    top, left, h, w = crop_box(H, W)
    crop = (slice(None), slice(None), slice(top, top + h), slice(left, left + w))
    scale = scale_of(X, source)
    factor = max(1, 480 // max(h, w))
    where = dict(factor=factor, s=s, p=p, top=top, left=left)

    columns = st.columns(3)
    with columns[0]:
        show_picture(zoom(to_rgb(X[crop], scale), **where), t("pooling.crop_caption", h=h, w=w, top=top, left=left))
    for column, name in zip(columns[1:], ("max", "avg"), strict=True):
        with column:
            show_picture(zoom(to_rgb(results[f"up_{name}"][crop], scale), **where),
                         t("pooling.upsampled_caption", type=t(f"pooling.type_{name}")))
    lost = {name: (X - results[f"up_{name}"]).mean(axis=1)[0] for name in ("max", "avg")}  # (H, W), mean over C
    limit = max(float(np.abs(lost["max"][crop[2:]]).max()), float(np.abs(lost["avg"][crop[2:]]).max()))
    columns = st.columns(3)
    with columns[0]:
        for name in ("max", "avg"):
            st.metric(t(f"pooling.lost_metric_{name}"), f"{float(np.abs(X - results[f'up_{name}']).mean()):.4f}")
        share = 100 * float((X - results["up_max"] <= 1e-7).mean())
        st.caption(t("pooling.lost_max_sign", share=f"{share:.0f}"))
    for column, name in zip(columns[1:], ("max", "avg"), strict=True):
        with column:
            show_zoomed_map(lost[name][crop[2:]], t("pooling.lost_map_caption", type=t(f"pooling.type_{name}")),
                            signed=True, limit=limit, **where)

    st.subheader(t("pooling.grad_title"))
    st.caption(t("pooling.grad_caption"))
    counts = results["grad_max"][crop]  # (1, C, h, w): how many windows each pixel won
    won = np.moveaxis(counts[0] > 0, 0, 2)  # (h, w, C): lit per colour channel
    won = np.repeat(won, 3, axis=2) if won.shape[2] == 1 else won
    grad_max, grad_avg = counts[0].mean(axis=0), results["grad_avg"][crop][0].mean(axis=0)
    limit = max(float(grad_max.max()), float(grad_avg.max()))  # one scale: 1 at a winner vs 1/k² shares
    columns = st.columns(3)
    with columns[0]:
        show_picture(zoom(to_rgb(X[crop], scale), lit=won, **where), t("pooling.grad_lit_caption"))
    with columns[1]:
        show_zoomed_map(grad_max, t("pooling.grad_max_caption"), signed=False, limit=limit, **where)
    with columns[2]:
        show_zoomed_map(grad_avg, t("pooling.grad_avg_caption"), signed=False, limit=limit, **where)
    first, second = st.columns(2)
    first.metric(t("pooling.grad_reached_max"), f"{100 * float((results['grad_max'] > 0).mean()):.1f} %")
    second.metric(t("pooling.grad_reached_avg"), f"{100 * float((results['grad_avg'] > 0).mean()):.1f} %")
    st.caption(t("pooling.grad_check", diff=f"{results['grad_difference']:.1e}"))


def show_change_metrics(change: dict) -> None:
    base = float(np.abs(change["input"]).mean())
    columns = st.columns(3)
    columns[0].metric(t("pooling.change_input"), f"{base:.4f}")
    for column, name in zip(columns[1:], ("max", "avg"), strict=True):
        value = float(np.abs(change[name]).mean())
        ratio = f"{value / base:.2f}" if base > 0 else "—"
        column.metric(t(f"pooling.change_{name}"), f"{value:.4f}", t("pooling.change_ratio", ratio=ratio),
                      delta_color="off", delta_arrow="off")
    maps = st.columns(2)
    for column, name in zip(maps, ("max", "avg"), strict=True):
        with column:
            show_map(change[name][0].mean(axis=0), t(f"pooling.change_map_{name}"), signed=True)


@st.fragment
def show_noise(X: np.ndarray, key: tuple, k: int, s: int, p: int, ceil: bool, count_pad: bool) -> None:
    st.subheader(t("pooling.noise_title"))
    st.caption(t("pooling.noise_caption"))
    kind_column, amount_column = st.columns([1, 2])
    kind = kind_column.selectbox(t("pooling.noise_kind"), NOISE_KINDS, key="pool_noise_kind",
                                 format_func=labels("pooling.noise_"))
    amount = amount_column.slider(t("pooling.noise_amount"), 0.0, 0.5, step=0.01, key="pool_noise",
                                  help=t("pooling.noise_amount_help"))
    change = perturbed(key, ("noise", kind, amount), k, s, p, ceil, count_pad, X)
    show_change_metrics(change)
    bias_max, bias_avg = float(change["max"].mean()), float(change["avg"].mean())
    st.caption(t("pooling.noise_bias", max=f"{bias_max:+.4f}", avg=f"{bias_avg:+.4f}"))


@st.fragment
def show_shift(X: np.ndarray, key: tuple, k: int, s: int, p: int, ceil: bool, count_pad: bool) -> None:
    st.subheader(t("pooling.shift_title"))
    st.caption(t("pooling.shift_caption"))
    pixels_column, direction_column = st.columns([2, 1])
    pixels = pixels_column.slider(t("pooling.shift_pixels"), 1, 4, key="pool_shift")
    direction = direction_column.radio(t("pooling.shift_dir"), DIRECTIONS, key="pool_shift_dir", horizontal=True,
                                       format_func=labels("pooling.dir_"))
    change = perturbed(key, ("shift", pixels, direction), k, s, p, ceil, count_pad, X)
    show_change_metrics(change)
    if pixels % s == 0:
        st.caption(t("pooling.shift_multiple", s=s))


def show_global(image: np.ndarray) -> None:
    st.subheader(t("pooling.gap_title"))
    st.caption(t("pooling.gap_caption"))
    averages, maxima, difference = global_pools(current_digest(), image)
    names = (["R", "G", "B"] if image.shape[2] == 3 else [t("pooling.gray")])
    names += [f"ReLU({t(f'kernels.{name}_name')})" for name in KERNELS]
    table = pd.DataFrame({t("pooling.gap_channel"): names, t("pooling.gap_average"): averages.round(4),
                          t("pooling.gap_max"): maxima.round(4)})
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(table, hide_index=True, width="stretch", height=35 * (len(names) + 1) + 3)
    with right:
        H, W = image.shape[:2]
        st.markdown(t("pooling.gap_shrink", c=len(names), h=H, w=W, total=f"{len(names) * H * W:,}"))
        st.latex(r"y_c = \frac{1}{H W} \sum_{i=1}^{H} \sum_{j=1}^{W} x_{c,i,j}")
        show_torch_check(difference)
        show_code(adaptive_avg_pool2d)


# ------------------------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------------------------

show_lesson("pooling")
st.header(t("common.experiment"))
for widget, value in DEFAULTS.items():
    st.session_state.setdefault(widget, value)
image = current_image()
if st.session_state.pool_feature not in KERNELS:
    st.session_state.pool_feature = DEFAULTS["pool_feature"]

first_row = st.columns([2, 2, 2])
source = first_row[0].radio(t("pooling.source"), SOURCES, key="pool_source", horizontal=True,
                            format_func=labels("pooling.source_"), help=t("pooling.source_help"))
feature = first_row[1].selectbox(t("pooling.feature"), list(KERNELS), key="pool_feature",
                                 format_func=labels("kernels.", "_name"), disabled=source != "feature")
kind = first_row[2].radio(t("pooling.type"), TYPES, key="pool_type", horizontal=True,
                          format_func=labels("pooling.type_"))
second_row = st.columns([2, 2, 2, 2, 2, 3])
k = second_row[0].slider(t("pooling.kernel"), 1, 8, key="pool_kernel")
s = second_row[1].slider(t("pooling.stride"), 1, 8, key="pool_stride")
p = second_row[2].slider(t("pooling.padding"), 0, 4, key="pool_padding", help=t("pooling.padding_help"))
norm = second_row[3].slider(t("pooling.norm"), 1, 8, key="pool_norm", disabled=kind != "lp",
                            help=t("pooling.norm_help"))
ceil = second_row[4].toggle(t("pooling.ceil"), key="pool_ceil", help=t("pooling.ceil_help"))
count_pad = second_row[5].toggle(t("pooling.count_pad"), key="pool_count_pad", help=t("pooling.count_pad_help"))
if source == "rgb" and image.shape[2] == 1:
    st.caption(t("pooling.rgb_on_gray"))

X, names = pooling_input(image, source, feature)
key = (current_digest(), source, feature)
if st.session_state.get("pool_crop_for") != key:  # a new input: start the zoomed crop where there is detail
    st.session_state.pool_crop_row, st.session_state.pool_crop_col = busiest_spot(X)
    st.session_state.pool_crop_for = key
H, W = X.shape[2:]
fits = sizes(H, W, k, s, p, ceil)
fits_lp = sizes(H, W, k, s, 0, ceil) if kind == "lp" else fits
if isinstance(fits, str) or isinstance(fits_lp, str):
    show_problem(fits if isinstance(fits, str) else fits_lp)
else:
    show_formula(H, W, X.shape[1], k, s, 0 if kind == "lp" else p, ceil)
    show_worked_numbers(X, names, k, s, p, ceil, count_pad)
    show_main(X, key, names, source, kind, k, s, p, ceil, count_pad, norm)
    show_zoom(X, max_and_avg(key, k, s, p, ceil, count_pad, X), source, k, s, p)
    show_noise(X, key, k, s, p, ceil, count_pad)
    show_shift(X, key, k, s, p, ceil, count_pad)
show_global(image)
