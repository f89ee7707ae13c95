"""cnn_core.learn against torch (losses, linear backward, backprop, Hessians) and worked examples (d2l 7.2.4)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core.conv import conv2d, conv2d_backward
from cnn_core.errors import CnnError
from cnn_core.kernels import get_kernel
from cnn_core.learn import (
    HIDDEN_ACTIVATIONS,
    LINE_X,
    LINE_Y,
    LearnError,
    correlate_valid,
    cross_entropy,
    cross_entropy_grad,
    d2l_stripe,
    fit_kernel,
    gradient_descent,
    kernel_gradient,
    kernel_lr_limits,
    line_hessian,
    line_loss,
    line_loss_grad,
    linear,
    linear_backward,
    loss_surface,
    make_target,
    mse_loss,
    mse_loss_grad,
    parameter_counts,
    pixel_permutation,
    shuffle_pixels,
    tiny_net,
    tiny_net_grads,
    tiny_net_params,
)

TOL = dict(rtol=1e-5, atol=1e-5)  # float32 sums of a few dozen products


def t(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


# --- Losses ------------------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(shapes, st.integers(0, 2**31 - 1))
def test_mse_loss_and_its_gradient_match_torch(shape, seed):
    rng = np.random.default_rng(seed)
    x, y = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    xt = t(x, grad=True)
    loss = F.mse_loss(xt, t(y))
    loss.backward()
    np.testing.assert_allclose(mse_loss(x, y), loss.item(), **TOL)
    np.testing.assert_allclose(mse_loss_grad(x, y), xt.grad.numpy(), **TOL)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(2, 6), st.floats(0.1, 100), st.integers(0, 2**31 - 1))
def test_cross_entropy_and_its_gradient_match_torch(n, classes, scale, seed):
    """Scores up to ±100·3 would overflow a naive e^z: both the loss and its gradient must stay finite."""
    rng = np.random.default_rng(seed)
    z = (scale * rng.standard_normal((n, classes))).astype(np.float32)
    labels = rng.integers(0, classes, n)
    zt = t(z, grad=True)
    loss = F.cross_entropy(zt, t(labels))
    loss.backward()
    np.testing.assert_allclose(cross_entropy(z, labels), loss.item(), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(cross_entropy_grad(z, labels), zt.grad.numpy(), **TOL)


def test_cross_entropy_by_hand():
    """Two equal scores: p = 1/2 each, so L = −log ½ = log 2, and the gradient is (½ − 1, ½) = (−½, ½)."""
    np.testing.assert_allclose(cross_entropy([[3.0, 3.0]], [0]), np.log(2), rtol=1e-6)
    np.testing.assert_allclose(cross_entropy_grad([[3.0, 3.0]], [0]), [[-0.5, 0.5]], **TOL)


def test_loss_errors_carry_a_reason():
    with pytest.raises(LearnError) as info:
        mse_loss(np.zeros(3), np.zeros(4))
    assert info.value.reason == "shape_mismatch" and isinstance(info.value, CnnError)
    with pytest.raises(LearnError) as info:
        cross_entropy(np.zeros((2, 3)), [0, 3])
    assert info.value.reason == "bad_class" and info.value.details["classes"] == 3


# --- Linear layer ------------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=0, max_size=2).map(tuple), st.integers(1, 6), st.integers(1, 6),
       st.integers(0, 2**31 - 1))
def test_linear_and_linear_backward_match_torch_autograd(lead, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(lead + (n_in,)).astype(np.float32)
    W = rng.standard_normal((n_out, n_in)).astype(np.float32)
    b = rng.standard_normal(n_out).astype(np.float32)
    dY = rng.standard_normal(lead + (n_out,)).astype(np.float32)
    xt, Wt, bt = t(x, True), t(W, True), t(b, True)
    Yt = F.linear(xt, Wt, bt)
    Yt.backward(t(dY))
    np.testing.assert_allclose(linear(x, W, b), Yt.detach().numpy(), **TOL)
    for ours, theirs in zip(linear_backward(x, W, dY), (xt.grad, Wt.grad, bt.grad), strict=True):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs.numpy(), **TOL)


def test_linear_backward_refuses_a_wrong_gradient_shape():
    with pytest.raises(LearnError) as info:
        linear_backward(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros((2, 3)))
    assert info.value.reason == "grad_shape"


# --- Gradient descent on the line --------------------------------------------------------------------------------

def test_line_gradient_and_hessian_match_torch():
    w, b = t(0.7, True), t(-1.3, True)
    loss = torch.mean((w * t(LINE_X).double() + b - t(LINE_Y).double()) ** 2)
    loss.backward()
    np.testing.assert_allclose(line_loss(0.7, -1.3), loss.item(), rtol=1e-6)
    np.testing.assert_allclose(line_loss_grad(0.7, -1.3), [w.grad.item(), b.grad.item()], rtol=1e-6)

    def loss_of(p):
        return torch.mean((p[0] * t(LINE_X).double() + p[1] - t(LINE_Y).double()) ** 2)

    hessian = torch.autograd.functional.hessian(loss_of, torch.tensor([0.7, -1.3], dtype=torch.float64))
    np.testing.assert_allclose(line_hessian(), hessian.numpy(), rtol=1e-9)


def test_the_minimum_of_the_surface_is_the_least_squares_line():
    A = np.stack([LINE_X, np.ones_like(LINE_X)], axis=1).astype(np.float64)
    w, b = np.linalg.lstsq(A, LINE_Y.astype(np.float64), rcond=None)[0]
    result = gradient_descent(lr=0.1, steps=200)
    assert result.outcome == "converged"
    np.testing.assert_allclose(result.path[-1], [w, b], atol=1e-3)
    ws, bs, L = loss_surface(n=91)
    i, j = np.unravel_index(np.argmin(L), L.shape)
    assert abs(ws[j] - w) <= ws[1] - ws[0] and abs(bs[i] - b) <= bs[1] - bs[0]


def test_learning_rate_regimes_follow_the_hessian():
    """Below 1/λ_max a smooth slide, between 1/λ_max and 2/λ_max a zigzag that still shrinks, above 2/λ_max divergence."""
    lam = np.linalg.eigvalsh(line_hessian())[-1]
    crawl = gradient_descent(lr=0.02 / lam, steps=50)
    assert crawl.outcome == "too_slow" and not crawl.converged
    assert np.all(np.diff(crawl.losses) < 0)
    zigzag = gradient_descent(lr=1.7 / lam, steps=60)
    assert zigzag.outcome == "oscillating" and zigzag.losses[-1] < zigzag.losses[0]
    np.testing.assert_allclose([zigzag.lr_smooth, zigzag.lr_limit], [1 / lam, 2 / lam], rtol=1e-9)
    assert gradient_descent(lr=1.98 / lam, steps=400).outcome != "diverged"
    assert gradient_descent(lr=2.05 / lam, steps=400).outcome == "diverged"


@pytest.mark.parametrize("lr", [0.5, 3.0, 1e6, 1e300])
def test_divergence_is_detected_and_explained_never_a_nan(lr):
    result = gradient_descent(lr=lr, steps=50)
    assert result.outcome == "diverged" and not result.converged
    assert np.all(np.isfinite(result.path[:-1])) and np.all(np.isfinite(result.losses[:-1]))
    assert len(result.losses) < 51  # stopped early instead of running into inf/NaN
    error = result.error
    assert isinstance(error, CnnError) and error.reason == "descent_diverged"
    assert error.details["limit"] == pytest.approx(result.lr_limit)
    assert f"{result.lr_limit:.3g}" in str(error)


def test_gradient_descent_refuses_a_learning_rate_of_zero():
    with pytest.raises(LearnError) as info:
        gradient_descent(lr=0.0)
    assert info.value.reason == "bad_descent"


# --- 2-3-1 network -----------------------------------------------------------------------------------------------

def torch_tiny_net(x, y, params, activation):
    tp = {k: t(v, True) for k, v in params.items()}
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    y_hat = F.linear(f(F.linear(t(x), tp["W1"], tp["b1"])), tp["W2"], tp["b2"])
    loss = F.mse_loss(y_hat, torch.tensor([y], dtype=torch.float32))
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in tp.items()}


@pytest.mark.parametrize("activation", list(HIDDEN_ACTIVATIONS))
@pytest.mark.parametrize("seed", range(6))
def test_backprop_by_hand_matches_torch_autograd(activation, seed):
    rng = np.random.default_rng(100 + seed)
    x = rng.uniform(-2, 2, 2).astype(np.float32)
    y = float(rng.uniform(-1, 1))
    params = tiny_net_params(seed)
    ours = tiny_net(x, y, params, activation)
    loss, grads = torch_tiny_net(x, y, params, activation)
    np.testing.assert_allclose(ours.loss, loss, **TOL)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(ours.grads[name], grads[name], **TOL, err_msg=name)


def test_backprop_worked_by_hand():
    """x = (1, 2), W1 rows (1, 0), (0, 1), (1, 1), ReLU, W2 = (1, 1, 1), y = 5: z1 = h = (1, 2, 3), ŷ = 6, L = 1.

    ∂L/∂ŷ = 2(6 − 5) = 2; ∂L/∂W2 = 2·h = (2, 4, 6); ∂L/∂h = 2·W2 = (2, 2, 2) = ∂L/∂z1 (all z1 > 0);
    ∂L/∂W1 = ∂L/∂z1 ⊗ x = rows (2, 4); ∂L/∂b1 = (2, 2, 2).
    """
    params = {"W1": np.array([[1, 0], [0, 1], [1, 1]], np.float32), "b1": np.zeros(3, np.float32),
              "W2": np.ones((1, 3), np.float32), "b2": np.zeros(1, np.float32)}
    r = tiny_net([1, 2], 5.0, params, "relu")
    np.testing.assert_allclose(r.z1, [1, 2, 3], **TOL)
    assert r.y_hat == pytest.approx(6) and r.loss == pytest.approx(1)
    np.testing.assert_allclose(r.grads["y_hat"], [2], **TOL)
    np.testing.assert_allclose(r.grads["W2"], [[2, 4, 6]], **TOL)
    np.testing.assert_allclose(r.grads["z1"], [2, 2, 2], **TOL)
    np.testing.assert_allclose(r.grads["W1"], [[2, 4]] * 3, **TOL)
    np.testing.assert_allclose(r.grads["b1"], [2, 2, 2], **TOL)


def test_tiny_net_weights_have_one_decimal():
    for value in tiny_net_params(3).values():
        np.testing.assert_allclose(value * 10, np.round(value * 10), atol=1e-5)


# --- Learning a kernel -------------------------------------------------------------------------------------------

def test_fit_kernel_recovers_d2l_edge_detector():
    X, Y = d2l_stripe()
    assert X.shape == (6, 8) and Y.shape == (6, 7)
    np.testing.assert_allclose(Y[:, [1, 5]], [[1, -1]] * 6)  # the stripe's two edges, opposite signs
    fit = fit_kernel(X, Y, (1, 2))
    assert fit.outcome == "converged"
    np.testing.assert_allclose(fit.kernel, [[1, -1]], atol=1e-3)
    assert fit.losses[-1] < 1e-6 * fit.losses[0]
    assert fit.kernels.shape == (len(fit.losses), 1, 2)


@pytest.mark.parametrize("name", ["sobel_x", "sobel_y", "laplacian", "box_blur", "sharpen"])
def test_fit_kernel_recovers_a_3x3_kernel_from_a_random_48x48_image(name):
    X = np.random.default_rng(7).random((48, 48), dtype=np.float32)
    K = get_kernel(name)
    fit = fit_kernel(X, make_target(X, K), 3)
    assert fit.outcome == "converged"
    np.testing.assert_allclose(fit.kernel, K, atol=1e-3)


@settings(max_examples=25, deadline=None)
@given(st.integers(6, 64), st.integers(6, 64), st.sampled_from([1, 2, 3, 5]), st.floats(0.01, 300),
       st.integers(0, 2**31 - 1))
def test_the_default_learning_rate_never_diverges(h, w, k, scale, seed):
    """Any image size and any brightness (0.01 to 300 × [0, 1]): the default step makes the loss fall at every step."""
    k = min(k, h, w)
    rng = np.random.default_rng(seed)
    X = (scale * rng.random((h, w))).astype(np.float32)
    Y = make_target(X, rng.standard_normal((k, k)), noise=0.1, seed=seed)
    fit = fit_kernel(X, Y, k, steps=40, seed=seed)
    assert fit.outcome != "diverged"
    assert np.all(np.diff(fit.losses) <= 1e-6 * fit.losses[0])


def test_one_fit_kernel_step_equals_conv2d_and_conv2d_backward():
    rng = np.random.default_rng(8)
    X = rng.random((20, 17), dtype=np.float32)
    Y = make_target(X, get_kernel("sharpen"))
    fit = fit_kernel(X, Y, 3, lr=0.05, steps=1, seed=3)
    K0 = fit.kernels[0][None, None]
    Y_hat = conv2d(X[None, None], K0)[0, 0]
    _, dK, _ = conv2d_backward(X[None, None], K0, mse_loss_grad(Y_hat, Y)[None, None])
    np.testing.assert_allclose(fit.kernels[1], fit.kernels[0] - 0.05 * dK[0, 0], **TOL)
    np.testing.assert_allclose(fit.losses[0], mse_loss(Y_hat, Y), rtol=1e-5)


def test_kernel_gradient_is_the_correlation_of_input_and_output_gradient():
    rng = np.random.default_rng(9)
    X = rng.random((12, 14), dtype=np.float32)
    K = rng.standard_normal((3, 3)).astype(np.float32)
    Y = rng.standard_normal((10, 12)).astype(np.float32)
    dY, dK = kernel_gradient(X, K, Y)
    Kt = t(K[None, None], True)
    F.mse_loss(F.conv2d(t(X[None, None]), Kt), t(Y[None, None])).backward()
    np.testing.assert_allclose(dK, Kt.grad.numpy()[0, 0], **TOL)
    assert dY.shape == Y.shape


def test_the_learning_rate_limit_is_exact():
    """Just below 2/λ_max the loss still falls; just above it grows — on a real image, not only on the line."""
    X = np.random.default_rng(10).random((32, 32), dtype=np.float32)
    Y = make_target(X, get_kernel("sobel_x"))
    _, limit = kernel_lr_limits(X, 3)
    assert fit_kernel(X, Y, 3, lr=0.97 * limit, steps=300).outcome != "diverged"
    blown = fit_kernel(X, Y, 3, lr=1.05 * limit, steps=300)
    assert blown.outcome == "diverged" and blown.error.reason == "descent_diverged"
    assert np.all(np.isfinite(blown.kernels))


def test_make_target_noise_has_the_asked_spread():
    X = np.random.default_rng(11).random((200, 200), dtype=np.float32)
    clean = make_target(X, get_kernel("sobel_x"))
    noisy = make_target(X, get_kernel("sobel_x"), noise=0.3, seed=1)
    np.testing.assert_allclose((noisy - clean).std(), 0.3 * clean.std(), rtol=0.03)


def test_fit_kernel_refuses_mismatched_shapes():
    with pytest.raises(LearnError) as info:
        fit_kernel(np.zeros((6, 8)), np.zeros((6, 8)), (1, 2))
    assert info.value.reason == "shape_mismatch"
    with pytest.raises(LearnError) as info:
        fit_kernel(np.zeros((2, 2)), np.zeros((1, 1)), 3)
    assert info.value.reason == "kernel_too_big"


# --- FC vs conv --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("h, w, c, hidden, out, k", [(224, 224, 3, 1000, 16, 3), (8, 8, 1, 32, 8, 5), (5, 7, 2, 3, 4, 1)])
def test_parameter_counts_match_torch_modules(h, w, c, hidden, out, k):
    counts = parameter_counts(h, w, c, hidden=hidden, out_channels=out, kernel_size=k)
    assert counts["fc"] == sum(p.numel() for p in torch.nn.Linear(h * w * c, hidden).parameters())
    assert counts["conv"] == sum(p.numel() for p in torch.nn.Conv2d(c, out, k).parameters())


def test_parameter_counts_by_hand():
    """d2l's example: a 1-megapixel image into 1000 hidden units needs 10⁹ weights; a 3×3 conv with 16 maps, 160."""
    counts = parameter_counts(1000, 1000, 1, hidden=1000, out_channels=16, kernel_size=3)
    assert counts == {"fc": 10**9 + 1000, "conv": 16 * 9 + 16}


