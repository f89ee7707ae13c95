"""Batch normalization, written twice: a loop over channels you can read, and a vectorised version the app runs.

For every channel c, batch normalization looks at *all* the values of that channel in the mini-batch — every
sample n and every position (h, w), m = N·H·W numbers — and computes, in training mode:

    μ_B  = (1/m) Σ x_i                      the batch mean of the channel
    σ²_B = (1/m) Σ (x_i − μ_B)²             the batch variance (biased: divided by m)
    x̂_i  = (x_i − μ_B) / √(σ²_B + ε)        every value, shifted and scaled
    y_i  = γ x̂_i + β                        a learned scale γ and shift β per channel

It also keeps running estimates for evaluation, updated after every training batch exactly as PyTorch does:

    running_mean ← (1 − momentum)·running_mean + momentum·μ_B
    running_var  ← (1 − momentum)·running_var  + momentum·σ²_B · m/(m − 1)     (the *unbiased* variance)

In evaluation mode the running estimates replace μ_B and σ²_B, so the output no longer depends on the batch.
`batch_norm` mirrors `torch.nn.functional.batch_norm` (same argument names, NCHW layout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cnn_core.errors import CnnError


class NormError(CnnError):
    """Batch norm cannot run on this input or with these settings; `reason` and `details` say why."""


def _check_input(X: np.ndarray) -> None:
    if X.ndim < 2:
        raise NormError(
            f"Batch norm expects a batch: (N, C), (N, C, L) or (N, C, H, W), but got shape {X.shape}. "
            "Add a batch axis in front, e.g. x[None].", "not_a_batch", shape=tuple(X.shape))
    if X.shape[0] == 0 or X.shape[1] == 0 or X.size == 0:
        raise NormError(f"Batch norm got an empty input of shape {X.shape}. Give it at least one sample and one "
                        "channel.", "empty_batch", shape=tuple(X.shape))


def _check_parameter(name: str, value, channels: int) -> np.ndarray | None:
    if value is None:
        return None
    array = np.asarray(value)
    if array.shape != (channels,):
        raise NormError(f"{name} must hold one number per channel ({channels}), but has shape {array.shape}.",
                        "per_channel_shape", name=name, c=channels, shape=tuple(array.shape))
    return array


def values_per_channel(shape: tuple[int, ...]) -> int:
    """m = N·H·W: how many numbers one channel's statistics are computed over (N·L for 3-D, N for 2-D)."""
    return math.prod(shape) // shape[1]


def _check_trainable(shape: tuple[int, ...]) -> int:
    m = values_per_channel(shape)
    if m < 2:
        raise NormError(
            f"In training mode batch norm needs more than one value per channel to compute a variance, but an input "
            f"of shape {tuple(shape)} has only {m} per channel (N × H × W = 1). Use a batch of at least 2 samples, "
            "feature maps larger than 1×1, or evaluation mode (training=False).", "one_value_per_channel", m=m,
            shape=tuple(shape))
    return m


