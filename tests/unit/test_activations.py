"""cnn_core.activations against torch: every function on random shapes, every derivative against autograd.

Tolerances: float32 throughout; ReLU and leaky ReLU are exact up to one rounding (atol 1e-7), the exponential
ones differ from torch's kernels by a few ulps (rtol 1e-5, atol 1e-6).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core.activations import (
    ACTIVATIONS,
    FORMULAS,
    ActivationError,
    apply,
    chain_gradients,
    chain_weights,
    display_range,
    elu,
    elu_grad,
    gradient_norms_by_depth,
    leaky_relu,
    leaky_relu_grad,
    map_ranges,
    parse_numbers,
    relu,
    relu_grad,
    share_of_zeros,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_grad,
    softmax_jacobian,
    softmax_naive,
    tanh,
    tanh_grad,
    unit_shares,
)

RTOL, ATOL = 1e-5, 1e-6

# Our function and torch's, called with the same keyword argument.
TORCH = {
    "relu": lambda x, **kw: F.relu(x),
    "leaky_relu": lambda x, **kw: F.leaky_relu(x, **kw),
    "elu": lambda x, **kw: F.elu(x, **kw),
    "sigmoid": lambda x, **kw: torch.sigmoid(x),
    "tanh": lambda x, **kw: torch.tanh(x),
}

shapes = st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple)
names = st.sampled_from(sorted(ACTIVATIONS))
parameters = st.floats(0.0, 3.0, allow_nan=False)


def random_input(shape, seed, scale=3.0, with_zeros=True):
    """Normal values times `scale`, with some exact zeros (the kinks) mixed in."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    if with_zeros:
        x[rng.random(shape) < 0.15] = 0.0
    return x


def kwargs_for(name, parameter):
    parameter_name = ACTIVATIONS[name][2]
    return {parameter_name: parameter} if parameter_name else {}


def torch_grad(name, x, kwargs):
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    TORCH[name](xt, **kwargs).sum().backward()
    return xt.grad.numpy()


# --- every op against torch on random shapes -------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(name=names, shape=shapes, seed=st.integers(0, 10_000), parameter=parameters)
def test_function_matches_torch(name, shape, seed, parameter):
    x = random_input(shape, seed)
    function = ACTIVATIONS[name][0]
    kwargs = kwargs_for(name, parameter)
    ours = function(x, **kwargs)
    theirs = TORCH[name](torch.from_numpy(x), **kwargs).numpy()
    assert ours.shape == x.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL)


