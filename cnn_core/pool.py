"""Pooling: summarise each small window of a feature map by one number — its maximum, its mean, or its p-norm.

Max pooling keeps the strongest response in each window and *where* it was (the argmax, which is also where
the gradient flows back to); average pooling keeps the mean and spreads the gradient evenly over the window.
Pooling has no weights to learn. It shrinks the map (2×2 windows with stride 2 keep a quarter of the values)
and makes the output care less about exactly where inside a window something happened.

Every op mirrors `torch.nn.functional` (same names, arguments and NCHW layout), including torch's rules for
padding (at most half the window), `ceil_mode` (the last window may hang over the edge, but must start inside
the input or the left padding) and `count_include_pad`. Each has a readable loop (`*_naive`, window by window)
and a vectorised version the app runs; the tests prove them equal to each other and to PyTorch.
"""

from __future__ import annotations

import numpy as np

from cnn_core.conv import output_size, output_size_latex, pair
from cnn_core.errors import CnnError

POOL_TYPES = ("max", "avg", "lp")


class PoolError(CnnError):
    """Impossible pooling parameters: the message says what to change; `reason` + `details` for translations."""


def pool2d(X: np.ndarray, pool_size: tuple[int, int], mode: str = "max") -> np.ndarray:
    """d2l's pooling loop, to read: slide a p_h × p_w window with stride 1, keep its max or mean. X: (H, W).

    No padding, stride or NaN rules: `max_pool2d_naive` / `avg_pool2d_naive` below are the torch-exact versions.
    """
    if mode not in ("max", "avg"):
        raise PoolError(f"Unknown pooling mode '{mode}': use 'max' or 'avg'.", "bad_mode", mode=mode)
    p_h, p_w = pool_size
    if not (1 <= p_h <= X.shape[0] and 1 <= p_w <= X.shape[1]):
        raise PoolError(f"A {p_h}×{p_w} window does not fit in {X.shape[0]}×{X.shape[1]}.", "too_small",
                        span=max(p_h, p_w), padded=min(X.shape))
    Y = np.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1), dtype=np.float32)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i:i + p_h, j:j + p_w]
            Y[i, j] = window.max() if mode == "max" else window.mean()
    return Y


# --- Output size, with torch's ceil_mode rule ----------------------------------------------------------------------

