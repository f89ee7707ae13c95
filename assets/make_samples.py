"""Draw the four sample pictures in assets/ from code (numpy + Pillow only).

    .venv/bin/python assets/make_samples.py

writes scene.png, shapes.png, digit.png and texture.png next to this file. The
pictures are made from noise with fixed seeds, so every run gives the same
pixels; no photograph or outside artwork is involved (see assets/README.md).

The recipes use a few tricks worth knowing:
- "fractal noise": random values on a coarse grid, smoothly enlarged, added at
  several grid sizes (octaves). Mountains, clouds, grain and fibres all come
  from it.
- supersampling: shapes are drawn at 3–4x the final size and shrunk with a box
  filter, which gives smooth (anti-aliased) edges for free.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SEED = 20240617
ASSETS = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def rng_for(name: str) -> np.random.Generator:
    """One generator per picture, so changing one recipe leaves the others' pixels alone."""
    return np.random.default_rng([SEED, sum(map(ord, name))])


def smooth_noise(rng, height: int, width: int, cells_y: int, cells_x: int) -> np.ndarray:
    """Random values on a (cells_y+1)×(cells_x+1) grid, smoothly enlarged to height×width."""
    grid = rng.random((cells_y + 1, cells_x + 1), dtype=np.float32)
    return np.asarray(Image.fromarray(grid).resize((width, height), Image.Resampling.BICUBIC))


def fractal_noise(rng, height, width, cells_y, cells_x, octaves=5, persistence=0.5) -> np.ndarray:
    """Sum of smooth noise at doubling grid sizes and shrinking strengths, scaled to [0, 1]."""
    total = np.zeros((height, width), np.float32)
    strength = 1.0
    for octave in range(octaves):
        scale = 2**octave
        total += strength * smooth_noise(rng, height, width, cells_y * scale, cells_x * scale)
        strength *= persistence
    return (total - total.min()) / (total.max() - total.min())


