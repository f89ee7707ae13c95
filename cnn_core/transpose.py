"""Transposed convolution — how segmentation networks make a small map large again.

A convolution gathers: each output is a weighted sum of one input window. A transposed convolution scatters:
each *input* value adds a copy of the kernel, scaled by that value, onto the output, and where copies overlap
they add up. With stride s the copies land s pixels apart, so the output grows:

    o = (i − 1)·s − 2p + d·(k − 1) + output_padding + 1

(p now *crops* the output; output_padding adds back rows/columns on one side, because several input sizes give
the same size under a strided convolution and the transposed one must be told which.) The name: written as a
matrix product Y = C·X, a convolution with stride s, padding p has a matrix C; this op multiplies by Cᵀ. So it
maps a convolution's output shape back to its input shape and is exactly that convolution's gradient with respect
to its input — but it does *not* invert the convolution (it is not a "deconvolution").

Written three ways, all giving the same numbers as `torch.nn.functional.conv_transpose2d`:
`conv_transpose2d_naive` (the readable scatter loop, d2l's `trans_conv`), `conv_transpose2d` (one matrix product
plus col2im: the transpose of conv2d's im2col view — what the app runs), and `conv_transpose2d_as_conv`
(Dumoulin & Visin, "A guide to convolution arithmetic", 2016: an ordinary stride-1 convolution with the flipped
kernel over the input with s − 1 zeros inserted between its values and d(k − 1) − p zeros around it).
When k is not a multiple of s the copies overlap unevenly — the checkerboard of Odena et al. (Distill, 2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_core.conv import conv2d, flip_kernel, pair
from cnn_core.errors import CnnError


class TransposeError(CnnError):
    """Impossible transposed-convolution settings or shapes; `reason` + `details` let the app translate."""


# ---------------------------------------------------------------------------------------------------------------
# Output size
# ---------------------------------------------------------------------------------------------------------------

def _check_axis(kernel_size: int, stride: int, padding: int, output_padding: int, dilation: int) -> None:
    if kernel_size < 1:
        raise TransposeError(f"The kernel must be at least 1 pixel, not {kernel_size}.", "bad_kernel", k=kernel_size)
    if stride < 1:
        raise TransposeError(f"The stride must be at least 1, not {stride}.", "bad_stride", s=stride)
    if dilation < 1:
        raise TransposeError(f"The dilation must be at least 1, not {dilation}.", "bad_dilation", d=dilation)
    if padding < 0:
        raise TransposeError(f"Padding cannot be negative ({padding}).", "negative_padding", p=padding)
    if output_padding < 0 or (output_padding >= stride and output_padding >= dilation):
        # Only stride − 1 extra rows are ever ambiguous; more would be rows no input value can reach (torch's rule).
        raise TransposeError(
            f"Output padding {output_padding} must be smaller than the stride ({stride}) or the dilation "
            f"({dilation}). Use output padding 0 to {max(stride, dilation) - 1}.",
            "bad_output_padding", op=output_padding, s=stride, d=dilation, most=max(stride, dilation) - 1)


def conv_transpose_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
                               dilation: int = 1) -> int:
    """Output length along one axis: (n − 1)·s − 2p + d(k − 1) + output_padding + 1."""
    _check_axis(kernel_size, stride, padding, output_padding, dilation)
    if n < 1:
        raise TransposeError(f"The input must be at least 1 pixel, not {n}.", "empty_input", n=n)
    spread = (n - 1) * stride + dilation * (kernel_size - 1) + 1  # where the n kernel copies reach, before cropping
    out = spread - 2 * padding + output_padding
    if out < 1:
        raise TransposeError(
            f"The {n} kernel copies cover {spread} pixels; cropping padding {padding} from both sides leaves "
            f"{out}. Use padding at most {(spread + output_padding - 1) // 2}, or a larger kernel or stride.",
            "output_too_small", n=n, spread=spread, p=padding, out=out, most=(spread + output_padding - 1) // 2)
    return out


def conv_transpose_output_size_latex(n: int, kernel_size: int, stride: int = 1, padding: int = 0,
                                     output_padding: int = 0, dilation: int = 1) -> str:
    """The formula with the student's numbers filled in, as LaTeX for st.latex, ending in the size."""
    out = conv_transpose_output_size(n, kernel_size, stride, padding, output_padding, dilation)
    return (rf"o = ({n} - 1)\cdot {stride} - 2\cdot {padding} + {dilation}\cdot({kernel_size} - 1)"
            rf" + {output_padding} + 1 = {out}")