def _as_channel_axis(v: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) → (1, C, 1, …, 1) so it broadcasts against an (N, C, …) tensor."""
    return np.asarray(v).reshape((1, -1) + (1,) * (ndim - 2))


# ---------------------------------------------------------------------------------------------------------------
# The readable reference: one channel at a time, the four formulas as written in the paper.
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchNormSteps:
    """Every intermediate result of training-mode batch norm, for showing the four formulas with numbers."""

    input: np.ndarray  # (N, C, …) the values x_i, float64
    count: int  # m = N·H·W values per channel
    mean: np.ndarray  # μ_B, (C,)
    var: np.ndarray  # σ²_B, (C,), biased (divided by m): what the normalisation uses
    var_unbiased: np.ndarray  # σ²_B · m/(m − 1), (C,): what goes into the running variance
    x_hat: np.ndarray  # (N, C, …) normalised values
    output: np.ndarray  # (N, C, …) y = γ x̂ + β
    eps: float


def batch_norm_steps(input, weight=None, bias=None, eps: float = 1e-5) -> BatchNormSteps:
    """Training-mode batch norm, one channel at a time, keeping every intermediate (float64 inside).

    input: (N, C), (N, C, L) or (N, C, H, W). weight γ and bias β: (C,) or None (γ = 1, β = 0).
    """
    X = np.asarray(input, dtype=np.float64)
    _check_input(X)
    C = X.shape[1]
    gamma = _check_parameter("weight (γ)", weight, C)
    beta = _check_parameter("bias (β)", bias, C)
    m = _check_trainable(X.shape)
    mean, var = np.empty(C), np.empty(C)
    x_hat, Y = np.empty_like(X), np.empty_like(X)
    for c in range(C):
        values = X[:, c]  # every sample, every position of channel c: (N, H, W), m numbers
        mean[c] = values.sum() / m  # μ_B = (1/m) Σ x_i
        var[c] = ((values - mean[c]) ** 2).sum() / m  # σ²_B = (1/m) Σ (x_i − μ_B)²
        x_hat[:, c] = (values - mean[c]) / np.sqrt(var[c] + eps)  # x̂_i = (x_i − μ_B) / √(σ²_B + ε)
        g = 1.0 if gamma is None else float(gamma[c])
        b = 0.0 if beta is None else float(beta[c])
        Y[:, c] = g * x_hat[:, c] + b  # y_i = γ x̂_i + β
    return BatchNormSteps(X, m, mean, var, var * m / (m - 1), x_hat.astype(np.float32), Y.astype(np.float32), eps)


# ---------------------------------------------------------------------------------------------------------------
# The version the app runs: the same maths on all channels at once.
# ---------------------------------------------------------------------------------------------------------------

def channel_stats(input) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-channel batch mean μ_B and biased variance σ²_B over N and every spatial position; and m.

    Returns (mean (C,), var (C,), m) in float64. Two passes (mean first, then squared deviations) keep the
    variance accurate even when the mean is large compared with the spread.
    """
    X = np.asarray(input, dtype=np.float32)
    _check_input(X)
    N, C = X.shape[:2]
    rows = X.reshape(N, C, -1)  # (N, C, L): L = H·W values per map
    m = values_per_channel(X.shape)
    map_sums = rows[:, :, 0] if rows.shape[2] == 1 else rows.sum(axis=2)  # (N, C): Σ over each map (pairwise)
    mean = map_sums.sum(axis=0, dtype=np.float64) / m  # (C,)
    centred = rows - mean.astype(np.float32)[None, :, None]  # (N, C, L)
    map_squares = np.einsum("ncl,ncl->nc", centred, centred)  # (N, C): Σ over each map of (x − μ)²
    var = map_squares.sum(axis=0, dtype=np.float64) / m
    return mean, var, m


def unbiased_variance(biased_var, count: int) -> np.ndarray:
    """σ²_B · m/(m − 1): the batch variance divided by m − 1 instead of m (what the running variance averages)."""
    return np.asarray(biased_var, dtype=np.float64) * count / (count - 1)


def update_running_stats(running_mean, running_var, batch_mean, batch_var, count: int, momentum: float) -> None:
    """Blend one batch's statistics into the running estimates, in place, as PyTorch does.

    running_mean ← (1 − momentum)·running_mean + momentum·μ_B
    running_var  ← (1 − momentum)·running_var  + momentum·σ²_B·m/(m − 1)
    batch_var is the biased σ²_B (divided by m); the running estimate uses the unbiased one.
    PyTorch's momentum is the weight of the *new* batch (Keras' momentum is the weight of the old value).
    """
    unbiased = unbiased_variance(batch_var, count)
    if running_mean is not None:
        running_mean[...] = (1 - momentum) * running_mean + momentum * np.asarray(batch_mean)
    if running_var is not None:
        running_var[...] = (1 - momentum) * running_var + momentum * unbiased


