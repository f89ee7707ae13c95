"""cnn_core.resnet (numpy basic block) against a torch BasicBlock; counts, receptive fields and the training demos.

Tolerances: a block is two 3×3 convolutions and three batch norms in float32; with values of order 1 the two
computations agree to rtol = atol = 1e-4. Counts are integers and must be equal.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnn_core.errors import CnnError
from cnn_core.resnet import (
    BlockError,
    basic_block,
    basic_block_steps,
    block_output_shape,
    block_parameters,
    demo_block,
    shortcut_parameters,
)
from cnn_core.resnet_train import (
    DEPTHS,
    BasicBlock,
    PlainNet,
    ResNet,
    block_arguments,
    block_receptive_field,
    degradation,
    gradient_profile,
    make_net,
    parameter_count,
)
from cnn_core.train import TrainError

TOL = dict(rtol=1e-4, atol=1e-4)
torch.set_num_threads(1)  # as in the app: one thread per session


def randomised(block: BasicBlock, seed: int) -> BasicBlock:
    """Random weights, and running statistics far from torch's defaults (mean 0, variance 1), in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in block.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                C = module.num_features
                module.weight.copy_(torch.rand(C, generator=generator) * 1.5 + 0.25)
                module.bias.copy_(torch.randn(C, generator=generator) * 0.5)
                module.running_mean.copy_(torch.randn(C, generator=generator))
                module.running_var.copy_(torch.rand(C, generator=generator) * 3 + 0.1)
            elif isinstance(module, torch.nn.Conv2d):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * 0.3)
    return block.eval()


@given(C_in=st.integers(1, 5), size=st.integers(3, 11), N=st.integers(1, 3), stride=st.sampled_from([1, 2]),
       widen=st.sampled_from([1, 2]), seed=st.integers(0, 10_000))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_basic_block_equals_torch_block(C_in, size, N, stride, widen, seed):
    """Identity (stride 1, same channels) and projection (stride 2 and/or channels doubled) shortcuts."""
    C_out = C_in * widen
    block = randomised(BasicBlock(C_in, C_out, stride), seed)
    assert (block.shortcut is None) == (stride == 1 and widen == 1)
    x = np.random.default_rng(seed).standard_normal((N, C_in, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = block(torch.from_numpy(x)).numpy()
    result = basic_block(x, **block_arguments(block))
    np.testing.assert_allclose(result, expected, **TOL)
    # The functional twin the page's proof uses (cnn_core.check) gives the module's numbers too.
    from cnn_core.check import TWINS  # here, not at the top: cnn_core.check imports the whole registry

    np.testing.assert_allclose(TWINS[basic_block](torch.from_numpy(x), **block_arguments(block)).numpy(), expected,
                               **TOL)
    assert result.shape == (N, *block_output_shape((C_in, size, size), C_out, stride))


def test_steps_are_the_torch_intermediates_and_the_shapes_halve_and_double():
    block = randomised(BasicBlock(4, 8, stride=2), seed=3)
    x = np.random.default_rng(3).standard_normal((2, 4, 10, 10)).astype(np.float32)
    steps = basic_block_steps(x, **block_arguments(block))
    X = torch.from_numpy(x)
    with torch.no_grad():
        residual = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(X))))).numpy()
        shortcut = block.shortcut(X).numpy()
    np.testing.assert_allclose(steps.residual, residual, **TOL)
    np.testing.assert_allclose(steps.shortcut, shortcut, **TOL)
    np.testing.assert_allclose(steps.output, np.maximum(residual + shortcut, 0), **TOL)
    assert steps.residual.shape == (2, 8, 5, 5)  # H/2 × W/2, channels doubled


def test_a_block_with_zero_residual_passes_a_relu_output_through():
    """BN₂'s γ = β = 0 makes F(x) = 0, so y = ReLU(x) = x for non-negative x: the block can learn to do nothing."""
    x = np.abs(np.random.default_rng(0).standard_normal((3, 9, 9))).astype(np.float32)
    arguments = demo_block(x, 3, residual_scale=0.0)
    np.testing.assert_allclose(basic_block(x, **arguments), x, atol=1e-6)
    moved = basic_block(x, **demo_block(x, 3, residual_scale=1.0))
    assert np.abs(moved - x).max() > 0.1  # with γ = 1 it does change x (the test above could fail)


def test_demo_block_with_projection_has_torch_shapes():
    x = np.random.default_rng(1).random((3, 12, 16)).astype(np.float32)
    arguments = demo_block(x, 6, stride=2)
    steps = basic_block_steps(x, **arguments)
    assert arguments["shortcut"][0].shape == (6, 3, 1, 1)
    assert steps.output.shape == (6, 6, 8) == block_output_shape(x.shape, 6, 2)


def test_shape_mismatches_are_explained_with_reasons():
    x = np.zeros((1, 4, 8, 8), dtype=np.float32)
    arguments = block_arguments(randomised(BasicBlock(4, 4), 0))
    with pytest.raises(BlockError) as error:
        basic_block(x, **{**arguments, "stride": 2})
    assert error.value.reason == "identity_shape" and error.value.details["stride"] == 2
    assert isinstance(error.value, CnnError)
    with pytest.raises(BlockError) as error:
        basic_block(x[:, :3], **arguments)
    assert error.value.reason == "bad_weight"


# --- Counts ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("C_in, C_out, stride", [(4, 4, 1), (64, 64, 1), (64, 128, 2), (3, 6, 2), (16, 32, 1)])
def test_block_parameters_are_torchs(C_in, C_out, stride):
    block = BasicBlock(C_in, C_out, stride)
    parts = block_parameters(C_in, C_out, projection=block.shortcut is not None)
    assert parts["total"] == parameter_count(block)
    assert parts["shortcut"] == (0 if block.shortcut is None else parameter_count(block.shortcut))


