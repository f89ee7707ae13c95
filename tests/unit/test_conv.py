"""cnn_core.conv against torch.nn.functional.conv2d, the naive loop, the seeds and Dumoulin & Visin (2016)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core.conv import (
    conv2d,
    conv2d_naive,
    convolve2d,
    corr2d,
    flip_kernel,
    output_size,
    output_size_latex,
    pad2d,
    unvisited,
)
from cnn_core.kernels import KERNELS, get_kernel

TOL = dict(rtol=1e-4, atol=1e-4)  # float32 sums of up to a few hundred products


def torch_conv(X, K, b=None, padding_mode="zeros", **kwargs):
    """Reference: torch's conv2d; non-zero padding modes the way nn.Conv2d does them (F.pad, then no padding)."""
    X, K = torch.from_numpy(X), torch.from_numpy(K)
    b = None if b is None else torch.from_numpy(b)
    if padding_mode != "zeros":
        p = kwargs.pop("padding")
        ph, pw = (p, p) if isinstance(p, int) else p
        X = F.pad(X, (pw, pw, ph, ph), mode={"reflect": "reflect", "replicate": "replicate", "circular": "circular"}[padding_mode])
    return F.conv2d(X, K, b, **kwargs).numpy()


@st.composite
def conv_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    C = groups * draw(st.integers(1, 3))
    O = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    H = draw(st.integers(max(p[0] + 1, d[0] * (kh - 1) + 1 - 2 * p[0], 1), 12))
    W = draw(st.integers(max(p[1] + 1, d[1] * (kw - 1) + 1 - 2 * p[1], 1), 12))
    N = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**31 - 1))
    return N, C, H, W, O, kh, kw, s, p, d, groups, mode, seed


