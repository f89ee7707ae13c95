"""cnn_core.explain (one output worked out by hand, the pooling page's experiments) and pool.pool2d (d2l's loop),
each against PyTorch on random shapes, plus the hand-worked examples of the literature."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core import explain
from cnn_core.errors import CnnError
from cnn_core.kernels import KERNELS
from cnn_core.pool import max_pool2d_with_indices, pool2d

SUMS = dict(rtol=1e-5, atol=1e-5)
HYPO = settings(max_examples=30, deadline=None)


def T(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


@HYPO
@given(h=st.integers(1, 12), w=st.integers(1, 12), kh=st.integers(1, 5), kw=st.integers(1, 5),
       seed=st.integers(0, 2**16), data=st.data())
def test_conv_example_sums_to_torchs_same_convolution(h, w, kh, kw, seed, data):
    rng = np.random.default_rng(seed)
    X, K = rng.random((h, w), dtype=np.float32), rng.standard_normal((kh, kw)).astype(np.float32)
    row, col = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
    top, left = (kh - 1) // 2, (kw - 1) // 2  # torch's 'same': the odd pixel of padding goes bottom / right
    padded = F.pad(T(X)[None, None], (left, kw - 1 - left, top, kh - 1 - top))
    expected = F.conv2d(padded, T(K)[None, None])[0, 0, row, col].item()
    example = explain.conv_example(X, K, row, col)
    np.testing.assert_allclose(example.total, expected, **SUMS)
    np.testing.assert_allclose(example.products, example.patch * K, **SUMS)
    assert (example.top, example.left) == (row - top, col - left)


def test_conv_example_by_hand_sobel_on_a_ramp():
    """The lesson's patch: darker left, brighter right; Sobel x gives (−1+0+4) + (−2+0+10) + (0+0+4) = 15."""
    X = np.array([[1, 2, 4], [1, 3, 5], [0, 1, 4]], dtype=np.float32)
    example = explain.conv_example(X, KERNELS["sobel_x"], 1, 1)
    assert example.total == pytest.approx(15.0)
    np.testing.assert_array_equal(example.patch, X)


def test_strongest_response_finds_the_edge_and_skips_the_border():
    X = np.zeros((40, 60), dtype=np.float32)
    X[:, 37:] = 1.0  # one vertical edge between columns 36 and 37
    row, col = explain.strongest_response(X, KERNELS["diff_x"])
    assert col == 36 and 2 <= row < 38  # diff_x = [1, −1]: left minus right is largest in size at the edge
    flat = np.ones((40, 60), dtype=np.float32)  # the zero padding makes the border the only "edge"
    row, col = explain.strongest_response(flat, KERNELS["sobel_x"])
    assert 3 <= row < 37 and 3 <= col < 57


def test_d2l_pool2d_by_hand_and_against_torch():
    X = np.arange(9, dtype=np.float32).reshape(3, 3)  # d2l's example: [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    np.testing.assert_array_equal(pool2d(X, (2, 2)), [[4, 5], [7, 8]])
    np.testing.assert_array_equal(pool2d(X, (2, 2), "avg"), [[2, 3], [5, 6]])
    Y = np.random.default_rng(0).standard_normal((7, 9)).astype(np.float32)
    np.testing.assert_allclose(pool2d(Y, (3, 2)), F.max_pool2d(T(Y)[None], (3, 2), 1)[0].numpy(), **SUMS)
    np.testing.assert_allclose(pool2d(Y, (3, 2), "avg"), F.avg_pool2d(T(Y)[None], (3, 2), 1)[0].numpy(), **SUMS)
    with pytest.raises(CnnError) as refused:
        pool2d(Y, (2, 2), "median")  # d2l's version silently returned zeros here
    assert refused.value.reason == "bad_mode"
    with pytest.raises(CnnError):
        pool2d(Y, (8, 2))


@HYPO
@given(h=st.integers(2, 14), w=st.integers(2, 14), k=st.integers(1, 4), s=st.integers(1, 4), p=st.integers(0, 2),
       ceil=st.booleans(), count_pad=st.booleans(), ties=st.booleans(), seed=st.integers(0, 2**16), data=st.data())