def test_shuffle_pixels_is_one_permutation_for_every_channel_and_undoable():
    X = np.random.default_rng(12).random((2, 3, 5, 6), dtype=np.float32)
    perm = pixel_permutation(5, 6, seed=4)
    assert sorted(perm) == list(range(30))
    S = shuffle_pixels(X, perm)
    np.testing.assert_array_equal(np.sort(S.reshape(2, 3, -1)), np.sort(X.reshape(2, 3, -1)))
    moved = S.reshape(2, 3, -1)[..., 0]
    np.testing.assert_array_equal(moved, X.reshape(2, 3, -1)[..., perm[0]])  # same source pixel in every channel
    np.testing.assert_array_equal(shuffle_pixels(S, np.argsort(perm)), X)
    np.testing.assert_array_equal(pixel_permutation(5, 6, seed=4), perm)


def test_a_fully_connected_layer_does_not_care_about_pixel_order():
    """Shuffling the pixels and the layer's weight columns the same way gives exactly the same outputs."""
    rng = np.random.default_rng(13)
    X = rng.random((4, 1, 6, 6), dtype=np.float32)
    W = rng.standard_normal((5, 36)).astype(np.float32)
    perm = pixel_permutation(6, 6)
    np.testing.assert_allclose(linear(shuffle_pixels(X, perm).reshape(4, -1), W[:, perm]),
                               linear(X.reshape(4, -1), W), **TOL)
    with pytest.raises(LearnError):
        shuffle_pixels(X, perm[:-1])


