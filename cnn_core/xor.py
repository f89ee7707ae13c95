"""Why a network needs a nonlinearity, shown twice.

1. `collapse_linear`: two linear layers without an activation between them are one linear layer,
       W₂(W₁x + b₁) + b₂ = (W₂W₁)x + (W₂b₁ + b₂) = Wx + b,
   checked with numbers.
2. `train_xor`: a tiny 2-H-1 network (NumPy backpropagation and Adam; torch only draws its random start) learns XOR. With a hidden nonlinearity it reaches 100 %; without
   one it is a single linear classifier, whose boundary is a straight line, and no straight line gets more than
   3 of the 4 XOR points right (≤ 75 %).

Weights follow torch.nn.Linear's layout: W is (out_features, in_features) and a batch of rows x (N, in)
maps to x Wᵀ + b (N, out).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

# The four XOR points and their labels: 1 when exactly one input is 1.
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)  # (4, 2)
XOR_Y = np.array([0, 1, 1, 0], dtype=np.float32)  # (4,)

XOR_ACTIVATIONS = ("relu", "tanh", "none")
GRID_LOW, GRID_HIGH = -0.5, 1.5  # the square drawn around the four points


# --- Two linear layers are one --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LinearCollapse:
    W: np.ndarray  # (out, in)   = W₂ W₁
    b: np.ndarray  # (out,)      = W₂ b₁ + b₂
    two_layers: np.ndarray  # (N, out) W₂(W₁x + b₁) + b₂, computed layer by layer
    one_layer: np.ndarray  # (N, out) W x + b, with the collapsed layer
    max_abs_diff: float  # max |two_layers − one_layer|: only rounding error
    with_relu: np.ndarray  # (N, out) W₂ ReLU(W₁x + b₁) + b₂: with a nonlinearity between, no single layer matches


def collapse_linear(W1, b1, W2, b2, x) -> LinearCollapse:
    """Merge y = W₂(W₁x + b₁) + b₂ into one layer y = Wx + b and check both give the same outputs on x.

    W1: (hidden, in), b1: (hidden,), W2: (out, hidden), b2: (out,), x: (N, in). Computed in float64 so the
    difference shows only the order of the arithmetic, not float32 rounding.
    """
    W1, b1, W2, b2, x = (np.asarray(a, dtype=np.float64) for a in (W1, b1, W2, b2, x))
    if W1.ndim != 2 or W2.ndim != 2 or x.ndim != 2:
        raise ValueError("W1, W2 must be matrices (out, in) and x a batch of rows (N, in).")
    if W2.shape[1] != W1.shape[0] or b1.shape != (W1.shape[0],) or b2.shape != (W2.shape[0],):
        raise ValueError(
            f"Shapes do not chain: W1 {W1.shape}, b1 {b1.shape}, W2 {W2.shape}, b2 {b2.shape}. W2 needs as many "
            "columns as W1 has rows, and each bias one number per row of its matrix."
        )
    if x.shape[1] != W1.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features per row but W1 expects {W1.shape[1]}.")
    hidden = x @ W1.T + b1  # (N, hidden)
    two_layers = hidden @ W2.T + b2  # (N, out)
    W = W2 @ W1  # (out, in)
    b = W2 @ b1 + b2  # (out,)
    one_layer = x @ W.T + b
    with_relu = np.maximum(hidden, 0) @ W2.T + b2
    return LinearCollapse(W, b, two_layers, one_layer, float(np.abs(two_layers - one_layer).max()), with_relu)


def random_layers(n_in: int = 3, hidden: int = 4, n_out: int = 2, batch: int = 3, seed: int = 0):
    """Random small W1, b1, W2, b2 and inputs x (integers from −3 to 3, easy to check by hand)."""
    rng = np.random.default_rng(seed)
    ints = lambda *shape: rng.integers(-3, 4, size=shape).astype(np.float64)  # noqa: E731
    return ints(hidden, n_in), ints(hidden), ints(n_out, hidden), ints(n_out), ints(batch, n_in)


def matrix_latex(M, decimals: int = 2) -> str:
    """A matrix (or a vector, shown as a column) as a LaTeX bmatrix, for st.latex."""
    M = np.asarray(M, dtype=np.float64)
    M = M[:, None] if M.ndim == 1 else M

    def cell(v: float) -> str:
        text = f"{v:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{v:.0f}"
        return "0" if text in ("-0", "") else text

    rows = [" & ".join(cell(v) for v in row) for row in M]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


# --- A tiny network learns XOR --------------------------------------------------------------------------------

@dataclass(frozen=True)
class XorResult:
    activation: str
    losses: np.ndarray  # (steps,) binary cross-entropy before each update
    accuracy: float  # share of the 4 points classified right after training (p > 0.5 ↔ class 1)
    probabilities: np.ndarray  # (4,) predicted P(class 1) for XOR_X
    grid: np.ndarray  # (G,) coordinates of the grid on both axes, from GRID_LOW to GRID_HIGH
    grid_probabilities: np.ndarray  # (G, G) P(class 1) at (x1 = grid[j], x2 = grid[i]); row i is x2
    W1: np.ndarray  # (hidden, 2) trained weights, torch.nn.Linear layout
    b1: np.ndarray  # (hidden,)
    W2: np.ndarray  # (1, hidden)
    b2: np.ndarray  # (1,)
    seconds: float  # wall time of the training loop


def _hidden(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        return np.maximum(z, 0)
    if activation == "tanh":
        return np.tanh(z)
    return z  # "none": the hidden layer stays linear


def _hidden_slope(z: np.ndarray, a: np.ndarray, activation: str) -> np.ndarray:
    """f'(z), from z and a = f(z): what backpropagation multiplies by on the way through the hidden layer."""
    if activation == "relu":
        return (z > 0).astype(z.dtype)  # 0 at z = 0, as torch
    if activation == "tanh":
        return 1 - a * a
    return np.ones_like(z)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * z))  # = 1 / (1 + e^−z), without overflow for large |z|


