"""How a network learns, in numbers: a loss, its gradient, gradient descent, backpropagation by hand, a learned kernel.

    loss       L(w) measures how far the outputs are from the targets (mean squared error, cross-entropy)
    gradient   ∂L/∂w says which way each weight should move to raise L — so we step the other way:
    update     w ← w − η · ∂L/∂w            (η, the learning rate, sets the step length)
    backprop   the chain rule, layer by layer from the loss back to the first weights

Everything here is NumPy, like torch.nn.functional (weight of a linear layer is (out, in), a batch is rows).
Training real networks with torch lives in `cnn_core.learn_torch`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_core.activations import relu, relu_grad, sigmoid, sigmoid_grad, tanh, tanh_grad
from cnn_core.conv import conv2d, im2col, pair
from cnn_core.errors import CnnError


class LearnError(CnnError):
    """Data or settings a learning step cannot work with; `reason` and `details` let the app translate it."""


def _f32(a) -> np.ndarray:  # every op computes in float32, like torch's default
    return np.asarray(a, dtype=np.float32)


def _same_shape(input, target) -> tuple[np.ndarray, np.ndarray]:
    x, y = _f32(input), _f32(target)
    if x.shape != y.shape:
        raise LearnError(f"Prediction {x.shape} and target {y.shape} need the same shape to be compared number by number.",
                         "shape_mismatch", input=x.shape, target=y.shape)
    if x.size == 0:
        raise LearnError("There is nothing to compare: the prediction is empty.", "empty")
    return x, y


# --- Losses -----------------------------------------------------------------------------------------------------

def mse_loss(input, target) -> float:
    """Mean squared error, like F.mse_loss (reduction 'mean'): L = (1/n) Σ (ŷ_i − y_i)²."""
    x, y = _same_shape(input, target)
    return float(np.mean((x.astype(np.float64) - y) ** 2))


def mse_loss_grad(input, target) -> np.ndarray:
    """∂L/∂ŷ_i = 2 (ŷ_i − y_i) / n: each prediction is pushed toward its target, harder the further it is."""
    x, y = _same_shape(input, target)
    return (2 * (x - y) / x.size).astype(np.float32)


def _logits_and_labels(input, target) -> tuple[np.ndarray, np.ndarray]:
    z, labels = _f32(input), np.asarray(target)
    if z.ndim != 2 or labels.shape != (z.shape[0],):
        raise LearnError(f"Cross-entropy needs scores (N, classes) and one class index per row (N,); got {z.shape} "
                         f"and {labels.shape}.", "shape_mismatch", input=z.shape, target=labels.shape)
    if labels.size and (labels.min() < 0 or labels.max() >= z.shape[1]):
        raise LearnError(f"Class indices must be 0 to {z.shape[1] - 1}.", "bad_class", classes=z.shape[1])
    return z, labels.astype(np.int64)


def cross_entropy(input, target) -> float:
    """Cross-entropy for classification, like F.cross_entropy: mean over rows of −log softmax(z)[true class].

    log softmax is computed as z − max − log Σ e^(z − max), so large scores never overflow.
    """
    z, labels = _logits_and_labels(input, target)
    shifted = z.astype(np.float64) - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(labels)), labels].mean())


def cross_entropy_grad(input, target) -> np.ndarray:
    """∂L/∂z = (softmax(z) − one_hot(y)) / N: raise the true class's score, lower the others by their probability."""
    z, labels = _logits_and_labels(input, target)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    grad = e / e.sum(axis=1, keepdims=True)
    grad[np.arange(len(labels)), labels] -= 1
    return (grad / len(labels)).astype(np.float32)


# --- A fully connected (linear) layer ----------------------------------------------------------------------------

def linear(input, weight, bias=None) -> np.ndarray:
    """y = x Wᵀ + b like F.linear: input (..., in), weight (out, in), bias (out,) → (..., out)."""
    X, W = _f32(input), _f32(weight)
    if W.ndim != 2 or X.shape[-1] != W.shape[1]:
        raise LearnError(f"The layer expects {W.shape[-1]} inputs per row but got {X.shape[-1]}.", "shape_mismatch",
                         input=X.shape, weight=W.shape)
    Y = X @ W.T
    return Y if bias is None else Y + _f32(bias)


