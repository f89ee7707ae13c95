"""A mini-batch from one image, and what a conv layer makes of it.

Batch normalization needs a batch, but the student brings one picture. So we do what data augmentation does in
training: cut N random square crops out of the picture, flip some of them left-right, and change their
brightness and contrast a little. Everything is drawn from a seeded random generator, so the same seed gives the
same batch. The crops then pass through one conv layer whose C filters are hand-made kernels from
`cnn_core.kernels`, giving the (N, C, H, W) tensor that batch normalization works on.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from cnn_core import render
from cnn_core.conv import conv2d
from cnn_core.errors import CnnError
from cnn_core.kernels import KERNELS, get_kernel
from cnn_core.norm import channel_stats

WORK_SIDE = 160  # the picture is resized so its longer side is this many pixels: small tensors, fast reruns
LAYER_KERNELS = tuple(name for name, K in KERNELS.items() if K.shape == (3, 3))  # one conv layer: all 3×3
SMALLEST_CROP = 8  # pixels: a 3×3 conv then leaves 6×6 maps, still a picture


class BatchError(CnnError):
    """A mini-batch that cannot be made from this picture or with these settings."""


def fit_crop(picture_shape: tuple[int, int], wanted: int, smallest: int = SMALLEST_CROP) -> int:
    """The crop side actually used: `wanted`, or the picture's shorter side when that is smaller.

    Raises BatchError ("picture_too_narrow") when even that is below `smallest` pixels.
    """
    height, width = picture_shape
    crop = min(wanted, height, width)
    if crop < smallest:
        raise BatchError(f"The picture is {height} × {width} pixels after scaling, too narrow to cut crops of at "
                         f"least {smallest} pixels from. Use a picture that is less long and thin.",
                         "picture_too_narrow", h=height, w=width, least=smallest)
    return crop


def fit_side(gray: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    """Resize an (H, W) picture (up or down, keeping its shape) so its longer side is `side` pixels.

    Lanczos resampling on float values, clipped back to [0, 1] (it overshoots slightly at edges).
    """
    gray = np.asarray(gray, dtype=np.float32)
    height, width = gray.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return gray.copy()
    picture = Image.fromarray(gray, mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(picture, dtype=np.float32), 0.0, 1.0)


@dataclass(frozen=True)
class Augmentation:
    """How one sample of the batch was made from the picture."""

    top: int  # the crop's top-left corner
    left: int
    size: int  # the crop is size × size
    flipped: bool  # mirrored left-right
    brightness: float  # every pixel × this factor
    contrast: float  # distance from the crop's mean × this factor


def sample_augmentations(image_shape: tuple[int, int], batch_size: int, crop_size: int, seed=0, flip: bool = True,
                         brightness: float = 0.3, contrast: float = 0.3) -> list[Augmentation]:
    """Draw the random settings of `batch_size` samples. Factors are uniform in [1 − jitter, 1 + jitter].

    seed: an int or a tuple of ints (e.g. (seed, step)); the same seed always gives the same batch.
    """
    height, width = image_shape
    if batch_size < 1:
        raise BatchError(f"A batch needs at least one sample, not {batch_size}.", "no_samples", n=batch_size)
    if not 1 <= crop_size <= min(height, width):
        raise BatchError(f"A crop of {crop_size}×{crop_size} pixels does not fit in a {height}×{width} picture. "
                         f"Choose a crop of at most {min(height, width)} pixels.", "crop_too_big", crop=crop_size,
                         h=height, w=width, most=min(height, width))
    rng = np.random.default_rng(seed)
    tops = rng.integers(0, height - crop_size + 1, size=batch_size)
    lefts = rng.integers(0, width - crop_size + 1, size=batch_size)
    flips = rng.random(batch_size) < 0.5 if flip else np.zeros(batch_size, dtype=bool)
    bright = rng.uniform(1 - brightness, 1 + brightness, size=batch_size)
    contr = rng.uniform(1 - contrast, 1 + contrast, size=batch_size)
    return [Augmentation(int(tops[n]), int(lefts[n]), crop_size, bool(flips[n]), float(bright[n]), float(contr[n]))
            for n in range(batch_size)]


def augment(gray: np.ndarray, a: Augmentation) -> np.ndarray:
    """One sample: crop, maybe flip, brightness (×), then contrast around the crop's mean; clipped to [0, 1]."""
    crop = gray[a.top : a.top + a.size, a.left : a.left + a.size]  # (S, S)
    if a.flipped:
        crop = crop[:, ::-1]
    mean = float(crop.mean()) * a.brightness  # the mean after the brightness change
    # brightness: b·x;  contrast: (b·x − mean)·k + mean  =  x·(b·k) + mean·(1 − k)
    out = crop * np.float32(a.brightness * a.contrast) + np.float32(mean * (1 - a.contrast))
    return np.clip(out, 0.0, 1.0, out=out)


