"""cnn_core.transpose against torch's conv_transpose2d, d2l's worked example and Dumoulin & Visin (2016).

Tolerance: float32 sums of at most a few dozen products, added in a different order than torch: rtol/atol 1e-5.
The direct-convolution form sums over zeros torch never touches, so the same tolerance holds.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnn_core.conv import conv2d, conv2d_backward, output_size, unvisited
from cnn_core.transpose import (
    TransposeError,
    checkerboard_strength,
    conv_transpose2d,
    conv_transpose2d_as_conv,
    conv_transpose2d_naive,
    conv_transpose_output_size,
    conv_transpose_output_size_latex,
    insert_zeros,
    overlap_map,
    overlap_pattern,
    scatter_steps,
)

torch.set_num_threads(1)
TOL = dict(rtol=1e-5, atol=1e-5)
VERSIONS = (conv_transpose2d, conv_transpose2d_naive, conv_transpose2d_as_conv)


@st.composite
def transpose_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    C_in, out_per_group = groups * draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    op = (draw(st.integers(0, max(s[0], d[0]) - 1)), draw(st.integers(0, max(s[1], d[1]) - 1)))
    H, W, N = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 2))
    for n, k, stride, pad, extra, dil in ((H, kh, s[0], p[0], op[0], d[0]), (W, kw, s[1], p[1], op[1], d[1])):
        assume((n - 1) * stride + dil * (k - 1) + 1 - 2 * pad + extra >= 1)  # torch returns an empty map below 1
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    X = rng.standard_normal((N, C_in, H, W)).astype(np.float32)
    K = rng.standard_normal((C_in, out_per_group, kh, kw)).astype(np.float32)
    bias = rng.standard_normal(groups * out_per_group).astype(np.float32) if draw(st.booleans()) else None
    return X, K, bias, dict(stride=s, padding=p, output_padding=op, groups=groups, dilation=d)


@settings(max_examples=150, deadline=None)
@given(transpose_case())
def test_all_three_versions_match_torch_on_random_shapes(case):
    X, K, bias, params = case
    expected = F.conv_transpose2d(torch.from_numpy(X), torch.from_numpy(K),
                                  None if bias is None else torch.from_numpy(bias), **params).numpy()
    for version in VERSIONS:
        Y = version(X, K, bias, **params)
        assert Y.shape == expected.shape and Y.dtype == np.float32, version.__name__
        np.testing.assert_allclose(Y, expected, **TOL, err_msg=version.__name__)


@pytest.mark.parametrize("params", [dict(stride=2), dict(stride=3, padding=1, output_padding=2), dict(dilation=2)])
def test_unbatched_input_like_torch(params):
    rng = np.random.default_rng(0)
    X, K = rng.standard_normal((2, 4, 5)).astype(np.float32), rng.standard_normal((2, 3, 3, 2)).astype(np.float32)
    expected = F.conv_transpose2d(torch.from_numpy(X), torch.from_numpy(K), **params).numpy()
    np.testing.assert_allclose(conv_transpose2d(X, K, **params), expected, **TOL)


def test_d2l_worked_example():
    """d2l §14.10 (transposed convolution): X = [[0, 1], [2, 3]], K = [[0, 1], [2, 3]] → [[0, 0, 1], [0, 4, 6],
    [4, 12, 9]]: each of the four inputs scatters its scaled 2×2 copy of K, and the copies overlap in the middle."""
    X = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    expected = np.array([[0, 0, 1], [0, 4, 6], [4, 12, 9]], dtype=np.float32)
    for version in VERSIONS:
        np.testing.assert_allclose(version(X[None, None], X[None, None])[0, 0], expected, **TOL)


# Dumoulin & Visin (2016), chapter 4: the convolution each transposed convolution is the transpose of
# (input i, kernel k, stride s, padding p), the size it maps back to, and a = the rows the convolution never
# visited (output_padding). Relationships 8 to 14 in their numbering.
DUMOULIN_VISIN = [
    # i, k, s, p,  conv output, name
    (4, 3, 1, 0, 2, "no padding, unit strides (rel. 8): i' = 2 → o' = i' + (k − 1) = 4"),
    (5, 4, 1, 2, 6, "zero padding, unit strides (rel. 9): 6 → 5"),
    (5, 3, 1, 1, 5, "half padding (rel. 10): the size is kept both ways"),
    (5, 3, 1, 2, 7, "full padding (rel. 11): 7 → 5, a direct convolution with no padding"),
    (5, 3, 2, 0, 2, "no padding, strides 2 (rel. 12): 2 → 5"),
    (5, 3, 2, 1, 3, "padding, strides 2 (rel. 13): 3 → 5"),
    (6, 3, 2, 1, 3, "padding, strides 2, odd (rel. 14): 3 → 6 needs a = 1 (output_padding)"),
]


@pytest.mark.parametrize("i, k, s, p, o, name", DUMOULIN_VISIN, ids=[case[-1][:30] for case in DUMOULIN_VISIN])
def test_dumoulin_visin_sizes_round_trip(i, k, s, p, o, name):
    assert output_size(i, k, s, p) == o
    a = unvisited(i, k, s, p)  # (i + 2p − k) mod s
    assert conv_transpose_output_size(o, k, s, p, output_padding=a) == i


@pytest.mark.parametrize("i, k, s, p, o, name", DUMOULIN_VISIN, ids=[case[-1][:30] for case in DUMOULIN_VISIN])
def test_dumoulin_visin_equivalent_direct_convolution(i, k, s, p, o, name):
    """Their construction: stretch the input (s − 1 zeros between units, ĩ = i' + (s − 1)(i' − 1)), pad it with
    k − p − 1 zeros (+ a at the bottom/right), and run a stride-1 convolution with the kernel rotated by 180°."""
    rng = np.random.default_rng(i * 100 + k * 10 + s + p)
    Y, K = rng.standard_normal((1, 1, o, o)).astype(np.float32), rng.standard_normal((1, 1, k, k)).astype(np.float32)
    a = unvisited(i, k, s, p)
    stretched = insert_zeros(Y, s)
    assert stretched.shape[-1] == o + (s - 1) * (o - 1)
    edge = k - p - 1
    padded = np.pad(stretched, [(0, 0), (0, 0), (edge, edge + a), (edge, edge + a)])
    direct = conv2d(padded, K[:, :, ::-1, ::-1])
    np.testing.assert_allclose(conv_transpose2d(Y, K, stride=s, padding=p, output_padding=a), direct, **TOL)
    assert direct.shape[-1] == i


@settings(max_examples=80, deadline=None)
@given(transpose_case())
def test_transpose_is_the_adjoint_of_conv2d(case):
    """Why it is called *transposed*: ⟨conv2d(X, K), Y⟩ = ⟨X, conv_transpose2d(Y, K)⟩ for every X and Y, with the
    same kernel, stride, padding, dilation and groups — Y = C·X and Cᵀ·Y share one matrix C."""
    Yin, K, _, params = case
    s, p, d, g = params["stride"], params["padding"], params["dilation"], params["groups"]
    XT = conv_transpose2d(Yin, K, None, s, p, params["output_padding"], g, d)  # has the shape of a conv2d input
    assume(all(output_size(XT.shape[2 + a], K.shape[2 + a], s[a], p[a], d[a]) == Yin.shape[2 + a] for a in (0, 1)))
    X = np.random.default_rng(1).standard_normal(XT.shape).astype(np.float32)
    # The very same weight array: conv2d reads (C_in, C_out/g, kh, kw) as (out, in/g, kh, kw), from XT's
    # channels back to Yin's — no flip, no reshuffle.
    forward = conv2d(X, K, None, s, p, d, g)
    np.testing.assert_allclose(np.vdot(forward.astype(np.float64), Yin), np.vdot(X.astype(np.float64), XT), rtol=1e-4, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(transpose_case())
def test_transpose_is_the_input_gradient_of_conv2d(case):
    """The same adjoint, seen by backpropagation: conv2d's ∂L/∂X for ∂L/∂Y = Yin is conv_transpose2d(Yin, K)."""
    Yin, K, _, params = case
    s, p, d, g, op = params["stride"], params["padding"], params["dilation"], params["groups"], params["output_padding"]
    XT = conv_transpose2d(Yin, K, None, s, p, op, g, d)
    assume(all(output_size(XT.shape[2 + a], K.shape[2 + a], s[a], p[a], d[a]) == Yin.shape[2 + a] for a in (0, 1)))
    grad_input, _, _ = conv2d_backward(np.zeros_like(XT), K, Yin, s, p, d, g)
    np.testing.assert_allclose(XT, grad_input, **TOL)