def test_the_projection_adds_parameters():
    # ResNet-18's first downsampling block, 64 → 128: the 1×1 projection and its BN add 8,192 + 256.
    assert shortcut_parameters(64, 128, projection=True) == 8448
    assert shortcut_parameters(64, 64, projection=False) == 0
    assert block_parameters(64, 128, True)["total"] > block_parameters(64, 128, False)["total"]


@pytest.mark.parametrize("depth", [4, 8, 20])
def test_plain_and_residual_nets_have_the_same_parameters_and_depth(depth):
    plain, residual = PlainNet(depth), ResNet(depth)
    assert parameter_count(plain) == parameter_count(residual)  # identity shortcuts are free
    assert len(plain.weighted_layers()) == depth
    width, blocks = 8, (depth - 2) // 2
    stem = 1 * width * 9 + 2 * width
    assert parameter_count(plain) == stem + blocks * block_parameters(width, width, False)["total"] + width * 4 + 4


# --- Receptive field through a block ---------------------------------------------------------------------------

@pytest.mark.parametrize("stride, expected", [(1, 5), (2, 7)])
def test_block_receptive_field_is_the_longest_path_and_the_paths_line_up(stride, expected):
    field = block_receptive_field(stride)
    assert field.block == field.residual_path == expected and field.shortcut_path == 1
    assert field.jumps == (stride, stride) and field.centres[0] == field.centres[1]
    # Measured: the input pixels that change one output of a real torch block (gradient ≠ 0). Positive
    # weights, positive BN shifts and a positive input keep every ReLU open, so no path is cut off by chance.
    block = randomised(BasicBlock(1, 1 if stride == 1 else 2, stride), seed=5)
    with torch.no_grad():
        for module in block.modules():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.abs_()
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.zero_()
                module.bias.fill_(1.0)
    x = torch.rand(1, 1, 15, 15, requires_grad=True)
    block(x)[0, :, 3, 3].sum().backward()
    columns = np.flatnonzero(np.abs(x.grad[0, 0].numpy()).sum(0) > 0)
    assert columns[-1] - columns[0] + 1 == expected


# --- Training demos --------------------------------------------------------------------------------------------

def test_degradation_is_reproducible():
    a = degradation(depth=6, epochs=1, seed=4, time_limit=None)
    b = degradation(depth=6, epochs=1, seed=4, time_limit=None)
    np.testing.assert_allclose(a.plain.batch_loss, b.plain.batch_loss, rtol=0, atol=1e-6)
    np.testing.assert_allclose(a.residual.batch_loss, b.residual.batch_loss, rtol=0, atol=1e-6)
    c = degradation(depth=6, epochs=1, seed=5, time_limit=None)
    assert np.abs(np.subtract(c.plain.batch_loss, a.plain.batch_loss)).max() > 1e-3  # another seed, another run


def test_a_time_limit_cuts_both_runs_at_the_same_step():
    # The page's default run (depth 20, 4 epochs: seconds on any box), so the limit bites however fast the CPU is
    # (depth 6 for 2 epochs finished inside 0.2 s on a fast Xeon).
    result = degradation(depth=20, epochs=4, time_limit=0.2)
    assert result.plain.stopped == "time"
    assert len(result.residual.batch_loss) == len(result.plain.batch_loss) < 4 * 23


def test_same_seed_same_shared_weights():
    plain, residual = make_net(8, False, seed=3), make_net(8, True, seed=3)
    for p, r in zip(plain.parameters(), residual.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), r.detach().numpy(), rtol=0, atol=0)


@pytest.fixture(scope="module")
def deep_runs():
    """The page's default (depth 20, 4 epochs) for two seeds, and the shallow plain control (depth 8)."""
    return {seed: degradation(depth=20, seed=seed, time_limit=None) for seed in (0, 1)}, \
        degradation(depth=8, seed=0, time_limit=None)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_deep_plain_net_trains_worse_than_the_residual_net(deep_runs, seed):
    """Measured (one run): plain ≈ 1.2–1.3, residual ≈ 0.14–0.16 training loss; the margins asked are far smaller."""
    result = deep_runs[0][seed]
    assert result.plain_loss > 3 * result.residual_loss
    assert result.plain_loss - result.residual_loss > 0.4
    assert result.residual.train_acc[-1] > result.plain.train_acc[-1] + 0.15


def test_the_deeper_plain_net_is_worse_than_a_shallower_plain_net(deep_runs):
    """Degradation proper: depth 8 → 20 *raises* the plain net's training loss (measured ≈ 0.65 → 1.19)."""
    assert deep_runs[0][0].plain_loss > deep_runs[1].plain_loss + 0.2


def test_a_diverging_learning_rate_is_reported():
    with pytest.raises(TrainError) as error:
        degradation(depth=6, epochs=1, lr=100.0)
    assert error.value.reason == "diverged" and error.value.details["lr"] == 100.0
    with pytest.raises(CnnError) as error:
        PlainNet(7)
    assert error.value.reason == "bad_depth" and 7 not in DEPTHS


def test_gradients_spread_far_more_through_a_plain_stack():
    profile = gradient_profile(depth=56)
    assert profile.plain.shape == profile.residual.shape == (56,)
    assert profile.plain_spread > 10 * profile.residual_spread
    assert profile.plain[1] > 20 * profile.plain[-2]  # BN plain stacks: the gradient grows towards the input


def test_numpy_block_module_does_not_load_torch():
    code = "import sys, cnn_core.resnet, cnn_core.channels; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