def smoothstep(edge0, edge1, x):
    """0 below edge0, 1 above edge1, a smooth S-curve in between (edges may be reversed)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def paint(canvas: np.ndarray, colour, coverage: np.ndarray) -> None:
    """Lay `colour` (RGB 0–255, or an H×W×3 array) over `canvas` where coverage is 1, in place."""
    canvas += (np.asarray(colour, np.float32) - canvas) * coverage[..., np.newaxis]


def drawn_mask(size: tuple[int, int], draw_shapes) -> np.ndarray:
    """Coverage (H×W, 0–1) of whatever draw_shapes(ImageDraw) draws in white."""
    mask = Image.new("L", size, 0)
    draw_shapes(ImageDraw.Draw(mask))
    return np.asarray(mask, np.float32) / 255


def shrink(canvas: np.ndarray, factor: int) -> np.ndarray:
    """Average factor×factor blocks: the supersampled picture at its final size."""
    height, width = canvas.shape[0] // factor, canvas.shape[1] // factor
    blocks = canvas[: height * factor, : width * factor].reshape(height, factor, width, factor, -1)
    return blocks.mean(axis=(1, 3)).squeeze()


def to_uint8(canvas: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# scene.png — a lake below mountains at late afternoon
# ---------------------------------------------------------------------------


def make_scene(width=768, height=512, supersample=3) -> Image.Image:
    rng = rng_for("scene")
    S = supersample
    W, H = width * S, height * S
    y = np.arange(H, dtype=np.float32)[:, None] / S  # coordinates in final pixels
    x = np.arange(W, dtype=np.float32)[None, :] / S
    waterline = 0.64 * height
    sun_x, sun_y, sun_r = 0.72 * width, 0.22 * height, 17

    # Sky: deep blue overhead to warm haze at the horizon, with the sun's glow.
    t = np.clip(y / waterline, 0, 1) ** 1.4
    canvas = np.empty((H, W, 3), np.float32)
    canvas[:] = (1 - t)[..., None] * np.array([38, 86, 160]) + t[..., None] * np.array([236, 206, 170])
    sun_distance = np.hypot(x - sun_x, y - sun_y)
    paint(canvas, (255, 236, 196), 0.75 * np.exp(-sun_distance / 70))

    # Clouds: thresholded fractal noise, stretched sideways, thinning towards the horizon.
    cloud_noise = fractal_noise(rng, H, W, 6, 3, octaves=6)
    cloud = smoothstep(0.52, 0.78, cloud_noise) * smoothstep(0.62 * waterline, 0.1 * waterline, y)
    cloud_shade = 1 - 0.25 * fractal_noise(rng, H, W, 8, 5, octaves=4)
    paint(canvas, np.array([250, 244, 236]) * cloud_shade[..., None], 0.85 * cloud)
    paint(canvas, (255, 252, 235), smoothstep(sun_r + 1.0, sun_r - 1.0, sun_distance))

    # Three mountain ranges, far (pale and blue, with snow) to near (dark and green).
    ranges = [  # base height, ridge amplitude, colour, haze, snow
        (0.50 * height, 0.30 * height, (122, 132, 160), 0.22, True),
        (0.56 * height, 0.20 * height, (74, 90, 112), 0.12, False),
        (0.61 * height, 0.12 * height, (44, 72, 52), 0.04, False),
    ]
    for base, amplitude, colour, haze, snowy in ranges:
        ridge = base - amplitude * fractal_noise(rng, 1, W, 0, 3, octaves=7, persistence=0.55)
        inside = smoothstep(ridge - 0.7, ridge + 0.7, y)
        # Light from the sun's side (the right): slopes of the ridge that face right are
        # lit, those facing left are in shade, fading out further down; rock noise,
        # compared left and right of each pixel, adds smaller bumps.
        smooth_ridge = np.convolve(ridge[0], np.ones(10 * S) / (10 * S), mode="same")
        facing_sun = np.tanh(1.5 * np.gradient(smooth_ridge) * S)
        below = np.clip(y - ridge, 0, None) / amplitude  # 0 at the ridge, ~1 at the foot
        wander = (fractal_noise(rng, H, W, 4, 12, octaves=3) - 0.5) * 40 * S * below  # gullies meander
        facing_sun = facing_sun[np.clip(np.arange(W) + wander.astype(int), 0, W - 1)]
        fade = np.exp(-below / 0.5)
        rock = fractal_noise(rng, H, W, 6, 9, octaves=6, persistence=0.6)
        bumps = np.clip(np.roll(rock, -2 * S, axis=1) - np.roll(rock, 2 * S, axis=1), -0.15, 0.15) / 0.15
        relief = np.clip(0.5 * facing_sun * fade + 0.5 * bumps, -1, 1)
        shade = 0.78 + 0.32 * relief + 0.2 * rock
        surface = np.array(colour) * shade[..., None]
        paint(surface, (255, 214, 170), 0.18 * np.clip(relief, 0, 1))  # warm evening light
        if snowy:
            snow_line = base - 0.58 * amplitude + 14 * fractal_noise(rng, H, W, 10, 30, octaves=3)
            snow = smoothstep(snow_line + 1, snow_line - 1, y) * smoothstep(-0.1, 0.3, relief + 0.2)
            paint(surface, (238, 242, 250), snow)
        mist = haze + 0.35 * smoothstep(ridge.min(), waterline, y)  # valleys fill with haze
        paint(surface, (214, 212, 214), np.clip(mist, 0, 1))
        paint(canvas, surface, inside)

    # A dark line of small fir trees along the far shore.
    def far_trees(draw):
        tree_x = 0.0
        while tree_x < width:
            tree_h = rng.uniform(4, 13)
            half = tree_h * rng.uniform(0.22, 0.32)
            draw.polygon([((tree_x - half) * S, waterline * S), (tree_x * S, (waterline - tree_h) * S),
                          ((tree_x + half) * S, waterline * S)], fill=255)
            tree_x += rng.uniform(1.5, 5)
        draw.rectangle([0, (waterline - 2.5) * S, W, waterline * S], fill=255)

    paint(canvas, (34, 52, 40), drawn_mask((W, H), far_trees))

    # The lake: the picture above mirrored in the waterline, broken up by ripples.
    water_rows = np.arange(int(waterline * S), H)
    depth = (water_rows / S - waterline) / (height - waterline)  # 0 at the shore, 1 at the bottom edge
    ripple = fractal_noise(rng, len(water_rows), W, 40, 3, octaves=4) - 0.5
    shift = np.rint(ripple * (2 + 14 * depth[:, None]) * S).astype(int)
    source_rows = np.clip(2 * int(waterline * S) - water_rows, 0, None)
    source_cols = np.clip(np.arange(W)[None, :] + shift, 0, W - 1)
    reflection = canvas[source_rows[:, None], source_cols] * 0.78
    reflectivity = (0.8 - 0.4 * depth)[:, None, None]
    water = reflectivity * reflection + (1 - reflectivity) * np.array([20, 46, 66])
    sparkle = fractal_noise(rng, len(water_rows), W, 60, 40, octaves=2)
    glints = smoothstep(0.6, 0.8, sparkle) * np.exp(-(((x - sun_x) / 30) ** 2)) * (0.3 + 0.7 * depth[:, None])
    paint(water, (255, 240, 205), np.clip(glints * 1.2, 0, 0.9))
    canvas[water_rows] = water

    # A grassy bank in the front left, with fir trees and a red cabin.
    def bank_outline(draw):
        edge = [(i / 40 * 0.48 * width, 0.84 * height + 0.16 * height * (i / 40) ** 2.2) for i in range(41)]
        draw.polygon([(px * S, py * S) for px, py in [(0, 0.8 * height), *edge, (0, height)]], fill=255)

    bank = drawn_mask((W, H), bank_outline)
    grass = fractal_noise(rng, H, W, 30, 45, octaves=4)
    grass_colour = np.array([78, 112, 46]) * (0.7 + 0.5 * grass[..., None]) * (1.15 - 0.35 * y[..., None] / height)
    paint(canvas, grass_colour, bank)

    cabin_left, cabin_right, cabin_base = 0.17 * width, 0.27 * width, 0.875 * height
    cabin_top, roof_peak = cabin_base - 34, cabin_base - 58

    def cabin_walls(draw):
        draw.rectangle([cabin_left * S, cabin_top * S, cabin_right * S, cabin_base * S], fill=255)

    def cabin_roof(draw):
        draw.polygon([((cabin_left - 6) * S, (cabin_top + 2) * S), ((cabin_left + cabin_right) / 2 * S, roof_peak * S),
                      ((cabin_right + 6) * S, (cabin_top + 2) * S)], fill=255)
        draw.rectangle([(cabin_right - 20) * S, (roof_peak + 4) * S, (cabin_right - 14) * S, (cabin_top - 4) * S],
                       fill=255)  # chimney

    def cabin_openings(draw):
        door_x = cabin_left + 12
        draw.rectangle([door_x * S, (cabin_base - 20) * S, (door_x + 10) * S, cabin_base * S], fill=255)

    def cabin_window(draw):
        draw.rectangle([(cabin_right - 30) * S, (cabin_top + 9) * S, (cabin_right - 14) * S, (cabin_top + 21) * S],
                       fill=255)

    boards = 0.9 + 0.1 * (np.sin(x * 2 * np.pi / 3.5) > 0)  # vertical wooden boards
    sunlit = 1 + 0.12 * (x - cabin_left) / (cabin_right - cabin_left)
    paint(canvas, np.array([150, 38, 30]) * (boards * sunlit)[..., None], drawn_mask((W, H), cabin_walls))
    paint(canvas, (58, 42, 40), drawn_mask((W, H), cabin_roof))
    paint(canvas, (60, 30, 24), drawn_mask((W, H), cabin_openings))
    paint(canvas, (236, 212, 150), drawn_mask((W, H), cabin_window))

    def fir(draw, foot_x, foot_y, tree_h):
        """A fir tree: a trunk and four stacked, slightly ragged triangles."""
        half = 0.22 * tree_h
        draw.rectangle([(foot_x - 2) * S, (foot_y - 0.15 * tree_h) * S, (foot_x + 2) * S, foot_y * S], fill=255)
        for tier in range(4):
            tier_bottom = foot_y - 0.12 * tree_h - tier * 0.2 * tree_h
            tier_top = tier_bottom - 0.42 * tree_h
            tier_half = half * (1 - 0.2 * tier) * rng.uniform(0.9, 1.1)
            draw.polygon([((foot_x - tier_half) * S, tier_bottom * S), (foot_x * S, tier_top * S),
                          ((foot_x + tier_half) * S, tier_bottom * S)], fill=255)

    for foot_x, tree_h in [(30, 150), (62, 118), (100, 96), (250, 64)]:
        foot_y = 0.84 * height + 0.16 * height * (foot_x / (0.48 * width)) ** 2.2 + 6
        tree = drawn_mask((W, H), lambda draw, fx=foot_x, fy=foot_y, th=tree_h: fir(draw, fx, fy, th))
        needles = fractal_noise(rng, H, W, 40, 60, octaves=3)
        lit = np.clip(0.75 + 0.5 * (x - foot_x) / (0.22 * tree_h), 0.6, 1.2)  # sun from the right
        paint(canvas, np.array([30, 66, 40]) * (lit * (0.75 + 0.5 * needles))[..., None], tree)

    # Camera-like finish: shrink (anti-aliasing), soft vignette, fine grain.
    picture = shrink(canvas, S)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    corner = ((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2) / 0.5
    picture *= (1 - 0.22 * corner)[..., None]
    grain = rng.normal(0, 2.2, (height, width, 1)) + rng.normal(0, 1.0, (height, width, 3))
    return Image.fromarray(to_uint8(picture + grain))


# ---------------------------------------------------------------------------
# shapes.png — a test chart of crisp edges in every direction
# ---------------------------------------------------------------------------

BLACK, WHITE = (0, 0, 0), (255, 255, 255)
RED, BLUE, GREEN, YELLOW, MAGENTA = (228, 30, 36), (20, 70, 220), (0, 160, 80), (255, 200, 0), (210, 0, 160)


def make_shapes(size=512, supersample=4) -> Image.Image:
    """A 3×3 grid of 160-pixel cells, each a classic edge-detector test pattern."""
    S = supersample
    picture = Image.new("RGB", (size * S, size * S), WHITE)
    draw = ImageDraw.Draw(picture)
    cell, margin = 160, 16

    def box(row, col, inset=12):
        """Corners (in supersampled pixels) of a grid cell, shrunk by `inset`."""
        left, top = margin + col * cell + inset, margin + row * cell + inset
        return [left * S, top * S, (left + cell - 2 * inset) * S, (top + cell - 2 * inset) * S]

    def centre(row, col):
        left, top, right, bottom = box(row, col)
        return (left + right) / 2, (top + bottom) / 2

    # Row 0: a target of rings, striped patches at 0°, 45°, 90° and 135°, a red triangle.
    cx, cy = centre(0, 0)
    for radius, colour in [(66, BLACK), (50, WHITE), (34, BLACK), (18, RED)]:
        draw.ellipse([cx - radius * S, cy - radius * S, cx + radius * S, cy + radius * S], fill=colour)

    left, top, right, bottom = box(0, 1)
    half = (right - left) / 2
    for index, angle in enumerate([0, 45, 90, 135]):
        patch_left, patch_top = left + (index % 2) * half, top + (index // 2) * half
        patch = stripes(int(half) - 4 * S, period=12 * S, angle_degrees=angle)
        picture.paste(patch, (int(patch_left) + 2 * S, int(patch_top) + 2 * S))

    left, top, right, bottom = box(0, 2)
    draw.polygon([((left + right) / 2, top), (right, bottom), (left, bottom)], fill=RED)

    # Row 1: a checkerboard, a blue square turned 20° with a white hole, a radial "Siemens star".
    left, top, right, bottom = box(1, 0)
    square = (right - left) / 8
    for i in range(8):
        for j in range(8):
            if (i + j) % 2 == 0:
                draw.rectangle([left + j * square, top + i * square, left + (j + 1) * square - 1,
                                top + (i + 1) * square - 1], fill=BLACK)

    cx, cy = centre(1, 1)
    for half_side, colour in [(60, BLUE), (26, WHITE)]:
        draw.polygon(turned_square(cx, cy, half_side * S, 20), fill=colour)

    cx, cy = centre(1, 2)
    radius = 66 * S
    for wedge in range(0, 360, 20):  # 18 black wedges, 10° wide
        draw.pieslice([cx - radius, cy - radius, cx + radius, cy + radius], wedge, wedge + 10, fill=BLACK)

    # Row 2: a yellow card with a thick black frame, a green disc on black, a magenta star.
    left, top, right, bottom = box(2, 0)
    draw.rectangle([left, top + 16 * S, right, bottom - 16 * S], fill=BLACK)
    draw.rectangle([left + 10 * S, top + 26 * S, right - 10 * S, bottom - 26 * S], fill=YELLOW)
    draw.ellipse([left + 24 * S, top + 44 * S, left + 72 * S, top + 92 * S], fill=BLACK)

    left, top, right, bottom = box(2, 1)
    draw.rectangle([left, top, right, bottom], fill=BLACK)
    cx, cy = centre(2, 1)
    draw.ellipse([cx - 46 * S, cy - 46 * S, cx + 46 * S, cy + 46 * S], fill=GREEN)

    cx, cy = centre(2, 2)
    draw.polygon(star_points(cx, cy, 68 * S, 28 * S, points=5), fill=MAGENTA)

    return picture.resize((size, size), Image.Resampling.BOX)  # 4×4 average: smooth edges


def stripes(side: int, period: int, angle_degrees: float) -> Image.Image:
    """A side×side patch of black and white stripes, `period` pixels apart, at an angle."""
    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    angle = np.deg2rad(angle_degrees)
    across = x * np.cos(angle) + y * np.sin(angle)  # distance along the stripes' normal
    return Image.fromarray(np.where((across // (period / 2)) % 2 == 0, 0, 255).astype(np.uint8)).convert("RGB")


def turned_square(cx, cy, half_side, angle_degrees):
    """The four corners of a square centred on (cx, cy), turned by angle_degrees."""
    angle = np.deg2rad(angle_degrees)
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    return [(cx + half_side * (u * np.cos(angle) - v * np.sin(angle)),
             cy + half_side * (u * np.sin(angle) + v * np.cos(angle))) for u, v in corners]


def star_points(cx, cy, outer, inner, points):
    """Corners of a star: alternating outer and inner radii, first tip pointing up."""
    corners = []
    for k in range(2 * points):
        radius = outer if k % 2 == 0 else inner
        angle = -np.pi / 2 + k * np.pi / points
        corners.append((cx + radius * np.cos(angle), cy + radius * np.sin(angle)))
    return corners


# ---------------------------------------------------------------------------
# digit.png — a handwritten "3", prepared the way MNIST digits were
# ---------------------------------------------------------------------------

# Where a pen goes to write a "3" on a 100×140 card: top hook, the middle
# notch, then the bigger lower bowl ending in a flick to the left.
THREE_STROKE = [(18, 30), (32, 12), (56, 8), (76, 20), (78, 42), (62, 60), (42, 66), (60, 70),
                (82, 86), (84, 110), (66, 130), (40, 134), (16, 120)]


def make_digit(canvas=280, final=28, box=20) -> Image.Image:
    """A white-on-black "3": drawn large with a jittery round pen, then shrunk MNIST-style.

    MNIST's recipe: fit the digit into a 20×20 box keeping its shape (which
    anti-aliases it into gray levels), then place it in a 28×28 picture so its
    centre of mass is at the centre.
    """
    rng = rng_for("digit")
    scale = canvas / 160
    # Hand-drawn look: move every point a little, slant the letter, follow a smooth curve.
    jittered = np.array(THREE_STROKE, np.float64) + rng.normal(0, 2.2, (len(THREE_STROKE), 2))
    slant = 0.18  # writing leans right: x moves right as y goes up
    path = catmull_rom(jittered, samples_per_segment=40)
    path[:, 0] += slant * (140 - path[:, 1])
    path = (path + 10) * scale

    ink = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(ink)
    pen = np.interp(np.linspace(0, 1, len(path)), [0, 0.1, 0.8, 1], [10, 12.5, 13, 9]) * scale  # pressure
    pen *= 1 + 0.06 * np.sin(np.linspace(0, 9, len(path)))
    for (px, py), radius in zip(path, pen, strict=True):  # a row of overlapping dots = a round-tipped pen
        draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=255)
    ink = ink.filter(ImageFilter.GaussianBlur(radius=0.8 * scale))  # soft ink edge

    # Fit into box×box, keeping the aspect ratio.
    ink = ink.crop(ink.getbbox())
    fit = box / max(ink.size)
    ink = ink.resize((max(1, round(ink.width * fit)), max(1, round(ink.height * fit))), Image.Resampling.LANCZOS)

    # Place it in final×final with its centre of mass at the centre.
    pixels = np.asarray(ink, np.float64)
    rows, cols = np.indices(pixels.shape)
    mass_y, mass_x = (rows * pixels).sum() / pixels.sum(), (cols * pixels).sum() / pixels.sum()
    digit = Image.new("L", (final, final), 0)
    digit.paste(ink, (round(final / 2 - mass_x), round(final / 2 - mass_y)))
    return digit


def catmull_rom(points: np.ndarray, samples_per_segment: int) -> np.ndarray:
    """A smooth curve through every point (Catmull-Rom spline), as a dense array of (x, y)."""
    padded = np.vstack([points[0], points, points[-1]])  # repeat the ends so the curve reaches them
    t = np.linspace(0, 1, samples_per_segment, endpoint=False)[:, None]
    curve = []
    for p0, p1, p2, p3 in zip(padded, padded[1:], padded[2:], padded[3:], strict=False):
        curve.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                            + (3 * p1 - p0 - 3 * p2 + p3) * t**3))
    curve.append(points[-1:])
    return np.vstack(curve)


# ---------------------------------------------------------------------------
# texture.png — denim: a woven twill with structure at several scales
# ---------------------------------------------------------------------------


def make_texture(size=512, pitch=12, supersample=2) -> Image.Image:
    """Indigo warp threads (vertical) and pale weft threads (horizontal) in a 3/1 twill.

    Scales a CNN can find: fibres (1–2 px), threads (`pitch` px), the diagonal
    twill lines (every 4 threads), thread thickness changes (~50 px) and faded
    patches (~200 px).
    """
    rng = rng_for("texture")
    S = supersample
    N = size * S
    y, x = np.mgrid[0:N, 0:N].astype(np.float32) / S  # final-pixel coordinates
    # Real threads are never perfectly straight: bend the grid a little.
    x = x + 1.5 * (fractal_noise(rng, N, N, 8, 8, octaves=3) - 0.5)
    y = y + 1.5 * (fractal_noise(rng, N, N, 8, 8, octaves=3) - 0.5)

    column, row = np.floor(x / pitch).astype(int), np.floor(y / pitch).astype(int)
    across_warp, across_weft = x / pitch - column, y / pitch - row  # 0..1 across each thread
    # 3/1 twill: each warp thread passes over three weft threads, then under one,
    # one step later on each row — which draws the diagonal lines of denim.
    warp_on_top = (column - row) % 4 < 3

    def thread_shading(across, along):
        """Round threads: bright along the middle, dark in the gaps, dipping where they go under."""
        roundness = np.sqrt(np.clip(1 - (2 * across - 1) ** 2, 0, 1)) ** 0.7
        return (0.35 + 0.65 * roundness) * (0.88 + 0.12 * np.sin(np.pi * along))

    threads = size // pitch + 2
    warp_tone = rng.uniform(0.85, 1.12, threads)[np.clip(column, 0, threads - 1)]  # each thread dyed a bit differently
    weft_tone = rng.uniform(0.92, 1.05, threads)[np.clip(row, 0, threads - 1)]
    warp_fibres = smooth_noise(rng, N, N, 12, 2 * size)  # streaks along vertical threads
    weft_fibres = smooth_noise(rng, N, N, 2 * size, 12)  # and along horizontal ones
    slubs = fractal_noise(rng, N, N, 10, 40, octaves=2)  # thicker and thinner stretches of yarn

    faded = fractal_noise(rng, N, N, 3, 3, octaves=4)
    indigo = np.array([30, 42, 78]) + faded[..., None] * np.array([48, 54, 62])  # worn patches are paler
    warp = indigo * (warp_tone * (0.8 + 0.35 * warp_fibres) * (0.9 + 0.2 * slubs))[..., None]
    warp *= thread_shading(across_warp, across_weft)[..., None]
    weft = np.array([196, 190, 174]) * (weft_tone * (0.85 + 0.25 * weft_fibres))[..., None]
    weft *= thread_shading(across_weft, across_warp)[..., None]

    cloth = np.where(warp_on_top[..., None], warp, weft)
    picture = shrink(cloth, S)
    grain = rng.normal(0, 2.0, picture.shape[:2] + (1,))
    return Image.fromarray(to_uint8(picture + grain))


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def main() -> None:
    pictures = {"scene.png": make_scene(), "shapes.png": make_shapes(), "digit.png": make_digit(), "texture.png": make_texture()}
    for name, picture in pictures.items():
        path = ASSETS / name
        picture.save(path, optimize=True)
        print(f"{name}: {picture.width}×{picture.height} {picture.mode}, {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
