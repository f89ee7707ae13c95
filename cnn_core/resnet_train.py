"""Why residual networks train: the degradation problem, live, and the gradient reaching every layer (torch).

He et al. (2016) found that a deeper *plain* stack of convolutions reaches a worse **training** loss than a
shallower one — not overfitting (that would be a low training loss and a high test loss), but a network that
optimisation cannot make use of. The same depth with shortcuts (y = ReLU(F(x) + x)) trains well. Here both are
built from the same `BasicBlock`, differing only in the `+ x`, and trained on the handwritten digits of
cnn_core.digits by the app's one training loop (cnn_core.train.fit) with the same seed, data and batches.

`PlainNet` and `ResNet` of depth D: a 3×3 stem convolution, (D − 2)/2 basic blocks of two 3×3 convolutions,
global average pooling and one linear layer: D layers with weights, as in the paper's CIFAR networks.
Everything runs on the process's torch threads (one in the app) and takes a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnn_core.digits import load_data
from cnn_core.errors import CnnError
from cnn_core.receptive_field import receptive_field
from cnn_core.train import History, fit


class BasicBlock(nn.Module):
    """torchvision's BasicBlock, with `residual=False` for the plain twin (same layers, no `+ x`)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, residual: bool = True):
        super().__init__()
        self.residual = residual
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = None
        if residual and (stride != 1 or in_channels != out_channels):  # x must be reshaped to be added
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))  # F(x)
        if self.residual:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return F.relu(out)


def block_arguments(block: BasicBlock) -> dict:
    """A torch block's weights as keyword arguments of cnn_core.resnet.basic_block (evaluation mode)."""
    def bn(module: nn.BatchNorm2d) -> dict:
        values = {name: getattr(module, name).detach().numpy().copy()
                  for name in ("weight", "bias", "running_mean", "running_var")}
        return {**values, "eps": module.eps}

    shortcut = None
    if block.shortcut is not None:
        shortcut = (block.shortcut[0].weight.detach().numpy().copy(), bn(block.shortcut[1]))
    return {"conv1_weight": block.conv1.weight.detach().numpy().copy(), "bn1": bn(block.bn1),
            "conv2_weight": block.conv2.weight.detach().numpy().copy(), "bn2": bn(block.bn2),
            "shortcut": shortcut, "stride": block.conv1.stride[0]}


DEPTHS = tuple(range(4, 57, 2))  # weighted layers: stem + 2 per block + the linear head


