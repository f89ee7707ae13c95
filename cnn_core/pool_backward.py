"""Going back through a pooling layer: where the gradient flows, and what pooling kept.

Max pooling's gradient goes to the one pixel that won each window (its argmax); average pooling shares it evenly
over the window. `max_unpool2d` puts each maximum back where it came from; `interpolate_nearest` blows a pooled map
back up to the input size, so the difference to the input is what pooling threw away. Each equals its PyTorch
counterpart (autograd for the gradients), see tests/unit/test_pool.py.
"""

from __future__ import annotations

import numpy as np

from cnn_core.conv import pair
from cnn_core.pool import PoolError, _divisors, _taps, avg_pool2d, max_pool2d_with_indices


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Put every pooled value back where it came from, zeros elsewhere (`torch.nn.functional.max_unpool2d`).

    This shows exactly what max pooling kept: the winning pixels at their places, everything else gone.
    output_size: (H, W) of the original input; default (OH − 1)·s − 2p + k, as torch.
    """
    Y = np.asarray(input, dtype=np.float32)
    indices = np.asarray(indices)
    unbatched = Y.ndim == 3
    if unbatched:
        Y, indices = Y[None], indices[None]
    k, p = pair(kernel_size), pair(padding)
    s = k if stride is None else pair(stride)
    if output_size is None:
        H = (Y.shape[2] - 1) * s[0] - 2 * p[0] + k[0]
        W = (Y.shape[3] - 1) * s[1] - 2 * p[1] + k[1]
    else:
        H, W = tuple(output_size)[-2:]
    N, C = Y.shape[:2]
    if indices.size and (indices.min() < 0 or indices.max() >= H * W):
        raise PoolError(f"An index points outside the {H}×{W} output; pass the input's size as output_size.",
                        "bad_indices", h=H, w=W)
    X = np.zeros((N, C, H * W), dtype=np.float32)
    np.put_along_axis(X, indices.reshape(N, C, -1), Y.reshape(N, C, -1), axis=2)
    X = X.reshape(N, C, H, W)
    return X[0] if unbatched else X


def max_pool2d_backward(grad_output, indices, input_shape):
    """Where the gradient flows back to: each output's gradient goes to its winning pixel, all others get 0.

    A pixel that wins several (overlapping) windows collects the sum. With grad_output = 1 everywhere, the result
    counts how many windows each input pixel won. Equal to torch autograd through max_pool2d.
    """
    G = np.asarray(grad_output, dtype=np.float64)
    indices = np.asarray(indices)
    H, W = input_shape[-2:]
    planes = int(np.prod(input_shape[:-2], dtype=np.int64))
    flat = indices.reshape(planes, -1) + np.arange(planes)[:, None] * (H * W)  # one index space for all planes
    weights = G.reshape(planes, -1)
    if indices.size and (indices.min() < 0 or indices.max() >= H * W):
        real = (indices.reshape(planes, -1) >= 0) & (indices.reshape(planes, -1) < H * W)
        flat, weights = flat[real], weights[real]  # a window of only padding (possible with dilation) has no pixel
    grad = np.bincount(flat.ravel(), weights=weights.ravel(), minlength=planes * H * W)
    return grad.reshape(input_shape).astype(np.float32)


def avg_pool2d_backward(grad_output, input_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True):
    """Where average pooling's gradient flows back to: every pixel of a window gets grad / window size.

    So each pixel hears from every window it is in, weakly; compare max pooling, where one pixel hears it all.
    Equal to torch autograd through avg_pool2d.
    """
    G = np.asarray(grad_output, dtype=np.float32)
    unbatched = len(input_shape) == 3
    if unbatched:
        G, input_shape = G[None], (1, *input_shape)
    k, p = pair(kernel_size), pair(padding)
    s = k if stride is None else pair(stride)
    N, C, H, W = input_shape
    OH, OW = G.shape[2:]
    size = np.outer(_divisors(H, OH, k[0], s[0], p[0], count_include_pad),
                    _divisors(W, OW, k[1], s[1], p[1], count_include_pad)).astype(np.float32)
    share = G / size  # (N, C, OH, OW): what each pixel of the window receives
    Hp = max(H + 2 * p[0], (OH - 1) * s[0] + k[0])
    Wp = max(W + 2 * p[1], (OW - 1) * s[1] + k[1])
    grad = np.zeros((N, C, Hp, Wp), dtype=np.float32)
    for rows in _taps(OH, k[0], s[0], 1):  # within one tap, the windows hit different pixels
        for cols in _taps(OW, k[1], s[1], 1):
            grad[:, :, rows, cols] += share
    grad = grad[:, :, p[0]:p[0] + H, p[1]:p[1] + W]  # what landed on padding is dropped
    return grad[0] if unbatched else grad


def interpolate_nearest(input, size):
    """Nearest-neighbour resize like `torch.nn.functional.interpolate(input, size, mode="nearest")`.

    Output pixel (r, q) copies input pixel (⌊r·H/OH⌋, ⌊q·W/OW⌋), computed in float32 as torch does. Pool, then
    upsample back with this, and the difference to the original is what pooling threw away.
    """
    X = np.asarray(input, dtype=np.float32)
    H, W = X.shape[-2:]
    OH, OW = pair(size)
    if OH < 1 or OW < 1:
        raise PoolError(f"The output size must be at least 1×1, not {OH}×{OW}.", "bad_output_size",
                        size=f"{OH}×{OW}")

    def source(n, out):
        scale = np.float32(n) / np.float32(out)
        return np.minimum(np.floor(np.arange(out, dtype=np.float32) * scale).astype(np.int64), n - 1)

    return np.take(np.take(X, source(H, OH), axis=-2), source(W, OW), axis=-1)  # rows, then columns


def pool_gradients(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Where the gradient of Σ output flows back to, for max and for average pooling: (grad_max, grad_avg).

    grad_max counts how many windows each pixel won (0 for most pixels); grad_avg holds each pixel's shares,
    1/window size per window it sits in. The twin in cnn_core.check gets the same two maps from torch autograd.
    """
    X = np.asarray(input, dtype=np.float32)
    Y, indices = max_pool2d_with_indices(X, kernel_size, stride, padding, 1, ceil_mode)
    grad_max = max_pool2d_backward(np.ones_like(Y), indices, X.shape)
    Y_avg = avg_pool2d(X, kernel_size, stride, padding, ceil_mode, count_include_pad)
    grad_avg = avg_pool2d_backward(np.ones_like(Y_avg), X.shape, kernel_size, stride, padding, ceil_mode,
                                   count_include_pad)
    return grad_max, grad_avg
