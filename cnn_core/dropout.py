"""Dropout: during training, zero each value with probability p and scale the survivors by 1/(1 − p).

    mask_i ~ Bernoulli(1 − p)                 keep a value with probability 1 − p
    y_i    = x_i · mask_i / (1 − p)           "inverted" dropout: the scaling happens while training

The scaling keeps the expected value: E[y_i] = (1 − p) · x_i / (1 − p) = x_i. So at evaluation time the network
needs no change at all — dropout there is the identity, which is what PyTorch does too (`F.dropout(x, p,
training=False)` returns x). Srivastava et al. (2014) scaled the *weights* by (1 − p) at test time instead; the
two are the same in expectation, and the inverted form keeps evaluation free.

`dropout` mirrors `torch.nn.functional.dropout`; a NumPy `Generator` replaces torch's global seed, so the same
`rng` gives the same mask every time. `dropout2d` mirrors `F.dropout2d`: it drops whole channels (feature maps),
which is the variant used after convolutions, where neighbouring values are strongly correlated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_core.errors import CnnError


class DropoutError(CnnError):
    """An impossible dropout probability or input. `reason` and `details` let the app translate the message."""


def _check_p(p: float) -> float:
    if not (0.0 <= float(p) <= 1.0):  # also refuses NaN
        raise DropoutError(f"The dropout probability must be between 0 and 1, but it is {p}. "
                           "It is the chance of zeroing each value: 0 keeps everything, 1 drops everything.",
                           "bad_probability", p=p)
    return float(p)


def _generator(rng) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)  # an int seed is accepted for convenience


def dropout_mask(shape: tuple[int, ...], p: float = 0.5, rng=None) -> np.ndarray:
    """A boolean keep-mask of `shape`: each entry True with probability 1 − p, independently."""
    p = _check_p(p)
    return _generator(rng).random(shape) >= p  # uniform [0, 1) ≥ p happens with probability 1 − p


def _apply(X: np.ndarray, keep: np.ndarray, p: float) -> np.ndarray:
    if p == 1.0:  # nothing survives; 1/(1 − p) would be a division by zero (torch also returns zeros)
        return np.zeros_like(X)
    return np.where(keep, X / np.float32(1.0 - p), np.float32(0.0)).astype(X.dtype, copy=False)


def dropout(input, p: float = 0.5, training: bool = True, rng=None) -> np.ndarray:
    """Like `torch.nn.functional.dropout`: any shape in, the same shape out.

    training=True: zero each value with probability p, multiply the rest by 1/(1 − p).
    training=False: return the input unchanged (evaluation mode needs no correction, see the module docstring).
    rng: a `numpy.random.Generator` (or an int seed) for a reproducible mask; None draws a fresh one.
    """
    X = np.asarray(input, dtype=np.float32)
    p = _check_p(p)
    if not training or p == 0.0:
        return X
    return _apply(X, dropout_mask(X.shape, p, rng), p)


def dropout2d(input, p: float = 0.5, training: bool = True, rng=None) -> np.ndarray:
    """Like `torch.nn.functional.dropout2d`: zero whole channels of an (N, C, H, W) or (C, H, W) input."""
    X = np.asarray(input, dtype=np.float32)
    if X.ndim not in (3, 4):
        raise DropoutError(f"dropout2d drops whole feature maps, so it needs (N, C, H, W) or (C, H, W), "
                           f"not an input of shape {X.shape}. Use dropout for single values.",
                           "bad_shape", ndim=X.ndim)
    p = _check_p(p)
    if not training or p == 0.0:
        return X
    channels = X.shape[:-2]  # one coin per (sample, channel) …
    keep = dropout_mask(channels, p, rng)[..., None, None]  # … broadcast over that channel's H × W values
    return _apply(X, np.broadcast_to(keep, X.shape), p)


@dataclass(frozen=True)
class DropoutSummary:
    """What dropout did to one array, measured (not predicted): for the page's "mean before / after" panel."""

    fraction_zeroed: float  # share of values that were non-zero before and are zero after
    mean_before: float
    mean_after: float
    scale: float  # the factor applied to survivors, 1/(1 − p)


def summarize(before, after, p: float) -> DropoutSummary:
    """Measure a dropout result: how much was zeroed and how the mean moved (it should stay close)."""
    X, Y = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    nonzero = X != 0
    zeroed = float(np.mean(Y[nonzero] == 0)) if nonzero.any() else 0.0
    p = _check_p(p)
    return DropoutSummary(zeroed, float(X.mean()), float(Y.mean()), float("inf") if p == 1.0 else 1.0 / (1.0 - p))