class StackNet(nn.Module):
    """stem (3×3 conv, BN, ReLU) → (depth − 2)/2 blocks of constant width → global average pool → linear."""

    def __init__(self, depth: int, residual: bool, width: int = 8, in_channels: int = 1, classes: int = 4):
        super().__init__()
        if depth not in DEPTHS:
            raise CnnError(f"Depth counts the stem, two layers per block and the classifier: an even number "
                             f"from {DEPTHS[0]} to {DEPTHS[-1]}, not {depth}.", reason="bad_depth", depth=depth,
                             low=DEPTHS[0], high=DEPTHS[-1])
        self.depth, self.residual = depth, residual
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU())
        self.blocks = nn.Sequential(*(BasicBlock(width, width, residual=residual) for _ in range((depth - 2) // 2)))
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, C, H, W) → (N, classes) logits
        features = self.blocks(self.stem(x))
        return self.head(features.mean(dim=(2, 3)))

    def weighted_layers(self) -> list[nn.Module]:
        """The depth layers with weights, from the input to the output."""
        layers = [self.stem[0]]
        for block in self.blocks:
            layers += [block.conv1, block.conv2]
        return layers + [self.head]


class PlainNet(StackNet):
    def __init__(self, depth: int, **options):
        super().__init__(depth, residual=False, **options)


class ResNet(StackNet):
    def __init__(self, depth: int, **options):
        super().__init__(depth, residual=True, **options)


# --- The degradation problem, live ------------------------------------------------------------------------------

def _initialise(model: nn.Module, seed: int) -> nn.Module:
    """torch's default initialisation, drawn from our own generator: the same seed gives the same weights, and
    other sessions of the app (threads sharing torch's global random state) cannot interfere."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(module.weight, a=5 ** 0.5, generator=generator)  # as reset_parameters()
            if module.bias is not None:
                bound = 1 / nn.init._calculate_fan_in_and_fan_out(module.weight)[0] ** 0.5
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)
    return model


def make_net(depth: int, residual: bool, seed: int = 0, width: int = 8, in_channels: int = 1,
             classes: int = 10) -> StackNet:
    """PlainNet or ResNet with seeded weights: for one seed, the layers the two share start out equal."""
    net = ResNet if residual else PlainNet
    return _initialise(net(depth, width=width, in_channels=in_channels, classes=classes), seed)


@dataclass(frozen=True)
class Degradation:
    depth: int
    plain: History  # cnn_core.train's curves: batch_loss, train_loss per epoch, …
    residual: History

    @property
    def plain_loss(self) -> float:
        """Training loss of the last epoch (mean over its mini-batches): what optimisation reached."""
        return self.plain.train_loss[-1]

    @property
    def residual_loss(self) -> float:
        return self.residual.train_loss[-1]


BATCH = 64


def degradation(depth: int = 20, epochs: int = 4, lr: float = 0.05, seed: int = 0, width: int = 8,
                time_limit: float | None = 10.0, progress: Callable[[float], None] | None = None) -> Degradation:
    """Train PlainNet(depth) and ResNet(depth) on the digits (cnn_core.digits) with cnn_core.train.fit: the same
    seed, so the same initial weights where they share layers and the same batches in the same order.

    About 3 s each at depth 20 on one thread. time_limit (seconds) bounds the plain network's run on a busy
    machine; the residual one then stops after as many mini-batches, so the two always get the same training.
    progress(fraction done) after every mini-batch. A diverging learning rate raises cnn_core.train.TrainError.
    """
    train_x, train_y, test_x, test_y = load_data()
    budget = epochs * -(-len(train_x) // BATCH)  # mini-batches per run, until a time limit cuts the plain run
    done, cut = 0, False

    def step(epoch: int, batch: int, loss: float) -> bool:
        nonlocal done
        done += 1
        if progress is not None:
            progress(min(1.0, done / (2 * budget)))
        return not (cut and done == 2 * budget)  # False stops the residual run where the plain run was cut

    plain = fit(make_net(depth, False, seed, width), train_x, train_y, test_x, test_y, lr=lr, epochs=epochs,
                batch_size=BATCH, seed=seed, time_limit=time_limit, on_batch=step)
    budget = done = len(plain.batch_loss)
    cut = plain.stopped != "done"
    residual = fit(make_net(depth, True, seed, width), train_x, train_y, test_x, test_y, lr=lr, epochs=epochs,
                   batch_size=BATCH, seed=seed, on_batch=step)
    return Degradation(depth, plain, residual)


def gradient_norms(model: StackNet, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """‖∂L/∂W‖ of every weighted layer, input side first, for one backward pass of the cross-entropy on (X, y).

    Training-mode BN, as during training. In a deep plain stack these norms drift by orders of magnitude
    from the last layer to the first; shortcuts carry the gradient past every block, so they stay level.
    """
    model.train()
    model.zero_grad()
    loss = F.cross_entropy(model(torch.from_numpy(np.asarray(X, dtype=np.float32))),
                           torch.from_numpy(np.asarray(y, dtype=np.int64)))
    loss.backward()
    norms = np.array([layer.weight.grad.norm().item() for layer in model.weighted_layers()])
    model.zero_grad()
    return norms


@dataclass(frozen=True)
class GradientProfile:
    plain: np.ndarray  # (depth,) ‖∂L/∂W‖ per weighted layer of PlainNet, input side first
    residual: np.ndarray  # the same for ResNet
    plain_spread: float  # largest ÷ smallest norm over the convolutions (1 = every layer gets as much)
    residual_spread: float


def gradient_profile(depth: int = 56, seed: int = 0, width: int = 8, samples: int = 128) -> GradientProfile:
    """Gradient norms per layer of freshly initialised PlainNet(depth) and ResNet(depth) on the same digits."""
    X, y, _, _ = load_data()
    X, y = X[:samples], y[:samples]
    norms = [gradient_norms(make_net(depth, residual, seed, width), X, y) for residual in (False, True)]
    spread = lambda g: float(g[:-1].max() / g[:-1].min())  # noqa: E731  (the linear head is left out)
    return GradientProfile(norms[0], norms[1], spread(norms[0]), spread(norms[1]))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- The receptive field through a block ------------------------------------------------------------------------

@dataclass(frozen=True)
class BlockField:
    residual_path: int  # receptive field of one output through conv₁ (stride s) and conv₂, in input pixels
    shortcut_path: int  # through the identity (1) or the 1×1 projection (1)
    block: int  # the block's field: the larger of the two (the sum sees what either path sees)
    jumps: tuple[int, int]  # input pixels between neighbouring outputs, per path: must be equal to add them
    centres: tuple[float, float]  # input coordinate of output 0's centre, per path: must be equal too


def block_receptive_field(stride: int = 1, kernel_size: int = 3, projection: bool | None = None) -> BlockField:
    """The receptive field through one basic block, path by path (cnn_core.receptive_field's recurrences).

    The output adds the two paths pixel by pixel, so it sees the union of what they see — the longest path's
    field — and adding only makes sense if the paths line up: the same jump and the same centre.
    """
    projection = stride != 1 if projection is None else projection
    pad = kernel_size // 2
    residual = receptive_field([{"kind": "conv", "kernel_size": kernel_size, "stride": stride, "padding": pad},
                                {"kind": "conv", "kernel_size": kernel_size, "stride": 1, "padding": pad}])[-1]
    skip = receptive_field([{"kind": "conv", "kernel_size": 1, "stride": stride if projection else 1}])[-1]
    return BlockField(residual.size[1], skip.size[1], max(residual.size[1], skip.size[1]),
                      (residual.jump[1], skip.jump[1]), (residual.start[1], skip.start[1]))
