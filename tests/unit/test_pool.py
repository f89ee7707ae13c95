"""cnn_core.pool against torch.nn.functional: same arguments, same numbers (and the same indices and shapes).

Tolerances: max pooling, unpooling and nearest upsampling only copy values, so they must match exactly (atol 0).
Sums in float32 (average, Lp, adaptive) may add in a different order than torch: rtol 1e-5, atol 1e-6.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnn_core.conv import output_size_latex
from cnn_core.pool import (
    PoolError,
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_naive,
    avg_pool2d,
    avg_pool2d_naive,
    ceil_correction,
    lp_pool2d,
    max_pool2d,
    max_pool2d_naive,
    max_pool2d_with_indices,
    pool_output_size,
    pool_output_size_latex,
)
from cnn_core.pool_backward import avg_pool2d_backward, interpolate_nearest, max_pool2d_backward, max_unpool2d

SUMS = dict(rtol=1e-5, atol=1e-6)
HYPO = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

torch.set_num_threads(1)


def T(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


@st.composite
def pool_case(draw, dilation: bool = True):
    """A random input plus kernel, stride, padding, dilation and ceil_mode that PyTorch accepts."""
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    dh, dw = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilation else (1, 1)
    ceil_mode = draw(st.booleans())
    H, W = draw(st.integers(1, 13)), draw(st.integers(1, 13))
    assume(dh * (kh - 1) + 1 <= H + 2 * ph and dw * (kw - 1) + 1 <= W + 2 * pw)
    N, C = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    kind = draw(st.sampled_from(["normal", "ties"]))
    rng = np.random.default_rng(seed)
    if kind == "ties":  # few distinct values: tie-breaking must match too
        X = rng.integers(-2, 3, size=(N, C, H, W)).astype(np.float32)
    else:
        X = rng.standard_normal((N, C, H, W)).astype(np.float32)
    params = dict(kernel_size=(kh, kw), stride=(sh, sw), padding=(ph, pw), ceil_mode=ceil_mode)
    if dilation:
        params["dilation"] = (dh, dw)
    return X, params


# ------------------------------------------------------------------------------------------------------------
# Worked examples
# ------------------------------------------------------------------------------------------------------------

def test_seed_example_max_is_4():
    """Seed 000: the window [[1, 2], [3, 4]] max-pools to 4, which sits at flat index 3 (row 1, column 1)."""
    X = np.array([[[[1, 2], [3, 4]]]], dtype=np.float32)
    Y, indices = max_pool2d_with_indices(X, 2)
    np.testing.assert_array_equal(Y, [[[[4]]]])
    np.testing.assert_array_equal(indices, [[[[3]]]])
    Yn, indices_n = max_pool2d_naive(X, 2)
    np.testing.assert_array_equal(Yn, Y)
    np.testing.assert_array_equal(indices_n, indices)


def test_seed_example_average_and_lp():
    """The same window: mean (1 + 2 + 3 + 4) / 4 = 2.5; L2 = √(1 + 4 + 9 + 16) = √30; global average 2.5."""
    X = np.array([[[[1, 2], [3, 4]]]], dtype=np.float32)
    np.testing.assert_allclose(avg_pool2d(X, 2), [[[[2.5]]]], **SUMS)
    np.testing.assert_allclose(avg_pool2d_naive(X, 2), [[[[2.5]]]], **SUMS)
    np.testing.assert_allclose(lp_pool2d(X, 2, 2), [[[[math.sqrt(30)]]]], **SUMS)
    np.testing.assert_allclose(lp_pool2d(X, 1, 2), [[[[10.0]]]], **SUMS)  # p = 1: the sum
    np.testing.assert_allclose(adaptive_avg_pool2d(X, 1), [[[[2.5]]]], **SUMS)


def test_4x4_two_by_two_windows():
    """A 4×4 map, 2×2 windows, stride 2: four windows, one maximum and one mean each."""
    X = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [7, 2, 9, 8], [1, 0, 3, 4]], dtype=np.float32)[None, None]
    Y, indices = max_pool2d_with_indices(X, 2)
    np.testing.assert_array_equal(Y[0, 0], [[6, 5], [7, 9]])
    np.testing.assert_array_equal(indices[0, 0], [[5, 6], [8, 10]])
    np.testing.assert_allclose(avg_pool2d(X, 2)[0, 0], [[3.5, 2.0], [2.5, 6.0]], **SUMS)


def test_ceil_mode_overhanging_window_divides_by_clipped_size():
    """Row [1, 2, 3, 4], window 3, stride 2, padding 1, ceil_mode: windows start at −1, 1 and 3.

    The last one covers column 3 and one padding cell (the rest hangs past the padding): with
    count_include_pad it divides by 2 (4 / 2 = 2), without by 1 (4). torch agrees.
    """
    X = np.array([[[[1, 2, 3, 4]]]], dtype=np.float32)
    kwargs = dict(kernel_size=(1, 3), stride=(1, 2), padding=(0, 1), ceil_mode=True)
    with_pad = avg_pool2d(X, **kwargs, count_include_pad=True)
    without = avg_pool2d(X, **kwargs, count_include_pad=False)
    np.testing.assert_allclose(with_pad[0, 0, 0], [1.0, 3.0, 2.0], **SUMS)
    np.testing.assert_allclose(without[0, 0, 0], [1.5, 3.0, 4.0], **SUMS)
    np.testing.assert_allclose(with_pad, F.avg_pool2d(T(X), **kwargs, count_include_pad=True).numpy(), **SUMS)
    np.testing.assert_allclose(without, F.avg_pool2d(T(X), **kwargs, count_include_pad=False).numpy(), **SUMS)


def test_ceil_mode_without_padding_divides_by_real_pixels():
    """Row [1, 2, 3, 4, 10], window 2, stride 2, ceil: the third window holds only the 10 and averages to 10."""
    X = np.array([[[[1, 2, 3, 4, 10]]]], dtype=np.float32)
    Y = avg_pool2d(X, (1, 2), ceil_mode=True)
    np.testing.assert_allclose(Y[0, 0, 0], [1.5, 3.5, 10.0], **SUMS)
    assert max_pool2d(X, (1, 2), ceil_mode=True).shape == (1, 1, 1, 3)
    assert max_pool2d(X, (1, 2)).shape == (1, 1, 1, 2)  # floor mode drops the 10


def test_ceil_rule_last_window_must_start_inside():
    """n = 5, k = 2, s = 2, p = 1: rounding up gives 4 windows, but the 4th would start at padded position 6,
    in the right padding (6 ≥ n + p), so torch keeps 3."""
    assert ceil_correction(5, 2, 2, 1)
    assert pool_output_size(5, 2, 2, 1, ceil_mode=True) == 3
    assert F.max_pool2d(torch.zeros(1, 1, 1, 5), (1, 2), (1, 2), (0, 1), ceil_mode=True).shape[-1] == 3
    assert r"\to\; 3" in pool_output_size_latex(5, 2, 2, 1, ceil_mode=True)


def test_ceil_mode_window_larger_than_the_input():
    """8 pixels, a 9-pixel window, stride 9, ceil_mode: ⌈(8 − 9)/9⌉ + 1 = 1 window, starting inside the input and
    hanging over the edge. torch accepts it; floor mode (or stride 1) has no window at all."""
    X = np.arange(64, dtype=np.float32).reshape(1, 1, 8, 8)
    np.testing.assert_array_equal(max_pool2d(X, 9, ceil_mode=True), F.max_pool2d(T(X), 9, ceil_mode=True).numpy())
    np.testing.assert_allclose(avg_pool2d(X, 9, ceil_mode=True), F.avg_pool2d(T(X), 9, ceil_mode=True).numpy(),
                               **SUMS)
    np.testing.assert_allclose(avg_pool2d(X, 9, ceil_mode=True)[0, 0, 0, 0], X.mean(), **SUMS)  # divides by 64
    with pytest.raises(PoolError):
        max_pool2d(X, 9)


def test_global_average_is_one_number_per_channel():
    rng = np.random.default_rng(0)
    X = rng.random((2, 5, 17, 23), dtype=np.float32)
    Y = adaptive_avg_pool2d(X, 1)
    assert Y.shape == (2, 5, 1, 1)
    np.testing.assert_allclose(Y[..., 0, 0], X.mean(axis=(2, 3)), **SUMS)


def test_unbatched_input():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((3, 8, 9)).astype(np.float32)
    Y, indices = max_pool2d_with_indices(X, 2)
    Yt, indices_t = F.max_pool2d(T(X), 2, return_indices=True)
    np.testing.assert_array_equal(Y, Yt.numpy())
    np.testing.assert_array_equal(indices, indices_t.numpy())
    np.testing.assert_allclose(avg_pool2d(X, 3, 2, 1), F.avg_pool2d(T(X), 3, 2, 1).numpy(), **SUMS)
    np.testing.assert_allclose(adaptive_avg_pool2d(X, 3), F.adaptive_avg_pool2d(T(X), 3).numpy(), **SUMS)


# ------------------------------------------------------------------------------------------------------------
# Output size: exactly torch's rule, errors exactly where torch refuses
# ------------------------------------------------------------------------------------------------------------

@HYPO
@given(n=st.integers(1, 40), k=st.integers(1, 9), s=st.integers(1, 6), p=st.integers(0, 5), d=st.integers(1, 3),
       ceil_mode=st.booleans())
def test_output_size_matches_torch_or_both_refuse(n, k, s, p, d, ceil_mode):
    try:
        expected = F.max_pool2d(torch.zeros(1, 1, 1, n), (1, k), (1, s), (0, p), (1, d), ceil_mode).shape[-1]
    except RuntimeError:
        expected = None
    if expected is None:
        with pytest.raises(PoolError):
            pool_output_size(n, k, s, p, d, ceil_mode)
    else:
        assert pool_output_size(n, k, s, p, d, ceil_mode) == expected
        latex = pool_output_size_latex(n, k, s, p, d, ceil_mode)
        assert latex.endswith(f"= {expected}") or latex.endswith(rf"\to\; {expected}")


def test_floor_latex_is_the_convolution_formula():
    assert pool_output_size_latex(32, 2, 2) == output_size_latex(32, 2, 2)
    assert r"\lceil" in pool_output_size_latex(7, 2, 2, ceil_mode=True)
    assert pool_output_size_latex(7, 2, 2, ceil_mode=True).endswith("= 4")


# ------------------------------------------------------------------------------------------------------------
# Every op against torch on random shapes and parameters
# ------------------------------------------------------------------------------------------------------------

@HYPO
@given(case=pool_case())
def test_max_pool2d_matches_torch(case):
    X, params = case
    Yt, indices_t = F.max_pool2d(T(X), **params, return_indices=True)
    Y, indices = max_pool2d_with_indices(X, **params)
    np.testing.assert_array_equal(Y, Yt.numpy())
    np.testing.assert_array_equal(indices, indices_t.numpy())
    np.testing.assert_array_equal(max_pool2d(X, **params), Yt.numpy())
    Y2, indices2 = max_pool2d(X, **params, return_indices=True)
    np.testing.assert_array_equal(indices2, indices_t.numpy())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=pool_case())
def test_max_pool2d_naive_equals_vectorised(case):
    X, params = case
    Y, indices = max_pool2d_with_indices(X, **params)
    Yn, indices_n = max_pool2d_naive(X, **params)
    np.testing.assert_array_equal(Yn, Y)
    np.testing.assert_array_equal(indices_n, indices)


@HYPO
@given(case=pool_case(dilation=False), count_include_pad=st.booleans())
def test_avg_pool2d_matches_torch(case, count_include_pad):
    X, params = case
    expected = F.avg_pool2d(T(X), **params, count_include_pad=count_include_pad).numpy()
    np.testing.assert_allclose(avg_pool2d(X, **params, count_include_pad=count_include_pad), expected, **SUMS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=pool_case(dilation=False), count_include_pad=st.booleans())
def test_avg_pool2d_naive_equals_vectorised(case, count_include_pad):
    X, params = case
    np.testing.assert_allclose(avg_pool2d_naive(X, **params, count_include_pad=count_include_pad),
                               avg_pool2d(X, **params, count_include_pad=count_include_pad), **SUMS)


@pytest.mark.parametrize("values", ["positive", "mixed"])
@pytest.mark.parametrize("norm_type", [1, 2, 3, 4, 1.5, float("inf"), -float("inf")])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_lp_pool2d_matches_torch(values, norm_type, ceil_mode):
    """Mixed signs: odd and fractional powers of a negative window sum are NaN in torch, and here too."""
    rng = np.random.default_rng(zlib.crc32(f"{values} {norm_type} {ceil_mode}".encode()))
    X = rng.standard_normal((2, 3, 11, 9)).astype(np.float32)
    if values == "positive":
        X = np.abs(X) + 0.01
    for kernel_size, stride in [(2, None), (3, 2), ((2, 3), (1, 2))]:
        expected = F.lp_pool2d(T(X), norm_type, kernel_size, stride, ceil_mode).numpy()
        ours = lp_pool2d(X, norm_type, kernel_size, stride, ceil_mode)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
        np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)
    if values == "mixed" and norm_type in (3, 1.5):
        assert np.isnan(lp_pool2d(X, norm_type, 3, 2)).any()  # the case the docstring warns about


@HYPO
@given(H=st.integers(1, 20), W=st.integers(1, 20), oh=st.one_of(st.none(), st.integers(1, 25)),
       ow=st.integers(1, 25), seed=st.integers(0, 2**31 - 1))
def test_adaptive_avg_pool2d_matches_torch(H, W, oh, ow, seed):
    X = np.random.default_rng(seed).standard_normal((2, 3, H, W)).astype(np.float32)
    expected = F.adaptive_avg_pool2d(T(X), (oh, ow)).numpy()
    np.testing.assert_allclose(adaptive_avg_pool2d(X, (oh, ow)), expected, **SUMS)
    np.testing.assert_allclose(adaptive_avg_pool2d_naive(X, (oh, ow)), expected, **SUMS)
    if oh is not None:
        np.testing.assert_allclose(adaptive_avg_pool2d(X, oh), F.adaptive_avg_pool2d(T(X), oh).numpy(), **SUMS)


@HYPO
@given(case=pool_case(dilation=False))
def test_max_unpool2d_matches_torch(case):
    X, params = case
    params = {k: v for k, v in params.items() if k != "ceil_mode"}
    Yt, indices_t = F.max_pool2d(T(X), **params, return_indices=True)
    expected = F.max_unpool2d(Yt, indices_t, **params, output_size=X.shape[-2:]).numpy()
    Y, indices = max_pool2d_with_indices(X, **params)
    np.testing.assert_array_equal(max_unpool2d(Y, indices, **params, output_size=X.shape[-2:]), expected)


def test_max_unpool2d_default_size_and_bad_indices():
    X = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    Y, indices = max_pool2d_with_indices(X, 2)
    np.testing.assert_array_equal(max_unpool2d(Y, indices, 2),
                                  F.max_unpool2d(T(Y), T(indices), 2).numpy())
    with pytest.raises(PoolError, match="output_size"):
        max_unpool2d(Y, indices, 2, output_size=(2, 2))


@HYPO
@given(case=pool_case(), seed=st.integers(0, 1000))
def test_max_pool2d_backward_matches_autograd(case, seed):
    """The gradient of max pooling lands on the argmax pixels only (summed where a pixel wins twice)."""
    X, params = case
    _, indices = max_pool2d_with_indices(X, **params)
    # A window made only of padding (possible with dilation) gets an index outside the input; torch's backward
    # would then write out of bounds, so such cases are not sent to autograd.
    assume(indices.min() >= 0 and indices.max() < X.shape[-2] * X.shape[-1])
    x = T(X).clone().requires_grad_(True)
    y = F.max_pool2d(x, **params)
    G = np.random.default_rng(seed).standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(T(G))
    np.testing.assert_allclose(max_pool2d_backward(G, indices, X.shape), x.grad.numpy(), **SUMS)


@HYPO
@given(case=pool_case(dilation=False), count_include_pad=st.booleans(), seed=st.integers(0, 1000))
def test_avg_pool2d_backward_matches_autograd(case, count_include_pad, seed):
    X, params = case
    x = T(X).clone().requires_grad_(True)
    y = F.avg_pool2d(x, **params, count_include_pad=count_include_pad)
    G = np.random.default_rng(seed).standard_normal(tuple(y.shape)).astype(np.float32)
    y.backward(T(G))
    ours = avg_pool2d_backward(G, X.shape, **params, count_include_pad=count_include_pad)
    np.testing.assert_allclose(ours, x.grad.numpy(), **SUMS)


def test_win_counts_2x2_stride_1():
    """With overlapping windows a big pixel wins several windows: the 9 in the middle wins all four."""
    X = np.array([[1, 2, 1], [2, 9, 2], [1, 2, 1]], dtype=np.float32)[None, None]
    Y, indices = max_pool2d_with_indices(X, 2, 1)
    counts = max_pool2d_backward(np.ones_like(Y), indices, X.shape)
    np.testing.assert_array_equal(counts[0, 0], [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


@HYPO
@given(H=st.integers(1, 17), W=st.integers(1, 17), oh=st.integers(1, 40), ow=st.integers(1, 40))
def test_interpolate_nearest_matches_torch(H, W, oh, ow):
    X = np.random.default_rng(H * 100 + W).standard_normal((1, 2, H, W)).astype(np.float32)
    expected = F.interpolate(T(X), size=(oh, ow), mode="nearest").numpy()
    np.testing.assert_array_equal(interpolate_nearest(X, (oh, ow)), expected)


def test_special_values_match_torch():
    """−∞ everywhere (torch keeps the window's first real pixel as the index) and NaN (the last NaN wins)."""
    X = np.full((1, 1, 3, 3), -np.inf, dtype=np.float32)
    for params in [dict(kernel_size=2, stride=1, padding=1), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)]:
        Yt, indices_t = F.max_pool2d(T(X), **params, return_indices=True)
        Y, indices = max_pool2d_with_indices(X, **params)
        np.testing.assert_array_equal(Y, Yt.numpy())
        np.testing.assert_array_equal(indices, indices_t.numpy())
        np.testing.assert_array_equal(max_pool2d_naive(X, **params)[1], indices_t.numpy())
    X = np.array([[[[np.nan, 5, 1], [np.nan, 0, 2], [3, np.nan, 4]]]], dtype=np.float32)
    for params in [dict(kernel_size=2), dict(kernel_size=2, stride=1), dict(kernel_size=3, padding=1)]:
        Yt, indices_t = F.max_pool2d(T(X), **params, return_indices=True)
        Y, indices = max_pool2d_with_indices(X, **params)
        np.testing.assert_array_equal(Y, Yt.numpy())  # NaN compares equal to NaN here
        np.testing.assert_array_equal(indices, indices_t.numpy())
        np.testing.assert_array_equal(max_pool2d(X, **params), Yt.numpy())
        np.testing.assert_array_equal(max_pool2d_naive(X, **params)[1], indices_t.numpy())