def make_batch(gray: np.ndarray, batch_size: int, crop_size: int, seed=0, **jitter) -> np.ndarray:
    """A mini-batch (N, 1, S, S) of augmented crops of one (H, W) grayscale picture (see `sample_augmentations`)."""
    gray = np.asarray(gray, dtype=np.float32)
    settings = sample_augmentations(gray.shape, batch_size, crop_size, seed, **jitter)
    return np.stack([augment(gray, a) for a in settings])[:, None]  # (N, 1, S, S)


def kernel_bank(names) -> np.ndarray:
    """The weight of a conv layer with one output channel per named 3×3 kernel: (C, 1, 3, 3)."""
    names = list(names)
    if not names:
        raise BatchError("Choose at least one kernel: each kernel makes one channel.", "no_kernels")
    for name in names:
        if get_kernel(name).shape != (3, 3):
            raise BatchError(f"Kernel '{name}' is not 3×3; this layer takes: {', '.join(LAYER_KERNELS)}.",
                             "kernel_not_3x3", name=name)
    return np.stack([get_kernel(name) for name in names])[:, None]  # (C, 1, 3, 3)


def conv_layer(batch: np.ndarray, names) -> np.ndarray:
    """(N, 1, S, S) crops → (N, C, S − 2, S − 2) feature maps, one channel per kernel, no padding, no bias."""
    return conv2d(batch, kernel_bank(names))