@settings(max_examples=60, deadline=None)
@given(name=names, shape=shapes, seed=st.integers(0, 10_000), parameter=parameters)
def test_derivative_matches_autograd_including_the_kink(name, shape, seed, parameter):
    x = random_input(shape, seed)
    derivative = ACTIVATIONS[name][1]
    kwargs = kwargs_for(name, parameter)
    np.testing.assert_allclose(derivative(x, **kwargs), torch_grad(name, x, kwargs), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("negative_slope", [-0.5, 0.0, 0.01, 0.2, 1.0, 2.0])
def test_leaky_relu_any_slope_like_torch(negative_slope):
    x = np.linspace(-4, 4, 81, dtype=np.float32)  # contains 0 exactly
    kwargs = {"negative_slope": negative_slope}
    np.testing.assert_allclose(leaky_relu(x, **kwargs), F.leaky_relu(torch.from_numpy(x), **kwargs).numpy(), atol=1e-7)
    np.testing.assert_allclose(leaky_relu_grad(x, **kwargs), torch_grad("leaky_relu", x, kwargs), atol=1e-7)


@pytest.mark.parametrize("alpha", [0.1, 0.5, 1.0, 2.0, 3.0])
def test_elu_alphas_like_torch(alpha):
    x = np.linspace(-8, 4, 121, dtype=np.float32)
    np.testing.assert_allclose(elu(x, alpha), F.elu(torch.from_numpy(x), alpha).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(elu_grad(x, alpha), torch_grad("elu", x, {"alpha": alpha}), rtol=RTOL, atol=ATOL)


# --- hand-worked numbers -------------------------------------------------------------------------------------

def test_hand_worked_values():
    np.testing.assert_array_equal(relu([-2.0, 0.0, 3.0]), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu_grad([-2.0, 0.0, 3.0]), [0.0, 0.0, 1.0])  # ReLU'(0) := 0, as torch
    np.testing.assert_allclose(leaky_relu([-2.0, 0.0, 3.0], 0.1), [-0.2, 0.0, 3.0], atol=1e-7)
    np.testing.assert_allclose(leaky_relu_grad([0.0], 0.1), [0.1], atol=1e-7)  # at 0: the slope α, as torch
    np.testing.assert_allclose(elu_grad([0.0], 2.0), [2.0], atol=1e-7)  # at 0: α·e^0, as torch
    np.testing.assert_allclose(elu([-1.0], 1.0), [np.exp(-1) - 1], atol=1e-7)
    np.testing.assert_allclose(sigmoid([0.0]), [0.5], atol=1e-7)
    np.testing.assert_allclose(sigmoid_grad([0.0]), [0.25], atol=1e-7)  # the largest slope of σ
    np.testing.assert_allclose(tanh_grad([0.0]), [1.0], atol=1e-7)
    np.testing.assert_allclose(tanh([1.0]), [2 * sigmoid([2.0])[0] - 1], atol=1e-6)  # tanh(x) = 2σ(2x) − 1
    # The lesson's example: softmax([2, 1, 0]) ≈ [0.665, 0.245, 0.090]
    np.testing.assert_allclose(softmax([2.0, 1.0, 0.0], dim=0), [0.665, 0.245, 0.090], atol=5e-4)


def test_derivative_bounds():
    x = np.linspace(-20, 20, 4001, dtype=np.float32)
    assert sigmoid_grad(x).max() <= 0.25 + 1e-7
    assert tanh_grad(x).max() <= 1.0 + 1e-7
    assert sigmoid_grad(np.float32([10.0]))[0] < 1e-4  # saturated


def test_large_inputs_do_not_overflow():
    x = np.array([-1000.0, -100.0, 0.0, 100.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # an overflow or a nan would raise here
        s = sigmoid(x)
        e = elu(x)
        sm = softmax(x, dim=0)
        sigmoid_grad(x)
        elu_grad(x)
    np.testing.assert_allclose(s, [0, 0, 0.5, 1, 1], atol=1e-7)
    np.testing.assert_allclose(e, [-1, -1, 0, 100, 1000], atol=1e-6)
    assert np.isfinite(sm).all()


# --- softmax -------------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000), scale=st.sampled_from([0.1, 1.0, 10.0, 1000.0]), data=st.data())
def test_softmax_matches_torch_on_any_dim(shape, seed, scale, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = random_input(shape, seed, scale, with_zeros=False)
    ours = softmax(x, dim=dim)
    np.testing.assert_allclose(ours, F.softmax(torch.from_numpy(x), dim=dim).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.sum(axis=dim), 1.0, atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 10_000), data=st.data())
def test_softmax_grad_matches_autograd(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = random_input(shape, seed, with_zeros=False)
    g = random_input(shape, seed + 1, with_zeros=False)
    xt = torch.from_numpy(x).requires_grad_(True)
    F.softmax(xt, dim=dim).backward(torch.from_numpy(g))
    np.testing.assert_allclose(softmax_grad(x, dim, g), xt.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_softmax_jacobian_matches_torch():
    x = np.array([2.0, 1.0, 0.0, -1.0], dtype=np.float32)
    J = softmax_jacobian(x)
    theirs = torch.autograd.functional.jacobian(lambda v: F.softmax(v, dim=0), torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(J, theirs, atol=1e-6)
    np.testing.assert_allclose(J.sum(axis=1), 0.0, atol=1e-6)  # shifting all logits equally changes nothing


def test_softmax_stable_where_the_naive_formula_fails():
    x = np.array([1000.0, 1001.0, 1002.0], dtype=np.float32)
    assert np.isnan(softmax_naive(x, dim=0)).all()  # e^1000 = inf, inf / inf = nan
    np.testing.assert_allclose(softmax(x, dim=0), softmax(x - 1000, dim=0), atol=1e-7)
    np.testing.assert_allclose(softmax(x, dim=0), F.softmax(torch.from_numpy(x), dim=0).numpy(), atol=1e-7)
    np.testing.assert_allclose(softmax_naive(x - 1000, dim=0), softmax(x, dim=0), atol=1e-6)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-500, 500))
def test_softmax_ignores_a_common_shift(seed, shift):
    x = random_input((7,), seed, with_zeros=False)
    np.testing.assert_allclose(softmax(x + np.float32(shift), 0), softmax(x, 0), atol=1e-5)


def test_softmax_temperature_limits():
    x = np.array([1.0, 3.0, 2.0], dtype=np.float32)
    np.testing.assert_allclose(softmax(x / 0.01, 0), [0, 1, 0], atol=1e-6)  # T → 0: one-hot at the max
    np.testing.assert_allclose(softmax(x / 1000, 0), [1 / 3] * 3, atol=1e-3)  # T → ∞: uniform


# --- errors ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, words", [
    (lambda: softmax(np.float32(3.0), dim=0), "single number"),
    (lambda: softmax(np.zeros((2, 3)), dim=2), "dim=2 does not exist"),
    (lambda: softmax(np.zeros((2, 3)), dim=-3), "dim=-3 does not exist"),
    (lambda: softmax_jacobian(np.zeros((2, 2))), "one vector"),
    (lambda: softmax_grad(np.zeros(3), 0, np.zeros(4)), "must match"),
    (lambda: apply("swish", np.zeros(3)), "Unknown activation 'swish'"),
    (lambda: chain_weights(0), "at least one layer"),
])
def test_errors_say_what_to_change(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# --- the table, zeros, gradients through depth -------------------------------------------------------------

def test_apply_and_formulas_cover_every_activation():
    x = np.linspace(-3, 3, 13, dtype=np.float32)
    for name, (function, derivative, parameter_name) in ACTIVATIONS.items():
        y, dy = apply(name, x, 0.3)
        kwargs = {parameter_name: 0.3} if parameter_name else {}
        np.testing.assert_array_equal(y, function(x, **kwargs))
        np.testing.assert_array_equal(dy, derivative(x, **kwargs))
        assert len(FORMULAS[name]) == 2 and all(FORMULAS[name])


def test_share_of_zeros():
    assert share_of_zeros(relu([-1.0, -2.0, 0.0, 3.0])) == pytest.approx(0.75)
    assert share_of_zeros(sigmoid([-1.0, 2.0])) == 0.0
    assert share_of_zeros(np.zeros((0,))) == 0.0


@pytest.mark.parametrize("name, parameter", [("relu", None), ("sigmoid", None), ("tanh", None),
                                             ("leaky_relu", 0.1), ("elu", 1.5)])
def test_chain_gradients_match_autograd(name, parameter):
    depth, width = 6, 8
    weights = chain_weights(depth, width, seed=3)
    x = np.random.default_rng(0).standard_normal((5, width)).astype(np.float32)
    ours = chain_gradients(x, weights, name, parameter)
    kwargs = kwargs_for(name, parameter) if parameter is not None else {}
    hs = [torch.from_numpy(x).requires_grad_(True)]
    for W in weights:
        hs.append(TORCH[name](hs[-1] @ torch.from_numpy(W).T, **kwargs))
        hs[-1].retain_grad()
    hs[-1].sum().backward()
    assert len(ours) == depth + 1
    for k in range(depth):
        np.testing.assert_allclose(ours[k], hs[k].grad.numpy(), rtol=1e-4, atol=1e-5)


def test_sigmoid_gradient_vanishes_and_relu_does_not():
    sigmoid_norms = gradient_norms_by_depth("sigmoid", 10)
    relu_norms = gradient_norms_by_depth("relu", 10)
    assert sigmoid_norms[-1] == pytest.approx(1.0) and relu_norms[-1] == pytest.approx(1.0)
    assert sigmoid_norms[0] < 1e-3  # ten factors of roughly ≤ 1/4
    assert relu_norms[0] > 0.1
    assert np.all(np.diff(sigmoid_norms) > 0)  # shrinks at every layer on the way back


# --- What the page computes from a map and from typed text ---------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(-1, 1), st.sampled_from(["relu", "leaky_relu", "elu", "sigmoid", "tanh"]))
def test_unit_shares_add_up_and_relu_kills_exactly_what_is_not_positive(seed, bias, name):
    """ReLU′(x) = 0 exactly where x ≤ 0: the dead share is the negative share plus the exact-zero share; the
    other functions keep a slope almost everywhere (only underflow could make it 0)."""
    x = np.round(np.random.default_rng(seed).standard_normal((20, 30)), 1).astype(np.float32) + np.float32(bias)
    after, slope = apply(name, x, 0.1 if name in ("leaky_relu", "elu") else None)
    shares = unit_shares(x, after, slope)
    assert shares.negative_before == pytest.approx(float((x < 0).mean()))
    assert shares.zero_before == pytest.approx(float((x == 0).mean()))
    if name == "relu":
        assert shares.no_gradient == pytest.approx(shares.negative_before + shares.zero_before)
        assert shares.zero_after == pytest.approx(shares.no_gradient)
    else:
        assert shares.no_gradient == 0.0


def test_display_ranges_centre_signed_maps_and_share_the_scale_for_relu_like_functions():
    x = np.linspace(-2, 6, 101, dtype=np.float32).reshape(1, -1)
    lo, hi = display_range(x)
    assert lo == -hi and hi == pytest.approx(float(np.percentile(np.abs(x), 99)), rel=0.05)
    positive = np.linspace(0.5, 3, 50, dtype=np.float32)
    assert display_range(positive)[0] == pytest.approx(0.5)
    assert display_range(np.zeros(5)) == (0.0, 1.0)  # a flat map still gets a range to draw on
    relu_after = relu(x)
    before, after = map_ranges("relu", x, relu_after)
    assert after == (0.0, before[1])  # same top: what ReLU cut shows against the same scale
    before, after = map_ranges("sigmoid", x, sigmoid(x))
    assert 0 <= after[0] < after[1] <= 1  # squashed into its own small range


@pytest.mark.parametrize("text, values", [
    ("2 1 0.1 -1", [2, 1, 0.1, -1]), ("1000, 1001，1002", [1000, 1001, 1002]), (" 1 −2 ", [1, -2]),
    ("3;4；5、6", [3, 4, 5, 6]),
])
def test_numbers_are_read_with_any_separator(text, values):
    np.testing.assert_allclose(parse_numbers(text), values, rtol=1e-6)


@pytest.mark.parametrize("text, reason, details", [
    ("", "logits_empty", {}), ("  ", "logits_empty", {}), ("2 abc 1", "logits_bad", {"token": "abc"}),
    ("nan 1", "logits_bad", {"token": "nan"}), ("1e400 1", "logits_bad", {"token": "1e400"}),
    ("1e7 1", "logits_too_big", {"token": "1e7"}), ("3", "logits_count", {"n": 1, "fewest": 2, "most": 8}),
    ("1 2 3 4 5 6 7 8 9", "logits_count", {"n": 9}),
])
def test_numbers_that_cannot_be_used_are_refused_with_a_reason(text, reason, details):
    with pytest.raises(ActivationError) as error:
        parse_numbers(text)
    assert error.value.reason == reason and isinstance(error.value, ValueError)
    assert details.items() <= error.value.details.items()