def test_stride_one_is_full_convolution_with_the_flipped_kernel():
    rng = np.random.default_rng(3)
    X, K = rng.standard_normal((1, 1, 4, 5)).astype(np.float32), rng.standard_normal((1, 1, 3, 2)).astype(np.float32)
    full = conv2d(np.pad(X, [(0, 0), (0, 0), (2, 2), (1, 1)]), K[:, :, ::-1, ::-1])
    np.testing.assert_allclose(conv_transpose2d(X, K), full, **TOL)


# ------------------------------------------------------------------------------------------------------------
# Output size, the step-through, the checkerboard, errors
# ------------------------------------------------------------------------------------------------------------

@given(n=st.integers(1, 20), k=st.integers(1, 6), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 3),
       data=st.data())
@settings(max_examples=200, deadline=None)
def test_output_size_formula_matches_torch(n, k, s, p, d, data):
    op = data.draw(st.integers(0, max(s, d) - 1))
    expected = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    assume(expected >= 1)
    assert conv_transpose_output_size(n, k, s, p, op, d) == expected
    torch_out = F.conv_transpose2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1), stride=(s, 1), padding=(p, 0),
                                   output_padding=(op, 0), dilation=(d, 1))
    assert torch_out.shape[2] == expected
    latex = conv_transpose_output_size_latex(n, k, s, p, op, d)
    assert latex.endswith(f"= {expected}") and f"({n} - 1)" in latex


