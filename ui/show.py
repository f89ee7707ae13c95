"""Display helpers every page shares: feature maps, colour scales, code, the PyTorch check, errors."""

from __future__ import annotations

import html
import inspect
from functools import lru_cache

import numpy as np
import streamlit as st

from cnn_core import render
from ui.downloads import offer, slot
from ui.image_source import current_digest, display_image
from ui.shared_cache import SharedCache
from ui.strings import t

MIN_BOX = 10  # screen pixels: the smallest box drawn on a picture


def _image(png: bytes, caption: str | None = None, width: int | str = "stretch"):
    """Every picture goes through here. output_format="PNG" matters: by default st.image re-encodes PNG bytes
    without transparency as JPEG (lossy, and slow), which smears exactly the sharp edges students look at."""
    return st.image(png, caption=caption, width=width, output_format="PNG")


def show_png(png: bytes, caption: str | None = None, width: int | str = "stretch", numbers=None, **scale) -> None:
    """A ready-made picture, offered for download as it is (ui/downloads.py); with `numbers` (the 2-D map it
    shows, or a function returning it, called only if a file is asked for) the download is that map at full size
    with its numbers, coloured on `scale` (signed, vmin, vmax, cmap) like the picture."""
    key = slot(_image(png, caption, width))
    if numbers is None:
        offer(caption, png, "png", key=key)
    else:
        offer(caption, numbers, "map", key=key, **scale)


def map_png(x: np.ndarray, signed: bool | None = None, min_side: int = 192, max_width: int = 640,
            vmin: float | None = None, vmax: float | None = None, cmap: str | None = None) -> tuple[bytes, float, float, str]:
    """A 2-D map → PNG bytes (small maps enlarged with hard pixel edges, big ones thinned to the column)."""
    x = render.fit_width(np.asarray(x), max_width)  # thin big maps first: colouring fewer pixels is faster
    index, lo, hi, cmap = render.color_indices(x, signed, vmin, vmax, cmap)
    return render.to_png(render.upscale_nearest(index, min_side), cmap), lo, hi, cmap  # a palette PNG


@lru_cache(maxsize=16)
def _colorbar_png(cmap: str) -> bytes:
    return render.to_png(render.colorbar_strip(cmap))


def show_colorbar(lo: float, hi: float, cmap: str) -> None:
    """A thin colour strip with its end values (and 0 when the scale is centred on it)."""
    _image(_colorbar_png(cmap))
    middle = " · 0 · " if lo < 0 < hi and abs(lo + hi) < 1e-9 else " … "
    st.caption(f"{render.format_number(lo, 3)}{middle}{render.format_number(hi, 3)}")


_MAP_PNGS = SharedCache(64)  # the last 64 maps show_map encoded, for every session


def _cached_map_png(key: tuple, x: np.ndarray, signed: bool | None, kwargs: dict) -> tuple:
    """map_png once per key (st.cache_data would hash the whole map on every rerun)."""
    return _MAP_PNGS.get((key, signed, tuple(sorted(kwargs.items()))), lambda: map_png(x, signed, **kwargs))


def show_map(x: np.ndarray, caption: str | None = None, signed: bool | None = None, colorbar: bool = True,
             width: int | str = "stretch", cache_key: tuple | None = None, **kwargs) -> None:
    """One feature map with a caption and its colour scale (width: pixels, or "stretch" to the column).

    cache_key: a hashable name for exactly what `x` holds (e.g. (image digest, kernel, bias)): its picture is then
    encoded once, not on every rerun that shows it unchanged."""
    png, lo, hi, cmap = map_png(x, signed, **kwargs) if cache_key is None else _cached_map_png(cache_key, x, signed, kwargs)
    offer(caption, x, "map", key=slot(_image(png, caption, width)), vmin=lo, vmax=hi, cmap=cmap)
    if colorbar:
        show_colorbar(lo, hi, cmap)


def show_picture(picture: np.ndarray, caption: str | None = None, min_side: int = 192, max_width: int = 900) -> None:
    """An RGB uint8 picture (an image with marks drawn on it), as PNG."""
    shown = render.fit_width(render.upscale_nearest(picture, min_side), max_width)
    offer(caption, picture, "picture", key=slot(_image(render.to_png(shown), caption)))