# --- The PyTorch checks the pages show, and the training runs ------------------------------------------------------

def test_every_learning_twin_agrees_through_the_check_registry():
    from cnn_core.check import check

    rng = np.random.default_rng(14)
    X = rng.random((1, 2, 9, 10), dtype=np.float32)
    K = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)  # groups=2: each kernel sees one input channel
    dY = rng.standard_normal((1, 4, 5, 5)).astype(np.float32)
    p = tiny_net_params(2)
    x2, W = rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal((2, 5)).astype(np.float32)
    img, k2 = rng.random((12, 12), dtype=np.float32), rng.standard_normal((3, 3)).astype(np.float32)
    cases = [
        (conv2d_backward, (X, K, dY), dict(stride=2, padding=1, dilation=1, groups=2)),
        (linear, (x2, W), {}),
        (linear_backward, (x2, W, rng.standard_normal((3, 2)).astype(np.float32)), {}),
        (mse_loss, (x2, x2 * 0.5), {}),
        (mse_loss_grad, (x2, x2 * 0.5), {}),
        (cross_entropy, (x2, np.array([0, 4, 2])), {}),
        (cross_entropy_grad, (x2, np.array([0, 4, 2])), {}),
        (tiny_net_grads, (np.array([0.5, -1.0], np.float32), 0.3, p["W1"], p["b1"], p["W2"], p["b2"]),
         dict(activation="tanh")),
        (kernel_gradient, (img, k2, rng.standard_normal((10, 10)).astype(np.float32)), {}),
        (correlate_valid, (img, k2), {}),
    ]
    for op, args, kwargs in cases:
        result = check(op, *args, **kwargs)
        assert result.ok, (op.__name__, result.max_diff)


