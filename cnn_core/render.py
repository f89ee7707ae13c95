"""Turn arrays into pictures: colour maps, nearest-neighbour upscaling, PNG bytes, small annotated matrices.

Feature maps can be negative (an edge from dark to light vs light to dark), so signed maps use a diverging
colour map centred on 0 (blue < 0 < red, white = 0) and unsigned maps a sequential one. Maps are encoded as
PNG: JPEG would smear exactly the sharp edges a student is looking at.
"""

from __future__ import annotations

import io
from functools import lru_cache

import matplotlib
import numpy as np
from PIL import Image

SIGNED_CMAP = "RdBu_r"
UNSIGNED_CMAP = "viridis"


@lru_cache(maxsize=16)
def _lut(cmap: str) -> np.ndarray:
    """256 RGB colours of a matplotlib colour map, as uint8 (a lookup table is much faster than calling the map)."""
    return (matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def value_range(x: np.ndarray, signed: bool) -> tuple[float, float]:
    """The colour scale's ends: symmetric ±m for signed maps (so 0 is the middle colour), min..max otherwise.

    For big signed maps m is the 99th percentile of |x|, not the maximum: edge maps are mostly near 0 with a
    few extreme pixels, and scaling to those would wash everything else out to white. Beyond ±m colours saturate.
    """
    if signed:
        magnitudes = np.abs(x).ravel()
        if magnitudes.size > 4096:
            m = float(np.partition(magnitudes, int(magnitudes.size * 0.99))[int(magnitudes.size * 0.99)])
        else:
            m = float(magnitudes.max()) if magnitudes.size else 0.0
        m = m if m > 1e-12 else 1.0
        return -m, m
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
    return (lo, hi) if hi - lo > 1e-12 else (lo, lo + 1.0)


def color_indices(x: np.ndarray, signed: bool | None = None, vmin: float | None = None, vmax: float | None = None,
                  cmap: str | None = None) -> tuple[np.ndarray, float, float, str]:
    """Map a 2-D array to its colour map's entries: (H, W) uint8 indices 0…255, vmin, vmax, colour map name.

    signed=None decides from the data: any negative value → signed diverging map centred on 0.
    """
    x = np.asarray(x, dtype=np.float32)
    if signed is None:
        signed = bool(x.size and x.min() < 0)
    lo, hi = value_range(x, signed)
    lo = lo if vmin is None else vmin
    hi = hi if vmax is None else vmax
    cmap = cmap or (SIGNED_CMAP if signed else UNSIGNED_CMAP)
    return np.clip((x - lo) * (255.0 / max(hi - lo, 1e-12)), 0, 255).astype(np.uint8), lo, hi, cmap


def colorize(x: np.ndarray, signed: bool | None = None, vmin: float | None = None, vmax: float | None = None,
             cmap: str | None = None) -> tuple[np.ndarray, float, float, str]:
    """Map a 2-D array to an (H, W, 3) uint8 picture. Returns (picture, vmin, vmax, colour map name)."""
    index, lo, hi, cmap = color_indices(x, signed, vmin, vmax, cmap)
    return _lut(cmap)[index], lo, hi, cmap


def image_to_uint8(image: np.ndarray) -> np.ndarray:
    """An (H, W, C) float image in [0, 1] (C = 1 or 3) → (H, W, 3) uint8 for display."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., :3]
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def upscale_nearest(picture: np.ndarray, min_side: int = 256, max_factor: int = 32) -> np.ndarray:
    """Enlarge a small map by an integer factor with hard pixel edges, so each value stays one visible square."""
    factor = int(min(max_factor, max(1, -(-min_side // max(1, min(picture.shape[:2]))))))
    if factor == 1:
        return picture
    return np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)


def area_mean(x: np.ndarray, step: int) -> np.ndarray:
    """Shrink by averaging step × step blocks (area resampling); edge blocks average the pixels they have.

    Shape ⌈H/step⌉ × ⌈W/step⌉ (× C). Never skips pixels: keeping every k-th one would turn fine stripes into
    false patterns (aliasing). uint8 pictures stay uint8, float maps stay float32.
    """
    x = np.asarray(x)
    if step <= 1:
        return x
    if (x.dtype == np.uint8 and (x.ndim == 2 or x.shape[2] in (3, 4))) or (x.ndim == 2 and x.dtype == np.float32):
        return np.asarray(Image.fromarray(np.ascontiguousarray(x)).reduce(step))  # the same block means, in C
    picture = x.dtype == np.uint8
    x = x.astype(np.float32, copy=False)
    H, W = x.shape[:2]
    OH, OW = -(-H // step), -(-W // step)
    if (OH * step, OW * step) != (H, W):  # zeros fill the last blocks; the counts below leave them out
        x = np.pad(x, ((0, OH * step - H), (0, OW * step - W)) + ((0, 0),) * (x.ndim - 2))
    blocks = x.reshape(OH, step, OW, step, *x.shape[2:])
    sums = blocks.sum(axis=(1, 3))
    counts = np.outer(np.minimum(step, H - step * np.arange(OH)), np.minimum(step, W - step * np.arange(OW)))
    mean = sums / counts.reshape(OH, OW, *([1] * (x.ndim - 2))).astype(np.float32)
    return np.clip(mean.round(), 0, 255).astype(np.uint8) if picture else mean


def fit_width(picture: np.ndarray, max_width: int) -> np.ndarray:
    """Shrink a picture wider than the screen column by a whole factor, averaging each block (see area_mean)."""
    return area_mean(picture, -(-picture.shape[1] // max_width))


def fit_box(picture: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """Shrink so neither side exceeds max_side (block means); returns the picture and the block size used."""
    step = max(1, -(-max(picture.shape[:2]) // max_side))
    return area_mean(picture, step), step


def to_png(picture: np.ndarray, cmap: str | None = None) -> bytes:
    """Encode an (H, W, 3) or (H, W) uint8 picture as PNG bytes (lossless; fast compression level).

    With `cmap`, a 2-D picture holds colour_indices and is stored with that colour map as its palette: one byte
    a pixel instead of three, the same colours (a noisy 300² map: 4 ms and 90 KB instead of 24 ms and 250 KB)."""
    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(picture))
    if cmap is not None and picture.ndim == 2:
        image.putpalette(_lut(cmap).tobytes())  # an "L" image becomes "P" with these 256 colours
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def colorbar_strip(cmap: str, width: int = 256, height: int = 14) -> np.ndarray:
    """A horizontal strip of the colour map from low (left) to high (right); label its ends with the values."""
    return np.repeat(_lut(cmap)[None, np.linspace(0, 255, width).astype(int)], height, axis=0)


def draw_box(picture: np.ndarray, top: int, left: int, height: int, width: int,
             color=(255, 200, 0), thickness: int = 2) -> np.ndarray:
    """A copy of the picture with a rectangle outline; the box may stick out of the picture (it is clipped)."""
    out = picture.copy()
    H, W = out.shape[:2]
    bottom, right = top + height - 1, left + width - 1
    for t in range(thickness):
        rows = slice(max(top - t, 0), min(bottom + t, H - 1) + 1)
        cols = slice(max(left - t, 0), min(right + t, W - 1) + 1)
        for r in (top - t, bottom + t):
            if 0 <= r < H:
                out[r, cols] = color
        for c in (left - t, right + t):
            if 0 <= c < W:
                out[rows, c] = color
    return out


def overlay(picture: np.ndarray, heat: np.ndarray, alpha: float = 0.6, cmap: str = "inferno") -> np.ndarray:
    """Blend a heat map (same H, W; any range, scaled to its max) over a picture; zero heat leaves the picture."""
    heat = np.asarray(heat, dtype=np.float32)
    weight = heat / heat.max() if heat.max() > 0 else heat
    colored = _lut(cmap)[(weight * 255).astype(np.uint8)].astype(np.float32)
    w = (alpha * weight)[..., None]
    return (picture.astype(np.float32) * (1 - w) + colored * w).round().astype(np.uint8)


def format_number(value: float, decimals: int = 2) -> str:
    """Short numbers for cells: 0.50 → 0.5, 2.00 → 2, −0.00 → 0."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb))


def matrix_html(values: np.ndarray, decimals: int = 2, signed: bool | None = None, vmin: float | None = None,
                vmax: float | None = None, cmap: str | None = None, highlight=(), cell_px: int = 44,
                font_px: int = 14) -> str:
    """A small matrix as an HTML table the browser draws: cells coloured on a fixed scale, numbers written in.

    No rendering on the server (a matplotlib figure of it cost ~30–100 ms), and sharp at any zoom. `highlight` lists
    (row, col) cells to outline. Only our own numbers go in, never text from a user, so the page may show it with
    unsafe_allow_html. NaN cells (no value: padding) are left empty and grey.
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float32))
    finite = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    picture, *_ = colorize(finite, signed, vmin, vmax, cmap)
    dark = picture @ np.array([0.299, 0.587, 0.114]) < 140  # white text on dark colours
    marked = {tuple(map(int, cell)) for cell in highlight}
    # In a column narrower than the grid (1024 px, a phone) the cells shrink with it (100cqw: the wrapper's width),
    # down to 26 px and 12 px numbers, still readable; below that the grid scrolls sideways instead of spilling over.
    columns, font_px = values.shape[1], max(14, font_px)
    side = f"clamp({min(26, cell_px)}px, calc(100cqw / {columns} - 2px), {cell_px}px)"
    font = f"clamp(12px, calc(100cqw / {columns} * 0.36), {font_px}px)"
    rows = []
    for i in range(values.shape[0]):
        cells = []
        for j in range(values.shape[1]):
            value = values[i, j]
            text = format_number(value, decimals) if np.isfinite(value) else ("" if np.isnan(value) else str(value))
            ring = "outline:3px solid #d62728;outline-offset:-3px;" if (i, j) in marked else ""
            background = _hex(picture[i, j]) if not np.isnan(value) else "#e6e6e6"  # NaN: no value (padding)
            cells.append(f'<td style="background:{background};color:{"#fff" if dark[i, j] else "#111"};'
                         f'width:{side};height:{side};min-width:{side};padding:0;text-align:center;'
                         f'border:1px solid #fff;{ring}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div style="container-type:inline-size;overflow-x:auto;max-width:100%"><table style="border-collapse:'
            f'collapse;table-layout:fixed;width:auto;margin:0 0 0.5rem 0;font-size:{font};'
            f'font-variant-numeric:tabular-nums;line-height:1">' + "".join(rows) + "</table></div>")


def colorbar_html(lo: float, hi: float, cmap: str, width_px: int = 200) -> str:
    """The colour scale of a matrix or map as a thin CSS gradient with its end values (and 0 when centred)."""
    stops = ",".join(_hex(rgb) for rgb in _lut(cmap)[np.linspace(0, 255, 9).astype(int)])
    middle = "0" if lo < 0 < hi and abs(lo + hi) < 1e-9 else ""
    return (f'<div style="width:{width_px}px;max-width:100%;font-size:14px;line-height:1.2;margin-bottom:0.5rem">'
            f'<div style="height:10px;background:linear-gradient(to right,{stops})"></div>'
            f'<div style="display:flex;justify-content:space-between"><span>{format_number(lo, 3)}</span>'
            f'<span>{middle}</span><span>{format_number(hi, 3)}</span></div></div>')


def planes_picture(X: np.ndarray, signed: bool, vmin: float, vmax: float) -> np.ndarray:
    """(1, C, H, W) → (H, W, 3) uint8: the colours themselves for three channels, a colour map for one."""
    X = np.nan_to_num(np.asarray(X, dtype=np.float32))
    if X.shape[1] == 3:
        return image_to_uint8(np.moveaxis(X[0], 0, 2) / max(1.0, float(X.max())))  # Lp outputs can exceed 1
    return colorize(X[0, 0], signed, vmin, vmax)[0]


def window_grid(picture: np.ndarray, factor: int, stride: int, padding: int, top: int, left: int,
                lit: np.ndarray | None = None) -> np.ndarray:
    """A crop enlarged `factor` times with hard pixel edges, orange lines where pooling windows start (every
    `stride` pixels, shifted by the padding); with `lit` (bool, the crop's shape) the other pixels are dimmed."""
    if lit is not None:
        picture = np.where(lit, picture, (picture * 0.22).astype(np.uint8))
    shown = np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)
    for axis, origin in ((0, top), (1, left)):
        for line in range(picture.shape[axis] + 1):
            if (origin + line + padding) % stride == 0:
                index = min(line * factor, shown.shape[axis] - 1)
                if axis == 0:
                    shown[index, :] = (255, 176, 0)
                else:
                    shown[:, index] = (255, 176, 0)
    return shown


def up_close_pictures(X: np.ndarray, loss: dict, grads: tuple, crop: tuple[int, int, int, int], stride: int,
                      padding: int, scale: tuple[bool, float, float], side: int = 240) -> tuple[list, float, float]:
    """The pooling page's zoomed crops, `side` px: input, max and average blown back up, what each lost (signed,
    one scale), the pixels that won a window, and both gradient maps (one scale: 1 at a winner vs 1/k² shares).
    Returns (pictures, the lost maps' ±limit, the gradients' top)."""
    top, left, h, w = crop
    box = (slice(None), slice(None), slice(top, top + h), slice(left, left + w))
    grid = dict(factor=max(1, side // max(h, w)), stride=stride, padding=padding, top=top, left=left)
    pictures = [window_grid(planes_picture(Z[box], *scale), **grid) for Z in (X, loss["up_max"], loss["up_avg"])]
    lost = [loss[f"lost_{name}"][box].mean(axis=1)[0] for name in ("max", "avg")]  # (h, w), mean over channels
    limit = max(1e-6, *(float(np.abs(m).max()) for m in lost))
    pictures += [window_grid(colorize(m, True, -limit, limit)[0], **grid) for m in lost]
    won = np.moveaxis(grads[0][box][0] > 0, 0, 2)  # (h, w, C): lit where a pixel won a window
    pictures.append(window_grid(planes_picture(X[box], *scale), lit=np.repeat(won, 3 // won.shape[2], 2), **grid))
    grad_max, grad_avg = (g[box][0].mean(axis=0) for g in grads)
    top_grad = max(float(grad_max.max()), float(grad_avg.max()), 1e-6)
    pictures += [window_grid(colorize(g, False, 0.0, top_grad)[0], **grid) for g in (grad_max, grad_avg)]
    return pictures, limit, top_grad