def show_image_with_box(top: int, left: int, height: int, width: int, caption: str | None = None,
                        max_width: int = 480) -> None:
    """The current image (shrunk for the screen) with one rectangle, given in full-size pixel coordinates."""
    show_png(_boxed_png(current_digest(), top, left, height, width, max_width), caption)


@st.cache_data(show_spinner=False, max_entries=64)
def _boxed_png(digest: str, top: int, left: int, height: int, width: int, max_width: int) -> bytes:
    picture, factor = display_image(digest, max_width)
    # A 3×3 window on a big photo would be a sub-pixel dot once shrunk: draw at least MIN_BOX screen pixels,
    # centred on the window, so the student can find it.
    shown_height, shown_width = max(MIN_BOX, round(height * factor)), max(MIN_BOX, round(width * factor))
    shown_top = round((top + height / 2) * factor - shown_height / 2)
    shown_left = round((left + width / 2) * factor - shown_width / 2)
    return render.to_png(render.draw_box(picture, shown_top, shown_left, shown_height, shown_width, thickness=2))


def show_number_grid(values: np.ndarray, legend: bool = False, title: str | None = None, height_px: int | None = None,
                     **options) -> None:
    """A small matrix with its numbers written in, drawn by the browser (render.matrix_html): no server-side
    rendering, so it costs almost nothing on a rerun. options: decimals, signed, vmin, vmax, cmap, highlight,
    cell_px. legend: its colour scale underneath; title: markdown above it, in the same element (each element is
    one more message to the browser); height_px: the table's room, so grids of different sizes line up."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    options = {k: tuple(map(tuple, v)) if k == "highlight" else v for k, v in options.items()}
    html = _grid_html(values.tobytes(), values.shape, legend, tuple(sorted(options.items())))
    if height_px:
        html = f'<div style="height:{height_px}px">{html}</div>'
    shown = st.markdown(f"{title}\n\n{html}" if title else html, unsafe_allow_html=True)
    offer(title, values, "map", key=slot(shown), **{k: options.get(k) for k in ("signed", "vmin", "vmax", "cmap")})


@lru_cache(maxsize=1024)
def _grid_html(values_bytes: bytes, shape: tuple, legend: bool, options: tuple) -> str:
    values, options = np.frombuffer(values_bytes, dtype=np.float32).reshape(shape), dict(options)
    html = render.matrix_html(values, **options)
    if legend:
        scale = {k: options.get(k) for k in ("signed", "vmin", "vmax", "cmap")}
        _, lo, hi, cmap = render.colorize(np.nan_to_num(np.atleast_2d(values)), **scale)
        html += render.colorbar_html(lo, hi, cmap, width_px=160)
    return html


def show_gallery(pngs: list[bytes], captions: list[str], below: list[str | None] | None = None,
                 columns: int = 3, width: int | str = "content") -> None:
    """Pictures side by side (PNG bytes already at their display size, `width` px), each with its caption and
    optional HTML under it (a colour bar)."""
    for column, png, caption, markup in zip(st.columns(columns), pngs, captions, below or [None] * len(pngs),
                                            strict=False):
        with column:
            show_png(png, caption, width=width)
            if markup:
                st.markdown(markup, unsafe_allow_html=True)


def nice_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """Round tick values in [lo, hi], at most `most` of them, a step of 1, 2 or 5 × a power of ten."""
    span = hi - lo
    if not np.isfinite(span) or span <= 0:
        return [lo]
    power = 10.0 ** np.floor(np.log10(span / most))
    finer = power
    for step in (m * power for m in (1, 2, 5, 10)):
        first, last = np.ceil(lo / step - 1e-9), np.floor(hi / step + 1e-9)
        if last - first + 1 <= most:
            break
        finer = step
    if last < first:  # this step skips the whole range: one tick of the finer step, near the middle
        step = finer
        first = last = np.round((lo + hi) / 2 / step)
    digits = max(0, int(-np.floor(np.log10(step) + 1e-9)))  # 0.2 → 1 decimal: no 0.6000000000000001
    return [round(float(k * step), digits) + 0.0 for k in np.arange(first, last + 1)]


def histogram_html(values: np.ndarray, color: str, domain: tuple[float, float] | None = None, bins: int = 48,
                   height: int = 150, share_title: bool = False) -> str:
    """A histogram as plain HTML and one SVG path (bar height = share of the values), for show_histogram.

    With a fixed domain, values outside it are piled into the end bars; without one, the data's own range is used.
    Plain markup rather than a Vega-Lite chart: a page of batch norm shows a dozen histograms, and each chart the
    browser builds costs it ~40 ms on every rerun that changes it; this costs about one element's worth."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if domain is None:
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        domain = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
    lo, hi = float(domain[0]), float(domain[1])
    counts, _ = np.histogram(np.clip(values, lo, hi), bins=bins, range=(lo, hi))
    share = counts / max(1, values.size)
    peak = max(float(share.max()), 1e-3)
    ticks = nice_ticks(0.0, peak, 4 if share_title else 3)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else peak
    steps = int(np.ceil(peak / step - 1e-9))  # the axis ends on the first tick at or above the tallest bar
    top, y_ticks = step * steps, [step * k for k in range(steps + 1)]
    bars = "".join(f"M{i} 1V{1 - v / top:.4f}H{i + 1}V1Z" for i, v in enumerate(share) if v > 0)
    percent = max(0, -int(np.floor(np.log10(step * 100) + 1e-9)))  # decimals of the share labels: 0.5 % → 1
    grid = "".join(f'<i style="bottom:{100 * v / top:.2f}%"></i>' for v in y_ticks[1:])
    y_labels = "".join(f'<span style="bottom:{100 * v / top:.2f}%">{100 * v:.{percent}f}%</span>' for v in y_ticks)
    x_labels = "".join(f'<span style="left:{100 * (v - lo) / (hi - lo):.2f}%">{render.format_number(v, 3)}</span>'
                       for v in nice_ticks(lo, hi, 5))
    # The y title is a line above the plot, not turned on its side: turned Chinese characters would lie on their side.
    y_title = f'<div class="cnnlab-hist-ytitle">{html.escape(t("common.axis_share"))}</div>' if share_title else ""
    return (f'<figure class="cnnlab-hist" role="img" aria-label="{html.escape(t("common.axis_value"))}">{y_title}'
            f'<div class="cnnlab-hist-body"><div class="cnnlab-hist-y">{y_labels}</div>'
            f'<div class="cnnlab-hist-plot" style="height:{int(height)}px">{grid}'
            f'<svg viewBox="0 0 {bins} 1" preserveAspectRatio="none"><path d="{bars}" fill="{html.escape(color)}"/>'
            f'</svg></div></div><div class="cnnlab-hist-x">{x_labels}</div>'
            f'<figcaption>{html.escape(t("common.axis_value"))}</figcaption></figure>')


def show_histogram(values: np.ndarray, color: str, domain: tuple[float, float] | None = None, bins: int = 48,
                   height: int = 150, share_title: bool = False) -> None:
    """A histogram of `values` (histogram_html), its axis titles in the student's language."""
    st.markdown(histogram_html(values, color, domain, bins, height, share_title), unsafe_allow_html=True)


@lru_cache(maxsize=256)
def _source(function) -> str:
    """inspect.getsource tokenizes the whole module each call (~2 ms): once per function is enough."""
    return inspect.getsource(function)


def show_code(*functions) -> None:
    """'Show the code': the real cnn_core source that produced the picture on screen."""
    with st.expander(t("common.show_code")):
        for function in functions:
            st.code(_source(function), language="python")


def show_torch_check(max_abs_diff: float, tolerance: float = 1e-4) -> None:
    """Until every page names its op (ui.proof.show_check): the same one-line display."""
    from ui.proof import show_difference

    show_difference(max_abs_diff, tolerance, t("common.result"))


def show_problem(message: str) -> None:
    """A parameter combination that does not fit: a sentence saying what to change, never a traceback."""
    st.warning(message, icon=":material/back_hand:")