def running_stats_curve(batch_means, batch_vars, count: int, momentum: float,
                        start_mean: float = 0.0, start_var: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The running estimates after 0, 1, …, T training steps, given each step's batch statistics.

    batch_means, batch_vars: (T, C), biased batch variances. Returns (T + 1, C) running means and variances;
    row 0 holds the start values (PyTorch starts at mean 0, variance 1).
    """
    batch_means = np.asarray(batch_means, dtype=np.float64)
    batch_vars = np.asarray(batch_vars, dtype=np.float64)
    T, C = batch_means.shape
    means, variances = np.empty((T + 1, C)), np.empty((T + 1, C))
    running_mean, running_var = np.full(C, float(start_mean)), np.full(C, float(start_var))
    means[0], variances[0] = running_mean, running_var
    for t in range(T):
        update_running_stats(running_mean, running_var, batch_means[t], batch_vars[t], count, momentum)
        means[t + 1], variances[t + 1] = running_mean, running_var
    return means, variances


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> np.ndarray:
    """Batch normalization like `torch.nn.functional.batch_norm`; returns the output (float32, input's shape).

    input: (N, C), (N, C, L) or (N, C, H, W). running_mean, running_var: (C,) numpy arrays or None.
    training=True normalises with the batch's own μ_B and σ²_B (biased) and, when the running arrays are given,
    updates them in place (unbiased variance, see `update_running_stats`). training=False normalises with the
    running estimates, which must then be given. weight γ, bias β: (C,) or None (γ = 1, β = 0).
    """
    X = np.asarray(input, dtype=np.float32)
    _check_input(X)
    C = X.shape[1]
    gamma = _check_parameter("weight (γ)", weight, C)
    beta = _check_parameter("bias (β)", bias, C)
    for name, running in (("running_mean", running_mean), ("running_var", running_var)):
        _check_parameter(name, running, C)
        if training and running is not None and not isinstance(running, np.ndarray):
            raise NormError(f"{name} must be a numpy array so training can update it in place, or None.",
                            "running_not_array", name=name)
    if not 0 <= momentum <= 1:
        raise NormError(f"Momentum is the weight of the new batch in the running estimates: 0 to 1, not {momentum}.",
                        "bad_momentum", momentum=momentum)
    if training:
        m = _check_trainable(X.shape)
        mean, var, _ = channel_stats(X)
        update_running_stats(running_mean, running_var, mean, var, m, momentum)
    else:
        if running_mean is None or running_var is None:
            raise NormError("Evaluation mode normalises with the running mean and variance: pass both "
                            "(or use training=True to normalise with the batch's own statistics).", "eval_needs_running")
        mean = np.asarray(running_mean, dtype=np.float64)
        var = np.asarray(running_var, dtype=np.float64)
    # y = γ (x − μ) / √(σ² + ε) + β  =  x · scale + shift,  with scale = γ / √(σ² + ε),  shift = β − μ · scale
    scale = 1.0 / np.sqrt(var + eps)
    if gamma is not None:
        scale = scale * gamma
    shift = -mean * scale
    if beta is not None:
        shift = shift + beta
    Y = np.multiply(X, _as_channel_axis(scale.astype(np.float32), X.ndim))  # (N, C, …)
    Y += _as_channel_axis(shift.astype(np.float32), X.ndim)
    return Y


def batch_norm_train_steps(input, steps: int = 3, momentum: float = 0.1, eps: float = 1e-5
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`steps` training steps on the same batch, running estimates starting where PyTorch's do (mean 0, var 1).

    Returns (the last output, running_mean, running_var): what torch's BatchNorm2d holds after `steps` forward
    passes in training mode. The page checks it against torch (output and both running estimates).
    """
    X = np.asarray(input, dtype=np.float32)
    _check_input(X)
    running_mean, running_var = np.zeros(X.shape[1], np.float32), np.ones(X.shape[1], np.float32)
    Y = X
    for _ in range(steps):
        Y = batch_norm(X, running_mean, running_var, training=True, momentum=momentum, eps=eps)
    return Y, running_mean, running_var


def normalisation_error(output) -> float:
    """How far an (N, C, …) output is from normalised: the worst channel's |mean| + |std − 1|."""
    Y = np.asarray(output, dtype=np.float64)
    axes = (0, *range(2, Y.ndim))
    return float(np.max(np.abs(Y.mean(axis=axes)) + np.abs(Y.std(axis=axes) - 1)))


# ---------------------------------------------------------------------------------------------------------------
# Placement and display helpers.
# ---------------------------------------------------------------------------------------------------------------

PLACEMENTS = ("bn_relu", "relu_bn")


def bn_and_relu(input, order: str, weight=None, bias=None, eps: float = 1e-5) -> np.ndarray:
    """conv → BN → ReLU (order 'bn_relu', the usual one) or conv → ReLU → BN ('relu_bn'), training mode.

    ReLU(x) = max(x, 0), like torch.relu.
    """
    if order not in PLACEMENTS:
        raise NormError(f"Unknown order '{order}'. Choose one of: {', '.join(PLACEMENTS)}.", "unknown_order",
                        order=order)
    X = np.asarray(input, dtype=np.float32)
    if order == "bn_relu":
        return np.maximum(batch_norm(X, None, None, weight, bias, training=True, eps=eps), 0)
    return batch_norm(np.maximum(X, 0), None, None, weight, bias, training=True, eps=eps)


def _number(value: float, digits: int = 4) -> str:
    """A LaTeX number with a few significant digits, −0 shown as 0; big and tiny values in ×10^k form."""
    value = float(value)
    if value == 0 or abs(value) < 1e-12:
        return "0"
    if 1e3 <= abs(value) < 1e6:
        return f"{value:.1f}"  # 14590.2 rather than 1.459e+04
    if 1e-3 <= abs(value) < 1e3:
        return f"{value:.{digits}g}"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return rf"{mantissa}\times 10^{{{int(exponent)}}}"


def _epsilon(eps: float) -> str:
    """ε as LaTeX: 10^{-5} for powers of ten, else the number."""
    exponent = round(float(np.log10(eps))) if eps > 0 else 0
    return rf"10^{{{exponent}}}" if eps > 0 and np.isclose(eps, 10.0 ** exponent) else _number(eps)


def batch_norm_latex(steps: BatchNormSteps, channel: int, index: tuple[int, ...], gamma: float = 1.0,
                     beta: float = 0.0) -> list[str]:
    """The four formulas with the numbers of one channel filled in, as LaTeX lines for st.latex.

    `index` picks one value x_i of the channel (its (n, h, w) position) for the last two formulas.
    """
    c, m, eps = channel, steps.count, steps.eps
    mu, var = steps.mean[c], steps.var[c]
    x = float(steps.input[(index[0], c) + tuple(index[1:])])
    x_hat = (x - mu) / np.sqrt(var + eps)
    y = gamma * x_hat + beta
    sign = "-" if mu >= 0 else "+"
    return [
        rf"\mu_B = \frac{{1}}{{m}}\sum_{{i=1}}^{{m}} x_i = \frac{{1}}{{{m}}}\,({_number(mu * m)}) = {_number(mu)}",
        rf"\sigma_B^2 = \frac{{1}}{{m}}\sum_{{i=1}}^{{m}} (x_i - \mu_B)^2 = \frac{{1}}{{{m}}}\,({_number(var * m)})"
        rf" = {_number(var)}",
        rf"\hat{{x}}_i = \frac{{x_i - \mu_B}}{{\sqrt{{\sigma_B^2 + \epsilon}}}} = \frac{{{_number(x)} {sign} "
        rf"{_number(abs(mu))}}}{{\sqrt{{{_number(var)} + {_epsilon(eps)}}}}} = {_number(x_hat)}",
        rf"y_i = \gamma\,\hat{{x}}_i + \beta = {_number(gamma)} \cdot ({_number(x_hat)}) + ({_number(beta)})"
        rf" = {_number(y)}",
    ]
