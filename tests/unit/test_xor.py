"""cnn_core.xor: two linear layers collapse into one; XOR needs a hidden nonlinearity.

The XOR properties are checked over several seeds: with ReLU or tanh the network reaches 100 %, without a
nonlinearity it is a linear classifier, which can never get more than 3 of the 4 points (≤ 75 %).
"""

import math
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_core.xor import (
    XOR_X,
    XOR_Y,
    best_linear_accuracy,
    collapse_linear,
    matrix_latex,
    random_layers,
    train_xor,
)

SEEDS = range(6)


# --- two linear layers are one -------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(n_in=st.integers(1, 6), hidden=st.integers(1, 6), n_out=st.integers(1, 4), batch=st.integers(1, 5),
       seed=st.integers(0, 10_000))
def test_collapse_equals_two_layers_and_torch(n_in, hidden, n_out, batch, seed):
    rng = np.random.default_rng(seed)
    W1, b1 = rng.standard_normal((hidden, n_in)), rng.standard_normal(hidden)
    W2, b2 = rng.standard_normal((n_out, hidden)), rng.standard_normal(n_out)
    x = rng.standard_normal((batch, n_in))
    result = collapse_linear(W1, b1, W2, b2, x)
    assert result.W.shape == (n_out, n_in) and result.b.shape == (n_out,)
    assert result.max_abs_diff < 1e-9
    np.testing.assert_allclose(result.one_layer, result.two_layers, atol=1e-9)
    # The same two layers as torch modules, without an activation between them
    first, second = torch.nn.Linear(n_in, hidden).double(), torch.nn.Linear(hidden, n_out).double()
    with torch.no_grad():
        first.weight.copy_(torch.from_numpy(W1)), first.bias.copy_(torch.from_numpy(b1))
        second.weight.copy_(torch.from_numpy(W2)), second.bias.copy_(torch.from_numpy(b2))
        theirs = second(first(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(result.one_layer, theirs, atol=1e-9)


def test_collapse_hand_worked():
    """y = 3(2x + 1) + 4 = 6x + 7."""
    result = collapse_linear([[2.0]], [1.0], [[3.0]], [4.0], [[0.0], [1.0], [-2.0]])
    np.testing.assert_allclose(result.W, [[6.0]])
    np.testing.assert_allclose(result.b, [7.0])
    np.testing.assert_allclose(result.one_layer[:, 0], [7.0, 13.0, -5.0])


def test_random_layers_are_small_integers_and_seeded():
    first, again = random_layers(seed=5), random_layers(seed=5)
    for a, b in zip(first, again, strict=False):
        np.testing.assert_array_equal(a, b)
    assert all(np.all(np.abs(a) <= 3) and np.all(a == np.round(a)) for a in first)


@pytest.mark.parametrize("args, words", [
    (([[1.0, 2.0]], [0.0], [[1.0, 1.0]], [0.0], [[1.0, 1.0]]), "Shapes do not chain"),
    (([[1.0, 2.0]], [0.0, 1.0], [[1.0]], [0.0], [[1.0, 1.0]]), "Shapes do not chain"),
    (([[1.0, 2.0]], [0.0], [[1.0]], [0.0], [[1.0, 1.0, 1.0]]), "3 features per row"),
    (([1.0, 2.0], [0.0], [[1.0]], [0.0], [[1.0, 1.0]]), "must be matrices"),
])
def test_collapse_errors(args, words):
    with pytest.raises(ValueError, match=words):
        collapse_linear(*args)


def test_matrix_latex():
    assert matrix_latex([[1.0, -0.5], [0.0, 2.25]]) == r"\begin{bmatrix}1 & -0.5 \\ 0 & 2.25\end{bmatrix}"
    assert matrix_latex([1.0, 2.0], decimals=0) == r"\begin{bmatrix}1 \\ 2\end{bmatrix}"


# --- XOR ------------------------------------------------------------------------------------------------------

def test_no_straight_line_gets_more_than_three_of_four():
    assert best_linear_accuracy() == pytest.approx(0.75)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_hidden_nonlinearity_solves_xor(activation, seed):
    result = train_xor(activation=activation, seed=seed)
    assert result.accuracy == 1.0
    assert np.all((result.probabilities > 0.5) == (XOR_Y > 0.5))
    assert result.losses[-1] < 0.05 < result.losses[0]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("hidden, steps, lr", [(16, 300, 0.03), (2, 50, 0.1), (32, 600, 0.3)])
def test_without_a_nonlinearity_xor_stays_unsolved(seed, hidden, steps, lr):
    result = train_xor(hidden=hidden, activation="none", steps=steps, lr=lr, seed=seed)
    assert result.accuracy <= 0.75
    # The best a linear model can do is p = 1/2 everywhere: the loss never gets below ln 2.
    assert result.losses.min() >= math.log(2) - 1e-4
    # And the trained "network" is one linear layer: its collapsed form gives the same logits.
    collapsed = collapse_linear(result.W1, result.b1, result.W2, result.b2, XOR_X)
    probabilities = 1 / (1 + np.exp(-collapsed.one_layer[:, 0]))
    np.testing.assert_allclose(probabilities, result.probabilities, atol=1e-5)


def test_result_shapes_grid_and_timing():
    result = train_xor(hidden=5, steps=40, grid_size=21, seed=1)
    assert result.losses.shape == (40,)
    assert result.grid.shape == (21,) and result.grid_probabilities.shape == (21, 21)
    assert result.W1.shape == (5, 2) and result.b1.shape == (5,) and result.W2.shape == (1, 5) and result.b2.shape == (1,)
    assert np.all((result.grid_probabilities >= 0) & (result.grid_probabilities <= 1))
    # Grid row i is x2 = grid[i], column j is x1 = grid[j]: the corner (x1, x2) = (1, 0) sits at row of 0, column of 1
    row, col = int(np.argmin(np.abs(result.grid - 0))), int(np.argmin(np.abs(result.grid - 1)))
    assert result.grid_probabilities[row, col] == pytest.approx(result.probabilities[2], abs=1e-6)


def test_default_training_takes_well_under_a_second():
    """CPU time of this process, on one thread as the app runs it (wall time would count other busy processes)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.process_time()
        train_xor()
        assert time.process_time() - start < 1.0
    finally:
        torch.set_num_threads(threads)


def test_same_seed_same_training():
    first, again = train_xor(seed=7, steps=60), train_xor(seed=7, steps=60)
    np.testing.assert_array_equal(first.losses, again.losses)
    assert not np.array_equal(first.losses, train_xor(seed=8, steps=60).losses)


@pytest.mark.parametrize("kwargs, words", [
    (dict(activation="sigmoid"), "Unknown hidden activation"),
    (dict(hidden=0), "at least 1 hidden unit"),
    (dict(steps=0), "at least 1 step"),
    (dict(lr=0.0), "learning rate above 0"),
])
def test_train_xor_errors(kwargs, words):
    with pytest.raises(ValueError, match=words):
        train_xor(**kwargs)


def test_the_numpy_half_loads_without_torch():
    """collapse_linear and the matrices are NumPy: only training imports torch, when it trains."""
    import subprocess
    import sys

    code = ("import sys; from cnn_core.xor import collapse_linear, random_layers; "
            "collapse_linear(*random_layers()); assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def torch_xor(hidden: int, activation: str, steps: int, lr: float, seed: int) -> tuple[np.ndarray, list]:
    """The same training with torch's autograd and torch.optim.Adam, from the same start: the reference."""
    from cnn_core.xor import initial_weights

    params = [torch.from_numpy(w).requires_grad_() for w in initial_weights(hidden, seed)]
    W1, b1, W2, b2 = params
    hidden_layer = {"relu": torch.relu, "tanh": torch.tanh, "none": lambda z: z}[activation]
    X, Y = torch.from_numpy(XOR_X), torch.from_numpy(XOR_Y)
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits((hidden_layer(X @ W1.T + b1) @ W2.T + b2)[:, 0], Y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses), [p.detach().numpy() for p in params]


@pytest.mark.parametrize("activation, hidden, steps, lr, seed", [("relu", 16, 300, 0.03, 0), ("tanh", 8, 200, 0.1, 3),
                                                                 ("none", 16, 300, 0.03, 5), ("relu", 3, 150, 0.3, 11)])
def test_numpy_backpropagation_and_adam_follow_torch(activation, hidden, steps, lr, seed):
    ours = train_xor(hidden=hidden, activation=activation, steps=steps, lr=lr, seed=seed)
    losses, weights = torch_xor(hidden, activation, steps, lr, seed)
    np.testing.assert_allclose(ours.losses, losses, atol=1e-4)
    for mine, theirs in zip((ours.W1, ours.b1, ours.W2, ours.b2), weights, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-3)