# ---------------------------------------------------------------------------------------------------------------
# Shapes shared by the three versions
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Setup:
    X: np.ndarray  # (N, C_in, H, W)
    W: np.ndarray  # (C_in, C_out / groups, kh, kw) — torch's layout for transposed convolution
    bias: np.ndarray | None
    stride: tuple[int, int]
    padding: tuple[int, int]
    output_padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    out_size: tuple[int, int]
    unbatched: bool


def _setup(input, weight, bias, stride, padding, output_padding, groups, dilation, dtype) -> _Setup:
    X, W = np.asarray(input, dtype=dtype), np.asarray(weight, dtype=dtype)
    unbatched = X.ndim == 3
    if unbatched:
        X = X[None]
    if X.ndim != 4 or W.ndim != 4:
        raise TransposeError("Input must be (N, C, H, W) or (C, H, W), and weight (in_channels, "
                             "out_channels / groups, kh, kw).", "bad_shape", input_ndim=X.ndim, weight_ndim=W.ndim)
    C = X.shape[1]
    if groups < 1 or C % groups:
        raise TransposeError(f"Groups ({groups}) must divide the input channels ({C}).", "groups_mismatch",
                             groups=groups, channels=C)
    if W.shape[0] != C:
        raise TransposeError(f"The weight has {W.shape[0]} input channels (its first axis) but the input has {C}.",
                             "channels_mismatch", expected=W.shape[0], got=C)
    if bias is not None:
        bias = np.asarray(bias, dtype=dtype)
        if bias.shape != (W.shape[1] * groups,):
            raise TransposeError(f"The bias needs one number per output channel ({W.shape[1] * groups}).",
                                 "bias_mismatch", expected=W.shape[1] * groups, got=bias.size)
    s, p, op, d = pair(stride), pair(padding), pair(output_padding), pair(dilation)
    out_size = tuple(conv_transpose_output_size(X.shape[2 + a], W.shape[2 + a], s[a], p[a], op[a], d[a]) for a in (0, 1))
    return _Setup(X, W, bias, s, p, op, d, groups, out_size, unbatched)


def _canvas(S: _Setup) -> np.ndarray:
    """The uncropped output: every kernel copy fits, plus output_padding rows/columns at the bottom/right."""
    N, _, H, Wd = S.X.shape
    kh, kw = S.W.shape[2:]
    rows = (H - 1) * S.stride[0] + S.dilation[0] * (kh - 1) + 1 + S.output_padding[0]
    cols = (Wd - 1) * S.stride[1] + S.dilation[1] * (kw - 1) + 1 + S.output_padding[1]
    return np.zeros((N, S.W.shape[1] * S.groups, rows, cols), dtype=S.X.dtype)


def _finish(S: _Setup, canvas: np.ndarray) -> np.ndarray:
    (ph, pw), (OH, OW) = S.padding, S.out_size
    Y = canvas[:, :, ph : ph + OH, pw : pw + OW]  # padding crops the scattered result from both sides
    if S.bias is not None:
        Y = Y + S.bias[None, :, None, None]
    Y = np.ascontiguousarray(Y, dtype=np.float32)
    return Y[0] if S.unbatched else Y


# ---------------------------------------------------------------------------------------------------------------
# 1. The readable scatter
# ---------------------------------------------------------------------------------------------------------------