def initial_weights(hidden: int, seed: int) -> list[np.ndarray]:
    """W₁, b₁, W₂, b₂ drawn like torch.nn.Linear's default, U(±1/√fan_in), from torch's generator with this seed
    (so a seed gives the same start as a torch model would)."""
    import torch  # only the random start needs it: the training below is NumPy

    generator = torch.Generator().manual_seed(int(seed))

    def uniform(*shape: int, fan_in: int) -> np.ndarray:
        return ((torch.rand(*shape, generator=generator) * 2 - 1) * (1 / np.sqrt(fan_in))).numpy()

    return [uniform(hidden, 2, fan_in=2), uniform(hidden, fan_in=2), uniform(1, hidden, fan_in=hidden),
            uniform(1, fan_in=hidden)]


def train_xor(hidden: int = 16, activation: str = "relu", steps: int = 300, lr: float = 0.03, seed: int = 0,
              grid_size: int = 61) -> XorResult:
    """Train p = σ(W₂ f(W₁x + b₁) + b₂) on the four XOR points with Adam and binary cross-entropy.

    hidden: units in the hidden layer; activation: f = "relu", "tanh" or "none" (f(z) = z); steps: full-batch
    Adam updates; seed: fixes the initial weights (`initial_weights`). Forward pass, backpropagation and Adam are
    written out in NumPy (tests/unit/test_xor.py checks them against torch's autograd and torch.optim.Adam): on
    four points torch's per-operation overhead made each step ~1 ms, here it is a few tens of microseconds.
    """
    if activation not in XOR_ACTIVATIONS:
        raise ValueError(f"Unknown hidden activation '{activation}'. Choose one of: {', '.join(XOR_ACTIVATIONS)}.")
    if hidden < 1 or steps < 1 or not lr > 0 or grid_size < 2:
        raise ValueError("Use at least 1 hidden unit, at least 1 step, a learning rate above 0 and a grid of 2 or more points.")
    params = initial_weights(hidden, seed)  # W1 (H, 2), b1 (H,), W2 (1, H), b2 (1,)
    X, Y, n = XOR_X, XOR_Y, len(XOR_Y)
    beta1, beta2, eps = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults
    first = [np.zeros_like(p) for p in params]  # running mean of each gradient
    second = [np.zeros_like(p) for p in params]  # running mean of its square
    losses = np.empty(steps, dtype=np.float32)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        W1, b1, W2, b2 = params
        z1 = X @ W1.T + b1  # (4, H)
        a1 = _hidden(z1, activation)
        z2 = (a1 @ W2.T + b2)[:, 0]  # (4,) logits
        # Binary cross-entropy on logits, written the stable way: max(z, 0) − z·y + log(1 + e^−|z|)
        losses[step - 1] = np.mean(np.maximum(z2, 0) - z2 * Y + np.log1p(np.exp(-np.abs(z2))))
        dz2 = (_sigmoid(z2) - Y) / n  # ∂loss/∂logit
        dz1 = (dz2[:, None] @ W2) * _hidden_slope(z1, a1, activation)  # (4, H)
        grads = [dz1.T @ X, dz1.sum(axis=0), dz2[None, :] @ a1, dz2.sum(keepdims=True)]
        for p, g, m, v in zip(params, grads, first, second, strict=True):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            denominator = np.sqrt(v) / np.sqrt(1 - beta2 ** step) + eps
            p -= (lr / (1 - beta1 ** step)) * m / denominator
    seconds = time.perf_counter() - start

    def probability(points: np.ndarray) -> np.ndarray:
        W1, b1, W2, b2 = params
        return _sigmoid((_hidden(points @ W1.T + b1, activation) @ W2.T + b2)[:, 0])

    probabilities = probability(X)
    grid = np.linspace(GRID_LOW, GRID_HIGH, grid_size, dtype=np.float32)
    gx, gy = np.meshgrid(grid, grid)  # gx varies along columns (x1), gy along rows (x2)
    grid_probabilities = probability(np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(grid_size, grid_size)
    accuracy = float(np.mean((probabilities > 0.5) == (XOR_Y > 0.5)))
    return XorResult(activation, losses, accuracy, probabilities, grid, grid_probabilities, *params, seconds)


def best_linear_accuracy() -> float:
    """The best any straight line w·x + c > 0 can do on XOR, by brute force over a grid of lines: 0.75.

    (Why no line gets all four: class 1 needs w₂ + c > 0 and w₁ + c > 0, class 0 needs c ≤ 0 and
    w₁ + w₂ + c ≤ 0. Adding the first two gives w₁ + w₂ + 2c > 0, but the last two give w₁ + w₂ + 2c ≤ 0.)
    """
    angles = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    w = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (A, 2) directions
    offsets = np.linspace(-2, 2, 401)
    scores = XOR_X @ w.T  # (4, A)
    predicted = scores[None, :, :] + offsets[:, None, None] > 0  # (O, 4, A)
    accuracy = (predicted == (XOR_Y[None, :, None] > 0.5)).mean(axis=1)
    return float(accuracy.max())
