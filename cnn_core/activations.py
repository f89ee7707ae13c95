"""Activation functions and their derivatives, like `torch.nn.functional`.

An activation is applied to every number on its own ("element-wise"): a feature map goes in, a feature map
of the same shape comes out. Without it, a stack of convolutions or linear layers would collapse into one
linear layer (see `cnn_core.xor.collapse_linear`). Each function `f` here has a partner `f_grad` with the
derivative f'(x) that backpropagation multiplies into the gradient; at the kinks (x = 0) we use the same value
torch's autograd uses, and say which.

`softmax` is different: it mixes the numbers along one axis into probabilities that sum to 1. Its derivative
is a matrix (the Jacobian); `softmax_grad` multiplies a gradient by it, as autograd does.

All functions take array-likes and return float32 numpy arrays of the input's shape.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from cnn_core.errors import CnnError
from cnn_core.render import value_range


class ActivationError(CnnError):
    """Input an activation demo cannot use (e.g. logits typed as text); `reason` and `details` say why."""


def _as_array(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


# --- ReLU ---------------------------------------------------------------------------------------------------

def relu(input) -> np.ndarray:
    """ReLU(x) = max(0, x): negatives become 0, positives pass unchanged."""
    x = _as_array(input)
    return np.maximum(x, 0, dtype=np.float32)


def relu_grad(input) -> np.ndarray:
    """ReLU'(x) = 1 for x > 0, else 0. At the kink x = 0 we take 0, as torch's autograd does."""
    x = _as_array(input)
    return (x > 0).astype(np.float32)


# --- Leaky ReLU -----------------------------------------------------------------------------------------------

def leaky_relu(input, negative_slope: float = 0.01) -> np.ndarray:
    """LeakyReLU(x) = x for x > 0, α·x otherwise (α = negative_slope): negatives leak through, scaled down."""
    x = _as_array(input)
    return np.maximum(x, 0) + np.float32(negative_slope) * np.minimum(x, 0)  # positive part + α · negative part


def leaky_relu_grad(input, negative_slope: float = 0.01) -> np.ndarray:
    """LeakyReLU'(x) = 1 for x > 0, α otherwise. At x = 0 we take α, as torch's autograd does."""
    x = _as_array(input)
    return np.where(x > 0, np.float32(1), np.float32(negative_slope))


# --- Sigmoid --------------------------------------------------------------------------------------------------

def sigmoid(input) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)), squashes any number into (0, 1).

    Written in two halves so that e^(...) never overflows: for x < 0 we use the equal form e^x / (1 + e^x).
    """
    x = _as_array(input)
    e = np.exp(-np.abs(x))  # e^(−|x|) ≤ 1: never overflows
    r = 1 / (1 + e)  # = σ(|x|)
    return np.where(x >= 0, r, e * r)  # σ(x) for x ≥ 0; e^x / (1 + e^x) = e^(−|x|)·σ(|x|) for x < 0


def sigmoid_grad(input) -> np.ndarray:
    """σ'(x) = σ(x)·(1 − σ(x)). Largest at x = 0, where it is 1/4; close to 0 for large |x| ("saturation")."""
    s = sigmoid(input)
    return s * (1 - s)


# --- Tanh -----------------------------------------------------------------------------------------------------

def tanh(input) -> np.ndarray:
    """tanh(x) = (e^x − e^(−x)) / (e^x + e^(−x)) = 2σ(2x) − 1, squashes into (−1, 1), centred on 0."""
    x = _as_array(input)
    return np.tanh(x)


def tanh_grad(input) -> np.ndarray:
    """tanh'(x) = 1 − tanh²(x). Largest at x = 0, where it is 1; close to 0 for large |x|."""
    y = tanh(input)
    return 1 - y * y


# --- ELU ------------------------------------------------------------------------------------------------------

def elu(input, alpha: float = 1.0) -> np.ndarray:
    """ELU(x) = x for x > 0, α·(e^x − 1) otherwise: negatives bend smoothly towards −α instead of dying at 0."""
    x = _as_array(input)
    negative = np.float32(alpha) * np.expm1(np.minimum(x, 0))  # min(x, 0): e^x of a large x is never computed
    return np.where(x > 0, x, negative)


def elu_grad(input, alpha: float = 1.0) -> np.ndarray:
    """ELU'(x) = 1 for x > 0, α·e^x otherwise. At x = 0 we take α·e^0 = α, as torch's autograd does."""
    x = _as_array(input)
    return np.where(x > 0, np.float32(1), np.float32(alpha) * np.exp(np.minimum(x, 0)))


# --- Softmax --------------------------------------------------------------------------------------------------

def softmax_naive(input, dim: int) -> np.ndarray:
    """The textbook formula e^(x_i) / Σ_j e^(x_j), as written. It breaks on large inputs: e^1000 overflows to
    inf, and inf / inf is nan. Kept to show why `softmax` subtracts the maximum first."""
    x = _as_array(input)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(x)
        return (e / e.sum(axis=dim, keepdims=True)).astype(np.float32)