def test_scatter_steps_add_up_to_the_op():
    rng = np.random.default_rng(4)
    X, K = rng.standard_normal((3, 2)), rng.standard_normal((3, 3))
    steps = scatter_steps(X, K, stride=2, padding=1, output_padding=1, dilation=1)
    assert len(steps) == X.size and [(s.row, s.col) for s in steps[:3]] == [(0, 0), (0, 1), (1, 0)]
    expected = conv_transpose2d(X[None, None], K[None, None], stride=2, padding=1, output_padding=1)[0, 0]
    np.testing.assert_allclose(steps[-1].output, expected, **TOL)
    previous = np.zeros_like(steps[0].canvas)
    for step in steps:  # each step adds exactly its scaled kernel copy at (row·s, col·s), nothing elsewhere
        added = step.canvas - previous
        np.testing.assert_allclose(added[step.top : step.top + 3, step.left : step.left + 3], step.value * K, **TOL)
        added[step.top : step.top + 3, step.left : step.left + 3] = 0
        np.testing.assert_allclose(added, 0, atol=1e-12)
        previous = step.canvas


def test_scatter_steps_with_dilation_leave_holes_in_the_copy():
    steps = scatter_steps(np.ones((1, 1)), np.ones((2, 2)), dilation=3)
    np.testing.assert_allclose(steps[0].copy, [[1, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1]])


@given(k=st.integers(1, 7), s=st.integers(1, 4), d=st.integers(1, 3))
@settings(max_examples=100, deadline=None)
def test_overlap_pattern_matches_the_measured_interior(k, s, d):
    """The interior of all-ones ⊛ᵀ all-ones repeats the predicted per-offset counts along both axes."""
    n = 12
    counts = overlap_map(n, k, s, 0, d)
    span = d * (k - 1) + 1
    pattern = overlap_pattern(k, s, d)
    assert pattern.sum() == k
    interior = range(span - 1, (n - 1) * s + 1)  # rows every kernel tap can reach from some input value
    for r in interior:
        assert counts[r, r] == pattern[r % s] ** 2
    strength = checkerboard_strength(k, s, d)
    assert 0.0 <= strength <= 1.0
    assert (strength == 0.0) == (len(set(pattern.tolist())) == 1)


@pytest.mark.parametrize("k, s, even", [(3, 2, False), (4, 2, True), (3, 3, True), (5, 2, False), (2, 1, True), (1, 2, False)])
def test_checkerboard_when_the_kernel_is_not_a_multiple_of_the_stride(k, s, even):
    """Odena et al. (2016): k = 3, s = 2 overlaps unevenly (2 copies, then 1), k = 4, s = 2 does not;
    k = 1 < s = 2 leaves pixels no copy reaches at all (strength 1)."""
    assert (checkerboard_strength(k, s) == 0.0) is even
    if (k, s) == (3, 2):
        np.testing.assert_array_equal(overlap_pattern(3, 2), [2, 1])
        assert checkerboard_strength(3, 2) == pytest.approx(0.75)  # 2×2 = 4 copies vs 1×1 = 1 in 2-D
    if k < s:
        assert checkerboard_strength(k, s) == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs, reason", [
    (dict(stride=2, output_padding=2), "bad_output_padding"),
    (dict(stride=1, output_padding=1), "bad_output_padding"),
    (dict(padding=3), "output_too_small"),
    (dict(stride=0), "bad_stride"),
    (dict(dilation=0), "bad_dilation"),
    (dict(padding=-1), "negative_padding"),
])
def test_impossible_settings_raise_a_reason_and_torch_refuses_too(kwargs, reason):
    X, K = np.ones((1, 1, 2, 2), np.float32), np.ones((1, 1, 3, 3), np.float32)
    for version in VERSIONS:
        with pytest.raises(TransposeError) as caught:
            version(X, K, **kwargs)
        assert caught.value.reason == reason and "." in str(caught.value)
    try:
        refused = F.conv_transpose2d(torch.from_numpy(X), torch.from_numpy(K), **kwargs).numel() == 0
    except (RuntimeError, ValueError):
        refused = True
    assert refused


@pytest.mark.parametrize("X_shape, K_shape, groups, reason", [
    ((1, 3, 4, 4), (2, 1, 3, 3), 1, "channels_mismatch"),
    ((1, 3, 4, 4), (3, 1, 3, 3), 2, "groups_mismatch"),
    ((4, 4), (1, 1, 3, 3), 1, "bad_shape"),
])
def test_shape_errors(X_shape, K_shape, groups, reason):
    with pytest.raises(TransposeError) as caught:
        conv_transpose2d(np.ones(X_shape, np.float32), np.ones(K_shape, np.float32), groups=groups)
    assert caught.value.reason == reason


def test_bias_of_the_wrong_length_is_refused():
    with pytest.raises(TransposeError) as caught:
        conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((2, 3, 2, 2)), bias=np.ones(2))
    assert caught.value.reason == "bias_mismatch" and caught.value.details["expected"] == 3


def test_importing_transpose_and_dropout_does_not_import_torch():
    code = "import sys, cnn_core.transpose, cnn_core.dropout; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