@settings(max_examples=150, deadline=None)
@given(conv_case(), st.booleans())
def test_conv2d_matches_torch_on_random_shapes(case, with_bias):
    N, C, H, W, O, kh, kw, s, p, d, groups, mode, seed = case
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, C, H, W)).astype(np.float32)
    K = rng.standard_normal((O, C // groups, kh, kw)).astype(np.float32)
    b = rng.standard_normal(O).astype(np.float32) if with_bias else None
    ours = conv2d(X, K, b, stride=s, padding=p, dilation=d, groups=groups, padding_mode=mode)
    theirs = torch_conv(X, K, b, padding_mode=mode, stride=s, padding=p, dilation=d, groups=groups)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, **TOL)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # torch's note, not ours
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(5, 11), st.integers(0, 2**31 - 1))
def test_same_padding_matches_torch_even_and_odd_kernels(kh, kw, d, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((1, 2, n, n + 1)).astype(np.float32)
    K = rng.standard_normal((3, 2, kh, kw)).astype(np.float32)
    ours = conv2d(X, K, padding="same", dilation=d)
    np.testing.assert_allclose(ours, torch_conv(X, K, padding="same", dilation=d), **TOL)
    assert ours.shape[2:] == X.shape[2:]
    np.testing.assert_allclose(conv2d(X, K, padding="valid"), torch_conv(X, K, padding="valid"), **TOL)


@settings(max_examples=40, deadline=None)
@given(conv_case())
def test_naive_loop_equals_vectorised(case):
    N, C, H, W, O, kh, kw, s, p, d, groups, mode, seed = case
    s, d = (s[0], s[0]), (d[0], d[0])  # the reference loop uses one stride and dilation for both axes
    H = max(H, d[0] * (kh - 1) + 1)
    W = max(W, d[0] * (kw - 1) + 1)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, C, H, W)).astype(np.float32)
    K = rng.standard_normal((O, C // groups, kh, kw)).astype(np.float32)
    b = rng.standard_normal(O).astype(np.float32)
    naive = conv2d_naive(X, K, b, stride=s, padding=p, dilation=d, groups=groups, padding_mode=mode)
    np.testing.assert_allclose(naive, conv2d(X, K, b, stride=s, padding=p, dilation=d, groups=groups, padding_mode=mode), **TOL)


def test_unbatched_input_like_torch():
    rng = np.random.default_rng(0)
    X, K = rng.random((3, 6, 7), dtype=np.float32), rng.random((4, 3, 3, 3), dtype=np.float32)
    np.testing.assert_allclose(conv2d(X, K, padding=1), F.conv2d(torch.from_numpy(X), torch.from_numpy(K), padding=1).numpy(), **TOL)


def test_d2l_edge_detector_on_black_and_white_image():
    """Seed 004 / d2l 6.2: white–black–white stripes; K = [1, −1] gives +1 at white→black, −1 at black→white."""
    X = np.ones((6, 8), dtype=np.float32)
    X[:, 2:6] = 0
    Y = corr2d(X, get_kernel("diff_x"))
    expected_row = [0, 1, 0, 0, 0, -1, 0]
    np.testing.assert_allclose(Y, np.tile(expected_row, (6, 1)))
    # Rotated stripes are horizontal: the horizontal-difference kernel no longer sees them.
    np.testing.assert_allclose(corr2d(X.T, get_kernel("diff_x")), np.zeros((8, 5)))


def test_d2l_corr2d_worked_example():
    """d2l 6.2.1: X = 0..8 (3×3), K = 0..3 (2×2) → [[19, 25], [37, 43]]."""
    X = np.arange(9, dtype=np.float32).reshape(3, 3)
    K = np.arange(4, dtype=np.float32).reshape(2, 2)
    np.testing.assert_allclose(corr2d(X, K), [[19, 25], [37, 43]])
    np.testing.assert_allclose(conv2d(X[None, None], K[None, None])[0, 0], [[19, 25], [37, 43]])


def test_true_convolution_flips_the_kernel():
    """Convolution = correlation with the kernel rotated by 180°; Sobel x flips to −Sobel x, symmetric kernels don't change."""
    rng = np.random.default_rng(1)
    X = rng.random((1, 1, 9, 9), dtype=np.float32)
    sobel = get_kernel("sobel_x")[None, None]
    np.testing.assert_allclose(convolve2d(X, sobel, padding=1), -conv2d(X, sobel, padding=1), **TOL)
    blur = get_kernel("box_blur")[None, None]
    np.testing.assert_allclose(convolve2d(X, blur, padding=1), conv2d(X, blur, padding=1), **TOL)
    K = rng.random((1, 1, 2, 3), dtype=np.float32)
    np.testing.assert_allclose(flip_kernel(K)[0, 0], K[0, 0, ::-1, ::-1])
    # Textbook definition checked directly at one position: Y[i, j] = Σ X[i − u, j − v] K[u, v] (with full padding).
    full = convolve2d(X, K, padding=(1, 2))
    i, j = 4, 5
    direct = sum(X[0, 0, i - u, j - v] * K[0, 0, u, v] for u in range(2) for v in range(3))
    np.testing.assert_allclose(full[0, 0, i, j], direct, **TOL)


@pytest.mark.parametrize("n, k, s, p, expected, left_over", [
    (7, 3, 1, 0, 5, 0),   # seed 001: the usual case
    (7, 3, 2, 0, 3, 0),   # stride 2: the field moves two units
    (7, 3, 3, 0, 2, 1),   # stride 3 does not fit: one column is never visited
    (32, 5, 1, 2, 32, 0),  # seed 001: 32×32×3, 5×5, zero padding 2 → padded 36×36 → 32×32
    (224, 7, 2, 3, 112, 1),  # ResNet stem
    (227, 11, 4, 0, 55, 0),  # AlexNet conv1
])
def test_seed_output_sizes(n, k, s, p, expected, left_over):
    assert output_size(n, k, s, p) == expected
    assert unvisited(n, k, s, p) == left_over
    X = torch.zeros(1, 1, n, n)
    assert F.conv2d(X, torch.zeros(1, 1, k, k), stride=s, padding=p).shape[-1] == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(1, 9), st.integers(1, 5), st.integers(0, 6), st.integers(1, 4))
def test_dumoulin_visin_relationships(i, k, s, p, d):
    """The conv-arithmetic relationships of Dumoulin & Visin (2016), each a special case of output_size."""
    k_dilated = k + (k - 1) * (d - 1)
    if k_dilated > i + 2 * p:
        with pytest.raises(ValueError, match="Lower the kernel or dilation, or add padding"):
            output_size(i, k, s, p, d)
        return
    o = output_size(i, k, s, p, d)
    assert o == (i + 2 * p - k_dilated) // s + 1  # Relationship 6 with the dilated kernel size (Rel. 15)
    if d == 1 and k <= i:
        assert output_size(i, k) == i - k + 1  # Rel. 1: no padding, unit stride
        assert output_size(i, k, 1, p) == i - k + 2 * p + 1  # Rel. 2: padding, unit stride
        assert output_size(i, k, s) == (i - k) // s + 1  # Rel. 5: no padding, stride s
        if k % 2 == 1:
            assert output_size(i, k, 1, k // 2) == i  # Rel. 3: half ("same") padding
        assert output_size(i, k, 1, k - 1) == i + k - 1  # Rel. 4: full padding
    torch_size = F.conv2d(torch.zeros(1, 1, i, i), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d).shape[-1]
    assert o == torch_size
    assert f"= {o}" in output_size_latex(i, k, s, p, d)


def test_clear_errors_for_impossible_parameters():
    with pytest.raises(ValueError, match="spans 13 pixels, more than the padded input \\(10\\)"):
        output_size(10, 7, dilation=2)
    with pytest.raises(ValueError, match="'same' padding only keeps the size at stride 1"):
        conv2d(np.zeros((1, 1, 5, 5), np.float32), np.zeros((1, 1, 3, 3), np.float32), stride=2, padding="same")
    with pytest.raises(ValueError, match="Groups"):
        conv2d(np.zeros((1, 3, 5, 5), np.float32), np.zeros((2, 1, 3, 3), np.float32), groups=2)
    with pytest.raises(ValueError, match="Reflect padding"):
        pad2d(np.zeros((1, 1, 3, 3)), (3, 3, 3, 3), "reflect")
    with pytest.raises(ValueError, match="Unknown padding mode"):
        pad2d(np.zeros((3, 3)), (1, 1, 1, 1), "mirror")
    assert "< 1" in output_size_latex(3, 7)


def test_every_library_kernel_is_a_small_float32_matrix():
    for name, K in KERNELS.items():
        assert K.dtype == np.float32 and K.ndim == 2 and max(K.shape) <= 5, name
    assert np.isclose(KERNELS["gaussian_blur"].sum(), 1) and np.isclose(KERNELS["box_blur"].sum(), 1)
    get_kernel("sobel_x")[0, 0] = 99  # a copy: the library itself must not change
    assert KERNELS["sobel_x"][0, 0] == -1
    with pytest.raises(ValueError, match="Unknown kernel"):
        get_kernel("nope")


@pytest.mark.parametrize("channels, groups", [(1, 1), (3, 1), (4, 2), (5, 1), (8, 4)])
def test_both_ways_of_summing_agree_with_torch(channels, groups):
    """conv2d adds shifted copies for few channels and multiplies the im2col matrix for many: same numbers."""
    from cnn_core.conv import FEW_CHANNELS

    rng = np.random.default_rng(channels)
    X = rng.standard_normal((2, channels, 13, 11)).astype(np.float32)
    K = rng.standard_normal((channels, channels // groups, 3, 2)).astype(np.float32)
    ours = conv2d(X, K, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=groups)
    theirs = F.conv2d(torch.from_numpy(X), torch.from_numpy(K), stride=(2, 1), padding=(1, 2), dilation=(1, 2),
                      groups=groups).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert FEW_CHANNELS in range(4, 25)  # so the cases above take both paths (1·1 … 5·5 products)


@pytest.mark.parametrize("channels, groups, stride, dilation", [(1, 1, 1, 1), (2, 1, 2, 1), (4, 2, 1, 2), (3, 3, 1, 1)])
def test_a_kernel_bigger_than_its_output_sums_window_by_window_like_torch(channels, groups, stride, dilation):
    """A kernel with more taps than outputs (∂L/∂K = X ⋆ ∂L/∂Ŷ: an image-sized kernel, a 3×3 result) is summed
    one output at a time; the numbers are torch's."""
    rng = np.random.default_rng(7 + channels)
    X = rng.standard_normal((2, channels, 40, 37)).astype(np.float32)
    kh, kw = (33, 31) if dilation == 1 else (17, 15)
    K = rng.standard_normal((channels, channels // groups, kh, kw)).astype(np.float32)
    ours = conv2d(X, K, stride=stride, padding=1, dilation=dilation, groups=groups)
    theirs = F.conv2d(torch.from_numpy(X), torch.from_numpy(K), stride=stride, padding=1, dilation=dilation,
                      groups=groups).numpy()
    assert ours.shape[2] * ours.shape[3] < kh * kw  # the case the window-by-window sum is for
    np.testing.assert_allclose(ours, theirs, atol=2e-4)