def test_pool_example_is_the_window_torch_pools(h, w, k, s, p, ceil, count_pad, ties, seed, data):
    p = min(p, k // 2)
    rng = np.random.default_rng(seed)
    X = (rng.integers(0, 3, (h, w)) if ties else rng.standard_normal((h, w))).astype(np.float32)
    try:
        OH, OW = explain.output_shape(h, w, k, s, p, ceil)
    except CnnError:
        return
    i, j = data.draw(st.integers(0, OH - 1)), data.draw(st.integers(0, OW - 1))
    example = explain.pool_example(X, i, j, k, s, p, ceil, count_pad)
    Y, indices = F.max_pool2d(T(X)[None, None], k, s, p, ceil_mode=ceil, return_indices=True)
    assert example.maximum == pytest.approx(Y[0, 0, i, j].item())
    assert example.winner[0] * w + example.winner[1] == indices[0, 0, i, j].item()  # ties: torch's first in reading order
    mean = F.avg_pool2d(T(X)[None, None], k, s, p, ceil, count_pad)[0, 0, i, j].item()
    assert example.mean == pytest.approx(mean, rel=1e-5, abs=1e-6)
    padded = np.isnan(example.window)
    assert np.nansum(example.window) == pytest.approx(example.total, abs=1e-5)
    assert padded.sum() == k * k - np.isfinite(example.window).sum()


def test_pool_example_of_the_classic_2x2():
    example = explain.pool_example(np.array([[1, 2], [3, 4]], dtype=np.float32), 0, 0, 2, 2, 0)
    assert (example.maximum, example.winner, example.mean) == (4.0, (1, 1), 2.5)


def test_pooling_loss_is_input_minus_nearest_upsampling():
    X = np.random.default_rng(1).random((1, 2, 9, 11), dtype=np.float32)
    loss = explain.pooling_loss(X, 2, 2, 0, False, True)
    up = F.interpolate(F.max_pool2d(T(X), 2, 2), size=(9, 11), mode="nearest").numpy()
    np.testing.assert_allclose(loss["up_max"], up, **SUMS)
    np.testing.assert_allclose(loss["lost_max"], X - up, **SUMS)
    even = explain.pooling_loss(X[..., :8, :10], 2, 2, 0, False, True)  # each window blown back onto itself:
    assert (even["lost_max"] <= 0).all()  # the max is never below a pixel of its window
    np.testing.assert_allclose(even["lost_avg"].reshape(1, 2, 4, 2, 5, 2).sum(axis=(3, 5)), 0, atol=1e-5)


def test_noise_is_seeded_and_does_what_it_says():
    X = np.random.default_rng(2).random((1, 1, 50, 60), dtype=np.float32)
    once, again = explain.add_noise(X, "gaussian", 0.1), explain.add_noise(X, "gaussian", 0.1)
    np.testing.assert_array_equal(once, again)
    sigma = float((once - X).std())
    assert 0.07 < sigma / (X.max() - X.min()) < 0.13
    salt = explain.add_noise(X, "salt", 0.2)
    changed = salt != X
    assert 0.15 < changed.mean() < 0.25 and np.all(salt[changed] == X.max())
    assert np.all(explain.add_noise(X, "pepper", 1.0) == X.min())
    np.testing.assert_array_equal(explain.add_noise(X, "salt", 0.0), X)
    with pytest.raises(CnnError):
        explain.add_noise(X, "speckle", 0.1)


def test_shift_moves_the_picture_and_repeats_the_edge():
    X = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4)
    right = explain.shift(X, 1, "right")
    np.testing.assert_array_equal(right[0, 0], [[0, 0, 1, 2], [4, 4, 5, 6], [8, 8, 9, 10]])
    down = explain.shift(X, 2, "down")
    np.testing.assert_array_equal(down[0, 0], [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]])
    assert explain.shift(X, 9, "right").shape == X.shape  # more than the width: no error


def test_pooled_change_of_a_shift_by_the_stride_moves_the_output():
    X = np.random.default_rng(3).random((1, 1, 16, 16), dtype=np.float32)
    change = explain.pooled_change(X, explain.shift(X, 2, "right"), 2, 2, 0, False, True)
    Y = F.max_pool2d(T(X), 2, 2).numpy()
    np.testing.assert_allclose(change["max"][..., 1:], Y[..., :-1] - Y[..., 1:], **SUMS)