def linear_backward(input, weight, grad_output) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of y = x Wᵀ + b given ∂L/∂y: (grad_input, grad_weight, grad_bias), in torch's layout.

        ∂L/∂x = ∂L/∂y · W        each input collects the output gradients through the weights it fed
        ∂L/∂W = (∂L/∂y)ᵀ · x     weight (o, i) moved output o in proportion to input i, summed over the batch
        ∂L/∂b = Σ_rows ∂L/∂y     the bias was added to every row
    """
    X, W, dY = _f32(input), _f32(weight), _f32(grad_output)
    if dY.shape != X.shape[:-1] + (W.shape[0],):
        raise LearnError(f"grad_output has shape {dY.shape}; the layer's output has {X.shape[:-1] + (W.shape[0],)}.",
                         "grad_shape", expected=X.shape[:-1] + (W.shape[0],), got=dY.shape)
    rows_x, rows_dy = X.reshape(-1, X.shape[-1]), dY.reshape(-1, W.shape[0])  # any leading axes are a batch
    return dY @ W, rows_dy.T @ rows_x, rows_dy.sum(axis=0)


# --- Gradient descent on two parameters: fit a line ŷ = w·x + b ---------------------------------------------------

# A tiny data set the student can read: five points close to y = 2x + 1.
LINE_X = np.array([-1.0, 0.0, 1.0, 2.0, 3.0], dtype=np.float32)
LINE_Y = np.array([-0.8, 1.2, 2.9, 5.1, 6.9], dtype=np.float32)


def line_loss(w, b, x=LINE_X, y=LINE_Y) -> np.ndarray:
    """MSE of the line ŷ = w·x + b; w and b may be grids (the loss surface) of the same shape."""
    w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
    residual = w[..., None] * np.asarray(x) + b[..., None] - np.asarray(y)  # (..., n)
    return np.mean(residual**2, axis=-1)


def line_loss_grad(w: float, b: float, x=LINE_X, y=LINE_Y) -> np.ndarray:
    """(∂L/∂w, ∂L/∂b) = (mean 2(ŷ − y)·x, mean 2(ŷ − y))."""
    r = w * np.asarray(x, np.float64) + b - np.asarray(y, np.float64)
    return np.array([np.mean(2 * r * x), np.mean(2 * r)])


def lr_limits(hessian) -> tuple[float, float]:
    """For a quadratic loss with this Hessian: (1/λ_max, 2/λ_max).

    A step of η multiplies the distance to the minimum along the steepest direction by (1 − η·λ_max): below 1/λ_max
    that factor is positive (a smooth slide), between the two it is negative (zigzag, still shrinking), above
    2/λ_max its size exceeds 1 and every step overshoots further — gradient descent diverges.
    """
    top = float(np.linalg.eigvalsh(np.asarray(hessian, np.float64))[-1])
    return (np.inf, np.inf) if top <= 0 else (1 / top, 2 / top)


def line_hessian(x=LINE_X) -> np.ndarray:
    """∂²L/∂(w, b)² = (2/n)·[[Σx², Σx], [Σx, n]]: the same everywhere, because the loss is a quadratic bowl."""
    x = np.asarray(x, np.float64)
    return 2 / len(x) * np.array([[np.sum(x * x), np.sum(x)], [np.sum(x), len(x)]])


def _diverged(losses, finished: bool = False) -> bool:
    """Has gradient descent blown up? While running: the loss is not finite or 10× its start (stop before inf/NaN).

    When finished, also any real rise: on a quadratic loss a learning rate below the limit shrinks every
    direction at every step, so the loss can only fall; a loss now above its best (beyond rounding) is growing.
    """
    last, first = losses[-1], max(losses[0], 1e-12)
    if not np.isfinite(last) or last > 10 * first:
        return True
    return finished and last > 1.01 * min(losses) + 1e-6 * first


def _divergence_error(lr: float, step: int, losses, limit: float) -> LearnError:
    return LearnError(f"Learning rate {lr:g} is too large: the loss grew from {losses[0]:.3g} to {losses[-1]:.3g} "
                      f"in {step} steps, each step overshooting further. Use a learning rate below {limit:.3g}.",
                      "descent_diverged", lr=lr, step=step, first=float(losses[0]), last=float(losses[-1]), limit=limit)


@dataclass(frozen=True)
class Descent:
    path: np.ndarray  # (steps + 1, 2): (w, b) before each step and after the last; shorter if it diverged
    losses: np.ndarray  # (steps + 1,)
    lr: float
    outcome: str  # "converged", "oscillating" (zigzags; see converged), "too_slow", "diverged"
    converged: bool  # the gradient fell below 0.1 % of where it started
    lr_smooth: float  # 1/λ_max: above this the path zigzags
    lr_limit: float  # 2/λ_max: above this it diverges
    error: LearnError | None  # the explained divergence, or None


def gradient_descent(start=(-2.0, 6.0), lr: float = 0.1, steps: int = 50, x=LINE_X, y=LINE_Y) -> Descent:
    """Plain gradient descent (w, b) ← (w, b) − η·∇L on the line's MSE, and a code for what happened (`outcome`).

    A learning rate that blows up stops the run before inf/NaN and comes back as outcome "diverged" with an
    explained error (reason "descent_diverged", its numbers in details) — never raised, so the path so far can be drawn.
    """
    if not (lr > 0 and np.isfinite(lr)) or steps < 1:
        raise LearnError("Use a learning rate above 0 and at least one step.", "bad_descent", lr=lr, steps=steps)
    p = np.asarray(start, np.float64)
    path, losses = [p.copy()], [float(line_loss(*p, x, y))]
    lr_smooth, lr_limit = lr_limits(line_hessian(x))
    g0 = np.linalg.norm(line_loss_grad(*p, x, y))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            p = p - lr * line_loss_grad(*p, x, y)
            path.append(p.copy())
            losses.append(float(line_loss(*p, x, y)))
            if _diverged(losses):
                break
    path = np.array(path)
    if _diverged(losses, finished=True):
        error = _divergence_error(lr, len(losses) - 1, losses, lr_limit)
        return Descent(path, np.array(losses), lr, "diverged", False, lr_smooth, lr_limit, error)
    converged = bool(np.linalg.norm(line_loss_grad(*p, x, y)) <= 1e-3 * max(g0, 1e-12))
    moves = np.diff(path, axis=0)
    turns = np.sum(moves[1:] * moves[:-1], axis=1) < 0  # consecutive steps pointing against each other
    outcome = "oscillating" if turns.size and turns.mean() > 0.5 else ("converged" if converged else "too_slow")
    return Descent(path, np.array(losses), lr, outcome, converged, lr_smooth, lr_limit, None)


def loss_surface(w_range=(-3.0, 6.0), b_range=(-3.0, 8.0), n: int = 81, x=LINE_X, y=LINE_Y):
    """The loss on an n×n grid for contours: (ws (n,), bs (n,), L (n, n)), row i is b = bs[i]."""
    ws, bs = np.linspace(*w_range, n), np.linspace(*b_range, n)
    W, B = np.meshgrid(ws, bs)
    return ws, bs, line_loss(W, B, x, y)


# --- A 2-3-1 network, forward and backward by hand ---------------------------------------------------------------

HIDDEN_ACTIVATIONS = {"sigmoid": (sigmoid, sigmoid_grad), "tanh": (tanh, tanh_grad), "relu": (relu, relu_grad)}


def tiny_net_params(seed: int = 0) -> dict[str, np.ndarray]:
    """Weights for 2 inputs → 3 hidden → 1 output, rounded to one decimal so a student can redo the sums."""
    rng = np.random.default_rng(seed)
    draw = lambda *shape: np.round(rng.uniform(-1, 1, shape), 1).astype(np.float32)  # noqa: E731
    return {"W1": draw(3, 2), "b1": draw(3), "W2": draw(1, 3), "b2": draw(1)}


@dataclass(frozen=True)
class Backprop:
    x: np.ndarray  # (2,) inputs
    z1: np.ndarray  # (3,) weighted sums of the hidden layer, W1 x + b1
    h: np.ndarray  # (3,) hidden activations f(z1)
    y_hat: float  # the output W2 h + b2 (no activation: a regression output)
    y: float  # target
    loss: float  # (ŷ − y)², the MSE of one example
    grads: dict[str, np.ndarray]  # ∂L/∂ of every quantity, keyed "y_hat", "W2", "b2", "h", "z1", "W1", "b1"


def tiny_net(x, y: float, params: dict, activation: str = "sigmoid") -> Backprop:
    """Forward pass, then the chain rule from the loss back to W1, one layer at a time."""
    if activation not in HIDDEN_ACTIVATIONS:
        raise LearnError(f"Unknown activation '{activation}'. Choose one of: {', '.join(HIDDEN_ACTIVATIONS)}.",
                         "unknown_activation", activation=activation)
    f, f_grad = HIDDEN_ACTIVATIONS[activation]
    x = _f32(x).reshape(2)
    z1 = linear(x, params["W1"], params["b1"])  # (3,)
    h = f(z1)
    y_hat = linear(h, params["W2"], params["b2"])  # (1,)
    target = np.array([y], np.float32)
    d_y_hat = mse_loss_grad(y_hat, target)  # 2(ŷ − y)
    d_h, d_W2, d_b2 = linear_backward(h, params["W2"], d_y_hat)
    d_z1 = d_h * f_grad(z1)  # chain rule through the activation: ∂L/∂z = ∂L/∂h · f'(z)
    _, d_W1, d_b1 = linear_backward(x, params["W1"], d_z1)
    grads = {"y_hat": d_y_hat, "W2": d_W2, "b2": d_b2, "h": d_h, "z1": d_z1, "W1": d_W1, "b1": d_b1}
    return Backprop(x, z1, h, float(y_hat[0]), float(y), mse_loss(y_hat, target), grads)


def tiny_net_grads(x, y: float, W1, b1, W2, b2, activation: str = "sigmoid") -> tuple[np.ndarray, ...]:
    """(∂L/∂W1, ∂L/∂b1, ∂L/∂W2, ∂L/∂b2) of `tiny_net` as a tuple: what the PyTorch check compares with autograd."""
    grads = tiny_net(x, y, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, activation).grads
    return grads["W1"], grads["b1"], grads["W2"], grads["b2"]


# --- Learning a kernel: Y = X ⋆ K, find K from X and Y ------------------------------------------------------------

def d2l_stripe() -> tuple[np.ndarray, np.ndarray]:
    """d2l's example: a 6×8 image of ones with a dark stripe in columns 2–5, and Y = X ⋆ [1, −1] (its edges)."""
    X = np.ones((6, 8), np.float32)
    X[:, 2:6] = 0
    return X, correlate_valid(X, np.array([[1, -1]], np.float32))


