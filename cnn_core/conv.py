"""Convolution, written twice: a double loop you can read, and an im2col version the app runs.

Deep-learning "convolution" is really cross-correlation: the kernel slides over the input *without* being
flipped. `conv2d` mirrors `torch.nn.functional.conv2d` (same argument names, NCHW layout) so the two can be
compared on the same numbers; `convolve2d` is the textbook convolution, which flips the kernel first.
"""

from __future__ import annotations

import numpy as np

from cnn_core.errors import CnnError

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")

# np.pad's names for torch's padding modes.
_NUMPY_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    """Accept an int or an (h, w) pair, as torch does."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"Expected one number or a pair (height, width), got {len(value)} numbers.")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output length along one axis: ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1.

    d(k − 1) + 1 is the span of a dilated kernel; the window fits (n + 2p − span) / s + 1 times.
    """
    if kernel_size < 1 or stride < 1 or dilation < 1 or padding < 0 or n < 1:
        raise CnnError("Kernel size, stride and dilation must be at least 1, padding at least 0.", "bad_setting")
    span = dilation * (kernel_size - 1) + 1
    padded = n + 2 * padding
    if span > padded:
        raise CnnError(
            f"Kernel {kernel_size} with dilation {dilation} spans {span} pixels, more than the padded "
            f"input ({padded}). Lower the kernel or dilation, or add padding.",
            "no_fit", k=kernel_size, d=dilation, span=span, padded=padded, need=-(-(span - n) // 2),
        )
    return (padded - span) // stride + 1


def check_fit(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1,
              padding_mode: str = "zeros") -> None:
    """Does a convolution with these settings give an output on an n-pixel axis? Raises CnnError if not.

    The one "does it fit?" rule, used by the formula text and the error message alike: the dilated kernel must fit
    in the padded input, reflect padding must be smaller than the input, circular padding can wrap at most once.
    """
    output_size(n, kernel_size, stride, padding, dilation)
    if padding_mode == "reflect" and padding >= n:
        raise CnnError(f"Reflect padding {padding} needs an input wider than {padding} (it is {n}). Lower the "
                       "padding or choose another padding mode.", "reflect_too_big", p=padding, n=n)
    if padding_mode == "circular" and padding > n:
        raise CnnError(f"Circular padding {padding} cannot wrap more than once around an input of {n}. Lower the "
                       "padding or choose another padding mode.", "circular_too_big", p=padding, n=n)


def unvisited(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """How many rows (or columns) at the far end of the padded input no window ever covers.

    Non-zero exactly when (n + 2p − span) is not a multiple of the stride: the last step would overhang.
    """
    span = dilation * (kernel_size - 1) + 1
    return (n + 2 * padding - span) % stride


def pad2d(X: np.ndarray, padding: tuple[int, int, int, int], mode: str = "zeros") -> np.ndarray:
    """Pad the last two axes by (top, bottom, left, right) like torch's padding modes."""
    if mode not in PADDING_MODES:
        raise ValueError(f"Unknown padding mode '{mode}'. Choose one of: {', '.join(PADDING_MODES)}.")
    top, bottom, left, right = padding
    if mode == "reflect" and (max(top, bottom) >= X.shape[-2] or max(left, right) >= X.shape[-1]):
        raise ValueError(
            f"Reflect padding of {max(padding)} needs an input larger than that on each side "
            f"(this one is {X.shape[-2]}×{X.shape[-1]}). Use less padding or another padding mode."
        )
    if mode == "circular" and (max(top, bottom) > X.shape[-2] or max(left, right) > X.shape[-1]):
        raise ValueError(
            f"Circular padding of {max(padding)} cannot wrap more than once around a "
            f"{X.shape[-2]}×{X.shape[-1]} input. Use less padding or another padding mode."
        )
    widths = [(0, 0)] * (X.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(X, widths, mode=_NUMPY_PAD_MODE[mode])


def corr2d(X: np.ndarray, K: np.ndarray, stride: int = 1, dilation: int = 1) -> np.ndarray:
    """The readable reference: slide K over X with two loops (d2l's corr2d, plus stride and dilation).

    X: (H, W) one channel, already padded.  K: (kh, kw).  Returns Y: (OH, OW).
    """
    kh, kw = K.shape
    OH = output_size(X.shape[0], kh, stride, 0, dilation)
    OW = output_size(X.shape[1], kw, stride, 0, dilation)
    Y = np.zeros((OH, OW), dtype=np.float64)
    for i in range(OH):
        for j in range(OW):
            top, left = i * stride, j * stride
            window = X[top : top + dilation * (kh - 1) + 1 : dilation, left : left + dilation * (kw - 1) + 1 : dilation]
            Y[i, j] = (window * K).sum()  # element-wise products, then their sum
    return Y


def same_padding(kernel_size: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """Padding (top, bottom, left, right) that keeps the size at stride 1; the odd pixel goes bottom/right, as torch."""
    total_h = dilation[0] * (kernel_size[0] - 1)
    total_w = dilation[1] * (kernel_size[1] - 1)
    return total_h // 2, total_h - total_h // 2, total_w // 2, total_w - total_w // 2


def _resolve_padding(padding, kernel_size, stride, dilation) -> tuple[int, int, int, int]:
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        if stride != (1, 1):
            raise ValueError("'same' padding only keeps the size at stride 1. Set stride to 1 or give the padding as a number.")
        return same_padding(kernel_size, dilation)
    ph, pw = pair(padding)
    if ph < 0 or pw < 0:
        raise ValueError("Padding cannot be negative.")
    return ph, ph, pw, pw


def _check_shapes(X: np.ndarray, weight: np.ndarray, groups: int) -> None:
    if X.ndim != 4 or weight.ndim != 4:
        raise ValueError("Input must be (N, C, H, W) and weight (out_channels, in_channels / groups, kh, kw).")
    C, out_channels = X.shape[1], weight.shape[0]
    if groups < 1 or C % groups or out_channels % groups:
        raise ValueError(f"Groups ({groups}) must divide both the input channels ({C}) and the output channels ({out_channels}).")
    if weight.shape[1] != C // groups:
        raise ValueError(f"The kernel expects {weight.shape[1] * groups} input channels but the input has {C}.")


def conv2d_naive(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """Same maths as `conv2d`, built from `corr2d` loops: one output channel = Σ over input channels + bias."""
    X, W = np.asarray(input, dtype=np.float64), np.asarray(weight, dtype=np.float64)
    unbatched = X.ndim == 3
    if unbatched:
        X = X[None]
    _check_shapes(X, W, groups)
    stride, dilation = pair(stride), pair(dilation)
    if stride[0] != stride[1] or dilation[0] != dilation[1]:
        raise ValueError("The reference loop uses the same stride and dilation on both axes.")
    Xp = pad2d(X, _resolve_padding(padding, W.shape[2:], stride, dilation), padding_mode)
    N, out_channels = X.shape[0], W.shape[0]
    in_per_group, out_per_group = W.shape[1], out_channels // groups
    outputs = []
    for n in range(N):
        maps = []
        for o in range(out_channels):
            first_in = (o // out_per_group) * in_per_group  # this output channel's group of inputs
            Y = sum(corr2d(Xp[n, first_in + c], W[o, c], stride[0], dilation[0]) for c in range(in_per_group))
            maps.append(Y + (0.0 if bias is None else bias[o]))
        outputs.append(np.stack(maps))
    Y = np.stack(outputs).astype(np.float32)
    return Y[0] if unbatched else Y


def im2col(Xp: np.ndarray, kernel_size, stride, dilation) -> np.ndarray:
    """Unfold every window of a padded (N, C, H, W) input into a column: (N, C·kh·kw, OH·OW).

    After this, convolution is one matrix product: weight (O, C·kh·kw) @ columns.
    """
    N, C, H, W = Xp.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    OH = output_size(H, kh, sh, 0, dh)
    OW = output_size(W, kw, sw, 0, dw)
    cols = np.empty((N, C, kh, kw, OH, OW), dtype=Xp.dtype)
    for a in range(kh):  # kh·kw strided copies: each fills one kernel tap for every window at once
        for b in range(kw):
            top, left = a * dh, b * dw
            cols[:, :, a, b] = Xp[:, :, top : top + sh * (OH - 1) + 1 : sh, left : left + sw * (OW - 1) + 1 : sw]
    return cols.reshape(N, C * kh * kw, OH * OW)


# With few channels (one kernel on a photo) the unfolded im2col matrix is k² copies of the image — 190 MB for an
# 11×11 kernel on a 1024² photo — and building it costs more than the sums. Then we add k² shifted, scaled copies
# of the input instead (the same products, in another order): no big buffer, 5–10× faster on the pages.
FEW_CHANNELS = 16


def _group_slices(W: np.ndarray, groups: int):
    """(input channels, output channels) of each group, as slices: group g sees only its own inputs."""
    in_per_group, out_per_group = W.shape[1], W.shape[0] // groups
    for g in range(groups):
        yield slice(g * in_per_group, (g + 1) * in_per_group), slice(g * out_per_group, (g + 1) * out_per_group)


def _conv2d_by_taps(Xp: np.ndarray, W: np.ndarray, groups: int, stride, dilation, OH: int, OW: int) -> np.ndarray:
    """Σ over kernel taps (a, b): W[:, :, a, b] · (the padded input shifted by (a·d, b·d), every s-th pixel)."""
    N, O = Xp.shape[0], W.shape[0]
    (kh, kw), (sh, sw), (dh, dw) = W.shape[2:], stride, dilation
    Y = np.zeros((N, O, OH, OW), dtype=np.float32)
    for inputs, outputs in _group_slices(W, groups):
        for a in range(kh):
            for b in range(kw):
                shifted = Xp[:, inputs, a * dh : a * dh + sh * (OH - 1) + 1 : sh, b * dw : b * dw + sw * (OW - 1) + 1 : sw]
                Y[:, outputs] += np.einsum("oc,nchw->nohw", W[outputs, :, a, b], shifted, optimize=False)
    return Y


def _conv2d_by_outputs(Xp: np.ndarray, W: np.ndarray, groups: int, stride, dilation, OH: int, OW: int) -> np.ndarray:
    """Σ over output positions (i, j): each is one window · kernel dot product. Fewer steps than the taps when the
    kernel is bigger than the output: ∂L/∂K = X ⋆ ∂L/∂Ŷ slides an image-sized 'kernel' to a 3×3 result."""
    N, O = Xp.shape[0], W.shape[0]
    (kh, kw), (sh, sw), (dh, dw) = W.shape[2:], stride, dilation
    Y = np.zeros((N, O, OH, OW), dtype=np.float32)
    for inputs, outputs in _group_slices(W, groups):
        for i in range(OH):
            for j in range(OW):
                window = Xp[:, inputs, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
                Y[:, outputs, i, j] = np.einsum("nchw,ochw->no", window, W[outputs], optimize=False)
    return Y


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """Cross-correlation like `torch.nn.functional.conv2d` (plus `padding_mode` like `nn.Conv2d`).

    input: (N, C, H, W) or (C, H, W); weight: (O, C / groups, kh, kw); bias: (O,) or None.
    padding: int, (ph, pw), 'valid' or 'same'. Returns (N, O, OH, OW) float32.
    """
    X = np.asarray(input, dtype=np.float32)
    W = np.asarray(weight, dtype=np.float32)
    unbatched = X.ndim == 3
    if unbatched:
        X = X[None]
    _check_shapes(X, W, groups)
    stride, dilation = pair(stride), pair(dilation)
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError("Stride and dilation must be at least 1.")
    kernel_size = W.shape[2:]
    Xp = pad2d(X, _resolve_padding(padding, kernel_size, stride, dilation), padding_mode)
    N, O = X.shape[0], W.shape[0]
    OH = output_size(Xp.shape[2], kernel_size[0], stride[0], 0, dilation[0])
    OW = output_size(Xp.shape[3], kernel_size[1], stride[1], 0, dilation[1])
    in_per_group, out_per_group = W.shape[1], O // groups
    if OH * OW < kernel_size[0] * kernel_size[1]:
        Y = _conv2d_by_outputs(Xp, W, groups, stride, dilation, OH, OW).reshape(N, O, OH * OW)
    elif in_per_group * out_per_group <= FEW_CHANNELS:
        Y = _conv2d_by_taps(Xp, W, groups, stride, dilation, OH, OW).reshape(N, O, OH * OW)
    else:
        Y = np.empty((N, O, OH * OW), dtype=np.float32)
        for g in range(groups):
            cols = im2col(Xp[:, g * in_per_group : (g + 1) * in_per_group], kernel_size, stride, dilation)
            Wg = W[g * out_per_group : (g + 1) * out_per_group].reshape(out_per_group, -1)  # (O/g, C/g·kh·kw)
            Y[:, g * out_per_group : (g + 1) * out_per_group] = np.matmul(Wg, cols)
    if bias is not None:
        Y += np.asarray(bias, dtype=np.float32)[None, :, None]
    Y = Y.reshape(N, O, OH, OW)
    return Y[0] if unbatched else Y


def col2im(cols: np.ndarray, padded_shape, kernel_size, stride, dilation) -> np.ndarray:
    """The transpose of `im2col`: add every column entry back onto the padded-input pixel it was copied from.

    cols: (N, C·kh·kw, OH·OW) → (N, C, H, W). A pixel inside several windows receives the sum of their entries
    (it influenced several outputs); a pixel no window reaches stays 0.
    """
    N, C, H, W = padded_shape
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    OH = output_size(H, kh, sh, 0, dh)
    OW = output_size(W, kw, sw, 0, dw)
    cols = cols.reshape(N, C, kh, kw, OH, OW)
    Xp = np.zeros(padded_shape, dtype=cols.dtype)
    for a in range(kh):  # the same kh·kw strided views as im2col, now added into instead of copied from
        for b in range(kw):
            top, left = a * dh, b * dw
            Xp[:, :, top : top + sh * (OH - 1) + 1 : sh, left : left + sw * (OW - 1) + 1 : sw] += cols[:, :, a, b]
    return Xp


def conv2d_backward(input, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """Gradients of `conv2d` (zeros padding) given ∂L/∂Y: returns (grad_input, grad_weight, grad_bias).

    The forward pass was one matrix product per group, Y = K @ cols with K (O/g, C/g·kh·kw) and cols the
    unfolded windows. The backward of a matrix product is two matrix products with the transposes:
        ∂L/∂K    = ∂L/∂Y @ colsᵀ   — every kernel tap sums input × output-gradient: ∂L/∂K = X ⋆ ∂L/∂Y
        ∂L/∂cols = Kᵀ @ ∂L/∂Y      — then col2im adds each window's share back onto its pixels
        ∂L/∂b    = Σ ∂L/∂Y over the batch and every position (the bias was added everywhere).
    input: (N, C, H, W) or (C, H, W); weight: (O, C / groups, kh, kw); grad_output: the shape conv2d returned.
    """
    X = np.asarray(input, dtype=np.float32)
    W = np.asarray(weight, dtype=np.float32)
    dY = np.asarray(grad_output, dtype=np.float32)
    unbatched = X.ndim == 3
    if unbatched:
        X, dY = X[None], dY[None]
    _check_shapes(X, W, groups)
    stride, dilation = pair(stride), pair(dilation)
    if min(stride) < 1 or min(dilation) < 1:
        raise CnnError("Stride and dilation must be at least 1.", reason="bad_stride", stride=stride, dilation=dilation)
    kernel_size = W.shape[2:]
    top, bottom, left, right = _resolve_padding(padding, kernel_size, stride, dilation)
    Xp = pad2d(X, (top, bottom, left, right))
    N, O = X.shape[0], W.shape[0]
    OH = output_size(Xp.shape[2], kernel_size[0], stride[0], 0, dilation[0])
    OW = output_size(Xp.shape[3], kernel_size[1], stride[1], 0, dilation[1])
    if dY.shape != (N, O, OH, OW):
        got = dY.shape[1:] if unbatched else dY.shape
        want = (O, OH, OW) if unbatched else (N, O, OH, OW)
        raise CnnError(f"grad_output has shape {tuple(got)} but this convolution outputs {want}. Pass ∂L/∂Y with the "
                       "shape conv2d returned for the same input and settings.", reason="grad_shape",
                       expected=want, got=tuple(got))
    dY = dY.reshape(N, O, OH * OW)
    in_per_group, out_per_group = W.shape[1], O // groups
    dXp = np.empty_like(Xp)
    dW = np.empty_like(W)
    for g in range(groups):
        inputs, outputs = slice(g * in_per_group, (g + 1) * in_per_group), slice(g * out_per_group, (g + 1) * out_per_group)
        cols = im2col(Xp[:, inputs], kernel_size, stride, dilation)  # (N, C/g·kh·kw, OH·OW)
        Kg = W[outputs].reshape(out_per_group, -1)  # (O/g, C/g·kh·kw)
        dYg = dY[:, outputs]  # (N, O/g, OH·OW)
        dW[outputs] = sum(dYg[n] @ cols[n].T for n in range(N)).reshape(W[outputs].shape)
        # ∂L/∂cols overwrites cols (no longer needed): no second buffer of the unfolded size.
        dXp[:, inputs] = col2im(np.matmul(Kg.T, dYg, out=cols), Xp[:, inputs].shape, kernel_size, stride, dilation)
    dX = dXp[:, :, top : dXp.shape[2] - bottom, left : dXp.shape[3] - right]  # padding pixels get no gradient
    db = dY.sum(axis=(0, 2))
    return (dX[0] if unbatched else np.ascontiguousarray(dX)), dW, db


def flip_kernel(K: np.ndarray) -> np.ndarray:
    """Rotate a kernel by 180° (flip both spatial axes): what turns cross-correlation into convolution."""
    return np.ascontiguousarray(np.asarray(K)[..., ::-1, ::-1])


def convolve2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """True (textbook) convolution: cross-correlation with the kernel flipped. Same arguments as `conv2d`."""
    return conv2d(input, flip_kernel(weight), bias, stride, padding, dilation, groups, padding_mode)


def output_size_latex(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> str:
    """The output-size formula with the numbers filled in, as LaTeX (for st.latex), ending in the result.

    When the kernel does not fit, the formula ends in the negative numerator instead of a size.
    """
    span = dilation * (kernel_size - 1) + 1
    numerator = n + 2 * padding - span
    dilated = rf"{dilation}\cdot({kernel_size}-1)" if dilation != 1 else rf"({kernel_size}-1)"
    left = rf"\left\lfloor \frac{{{n} + 2\cdot{padding} - {dilated} - 1}}{{{stride}}} \right\rfloor + 1"
    if numerator < 0:
        return left + rf" = \left\lfloor \frac{{{numerator}}}{{{stride}}} \right\rfloor + 1 < 1"
    return left + rf" = \left\lfloor \frac{{{numerator}}}{{{stride}}} \right\rfloor + 1 = {numerator // stride + 1}"