def check_pool_args(n: int, kernel_size: int, stride: int, padding: int, dilation: int = 1) -> None:
    """Raise PoolError when one axis's pooling parameters are impossible (the same checks PyTorch makes)."""
    if kernel_size < 1:
        raise PoolError(f"The pooling window must be at least 1 pixel, not {kernel_size}.", "bad_kernel",
                        k=kernel_size)
    if stride < 1:
        raise PoolError(f"The stride must be at least 1, not {stride}.", "bad_stride", s=stride)
    if dilation < 1:
        raise PoolError(f"The dilation must be at least 1, not {dilation}.", "bad_dilation", d=dilation)
    if padding < 0:
        raise PoolError(f"Padding cannot be negative ({padding}).", "negative_padding", p=padding)
    if padding > kernel_size // 2:
        raise PoolError(
            f"Padding {padding} is more than half the {kernel_size}-pixel window, so an edge window could hold "
            f"mostly padding. Use padding {kernel_size // 2} or less, or a larger window.",
            "padding_too_big", p=padding, k=kernel_size, half=kernel_size // 2)
    span = dilation * (kernel_size - 1) + 1
    if n < 1 or span > n + 2 * padding:
        raise PoolError(
            f"A {span}-pixel window does not fit in the padded input ({n + 2 * padding} pixels). "
            f"Use a smaller window or add padding.", "too_small", span=span, padded=n + 2 * padding)


def ceil_correction(n: int, kernel_size: int, stride: int, padding: int = 0, dilation: int = 1) -> bool:
    """True when ceil_mode's rounding up would create a window that starts in the right padding — torch drops it."""
    span = dilation * (kernel_size - 1) + 1
    rounded_up = (n + 2 * padding - span + stride - 1) // stride + 1
    return (rounded_up - 1) * stride >= n + padding


def pool_output_size(n: int, kernel_size: int, stride: int | None = None, padding: int = 0, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """Output length along one axis, exactly as PyTorch's pooling computes it.

    floor mode: ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1 (the convolution formula, `cnn_core.conv.output_size`).
    ceil mode:  ⌈(n + 2p − d(k − 1) − 1) / s⌉ + 1, so a last window that hangs over the edge still counts —
                minus one if that last window would *start* in the right padding (it would see no input).
    """
    stride = kernel_size if stride is None else stride
    if not ceil_mode:
        check_pool_args(n, kernel_size, stride, padding, dilation)
        return output_size(n, kernel_size, stride, padding, dilation)
    if kernel_size < 1 or stride < 1 or dilation < 1 or padding < 0 or padding > kernel_size // 2:
        check_pool_args(n, kernel_size, stride, padding, dilation)  # raises the matching message
    span = dilation * (kernel_size - 1) + 1
    out = (n + 2 * padding - span + stride - 1) // stride + 1  # rounding up: ⌈a / s⌉ = ⌊(a + s − 1) / s⌋
    if (out - 1) * stride >= n + padding:  # the last window would start in the right padding
        out -= 1
    if out < 1:
        raise PoolError(
            f"A {span}-pixel window does not fit in the padded input ({n + 2 * padding} pixels). "
            f"Use a smaller window or add padding.", "too_small", span=span, padded=n + 2 * padding)
    return out


def pool_output_size_latex(n: int, kernel_size: int, stride: int | None = None, padding: int = 0,
                           dilation: int = 1, ceil_mode: bool = False) -> str:
    """The output-size formula with the numbers filled in, as LaTeX (floor, or ceil when ceil_mode)."""
    stride = kernel_size if stride is None else stride
    if not ceil_mode:
        return output_size_latex(n, kernel_size, stride, padding, dilation)
    span = dilation * (kernel_size - 1) + 1
    numerator = n + 2 * padding - span
    dilated = rf"{dilation}\cdot({kernel_size}-1)" if dilation != 1 else rf"({kernel_size}-1)"
    left = rf"\left\lceil \frac{{{n} + 2\cdot{padding} - {dilated} - 1}}{{{stride}}} \right\rceil + 1"
    rounded_up = -(-numerator // stride) + 1
    text = left + rf" = \left\lceil \frac{{{numerator}}}{{{stride}}} \right\rceil + 1 = {rounded_up}"
    if rounded_up >= 1 and ceil_correction(n, kernel_size, stride, padding, dilation):
        text += rf" \;\to\; {rounded_up - 1}"
    return text


def _axes(input, kernel_size, stride, padding, dilation):
    """Common argument handling: float32 (N, C, H, W) input plus (h, w) pairs; stride None → kernel_size."""
    X = np.asarray(input, dtype=np.float32)
    if X.ndim not in (3, 4):
        raise PoolError(f"Pooling expects an input of shape (N, C, H, W) or (C, H, W), not {X.shape}.",
                        "bad_input", shape=str(X.shape))
    unbatched = X.ndim == 3
    if unbatched:
        X = X[None]
    k = pair(kernel_size)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else pair(stride)
    return X, unbatched, k, s, pair(padding), pair(dilation)


# --- Max pooling ---------------------------------------------------------------------------------------------------

def max_pool2d_naive(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """The readable reference: visit every window, keep its largest value and where that value was.

    Y[n, c, i, j] = max over the window's pixels X[n, c, i·s − p + a·d, j·s − p + b·d] (pixels outside the input
    are padding and never win). Returns (Y, indices); an index is row·W + col in the unpadded input, like
    torch's `return_indices=True`. Ties go to the first pixel in reading order; a NaN always wins, as in torch.
    """
    X, unbatched, (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _axes(input, kernel_size, stride, padding, dilation)
    N, C, H, W = X.shape
    OH = pool_output_size(H, kh, sh, ph, dh, ceil_mode)
    OW = pool_output_size(W, kw, sw, pw, dw, ceil_mode)
    Y = np.empty((N, C, OH, OW), dtype=np.float32)
    indices = np.empty((N, C, OH, OW), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    top, left = i * sh - ph, j * sw - pw  # the window's corner, in input coordinates
                    rows = [top + a * dh for a in range(kh) if 0 <= top + a * dh < H]
                    cols = [left + b * dw for b in range(kw) if 0 <= left + b * dw < W]
                    # torch starts from the first real pixel of the window with value −∞ ...
                    first_row = top + -(-max(0, -top) // dh) * dh
                    first_col = left + -(-max(0, -left) // dw) * dw
                    best, where = -np.inf, first_row * W + first_col
                    for r in rows:  # ... and moves on to every pixel that is larger (or NaN)
                        for q in cols:
                            value = X[n, c, r, q]
                            if value > best or np.isnan(value):
                                best, where = value, r * W + q
                    Y[n, c, i, j], indices[n, c, i, j] = best, where
    return (Y[0], indices[0]) if unbatched else (Y, indices)


def _pad_for_windows(X, fill, k, s, p, d, out):
    """Pad (N, C, H, W) so every window fits: p before, and after as far as the last window reaches (ceil mode
    may reach beyond the usual padding). No copy when nothing is needed."""
    H, W = X.shape[2:]
    after_h = max(0, (out[0] - 1) * s[0] + d[0] * (k[0] - 1) + 1 - p[0] - H)
    after_w = max(0, (out[1] - 1) * s[1] + d[1] * (k[1] - 1) + 1 - p[1] - W)
    if p[0] == p[1] == after_h == after_w == 0:
        return X
    return np.pad(X, ((0, 0), (0, 0), (p[0], after_h), (p[1], after_w)), constant_values=fill)


def _taps(out: int, k: int, s: int, d: int) -> list[slice]:
    """For each of the k taps of a window: the strided slice of all windows' pixels at that tap along one axis."""
    return [slice(t * d, t * d + s * (out - 1) + 1, s) for t in range(k)]


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling like `torch.nn.functional.max_pool2d`: the largest value in each window.

    input: (N, C, H, W) or (C, H, W). Padding counts as −∞ (it never wins) and may be at most half the window.
    Vectorised: a max over a k×k window is a max over rows of a max over columns, so we take k strided slices
    along the height, then k along the width — 2k whole-array operations instead of a loop per window.
    With return_indices=True, also returns where each maximum came from (see `max_pool2d_with_indices`).
    """
    if return_indices:
        return max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    X, unbatched, k, s, p, d = _axes(input, kernel_size, stride, padding, dilation)
    H, W = X.shape[2:]
    OH = pool_output_size(H, k[0], s[0], p[0], d[0], ceil_mode)
    OW = pool_output_size(W, k[1], s[1], p[1], d[1], ceil_mode)
    Xp = _pad_for_windows(X, -np.inf, k, s, p, d, (OH, OW))  # (N, C, Hp, Wp)
    row_taps, col_taps = _taps(OH, k[0], s[0], d[0]), _taps(OW, k[1], s[1], d[1])
    R = Xp[:, :, row_taps[0]].copy()  # (N, C, OH, Wp): max over each window's rows ...
    for rows in row_taps[1:]:
        np.maximum(R, Xp[:, :, rows], out=R)
    Y = R[..., col_taps[0]].copy()  # (N, C, OH, OW): ... then over its columns
    for cols in col_taps[1:]:
        np.maximum(Y, R[..., cols], out=Y)
    return Y[0] if unbatched else Y


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max pooling plus the argmax map: for each output, the flat index row·W + col of the input pixel that won.

    Equal to torch's `max_pool2d(..., return_indices=True)`, tie-breaking included (first pixel in reading
    order; a NaN wins, the last one if several). These are the pixels the gradient flows back to:
    d(output)/d(input) is 1 at the winner and 0 at every other pixel of the window.
    Vectorised: first the maxima (`max_pool2d`), then for each of the k_h·k_w taps, from the last to the first,
    "does this tap hold the maximum?" — the first tap in reading order that does is left standing.
    """
    X, unbatched, k, s, p, d = _axes(input, kernel_size, stride, padding, dilation)
    N, C, H, W = X.shape
    Y = max_pool2d(X, k, s, p, d, ceil_mode)  # (N, C, OH, OW)
    OH, OW = Y.shape[2:]
    Xp = _pad_for_windows(X, -np.inf, k, s, p, d, (OH, OW))
    row_taps, col_taps = _taps(OH, k[0], s[0], d[0]), _taps(OW, k[1], s[1], d[1])
    taps = [(a, b) for a in range(k[0]) for b in range(k[1])]  # reading order inside a window
    tap = np.zeros(Y.shape, dtype=np.int32)  # which tap won
    here = np.empty(Y.shape, dtype=bool)
    for number in reversed(range(len(taps))):
        a, b = taps[number]
        np.equal(Xp[:, :, row_taps[a], col_taps[b]], Y, out=here)
        np.copyto(tap, number, where=here)
    if np.isnan(Y).any():  # torch moves on to every NaN it meets, so the last NaN in reading order wins
        for number, (a, b) in enumerate(taps):
            np.copyto(tap, number, where=np.isnan(Xp[:, :, row_taps[a], col_taps[b]]))
    top = np.arange(OH)[:, None] * s[0] - p[0]  # window corners in input coordinates, (OH, 1) and (1, OW)
    left = np.arange(OW)[None, :] * s[1] - p[1]
    corner = top * W + left  # (OH, OW) flat index of each window's corner
    offset = np.array([a * d[0] * W + b * d[1] for a, b in taps], dtype=np.int64)  # tap → flat step from it
    indices = corner + offset[tap]
    everything_minus_inf = Y == -np.inf
    if everything_minus_inf.any():  # nothing beat −∞: torch keeps its starting point, the first real pixel
        first_row = top + -(-np.maximum(0, -top) // d[0]) * d[0]
        first_col = left + -(-np.maximum(0, -left) // d[1]) * d[1]
        indices = np.where(everything_minus_inf, first_row * W + first_col, indices)
    return (Y[0], indices[0]) if unbatched else (Y, indices)


# --- Average pooling -----------------------------------------------------------------------------------------------

def _divisors(n: int, out: int, k: int, s: int, p: int, count_include_pad: bool) -> np.ndarray:
    """How many pixels each window along one axis divides by, as torch: windows are first clipped to the padded
    input (ceil mode may overhang it); without count_include_pad, clipped to the real input."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def avg_pool2d_naive(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """The readable reference: the mean of each window, Y = (1 / |window|) Σ X over the window's pixels.

    Padding adds zeros to the sum. The divisor is the window size k_h·k_w with count_include_pad=True, or only
    the real pixels with False. A ceil_mode window that hangs past the padding divides by its clipped size.
    """
    X, unbatched, (kh, kw), (sh, sw), (ph, pw), _ = _axes(input, kernel_size, stride, padding, 1)
    N, C, H, W = X.shape
    OH = pool_output_size(H, kh, sh, ph, 1, ceil_mode)
    OW = pool_output_size(W, kw, sw, pw, 1, ceil_mode)
    Y = np.empty((N, C, OH, OW), dtype=np.float32)
    for n in range(N):
        for c in range(C):
            for i in range(OH):
                for j in range(OW):
                    top, left = i * sh - ph, j * sw - pw
                    bottom, right = min(top + kh, H + ph), min(left + kw, W + pw)  # clipped to the padding
                    total, real = 0.0, 0
                    for r in range(max(top, 0), min(bottom, H)):
                        for q in range(max(left, 0), min(right, W)):
                            total += float(X[n, c, r, q])
                            real += 1
                    size = (bottom - top) * (right - left) if count_include_pad else real
                    Y[n, c, i, j] = total / size
    return Y[0] if unbatched else Y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Average pooling like `torch.nn.functional.avg_pool2d`: the mean of each window.

    Vectorised: sum k strided row slices, then k strided column slices of the zero-padded input, and divide by
    each window's size (a row factor × a column factor, see `_divisors`).
    """
    X, unbatched, k, s, p, _ = _axes(input, kernel_size, stride, padding, 1)
    H, W = X.shape[2:]
    OH = pool_output_size(H, k[0], s[0], p[0], 1, ceil_mode)
    OW = pool_output_size(W, k[1], s[1], p[1], 1, ceil_mode)
    Xp = _pad_for_windows(X, 0.0, k, s, p, (1, 1), (OH, OW))  # (N, C, Hp, Wp), zeros around
    row_taps, col_taps = _taps(OH, k[0], s[0], 1), _taps(OW, k[1], s[1], 1)
    R = Xp[:, :, row_taps[0]].copy()  # (N, C, OH, Wp): sum over each window's rows ...
    for rows in row_taps[1:]:
        np.add(R, Xp[:, :, rows], out=R)
    Y = R[..., col_taps[0]].copy()  # (N, C, OH, OW): ... then over its columns
    for cols in col_taps[1:]:
        np.add(Y, R[..., cols], out=Y)
    size = np.outer(_divisors(H, OH, k[0], s[0], p[0], count_include_pad),
                    _divisors(W, OW, k[1], s[1], p[1], count_include_pad)).astype(np.float32)
    Y /= size
    return Y[0] if unbatched else Y


# --- Power-average (Lp) pooling and adaptive (global) average pooling ----------------------------------------------

def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling like `torch.nn.functional.lp_pool2d`: (Σ_window x^p)^(1/p).

    p = 1 is the sum of the window, p = 2 its Euclidean length, and as p grows it tends to the max (of |x|).
    Computed as torch does: avg_pool2d of x^p times the window size, then the 1/p power. So a negative sum under
    a fractional power gives NaN, exactly like torch (use inputs ≥ 0 or an even p). p = ±∞ → max / min of |x|.
    """
    p = float(norm_type)
    if p == 0 or np.isnan(p):
        raise PoolError("The power p of Lp pooling cannot be 0 (it would need 1/0). Use p ≥ 1; p = 2 is common.",
                        "bad_norm", p=norm_type)
    if np.isinf(p):
        X = np.abs(np.asarray(input, dtype=np.float32))
        if p > 0:
            return max_pool2d(X, kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool2d(-X, kernel_size, stride, 0, 1, ceil_mode)
    kh, kw = pair(kernel_size)
    X = np.asarray(input, dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean_of_powers = avg_pool2d(np.power(X, np.float32(norm_type)), kernel_size, stride, 0, ceil_mode)
        return np.power(mean_of_powers * np.float32(kw * kh), np.float32(1.0 / norm_type))


def _adaptive_bounds(n: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's adaptive windows along one axis: start = ⌊i·n / out⌋, end = ⌈(i + 1)·n / out⌉."""
    i = np.arange(out)
    return (i * n) // out, -(-((i + 1) * n) // out)


def _adaptive_output_size(output_size, H: int, W: int) -> tuple[int, int]:
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise PoolError("The output size is one number or a pair (height, width).", "bad_output_size",
                            size=str(output_size))
        oh, ow = output_size
    else:
        oh = ow = output_size
    oh, ow = H if oh is None else int(oh), W if ow is None else int(ow)  # None keeps that side, as in torch
    if oh < 1 or ow < 1:
        raise PoolError(f"The output size must be at least 1×1, not {oh}×{ow}.", "bad_output_size",
                        size=f"{oh}×{ow}")
    return oh, ow


def adaptive_avg_pool2d_naive(input, output_size):
    """The readable reference: output (i, j) is the mean of input rows ⌊iH/OH⌋ … ⌈(i+1)H/OH⌉ − 1 and the same
    for columns. The windows adapt to the input so the output always has the size you ask for."""
    X = np.asarray(input, dtype=np.float32)
    unbatched = X.ndim == 3
    X = X[None] if unbatched else X
    N, C, H, W = X.shape
    OH, OW = _adaptive_output_size(output_size, H, W)
    (top, bottom), (left, right) = _adaptive_bounds(H, OH), _adaptive_bounds(W, OW)
    Y = np.empty((N, C, OH, OW), dtype=np.float32)
    for i in range(OH):
        for j in range(OW):
            Y[:, :, i, j] = X[:, :, top[i]:bottom[i], left[j]:right[j]].mean(axis=(2, 3), dtype=np.float64)
    return Y[0] if unbatched else Y


def adaptive_avg_pool2d(input, output_size):
    """Adaptive average pooling like `torch.nn.functional.adaptive_avg_pool2d`: you choose the output size.

    output_size = 1 is **global average pooling**: each channel's whole feature map becomes one number, its mean
    — the C numbers a classifier head reads. Vectorised: a rectangle's mean is the mean over its rows of the
    means over its columns, so we average once along the height and once along the width.
    """
    X = np.asarray(input, dtype=np.float32)
    unbatched = X.ndim == 3
    X = X[None] if unbatched else X
    if X.ndim != 4:
        raise PoolError(f"Pooling expects an input of shape (N, C, H, W) or (C, H, W), not {X.shape}.",
                        "bad_input", shape=str(X.shape))
    N, C, H, W = X.shape
    OH, OW = _adaptive_output_size(output_size, H, W)
    if (OH, OW) == (1, 1):
        # Global average pooling: add up the rows (whole rows at once, fast), then that row's columns.
        Y = X.sum(axis=2, keepdims=True).sum(axis=3, keepdims=True) / np.float32(H * W)
    else:
        rows = zip(*_adaptive_bounds(H, OH), strict=True)
        R = np.stack([X[:, :, a:b].mean(axis=2, dtype=np.float64) for a, b in rows], axis=2)  # (N, C, OH, W)
        cols = zip(*_adaptive_bounds(W, OW), strict=True)
        Y = np.stack([R[..., a:b].mean(axis=3) for a, b in cols], axis=3)  # (N, C, OH, OW)
    Y = Y.astype(np.float32)
    return Y[0] if unbatched else Y