def softmax(input, dim: int) -> np.ndarray:
    """softmax(x)_i = e^(x_i) / Σ_j e^(x_j) along axis `dim`: positive numbers that sum to 1.

    Adding the same number c to every x_i multiplies top and bottom by e^c, so the result does not change. We
    take c = −max(x): then every exponent is ≤ 0, e^(...) ≤ 1 never overflows, and the largest term is e^0 = 1,
    so the sum is ≥ 1 and never 0.
    """
    x = _as_array(input)
    if x.ndim == 0:
        raise ValueError("Softmax needs at least one axis to sum over; got a single number. Pass a vector.")
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"dim={dim} does not exist: the input has {x.ndim} axes. Use a dim from {-x.ndim} to {x.ndim - 1}.")
    e = np.exp(x - x.max(axis=dim, keepdims=True))  # every exponent ≤ 0
    return e / e.sum(axis=dim, keepdims=True)


def softmax_jacobian(input) -> np.ndarray:
    """The derivative of softmax of a vector x (n,) is an (n, n) matrix: ∂s_i/∂x_j = s_i·(δ_ij − s_j),
    i.e. J = diag(s) − s sᵀ. Each row sums to 0: raising every logit equally changes nothing."""
    x = _as_array(input)
    if x.ndim != 1:
        raise ValueError(f"The Jacobian is drawn for one vector; got an array with {x.ndim} axes.")
    s = softmax(x, dim=0)
    return (np.diag(s) - np.outer(s, s)).astype(np.float32)


def softmax_grad(input, dim: int, grad_output) -> np.ndarray:
    """Backpropagate `grad_output` (∂L/∂s) through softmax along `dim`, as autograd does: ∂L/∂x = Jᵀ g,
    which simplifies to s ⊙ (g − Σ_j g_j s_j) without ever building the matrix J."""
    s = softmax(input, dim)
    g = _as_array(grad_output)
    if g.shape != s.shape:
        raise ValueError(f"grad_output has shape {g.shape} but the input has shape {s.shape}; they must match.")
    return (s * (g - (g * s).sum(axis=dim, keepdims=True))).astype(np.float32)


# --- One table for the page ---------------------------------------------------------------------------------

# name → (function, derivative, name of its parameter or None). The page and the tests walk this table.
ACTIVATIONS = {
    "relu": (relu, relu_grad, None),
    "leaky_relu": (leaky_relu, leaky_relu_grad, "negative_slope"),
    "elu": (elu, elu_grad, "alpha"),
    "sigmoid": (sigmoid, sigmoid_grad, None),
    "tanh": (tanh, tanh_grad, None),
}

# The formulas the page shows (LaTeX); written once, here, next to the code that computes them.
FORMULAS = {
    "relu": (r"\mathrm{ReLU}(x) = \max(0, x)",
             r"\mathrm{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}"),
    "leaky_relu": (r"\mathrm{LeakyReLU}(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}",
                   r"\mathrm{LeakyReLU}'(x) = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}"),
    "elu": (r"\mathrm{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases}",
            r"\mathrm{ELU}'(x) = \begin{cases} 1 & x > 0 \\ \alpha\, e^{x} & x \le 0 \end{cases}"),
    "sigmoid": (r"\sigma(x) = \frac{1}{1 + e^{-x}}", r"\sigma'(x) = \sigma(x)\,\bigl(1 - \sigma(x)\bigr) \le \tfrac14"),
    "tanh": (r"\tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}", r"\tanh'(x) = 1 - \tanh^2(x) \le 1"),
    "softmax": (r"\mathrm{softmax}(z)_i = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}"
                r" = \frac{e^{(z_i - \max z)/T}}{\sum_j e^{(z_j - \max z)/T}}", ""),
}


