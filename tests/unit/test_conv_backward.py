"""cnn_core.conv2d_backward against torch autograd (random shapes, stride, padding, dilation, groups) and by hand."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core.conv import col2im, conv2d, conv2d_backward, corr2d, im2col
from cnn_core.errors import CnnError

# float32 sums of up to a few hundred products; the gradient sums over every output position too.
TOL = dict(rtol=1e-4, atol=1e-4)


def torch_grads(X, K, b, dY, **kwargs):
    """Reference: autograd through F.conv2d, pulled back with the same ∂L/∂Y."""
    Xt, Kt, bt = (torch.from_numpy(a).requires_grad_() for a in (X, K, b))
    Y = F.conv2d(Xt, Kt, bt, **kwargs)
    Y.backward(torch.from_numpy(dY))
    return Xt.grad.numpy(), Kt.grad.numpy(), bt.grad.numpy()


@st.composite
def conv_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    C, O = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    H = draw(st.integers(max(1, d[0] * (kh - 1) + 1 - 2 * p[0]), 12))
    W = draw(st.integers(max(1, d[1] * (kw - 1) + 1 - 2 * p[1]), 12))
    return draw(st.integers(1, 3)), C, H, W, O, kh, kw, s, p, d, groups, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=150, deadline=None)
@given(conv_case())
def test_conv2d_backward_matches_torch_autograd_on_random_shapes(case):
    N, C, H, W, O, kh, kw, s, p, d, groups, seed = case
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, C, H, W)).astype(np.float32)
    K = rng.standard_normal((O, C // groups, kh, kw)).astype(np.float32)
    b = rng.standard_normal(O).astype(np.float32)
    Y = conv2d(X, K, b, stride=s, padding=p, dilation=d, groups=groups)
    dY = rng.standard_normal(Y.shape).astype(np.float32)
    ours = conv2d_backward(X, K, dY, stride=s, padding=p, dilation=d, groups=groups)
    theirs = torch_grads(X, K, b, dY, stride=s, padding=p, dilation=d, groups=groups)
    for name, a, t in zip(("grad_input", "grad_weight", "grad_bias"), ours, theirs, strict=True):
        assert a.shape == t.shape, name
        assert a.dtype == np.float32, name
        np.testing.assert_allclose(a, t, **TOL, err_msg=name)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # torch's note, not ours
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("kernel", [(1, 1), (2, 3), (3, 3), (4, 2)])
def test_string_paddings_match_torch(padding, dilation, kernel):
    """'same' with an even kernel pads one more pixel bottom/right; the gradient must skip exactly those."""
    rng = np.random.default_rng(sum(kernel) + dilation)
    X = rng.standard_normal((2, 2, 8, 9)).astype(np.float32)
    K = rng.standard_normal((3, 2, *kernel)).astype(np.float32)
    b = np.zeros(3, dtype=np.float32)
    dY = rng.standard_normal(conv2d(X, K, padding=padding, dilation=dilation).shape).astype(np.float32)
    ours = conv2d_backward(X, K, dY, padding=padding, dilation=dilation)
    theirs = torch_grads(X, K, b, dY, padding=padding, dilation=dilation)
    for a, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, t, **TOL)


def test_unbatched_input_gives_unbatched_grad_input():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2, 5, 6)).astype(np.float32)
    K = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    dY = rng.standard_normal((4, 3, 4)).astype(np.float32)
    dX, dW, db = conv2d_backward(X, K, dY)
    batched = conv2d_backward(X[None], K, dY[None])
    assert dX.shape == X.shape
    np.testing.assert_allclose(dX, batched[0][0], **TOL)
    np.testing.assert_allclose(dW, batched[1], **TOL)


def test_kernel_gradient_is_the_input_correlated_with_the_output_gradient():
    """∂L/∂K = X ⋆ ∂L/∂Y (one channel, stride 1): the output gradient slides over the input like a kernel."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((9, 11)).astype(np.float32)
    dY = rng.standard_normal((7, 8)).astype(np.float32)  # a 3×4 kernel leaves 7×8 outputs
    _, dW, _ = conv2d_backward(X[None, None], np.zeros((1, 1, 3, 4), np.float32), dY[None, None])
    np.testing.assert_allclose(dW[0, 0], corr2d(X, dY), **TOL)


def test_input_gradient_is_a_full_convolution_with_the_flipped_kernel():
    """∂L/∂X = ∂L/∂Y padded by k − 1 and correlated with the kernel rotated 180° (the 'transposed convolution')."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 7)).astype(np.float32)
    K = rng.standard_normal((3, 2)).astype(np.float32)
    dY = rng.standard_normal((4, 6)).astype(np.float32)
    dX, _, _ = conv2d_backward(X[None, None], K[None, None], dY[None, None])
    expected = corr2d(np.pad(dY, ((2, 2), (1, 1))), K[::-1, ::-1])
    np.testing.assert_allclose(dX[0, 0], expected, **TOL)


def test_hand_worked_gradients_of_a_sum_loss():
    """L = sum(Y) with a 2×2 kernel of ones on a 3×3 input: ∂L/∂X counts how many windows hold each pixel."""
    X = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    K = np.ones((1, 1, 2, 2), dtype=np.float32)
    dX, dW, db = conv2d_backward(X, K, np.ones((1, 1, 2, 2), np.float32))
    np.testing.assert_allclose(dX[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]], **TOL)
    # Each tap saw one 2×2 block of X: top-left 0+1+3+4 = 8, top-right 1+2+4+5 = 12, …
    np.testing.assert_allclose(dW[0, 0], [[8, 12], [20, 24]], **TOL)
    np.testing.assert_allclose(db, [4], **TOL)


def test_pixels_no_window_reaches_get_zero_gradient():
    """7 wide, kernel 3, stride 3: windows cover columns 0–5; column 6 never influences the output."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((1, 1, 7, 7)).astype(np.float32)
    K = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    dX, _, _ = conv2d_backward(X, K, np.ones((1, 1, 2, 2), np.float32), stride=3)
    assert np.all(dX[0, 0, 6, :] == 0) and np.all(dX[0, 0, :, 6] == 0)
    assert np.all(dX[0, 0, :6, :6] != 0)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_col2im_is_the_transpose_of_im2col(k, s, d, seed):
    """⟨im2col(X), C⟩ = ⟨X, col2im(C)⟩ for any X and C: the defining property of a transpose."""
    rng = np.random.default_rng(seed)
    n = d * (k - 1) + 1 + rng.integers(0, 6)
    X = rng.standard_normal((2, 2, n, n + 1))
    cols = im2col(X, (k, k), (s, s), (d, d))
    C = rng.standard_normal(cols.shape)
    lhs = float((cols * C).sum())
    rhs = float((X * col2im(C, X.shape, (k, k), (s, s), (d, d))).sum())
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9)


def test_wrong_grad_output_shape_is_explained():
    X = np.zeros((1, 1, 5, 5), np.float32)
    K = np.zeros((2, 1, 3, 3), np.float32)
    with pytest.raises(CnnError) as info:
        conv2d_backward(X, K, np.zeros((1, 2, 5, 5), np.float32))
    assert info.value.reason == "grad_shape"
    assert info.value.details["expected"] == (1, 2, 3, 3)
    assert "(1, 2, 3, 3)" in str(info.value)