def stream_stats(gray: np.ndarray, names, batch_size: int, crop_size: int, steps: int, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Batch statistics of `steps` consecutive training batches: batch t uses seed (seed, 0, t).

    Returns per-step batch means (T, C), biased batch variances (T, C) and m = N·H·W per channel.
    """
    means, variances, count = [], [], 0
    together = max(1, 64 // batch_size)  # several small batches share one conv call (fewer, larger products)
    for first in range(0, steps, together):
        group = range(first, min(first + together, steps))
        crops = np.concatenate([make_batch(gray, batch_size, crop_size, seed=(seed, 0, t)) for t in group])
        maps = conv_layer(crops, names)  # (len(group)·N, C, H, W)
        for k in range(len(group)):
            mean, var, count = channel_stats(maps[k * batch_size : (k + 1) * batch_size])  # batch t alone
            means.append(mean)
            variances.append(var)
    return np.array(means), np.array(variances), count


@dataclass(frozen=True)
class Population:
    """The 'true' statistics of the feature maps over many augmented crops: what running estimates aim at."""

    mean: np.ndarray  # (C,) mean over every value of every crop
    var: np.ndarray  # (C,) variance over every value of every crop
    crop_means: np.ndarray  # (P, C) each crop's own mean per channel
    crop_vars: np.ndarray  # (P, C) each crop's own (biased) variance per channel


def population_stats(gray: np.ndarray, names, crop_size: int, seed: int = 0, samples: int = 256,
                     chunk: int = 32) -> Population:
    """Statistics over `samples` crops (drawn with seeds (seed, 1, k), apart from the training stream).

    All crops have the same size, so the overall mean is the mean of the crop means, and the overall variance
    is the mean within-crop variance plus the variance of the crop means (law of total variance).
    """
    crop_means, crop_vars = [], []
    for k, start in enumerate(range(0, samples, chunk)):
        x = conv_layer(make_batch(gray, min(chunk, samples - start), crop_size, seed=(seed, 1, k)), names)
        rows = x.reshape(x.shape[0], x.shape[1], -1).astype(np.float64)  # (n, C, H·W)
        crop_means.append(rows.mean(axis=2))
        crop_vars.append(rows.var(axis=2))
    crop_means, crop_vars = np.concatenate(crop_means), np.concatenate(crop_vars)  # (P, C)
    mean = crop_means.mean(axis=0)
    var = crop_vars.mean(axis=0) + crop_means.var(axis=0)
    return Population(mean, var, crop_means, crop_vars)


GAP_COLOR = (250, 250, 250)
BOX_COLOR = (255, 140, 0)


def _grid_indices(x: np.ndarray, samples: int | None, highlight: int | None, vmin: float | None,
                  vmax: float | None, cmap: str | None, cell: int, gap: int,
                  signed: bool | None) -> tuple[np.ndarray, np.ndarray]:
    """The grid as an (H, W) uint8 index picture and its (256, 3) palette (indexed PNGs encode ~4× faster).

    Every colour map a row uses gets 254 // (number of maps) levels of the palette; 254 is the gap, 255 the box.
    """
    x = np.asarray(x, dtype=np.float32)
    N, C, H, W = x.shape
    shown = N if samples is None else max(1, min(samples, N))
    factor = max(1, round(cell / max(H, W)))
    h, w = H * factor, W * factor
    rows = []  # (signed, lo, hi, colour map) per channel
    for c in range(C):
        row_signed = bool(x[:, c].min() < 0) if signed is None else signed
        lo, hi = render.value_range(x[:, c], row_signed)  # the scale of the whole channel, all N samples
        lo, hi = (lo if vmin is None else vmin), (hi if vmax is None else vmax)
        rows.append((lo, hi, cmap or (render.SIGNED_CMAP if row_signed else render.UNSIGNED_CMAP)))
    maps = list(dict.fromkeys(row[2] for row in rows))
    levels = 254 // len(maps)
    palette = np.zeros((256, 3), dtype=np.uint8)
    for k, name in enumerate(maps):
        ramp = np.linspace(0, 1, levels, dtype=np.float32)[None]
        palette[k * levels : (k + 1) * levels] = render.colorize(ramp, False, 0.0, 1.0, name)[0][0]
    palette[254], palette[255] = GAP_COLOR, BOX_COLOR
    picture = np.full((gap + C * (h + gap), gap + shown * (w + gap)), 254, dtype=np.uint8)
    for c, (lo, hi, name) in enumerate(rows):
        level = np.clip((x[:shown, c] - lo) * ((levels - 1) / max(hi - lo, 1e-12)), 0, levels - 1)  # (n, H, W)
        index = (np.rint(level) + maps.index(name) * levels).astype(np.uint8)
        index = index.repeat(factor, axis=1).repeat(factor, axis=2)
        top = gap + c * (h + gap)
        for n in range(shown):
            left = gap + n * (w + gap)
            picture[top : top + h, left : left + w] = index[n]
    if highlight is not None and 0 <= highlight < C and gap >= 2:
        top = gap + highlight * (h + gap)  # the box lies in the gap around the row, covering no pixel of a map
        picture = render.draw_box(picture, top - 1, gap - 1, h + 2, shown * (w + gap) - gap + 2,
                                  color=255, thickness=gap - 1)
    return picture, palette


def batch_grid(x: np.ndarray, samples: int | None = None, highlight: int | None = None,
               vmin: float | None = None, vmax: float | None = None, cmap: str | None = None,
               cell: int = 72, gap: int = 4, signed: bool | None = None) -> np.ndarray:
    """A picture (H, W, 3) uint8 of an (N, C, H, W) tensor: one row per channel c, one column per sample n.

    Each row has its own colour scale, shared by all samples (so samples can be compared); pass vmin/vmax to
    give every row the same scale (signed=True: the diverging map even where a row has no negative value).
    Maps are enlarged by a whole factor to about `cell` pixels. `highlight` draws a box around one channel's
    row: exactly the N·H·W values its μ_B and σ²_B are computed over. Only the first `samples` columns are drawn.
    """
    indices, palette = _grid_indices(x, samples, highlight, vmin, vmax, cmap, cell, gap, signed)
    return palette[indices]


def batch_grid_png(x: np.ndarray, **options) -> tuple[bytes, int]:
    """`batch_grid` as PNG bytes (an indexed PNG: the same pixels, encoded several times faster), and its width."""
    defaults = dict(samples=None, highlight=None, vmin=None, vmax=None, cmap=None, cell=72, gap=4, signed=None)
    indices, palette = _grid_indices(x, **{**defaults, **options})
    picture = Image.fromarray(indices, mode="P")
    picture.putpalette(palette.ravel().tolist())
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue(), indices.shape[1]


def batch_mean_spread(crop_std: float, max_batch: int) -> np.ndarray:
    """How much μ_B moves from batch to batch for N = 1 … max_batch: s/√N, with s the spread of single crops'
    means (the means of N independent crops average their noise away like 1/√N)."""
    return crop_std / np.sqrt(np.arange(1, max_batch + 1))