def apply(name: str, input, parameter: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """f(x) and f'(x) of the activation called `name`; `parameter` is α for leaky_relu and elu (else ignored)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation '{name}'. Choose one of: {', '.join(ACTIVATIONS)}.")
    function, derivative, parameter_name = ACTIVATIONS[name]
    kwargs = {parameter_name: parameter} if parameter_name and parameter is not None else {}
    return function(input, **kwargs), derivative(input, **kwargs)


def share_of_zeros(x) -> float:
    """Fraction of entries that are exactly 0. After ReLU these units pass no gradient back ("dead" for this input)."""
    x = np.asarray(x)
    return float(np.count_nonzero(x == 0) / x.size) if x.size else 0.0


@dataclass(frozen=True)
class UnitShares:
    """What an activation did to a feature map, as fractions of its units (0 … 1)."""

    negative_before: float  # x < 0: what ReLU cuts
    zero_before: float  # x = 0 exactly (flat areas under an edge kernel)
    zero_after: float  # f(x) = 0
    no_gradient: float  # f'(x) = 0: these units pass nothing back for this input ("dead" here)


def unit_shares(before, after, slope) -> UnitShares:
    """The shares of negative, zero and gradient-less units of a map before and after an activation."""
    before = np.asarray(before)
    negative = float(np.count_nonzero(before < 0) / before.size) if before.size else 0.0
    return UnitShares(negative, share_of_zeros(before), share_of_zeros(after), share_of_zeros(slope))


def display_range(x) -> tuple[float, float]:
    """The range a map and its histogram are drawn on: ±(99th percentile of |x|) when x has negative values,
    else min … that percentile, so a few extreme pixels do not squeeze everything else into one colour or bar."""
    x = np.asarray(x)
    lo, hi = value_range(x, signed=True)
    if x.min() >= 0:
        lo = float(x.min())
        hi = hi if hi > lo else lo + 1.0
    return lo, hi


def map_ranges(name: str, before, after) -> tuple[tuple[float, float], tuple[float, float]]:
    """Display ranges for a map before and after activation `name`. ReLU, leaky ReLU and ELU are the identity for
    x > 0, so the after-map shares the before-map's scale (what was cut or squeezed shows); sigmoid and tanh squash
    into a small range of their own."""
    before_range = display_range(before)
    if name in ("relu", "leaky_relu", "elu"):
        return before_range, before_range if np.min(after) < 0 else (0.0, before_range[1])
    return before_range, display_range(after)


def parse_numbers(text: str, fewest: int = 2, most: int = 8, limit: float = 1e6) -> np.ndarray:
    """'2 1 0.1 -1' (spaces, commas or Chinese commas / semicolons between; − for minus) → float32 numbers.

    Raises ActivationError with a reason: "logits_empty", "logits_bad" (not a finite number), "logits_too_big"
    (|x| > limit) or "logits_count" (fewer than `fewest` or more than `most` numbers).
    """
    tokens = [token for token in re.split(r"[\s,，;；、]+", text.strip()) if token]
    if not tokens:
        raise ActivationError("Type at least two numbers, separated by spaces.", "logits_empty")
    values = []
    for token in tokens:
        try:
            value = float(token.replace("−", "-"))
        except ValueError:
            value = math.nan
        if not math.isfinite(value):  # "nan", "inf" and 1e400 parse as floats but are no usable scores
            raise ActivationError(f"'{token[:20]}' is not a number.", "logits_bad", token=token[:20])
        if abs(value) > limit:
            raise ActivationError(f"'{token[:20]}' is too large: keep every number within ±{limit:.0e}.",
                                  "logits_too_big", token=token[:20], limit=f"{limit:.0e}")
        values.append(value)
    if not fewest <= len(values) <= most:
        raise ActivationError(f"{len(values)} numbers; give {fewest} to {most}.", "logits_count", n=len(values),
                              fewest=fewest, most=most)
    return np.array(values, dtype=np.float32)


# --- Gradients through depth --------------------------------------------------------------------------------

def chain_weights(depth: int, width: int = 32, seed: int = 0) -> list[np.ndarray]:
    """`depth` random (width, width) weight matrices, He-initialised (std √(2/width)), the usual choice with ReLU.

    The same weights are used for every activation, so only the activation differs between the curves.
    """
    if depth < 1 or width < 1:
        raise ValueError("A chain needs at least one layer and one unit per layer.")
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((width, width)) * np.sqrt(2.0 / width)).astype(np.float32) for _ in range(depth)]


def chain_gradients(x, weights: list[np.ndarray], name: str, parameter: float | None = None) -> list[np.ndarray]:
    """Backpropagation by hand through h_k = f(W_k h_(k−1)), k = 1..depth, with loss L = Σ h_depth.

    x: (N, width) a batch of inputs. Returns [∂L/∂h_0, ∂L/∂h_1, ..., ∂L/∂h_depth], each (N, width).
    Going back one layer multiplies by f'(z_k) element-wise and then by W_k:
        ∂L/∂h_(k−1) = (∂L/∂h_k ⊙ f'(z_k)) W_k
    so the gradient at layer 0 carries a product of `depth` derivatives. With σ' ≤ 1/4 that product shrinks
    fast: the vanishing gradient.
    """
    h = _as_array(x)
    slopes = []
    for W in weights:  # forward: remember f'(z) of every layer
        z = h @ W.T  # (N, width)
        h, slope = apply(name, z, parameter)
        slopes.append(slope)
    grads = [np.ones_like(h)]  # ∂L/∂h_depth = 1 for L = Σ h_depth
    for W, slope in zip(reversed(weights), reversed(slopes), strict=False):
        grads.append((grads[-1] * slope) @ W)
    return grads[::-1]


def gradient_norms_by_depth(name: str, depth: int, width: int = 32, batch: int = 64, seed: int = 0,
                            parameter: float | None = None) -> np.ndarray:
    """Mean gradient size |∂L/∂h_k| (root mean square) at each layer k = 0..depth, divided by its size at the
    output, for inputs x ~ N(0, 1). Index 0 is the input end, where the first layer's weights learn."""
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch, width)).astype(np.float32)
    grads = chain_gradients(x, chain_weights(depth, width, seed), name, parameter)
    rms = np.array([np.sqrt(np.mean(np.square(g, dtype=np.float64))) for g in grads])
    return rms / rms[-1]