# ------------------------------------------------------------------------------------------------------------
# Impossible parameters: a ValueError whose message says what to change
# ------------------------------------------------------------------------------------------------------------

X8 = np.zeros((1, 1, 8, 8), dtype=np.float32)


@pytest.mark.parametrize("call, reason, words", [
    (lambda: max_pool2d(X8, 3, padding=2), "padding_too_big", "Use padding 1 or less"),
    (lambda: avg_pool2d(X8, 2, padding=2), "padding_too_big", "half the 2-pixel window"),
    (lambda: max_pool2d(X8, 9), "too_small", "does not fit in the padded input (8 pixels)"),
    (lambda: max_pool2d(X8, 3, dilation=4), "too_small", "A 9-pixel window"),
    (lambda: avg_pool2d(X8, 9, stride=1, ceil_mode=True), "too_small", "smaller window"),
    (lambda: max_pool2d(X8, 0), "bad_kernel", "at least 1"),
    (lambda: max_pool2d(X8, 2, stride=0), "bad_stride", "at least 1"),
    (lambda: max_pool2d(X8, 2, dilation=0), "bad_dilation", "at least 1"),
    (lambda: avg_pool2d(X8, 2, padding=-1), "negative_padding", "cannot be negative"),
    (lambda: max_pool2d(np.zeros((8, 8), np.float32), 2), "bad_input", "(N, C, H, W)"),
    (lambda: lp_pool2d(X8, 0, 2), "bad_norm", "cannot be 0"),
    (lambda: adaptive_avg_pool2d(X8, 0), "bad_output_size", "at least 1×1"),
    (lambda: adaptive_avg_pool2d(X8, (1, 2, 3)), "bad_output_size", "pair"),
])
def test_impossible_parameters_raise_value_error(call, reason, words):
    with pytest.raises(ValueError, match=None) as error:
        call()
    assert isinstance(error.value, PoolError)
    assert error.value.reason == reason
    assert words in str(error.value)


def test_torch_refuses_the_same_combinations():
    """The padding and size checks are torch's, not stricter and not looser."""
    with pytest.raises(RuntimeError):
        F.max_pool2d(T(X8), 3, padding=2)
    with pytest.raises(RuntimeError):
        F.max_pool2d(T(X8), 9)
    assert F.max_pool2d(T(X8), 3, padding=1).shape == max_pool2d(X8, 3, padding=1).shape
