"""The torch side of "how a network learns": autograd twins of cnn_core.learn's hand-written gradients, and the
training runs of the page (a small fully connected network on the digits, with and without shuffled pixels).

The maths the page shows is NumPy (cnn_core.learn, conv2d_backward); torch only checks it (cnn_core.check's TWINS
call the functions below) and trains networks through the one training loop, cnn_core.train.fit.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnn_core.digits import load_data
from cnn_core.learn import pixel_permutation, shuffle_pixels
from cnn_core.train import History, fit

# --- Autograd twins: the same gradients, computed by torch -------------------------------------------------------


def _leaf(value) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float32).detach().clone().requires_grad_()


def conv2d_backward(input, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """(grad_input, grad_weight, grad_bias) of F.conv2d pulled back with grad_output by autograd."""
    with torch.enable_grad():
        X, K = _leaf(input), _leaf(weight)
        b = _leaf(torch.zeros(K.shape[0]))
        return torch.autograd.grad(F.conv2d(X, K, b, stride, padding, dilation, groups), (X, K, b), grad_output)


def linear_backward(input, weight, grad_output):
    with torch.enable_grad():
        X, W = _leaf(input), _leaf(weight)
        b = _leaf(torch.zeros(W.shape[0]))
        return torch.autograd.grad(F.linear(X, W, b), (X, W, b), grad_output)


def mse_loss_grad(input, target):
    with torch.enable_grad():
        x = _leaf(input)
        return torch.autograd.grad(F.mse_loss(x, torch.as_tensor(target, dtype=torch.float32)), x)[0]


def cross_entropy_grad(input, target):
    with torch.enable_grad():
        z = _leaf(input)
        return torch.autograd.grad(F.cross_entropy(z, torch.as_tensor(target).long()), z)[0]


_ACTIVATION = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def tiny_net_grads(x, y, W1, b1, W2, b2, activation="sigmoid"):
    """(∂L/∂W1, ∂L/∂b1, ∂L/∂W2, ∂L/∂b2) of L = (W2 f(W1 x + b1) + b2 − y)² by autograd."""
    with torch.enable_grad():
        params = [_leaf(p) for p in (W1, b1, W2, b2)]
        h = _ACTIVATION[activation](F.linear(torch.as_tensor(x, dtype=torch.float32).reshape(2), *params[:2]))
        loss = F.mse_loss(F.linear(h, *params[2:]), torch.as_tensor([y], dtype=torch.float32).reshape(1))
        return torch.autograd.grad(loss, params)


def kernel_gradient(X, K, Y):
    """(∂L/∂Ŷ, ∂L/∂K) for L = mse(X ⋆ K, Y), one channel, by autograd."""
    with torch.enable_grad():
        kernel = _leaf(K)
        Y_hat = F.conv2d(torch.as_tensor(X, dtype=torch.float32)[None, None], kernel[None, None])[0, 0]
        Y_hat.retain_grad()
        F.mse_loss(Y_hat, torch.as_tensor(Y, dtype=torch.float32)).backward()
        return Y_hat.grad, kernel.grad


# --- Training on the digits ----------------------------------------------------------------------------------------

HIDDEN = 32  # hidden units of the fully connected network: 64·32 + 32 + 32·10 + 10 = 2,410 parameters
_SEEDING = threading.Lock()  # app sessions are threads; torch's random state is one per process


def make_fc(seed: int = 0, inputs: int = 64, hidden: int = HIDDEN, classes: int = 10) -> nn.Sequential:
    """flatten → linear(inputs → hidden) → ReLU → linear(hidden → classes): it sees the image as a list of numbers."""
    with _SEEDING, torch.random.fork_rng(devices=[]):  # a seed here must not change anyone else's random numbers
        torch.manual_seed(seed)
        return nn.Sequential(nn.Flatten(), nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, classes))


def train_digits(shuffled: bool = False, epochs: int = 10, batch_size: int = 32, lr: float = 0.3,
                 seed: int = 0, time_limit: float = 6.0, on_epoch=None) -> History:
    """Train the fully connected network on the 8×8 digits with mini-batch SGD; return the curves (cnn_core.train).

    shuffled: every image's 64 pixels are moved by one fixed permutation (the same for every image, train and
    held-out). The network then starts from the same function as the unshuffled run — its first layer's weight
    columns moved with the pixels — and sees the batches in the same order. Nothing in a fully connected layer
    depends on which pixel sits next to which, so the two runs differ only by float rounding: the same accuracy.
    Plain SGD (no momentum), so each step is exactly w ← w − η·∂L/∂w on one mini-batch. One thread, time-bounded.
    """
    train_x, train_y, test_x, test_y = load_data()
    model = make_fc(seed, inputs=train_x[0].size)
    if shuffled:
        permutation = pixel_permutation(*train_x.shape[-2:], seed=seed)
        train_x, test_x = shuffle_pixels(train_x, permutation), shuffle_pixels(test_x, permutation)
        with torch.no_grad():  # input j now holds old pixel permutation[j]: give it that pixel's weights
            model[1].weight.copy_(model[1].weight[:, torch.from_numpy(permutation)])
    return fit(model, train_x, train_y, test_x, test_y, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed,
               momentum=0.0, time_limit=time_limit, on_epoch=on_epoch)


def digits_sample(count: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A few held-out digits, as they are and shuffled: (count, 8, 8) each, for the page to draw."""
    _, _, test_x, _ = load_data()
    images = test_x[np.random.default_rng(seed).choice(len(test_x), count, replace=False), 0]
    return images, shuffle_pixels(images, pixel_permutation(*images.shape[-2:], seed=seed))