def correlate_valid(X, K) -> np.ndarray:
    """One-channel cross-correlation without padding: (H, W) ⋆ (kh, kw) → (H − kh + 1, W − kw + 1)."""
    return conv2d(_f32(X)[None, None], _f32(K)[None, None])[0, 0]


def make_target(X, K, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Y = X ⋆ K, plus Gaussian noise whose standard deviation is `noise` × the spread of X ⋆ K."""
    Y = correlate_valid(X, K)
    if noise > 0:
        Y = Y + noise * float(Y.std() or 1) * np.random.default_rng(seed).standard_normal(Y.shape).astype(np.float32)
    return Y


def _windows(X: np.ndarray, kernel_size: tuple[int, int]) -> np.ndarray:
    """Every kh×kw window of a one-channel (H, W) image as a column: (kh·kw, M), M = number of outputs."""
    return im2col(X[None, None], kernel_size, (1, 1), (1, 1))[0]


def kernel_lr_limits(X, kernel_size) -> tuple[float, float]:
    """(1/λ_max, 2/λ_max) of the kernel-fitting loss on this image (see `lr_limits`).

    L(K) = mean((X ⋆ K − Y)²) is a quadratic in the kh·kw kernel values with Hessian (2/M)·P Pᵀ, P the M windows
    of X unfolded as columns. It depends on the pixel values, not on Y, and not on the image size (the mean
    divides by M): one tiny kh·kw × kh·kw matrix gives the exact limit for any image.
    """
    P = _windows(_f32(X), pair(kernel_size)).astype(np.float64)
    return lr_limits(2 * (P @ P.T) / P.shape[1])


@dataclass(frozen=True)
class KernelFit:
    kernel: np.ndarray  # (kh, kw) after the last step
    kernels: np.ndarray  # (steps + 1, kh, kw): the starting kernel, then after each step (shorter if it diverged)
    losses: np.ndarray  # (steps + 1,): the loss of each kernel in `kernels`
    lr: float
    lr_limit: float  # 2/λ_max on this image: a larger learning rate diverges
    outcome: str  # "converged", "too_slow" or "diverged"
    error: LearnError | None


def fit_kernel(X, Y, kernel_size, lr: float | None = None, steps: int = 300, seed: int = 0) -> KernelFit:
    """Learn K with Y ≈ X ⋆ K (valid) by gradient descent on the MSE, from a random start (d2l 7.2.4).

    lr=None takes η = 1/λ_max of this image (`kernel_lr_limits`): the largest step that never overshoots along the
    steepest direction, half the divergence limit. A fixed number would diverge on brighter pixels or larger
    kernels (λ_max grows with both), and crawl on darker ones.
    """
    X, Y = _f32(X), _f32(Y)
    kh, kw = pair(kernel_size)
    if X.ndim != 2 or Y.ndim != 2 or min(kh, kw) < 1 or kh > X.shape[0] or kw > X.shape[1]:
        raise LearnError(f"Need a one-channel image (H, W) at least as large as the {kh}×{kw} kernel.",
                         "kernel_too_big", image=X.shape, kernel=(kh, kw))
    if Y.shape != (X.shape[0] - kh + 1, X.shape[1] - kw + 1):
        raise LearnError(f"Y is {Y.shape} but a {kh}×{kw} kernel on a {X.shape} image gives "
                         f"{(X.shape[0] - kh + 1, X.shape[1] - kw + 1)}.", "shape_mismatch", got=Y.shape)
    if steps < 1 or (lr is not None and not (lr > 0 and np.isfinite(lr))):
        raise LearnError("Use a learning rate above 0 and at least one step.", "bad_descent", lr=lr, steps=steps)
    P = _windows(X, (kh, kw))  # (kh·kw, M): unfolded once, reused by every step
    lr_smooth, lr_limit = lr_limits(2 * (P.astype(np.float64) @ P.T) / P.shape[1])
    lr = float(lr_smooth if lr is None else lr)
    K = (np.random.default_rng(seed).uniform(-1, 1, (kh, kw)) / np.sqrt(kh * kw)).astype(np.float32)  # like nn.Conv2d
    target = Y.ravel()  # (M,)

    # The two matrix products of conv2d (Ŷ = K·P) and conv2d_backward (∂L/∂K = ∂L/∂Ŷ·Pᵀ, i.e. X ⋆ ∂L/∂Ŷ) on windows
    # unfolded once: the same numbers as calling them (a test checks), without unfolding the image every step.
    def residual(K):
        return K.reshape(-1) @ P - target  # Ŷ − Y, (M,)

    def loss_and_gradient(r):  # L = mean(r²) (mse_loss), ∂L/∂Ŷ = 2r/M (mse_loss_grad)
        r64 = r.astype(np.float64)  # a float64 sum: 10⁵ squares in float32 would round visibly
        return float(r64 @ r64) / r.size, ((2 / r.size) * (P @ r)).reshape(kh, kw)  # P @ r = r·Pᵀ, row by row

    loss, dK = loss_and_gradient(residual(K))
    kernels, losses, grad0 = [K], [loss], np.linalg.norm(dK)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            K = K - np.float32(lr) * dK  # w ← w − η · ∂L/∂w
            loss, dK = loss_and_gradient(residual(K))
            kernels.append(K)
            losses.append(loss)
            if _diverged(losses):
                break
    kernels, losses = np.array(kernels), np.array(losses)
    if _diverged(losses, finished=True):
        return KernelFit(K, kernels, losses, lr, lr_limit, "diverged",
                         _divergence_error(lr, len(losses) - 1, losses, lr_limit))
    converged = np.linalg.norm(dK) <= 1e-3 * max(grad0, 1e-12)
    return KernelFit(K, kernels, losses, lr, lr_limit, "converged" if converged else "too_slow", None)


def kernel_gradient(X, K, Y) -> tuple[np.ndarray, np.ndarray]:
    """(∂L/∂Ŷ, ∂L/∂K) for L = mse(X ⋆ K, Y); ∂L/∂K equals X ⋆ ∂L/∂Ŷ — the gradient is itself a correlation."""
    X, K = _f32(X), _f32(K)
    dY = mse_loss_grad(correlate_valid(X, K), Y)
    return dY, correlate_valid(X, dY)


# --- Why fully connected layers do not suit images ----------------------------------------------------------------

def parameter_counts(height: int, width: int, channels: int, hidden: int = 256, out_channels: int = 16,
                     kernel_size: int = 3) -> dict[str, int]:
    """Weights + biases of one FC layer on the flattened image against one conv layer on the same image.

    FC: every hidden unit has one weight per input number, H·W·C·hidden in all — it grows with the image.
    Conv: each output channel has one C·k·k kernel shared by every position — independent of H and W.
    """
    kh, kw = pair(kernel_size)
    return {"fc": height * width * channels * hidden + hidden, "conv": out_channels * channels * kh * kw + out_channels}


def pixel_permutation(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A fixed shuffle of the H·W pixel positions (the same seed gives the same shuffle)."""
    return np.random.default_rng(seed).permutation(height * width)


def shuffle_pixels(X, permutation) -> np.ndarray:
    """Move every pixel of (..., H, W) to a new place, the same places in every channel and every image.

    Neighbours stop being neighbours, but no value is lost: argsort(permutation) undoes it.
    """
    X = np.asarray(X)
    perm = np.asarray(permutation)
    if perm.shape != (X.shape[-2] * X.shape[-1],):
        raise LearnError(f"The permutation has {perm.size} positions but the image has {X.shape[-2] * X.shape[-1]}.",
                         "shape_mismatch", got=perm.size, expected=X.shape[-2] * X.shape[-1])
    flat = X.reshape(*X.shape[:-2], -1)
    return flat[..., perm].reshape(X.shape)