def test_check_catches_a_wrong_gradient():
    """Swap our op for a wrong one under the same twin: the registry must report a large difference."""
    from cnn_core.check import TWINS, check

    def wrong_mse_grad(input, target):
        return mse_loss_grad(input, target) * 2  # forgot that the mean already holds the 1/n

    TWINS[wrong_mse_grad] = TWINS[mse_loss_grad]
    try:
        x = np.random.default_rng(15).standard_normal(6).astype(np.float32)
        assert not check(wrong_mse_grad, x, np.zeros(6, np.float32)).ok
    finally:
        del TWINS[wrong_mse_grad]


def test_a_fully_connected_network_learns_the_same_on_shuffled_pixels():
    from cnn_core.learn_torch import make_fc, train_digits

    assert sum(p.numel() for p in make_fc().parameters()) == 64 * 32 + 32 + 32 * 10 + 10
    plain = train_digits(shuffled=False, epochs=2, time_limit=60)
    shuffled = train_digits(shuffled=True, epochs=2, time_limit=60)
    assert plain.epochs == shuffled.epochs == 2
    np.testing.assert_allclose(shuffled.test_acc, plain.test_acc, atol=1 / 359 + 1e-9)  # at most one digit apart
    np.testing.assert_allclose(shuffled.batch_loss, plain.batch_loss, rtol=1e-3, atol=1e-4)
    assert plain.test_acc[-1] > 0.8  # it did learn: 10 classes, chance is 0.1
