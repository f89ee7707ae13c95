"""The PyTorch check, written once: every cnn_core op a page shows, beside its torch twin with the same arguments.

`check(op, *args, **kwargs)` runs both on the same numbers and returns the largest absolute difference under one
policy for NaN and ±∞ (see `max_abs_diff`). Pages never import torch: they ask for a check by naming our op.
A new op on a page gets its twin here, in TWINS (one place: a module that registered itself at import time would
import this module while it imports that one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cnn_core import (
    activations,
    channels,
    conv,
    digits,
    explain,
    learn,
    learn_torch,
    norm,
    pool,
    pool_backward,
    resnet,
    rf_effective,
    rf_network,
    transpose,
)
from cnn_core.dropout import dropout as dropout_op  # the package exports the function under the module's name

TOLERANCE = 1e-4  # float32 sums of a few hundred terms agree to about 1e-6; 1e-4 leaves room, a bug is far above


def _tensor(value):
    return torch.from_numpy(np.require(value, requirements=["C", "W"])) if isinstance(value, np.ndarray) else value  # torch wants writable memory


def _numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, (tuple, list)):
        return type(value)(_numpy(v) for v in value)
    return value


_TORCH_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _torch_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """F.conv2d has no padding_mode (nn.Conv2d pads first): pad with F.pad, then convolve, as nn.Conv2d does."""
    if padding_mode == "zeros" or isinstance(padding, str):
        if isinstance(padding, str) and padding == "same":  # explicit, so torch does not warn about even kernels
            top, bottom, left, right = conv.same_padding(tuple(weight.shape[2:]), conv.pair(dilation))
            input = F.pad(input, (left, right, top, bottom), mode=_TORCH_PAD[padding_mode])
            padding = 0
        return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
    ph, pw = conv.pair(padding)
    padded = F.pad(input, (pw, pw, ph, ph), mode=_TORCH_PAD[padding_mode])
    return F.conv2d(padded, weight, bias, stride, 0, dilation, groups)


def _torch_convolve2d(input, weight, **kwargs):
    """True convolution = cross-correlation with the kernel flipped on both spatial axes."""
    return _torch_conv2d(input, torch.flip(weight, dims=(-2, -1)), **kwargs)


def _torch_batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
                      eps=1e-5):
    # Our batch_norm updates running statistics in place, like torch; the twin works on copies so the two runs
    # start from the same statistics.
    mean = None if running_mean is None else running_mean.clone()
    var = None if running_var is None else running_var.clone()
    return F.batch_norm(input, mean, var, weight, bias, training, momentum, eps)


def _torch_batch_norm_train_steps(input, steps=3, momentum=0.1, eps=1e-5):
    """torch after `steps` training passes on the same batch: the output and the running buffers (from 0 and 1)."""
    mean, var = torch.zeros(input.shape[1]), torch.ones(input.shape[1])
    out = input
    for _ in range(steps):
        out = F.batch_norm(input, mean, var, training=True, momentum=momentum, eps=eps)
    return out, mean, var


def _torch_bn_and_relu(input, order, weight=None, bias=None, eps=1e-5):
    def bn(x):
        return F.batch_norm(x, None, None, weight, bias, True, 0.0, eps)

    return F.relu(bn(input)) if order == "bn_relu" else bn(F.relu(input))


def _torch_function(name, parameter=None):
    """The torch function of activation `name` (parameter: leaky ReLU's slope, ELU's α; None = torch's default)."""
    return {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "leaky_relu": lambda v: F.leaky_relu(v, 0.01 if parameter is None else parameter),
            "elu": lambda v: F.elu(v, 1.0 if parameter is None else parameter)}[name]


def _torch_activation(name, input, parameter=None):
    """f(x) and f'(x) by autograd: the twin of activations.apply."""
    x = input.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        y = _torch_function(name, parameter)(x)
        y.sum().backward()  # each output depends on its own input only: the gradient of the sum is f'(x)
    return y.detach(), x.grad


def _torch_gradient_norms_by_depth(name, depth, width=32, batch=64, seed=0, parameter=None):
    """The same chain h_k = f(W_k h_(k−1)) in torch, its gradients by autograd (twin of gradient_norms_by_depth)."""
    x = torch.from_numpy(np.random.default_rng(seed + 1).standard_normal((batch, width)).astype(np.float32))
    hs = [x.requires_grad_(True)]
    with torch.enable_grad():
        for W in activations.chain_weights(depth, width, seed):
            hs.append(_torch_function(name, parameter)(hs[-1] @ torch.from_numpy(W).T))
            hs[-1].retain_grad()
        hs[-1].sum().backward()
    rms = torch.stack([h.grad.double().pow(2).mean().sqrt() for h in hs])
    return rms / rms[-1]


def _torch_basic_block(x, conv1_weight, bn1, conv2_weight, bn2, shortcut=None, stride=1):
    """ResNet's basic block in torch.nn.functional, from the same arguments (bn: mappings of numpy arrays)."""
    def bn(X, p):
        return F.batch_norm(X, *(_tensor(np.asarray(p[name], dtype=np.float32)) for name in
                                 ("running_mean", "running_var", "weight", "bias")), eps=float(p.get("eps", 1e-5)))

    W1, W2 = _tensor(np.asarray(conv1_weight)), _tensor(np.asarray(conv2_weight))
    out = F.relu(bn(F.conv2d(x, W1, stride=stride, padding=W1.shape[-1] // 2), bn1))
    out = bn(F.conv2d(out, W2, padding=W2.shape[-1] // 2), bn2)
    skip = x if shortcut is None else bn(F.conv2d(x, _tensor(np.asarray(shortcut[0])), stride=stride), shortcut[1])
    return F.relu(out + skip)


def _torch_pool(input, kind, k, s, p, ceil, count_pad, norm):
    """The twin of explain.pool: the pooling page's one call for max, average or Lp pooling."""
    if kind == "max":
        return F.max_pool2d(input, k, s, p, ceil_mode=ceil)
    if kind == "avg":
        return F.avg_pool2d(input, k, s, p, ceil, count_pad)
    return F.lp_pool2d(input, norm, k, s, ceil)


def _torch_pool_gradients(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """d Σ output / d input through max and through average pooling, by autograd."""
    grads = []
    for pool_op in (lambda x: F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode),
                    lambda x: F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)):
        x = input.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            pool_op(x).sum().backward()
        grads.append(x.grad)
    return tuple(grads)


# our op → its torch twin, called with the same arguments (numpy arrays become tensors).
TWINS: dict[Callable, Callable] = {
    conv.conv2d: _torch_conv2d,
    conv.convolve2d: _torch_convolve2d,
    pool.max_pool2d: F.max_pool2d,
    pool.avg_pool2d: F.avg_pool2d,
    pool.lp_pool2d: F.lp_pool2d,
    pool.adaptive_avg_pool2d: F.adaptive_avg_pool2d,
    pool_backward.pool_gradients: _torch_pool_gradients,
    explain.pool: _torch_pool,
    norm.batch_norm: _torch_batch_norm,
    norm.batch_norm_train_steps: _torch_batch_norm_train_steps,
    norm.bn_and_relu: _torch_bn_and_relu,
    activations.apply: _torch_activation,
    activations.gradient_norms_by_depth: _torch_gradient_norms_by_depth,
    activations.relu: F.relu,
    activations.leaky_relu: F.leaky_relu,
    activations.sigmoid: torch.sigmoid,
    activations.tanh: torch.tanh,
    activations.elu: F.elu,
    activations.softmax: F.softmax,
    # How a network learns: hand-written losses and gradients against torch and its autograd.
    conv.conv2d_backward: learn_torch.conv2d_backward,
    learn.linear: F.linear,
    learn.linear_backward: learn_torch.linear_backward,
    learn.mse_loss: F.mse_loss,
    learn.mse_loss_grad: learn_torch.mse_loss_grad,
    learn.cross_entropy: F.cross_entropy,
    learn.cross_entropy_grad: learn_torch.cross_entropy_grad,
    learn.tiny_net_grads: learn_torch.tiny_net_grads,
    learn.kernel_gradient: learn_torch.kernel_gradient,
    learn.correlate_valid: lambda X, K: F.conv2d(X[None, None], K[None, None])[0, 0],
    # Channels and residual blocks: one kernel block's summed maps is F.conv2d with one output channel.
    channels.channel_sum_map: lambda X, K, bias=0.0, **kw: _torch_conv2d(X[None], K[None], torch.tensor([float(bias)]),
                                                                        **kw)[0, 0],
    channels.pointwise_conv: F.conv2d,
    resnet.basic_block: _torch_basic_block,
    # The receptive-field page's one-channel network: every layer's map.
    rf_network.feature_maps: rf_effective.feature_maps_torch,
    # A whole CNN: our numpy forward pass against the trained torch model.
    digits.logits: digits.torch_logits,
    # Dropout (comparable in evaluation mode, where no random mask is drawn) and transposed convolution.
    dropout_op: lambda input, p=0.5, training=True, rng=None: F.dropout(input, p, training),
    transpose.conv_transpose2d: F.conv_transpose2d,
}


def max_abs_diff(ours, theirs) -> float:
    """max |ours − theirs| over the positions where both are finite.

    NaN and ±∞ must sit in the same places with the same sign, otherwise the answer is ∞ (a failed check): an op
    that returns NaN where torch returns a number is wrong, however close the other values are.
    """
    a, b = np.asarray(ours), np.asarray(theirs)
    if a.shape != b.shape:
        return float("inf")
    if a.dtype == b.dtype == np.float32 and np.isfinite(a).all() and np.isfinite(b).all():
        return float(np.abs(a - b).max(initial=0.0))  # the usual case, without float64 copies of big maps
    a, b = a.astype(np.float64), b.astype(np.float64)
    if not (np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(np.isposinf(a), np.isposinf(b))
            and np.array_equal(np.isneginf(a), np.isneginf(b))):
        return float("inf")
    both = np.isfinite(a) & np.isfinite(b)
    return float(np.abs(a[both] - b[both]).max(initial=0.0))


@dataclass(frozen=True)
class Check:
    op: str  # our function's name
    max_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_diff <= self.tolerance


def check(op: Callable, *args, tolerance: float = TOLERANCE, **kwargs) -> Check:
    """Run our op and its torch twin on the same arguments; compare every output (tuples element by element)."""
    if op not in TWINS:
        raise KeyError(f"No torch twin is registered for {op.__name__}; add one to cnn_core.check.TWINS.")
    with np.errstate(all="ignore"):
        ours = op(*[np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args], **kwargs)
    with torch.no_grad():
        theirs = _numpy(TWINS[op](*map(_tensor, args), **{k: _tensor(v) for k, v in kwargs.items()}))
    pairs = zip(ours, theirs, strict=True) if isinstance(ours, tuple) else [(ours, theirs)]
    return Check(op.__name__, max(max_abs_diff(a, b) for a, b in pairs), tolerance)