def conv_transpose2d_naive(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input value X[n, c, i, j] adds X[n, c, i, j] · K[c, o] at rows i·s, i·s + d, …, columns j·s, …"""
    S = _setup(input, weight, bias, stride, padding, output_padding, groups, dilation, np.float64)
    Y = _canvas(S)
    N, C, H, Wd = S.X.shape
    in_per_group, out_per_group, kh, kw = C // S.groups, *S.W.shape[1:]
    (sh, sw), (dh, dw) = S.stride, S.dilation
    for n in range(N):
        for c in range(C):
            first_out = (c // in_per_group) * out_per_group  # the output channels this input's group feeds
            for o in range(out_per_group):
                K = S.W[c, o]
                for i in range(H):
                    for j in range(Wd):
                        top, left = i * sh, j * sw
                        Y[n, first_out + o, top : top + dh * (kh - 1) + 1 : dh, left : left + dw * (kw - 1) + 1 : dw] \
                            += S.X[n, c, i, j] * K
    S = _setup(input, weight, bias, stride, padding, output_padding, groups, dilation, np.float32)
    N, C, H, Wd = S.X.shape
    g, (in_per_group, out_per_group, kh, kw) = S.groups, (C // S.groups, *S.W.shape[1:])
    (sh, sw), (dh, dw) = S.stride, S.dilation
    Xg = S.X.reshape(N, g, in_per_group, H * Wd)  # (N, g, C/g, H·W): every group at once
    # Kᵀ per group, taps first, so that each tap's block of columns is contiguous for the additions below.
    Kg = S.W.reshape(g, in_per_group, out_per_group, kh, kw).transpose(0, 3, 4, 2, 1)  # (g, kh, kw, O/g, C/g)
    cols = np.matmul(Kg.reshape(g, -1, in_per_group), Xg)  # (N, g, kh·kw·O/g, H·W): a scaled kernel per value
    cols = cols.reshape(N, g, kh, kw, out_per_group, H, Wd)
    canvas = _canvas(S)
    Y = canvas.reshape(N, g, out_per_group, *canvas.shape[2:])  # a view: adding into Y fills the canvas
    for a in range(kh):  # col2im: tap (a, b) of every copy lands on a strided grid of the output
        for b in range(kw):
            top, left = a * dh, b * dw
            Y[..., top : top + sh * (H - 1) + 1 : sh, left : left + sw * (Wd - 1) + 1 : sw] += cols[:, :, a, b]
    return _finish(S, canvas)


# ---------------------------------------------------------------------------------------------------------------
# 2. One matrix product + col2im (what the app runs)
# ---------------------------------------------------------------------------------------------------------------

def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Like `torch.nn.functional.conv_transpose2d` (same arguments, same order, NCHW float32).

    input (N, C_in, H, W) or (C_in, H, W); weight (C_in, C_out / groups, kh, kw); bias (C_out,) or None.
    Conv2d computes columns = im2col(X), then Y = K @ columns. Its transpose runs the other way:
    columns = Kᵀ @ X — for every input position, the kernel scaled by it — then col2im adds each column back
    onto the output window it came from (kh·kw strided additions instead of H·W small ones). This is exactly
    how `conv2d_backward` computes ∂L/∂X (with `conv.col2im`); here the columns are ordered taps-first so each
    tap's block is contiguous, which makes the additions about twice as fast.
    """
    S = _setup(input, weight, bias, stride, padding, output_padding, groups, dilation, np.float32)
    Y = _canvas(S)
    N, C, H, Wd = S.X.shape
    in_per_group, out_per_group, kh, kw = C // S.groups, *S.W.shape[1:]
    (sh, sw), (dh, dw) = S.stride, S.dilation
    for g in range(S.groups):
        Xg = S.X[:, g * in_per_group : (g + 1) * in_per_group].reshape(N, in_per_group, H * Wd)  # (N, C/g, H·W)
        # Taps first, so that each tap's block of columns is contiguous for the additions below.
        Kg = S.W[g * in_per_group : (g + 1) * in_per_group].transpose(0, 2, 3, 1).reshape(in_per_group, -1)
        cols = np.matmul(Kg.T, Xg).reshape(N, kh, kw, out_per_group, H, Wd)  # one scaled kernel per input value
        Yg = Y[:, g * out_per_group : (g + 1) * out_per_group]
        for a in range(kh):  # col2im: tap (a, b) of every copy lands on a strided grid of the output
            for b in range(kw):
                top, left = a * dh, b * dw
                Yg[:, :, top : top + sh * (H - 1) + 1 : sh, left : left + sw * (Wd - 1) + 1 : sw] += cols[:, a, b]
    S = _setup(input, weight, bias, stride, padding, output_padding, groups, dilation, np.float32)
    N, C, H, Wd = S.X.shape
    g, (in_per_group, out_per_group, kh, kw) = S.groups, (C // S.groups, *S.W.shape[1:])
    (sh, sw), (dh, dw) = S.stride, S.dilation
    Xg = S.X.reshape(N, g, in_per_group, H * Wd)  # (N, g, C/g, H·W): every group at once
    # Kᵀ per group, taps first, so that each tap's block of columns is contiguous for the additions below.
    Kg = S.W.reshape(g, in_per_group, out_per_group, kh, kw).transpose(0, 3, 4, 2, 1)  # (g, kh, kw, O/g, C/g)
    cols = np.matmul(Kg.reshape(g, -1, in_per_group), Xg)  # (N, g, kh·kw·O/g, H·W): a scaled kernel per value
    cols = cols.reshape(N, g, kh, kw, out_per_group, H, Wd)
    canvas = _canvas(S)
    Y = canvas.reshape(N, g, out_per_group, *canvas.shape[2:])  # a view: adding into Y fills the canvas
    for a in range(kh):  # col2im: tap (a, b) of every copy lands on a strided grid of the output
        for b in range(kw):
            top, left = a * dh, b * dw
            Y[..., top : top + sh * (H - 1) + 1 : sh, left : left + sw * (Wd - 1) + 1 : sw] += cols[:, :, a, b]
    return _finish(S, canvas)


# ---------------------------------------------------------------------------------------------------------------
# 3. The same as a direct convolution (Dumoulin & Visin)
# ---------------------------------------------------------------------------------------------------------------

def insert_zeros(X: np.ndarray, stride) -> np.ndarray:
    """Put s − 1 zeros between neighbouring values of the last two axes (the "fractionally strided" input)."""
    sh, sw = pair(stride)
    *lead, H, W = X.shape
    Z = np.zeros((*lead, (H - 1) * sh + 1, (W - 1) * sw + 1), dtype=X.dtype)
    Z[..., ::sh, ::sw] = X
    return Z


def _pad_or_crop(X: np.ndarray, before: tuple[int, int], after: tuple[int, int]) -> np.ndarray:
    """Zero-pad the last two axes; a negative amount crops instead (when padding exceeds d(k − 1))."""
    X = np.pad(X, [(0, 0)] * (X.ndim - 2) + [(max(before[0], 0), max(after[0], 0)), (max(before[1], 0), max(after[1], 0))])
    H, W = X.shape[-2:]
    return X[..., max(-before[0], 0) : H - max(-after[0], 0), max(-before[1], 0) : W - max(-after[1], 0)]


def transposed_weight_as_conv(weight: np.ndarray, groups: int = 1) -> np.ndarray:
    """(C_in, C_out/g, kh, kw) → (C_out, C_in/g, kh, kw), every kernel rotated by 180°: conv2d's layout."""
    W = np.asarray(weight)
    C_in, out_per_group, kh, kw = W.shape
    W = W.reshape(groups, C_in // groups, out_per_group, kh, kw).swapaxes(1, 2)
    return flip_kernel(W.reshape(groups * out_per_group, C_in // groups, kh, kw))


def conv_transpose2d_as_conv(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed convolution as an ordinary stride-1 convolution (Dumoulin & Visin, relationship 14).

    Stretch the input (s − 1 zeros between values), pad it by d(k − 1) − p on each side (plus output_padding at
    the bottom/right), and convolve with the flipped kernel. Clear to draw, but wasteful: most products hit zeros.
    """
    S = _setup(input, weight, bias, stride, padding, output_padding, groups, dilation, np.float32)
    kh, kw = S.W.shape[2:]
    edge = tuple(S.dilation[a] * ((kh, kw)[a] - 1) - S.padding[a] for a in (0, 1))
    Xz = _pad_or_crop(insert_zeros(S.X, S.stride), edge, (edge[0] + S.output_padding[0], edge[1] + S.output_padding[1]))
    Y = conv2d(Xz, transposed_weight_as_conv(S.W, S.groups), S.bias, 1, 0, S.dilation, S.groups)
    return Y[0] if S.unbatched else Y


# ---------------------------------------------------------------------------------------------------------------
# The step-through (one channel) and the checkerboard
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScatterStep:
    """One input value's contribution. Canvas coordinates are before cropping: output = canvas[p : p + o]."""

    row: int  # the input value's position
    col: int
    value: float
    top: int  # where its kernel copy's top-left tap lands on the canvas: (row·s, col·s)
    left: int
    copy: np.ndarray  # value · K, spread by the dilation (zeros between taps): (d(kh − 1) + 1, d(kw − 1) + 1)
    canvas: np.ndarray  # the running sum after this step, uncropped
    output: np.ndarray  # the running sum after this step, cropped by the padding: what the op returns so far


def scatter_steps(X, K, stride=1, padding=0, output_padding=0, dilation=1) -> list[ScatterStep]:
    """The scatter of `conv_transpose2d_naive` for one channel, X (h, w) and K (kh, kw), one step per input value
    in reading order. The last step's `output` equals conv_transpose2d(X[None, None], K[None, None])[0, 0]."""
    X, K = np.asarray(X, dtype=np.float64), np.asarray(K, dtype=np.float64)
    if X.ndim != 2 or K.ndim != 2:
        raise TransposeError("The step-through takes one channel: X (h, w) and K (kh, kw).", "bad_shape",
                             input_ndim=X.ndim, weight_ndim=K.ndim)
    S = _setup(X[None, None], K[None, None], None, stride, padding, output_padding, 1, dilation, np.float64)
    (sh, sw), (dh, dw), (ph, pw), (OH, OW) = S.stride, S.dilation, S.padding, S.out_size
    spread = np.zeros((dh * (K.shape[0] - 1) + 1, dw * (K.shape[1] - 1) + 1))
    spread[::dh, ::dw] = K
    canvas = _canvas(S)[0, 0]
    steps = []
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            copy = X[i, j] * spread
            canvas = canvas.copy()
            canvas[i * sh : i * sh + copy.shape[0], j * sw : j * sw + copy.shape[1]] += copy
            steps.append(ScatterStep(i, j, float(X[i, j]), i * sh, j * sw, copy, canvas,
                                     canvas[ph : ph + OH, pw : pw + OW]))
    return steps


def overlap_map(size: int, kernel_size: int, stride: int, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """How many kernel copies cover each output pixel: the transposed convolution of all-ones by all-ones."""
    ones = np.ones((1, 1, size, size), dtype=np.float32)
    return conv_transpose2d(ones, np.ones((1, 1, kernel_size, kernel_size), dtype=np.float32), None, stride,
                            padding, 0, 1, dilation)[0, 0]


def overlap_pattern(kernel_size: int, stride: int, dilation: int = 1) -> np.ndarray:
    """Away from the borders the overlap repeats with period s: entry r counts the taps a·d with a·d ≡ r (mod s).

    Uniform (k/s everywhere) when k is a multiple of s and d = 1; otherwise some offsets get ⌈k/s⌉ copies and
    others ⌊k/s⌋ — along both axes, hence the 2-D checkerboard.
    """
    _check_axis(kernel_size, stride, 0, 0, dilation)
    return np.bincount([(a * dilation) % stride for a in range(kernel_size)], minlength=stride)


def checkerboard_strength(kernel_size: int, stride: int, dilation: int = 1) -> float:
    """(most − fewest) / most copies per interior pixel, in 2-D: 0 = even coverage, 1 = pixels no copy reaches.

    This measures the op's structure (all-ones kernel). A trained kernel can hide or worsen it, which is why
    Odena et al. recommend upsampling by resizing and then a stride-1 convolution instead.
    """
    counts = overlap_pattern(kernel_size, stride, dilation).astype(np.float64)
    most, fewest = counts.max() ** 2, counts.min() ** 2  # the 2-D count is the product of the two axes' counts
    return float((most - fewest) / most)