def test_busiest_spot_and_crop_box():
    X = np.zeros((1, 1, 100, 200), dtype=np.float32)
    X[0, 0, 70:90, 150:170] = np.random.default_rng(4).random((20, 20))  # all the detail sits here
    row, col = explain.busiest_spot(X, 24)
    top, left, h, w = explain.crop_box(100, 200, row, col, 24)
    assert (h, w) == (24, 24)
    assert top <= 80 < top + h and left <= 160 < left + w
    assert explain.crop_box(10, 12, 100, 0, 24) == (0, 0, 10, 12)  # an image smaller than the crop


def test_display_scale_is_shared_and_centred_for_signed_maps():
    assert explain.display_scale(np.ones((1, 1, 2, 2), np.float32), False) == dict(signed=False, vmin=0.0, vmax=1.0)
    signed = explain.display_scale(np.array([[-3.0, 1.0]], np.float32), True)
    assert signed == dict(signed=True, vmin=-3.0, vmax=3.0)
    assert explain.display_scale(np.array([[0.0, 2.0, np.nan]], np.float32), True) == dict(signed=False, vmin=0.0,
                                                                                        vmax=2.0)


def test_inputs_of_the_pooling_page_and_the_global_pooling_layer():
    image = np.random.default_rng(5).random((12, 10, 3), dtype=np.float32)
    assert explain.pooling_input(image, "rgb", "sobel_x").shape == (1, 3, 12, 10)
    gray = explain.pooling_input(image, "gray", "sobel_x")
    feature = explain.pooling_input(image, "feature", "sobel_x")
    top, left = 1, 1
    expected = F.conv2d(F.pad(T(gray), (left, 1, top, 1)), T(KERNELS["sobel_x"])[None, None]).numpy()
    np.testing.assert_allclose(feature, expected, **SUMS)
    layer = explain.global_pool_layer(image)
    assert layer.shape == (1, 3 + len(KERNELS), 12, 10) and (layer[:, 3:] >= 0).all()  # ReLU'd feature maps
    with pytest.raises(CnnError):
        explain.pool(gray, "median", 2, 2, 0, False, True, 2)
    np.testing.assert_allclose(explain.pool(gray, "lp", 2, 2, 0, False, True, 2),
                               F.lp_pool2d(T(gray), 2, 2, 2).numpy(), **SUMS)
    assert max_pool2d_with_indices(gray, 2)[0].shape == explain.pool(gray, "max", 2, 2, 0, False, True, 2).shape


@pytest.mark.parametrize("k, s, p, ceil, count_pad", [(2, 2, 0, False, True), (3, 2, 1, True, False), (3, 1, 1, False, True)])
def test_pool_gradients_equal_autograd_through_the_check_registry(k, s, p, ceil, count_pad):
    """pool_backward.pool_gradients and its twin (torch autograd) through cnn_core.check, as the page runs it."""
    from cnn_core.check import check
    from cnn_core.pool_backward import pool_gradients

    X = np.random.default_rng(6).standard_normal((1, 2, 9, 10)).astype(np.float32)
    result = check(pool_gradients, X, k, s, p, ceil, count_pad)
    assert result.ok, result
    grad_max, _ = pool_gradients(X, k, s, p, ceil, count_pad)
    OH, OW = explain.output_shape(9, 10, k, s, p, ceil)
    assert grad_max.sum() == pytest.approx(2 * OH * OW)  # every window sends its 1 to exactly one winner


@HYPO
@given(n=st.integers(1, 60), k=st.integers(1, 8), s=st.integers(1, 8), p=st.integers(0, 4), data=st.data())
def test_a_click_on_an_output_cell_explains_that_cell(n, k, s, p, data):
    p = min(p, k // 2)
    try:
        out = explain.output_shape(n, n, k, s, p, False)[0]
    except CnnError:
        return
    i = data.draw(st.integers(0, out - 1))
    assert explain.window_of(explain.centre_of(i, k, s, p), k, s, p, out) == i
    pixel = data.draw(st.integers(0, n - 1))
    j = explain.window_of(pixel, k, s, p, out)
    start = j * s - p  # a pixel inside some window is explained by a window that contains it
    inside = [w for w in range(out) if w * s - p <= pixel < w * s - p + k]
    if inside and k >= s:
        assert start <= pixel < start + k
