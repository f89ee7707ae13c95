"""cnn_core — the engine of CNN Lab: small pure functions, NumPy in (torch's NCHW layout) → NumPy out.

Names and arguments mirror torch.nn.functional, so every op can be checked against PyTorch on the same input.
No Streamlit here: the pages call these functions and display what they return.
"""

from cnn_core.activations import (
    elu,
    elu_grad,
    leaky_relu,
    leaky_relu_grad,
    relu,
    relu_grad,
    sigmoid,
    sigmoid_grad,
    softmax,
    softmax_grad,
    tanh,
    tanh_grad,
)
from cnn_core.channels import (
    RGB_KERNELS,
    ChannelError,
    bottleneck,
    channel_sum,
    conv2d_mult_adds,
    conv2d_parameters,
    feature_bank,
    gray_weight,
    grouped_costs,
    pca_reduction,
    pointwise_conv,
    rgb_kernel,
)
from cnn_core.conv import (
    PADDING_MODES,
    check_fit,
    col2im,
    conv2d,
    conv2d_backward,
    conv2d_naive,
    convolve2d,
    corr2d,
    flip_kernel,
    im2col,
    output_size,
    output_size_latex,
    pad2d,
    unvisited,
)
from cnn_core.dropout import DropoutError, dropout, dropout2d
from cnn_core.errors import CnnError
from cnn_core.image import ImageError, image_digest, load_image, to_grayscale
from cnn_core.kernels import KERNELS, get_kernel
from cnn_core.learn import (
    LearnError,
    correlate_valid,
    cross_entropy,
    cross_entropy_grad,
    d2l_stripe,
    fit_kernel,
    gradient_descent,
    kernel_gradient,
    kernel_lr_limits,
    linear,
    linear_backward,
    loss_surface,
    make_target,
    mse_loss,
    mse_loss_grad,
    parameter_counts,
    pixel_permutation,
    shuffle_pixels,
    tiny_net,
    tiny_net_grads,
    tiny_net_params,
)
from cnn_core.norm import batch_norm, batch_norm_steps
from cnn_core.pool import (
    PoolError,
    adaptive_avg_pool2d,
    avg_pool2d,
    lp_pool2d,
    max_pool2d,
    max_pool2d_with_indices,
    pool_output_size,
)

# The module cnn_core.receptive_field and its function share a name: this import binds the *function* here, after
# the submodule was loaded (Python sets the package attribute only then), so cnn_core.receptive_field(...) works.
from cnn_core.receptive_field import RF, input_box, receptive_field
from cnn_core.resnet import (
    BlockError,
    basic_block,
    basic_block_steps,
    block_parameters,
    demo_block,
    shortcut_parameters,
)
from cnn_core.rf_layers import StackError
from cnn_core.transpose import (
    TransposeError,
    checkerboard_strength,
    conv_transpose2d,
    conv_transpose_output_size,
    conv_transpose_output_size_latex,
)
from cnn_core.windows import step_through, window_cells

# Modules that need torch (autograd, training) load on first use, so `import cnn_core` and every numpy op stay
# torch-free (importing torch costs about a second and ~300 MB). Add new torch-using names here:
# name → the module that defines it.
_LAZY = {
    "effective_receptive_field": "cnn_core.rf_effective",
    "collapse_linear": "cnn_core.xor",
    "train_xor": "cnn_core.xor",
    "digits_sample": "cnn_core.learn_torch",
    "make_fc": "cnn_core.learn_torch",
    "train_digits": "cnn_core.learn_torch",
    # The digit network: from cnn_core.digits import load_data, load_model, forward (short names stay there).
    "image_to_digit": "cnn_core.handwriting",
    "DigitReduction": "cnn_core.handwriting",
    "fit": "cnn_core.train",
    "TrainError": "cnn_core.train",
    "BasicBlock": "cnn_core.resnet_train",
    "PlainNet": "cnn_core.resnet_train",
    "ResNet": "cnn_core.resnet_train",
    "block_receptive_field": "cnn_core.resnet_train",
    "degradation": "cnn_core.resnet_train",
    "gradient_profile": "cnn_core.resnet_train",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        # Bind every name of that module here at once: importing a submodule binds its *module* as an attribute
        # of the package, which would otherwise shadow a function of the same name (receptive_field).
        globals().update({other: getattr(module, other) for other, home in _LAZY.items() if home == _LAZY[name]})
        return globals()[name]
    raise AttributeError(f"module 'cnn_core' has no attribute '{name}'")

__all__ = [
    "LearnError",
    "correlate_valid",
    "digits_sample",
    "make_fc",
    "train_digits",
    "tiny_net_grads",
    "cross_entropy",
    "cross_entropy_grad",
    "d2l_stripe",
    "fit_kernel",
    "gradient_descent",
    "kernel_gradient",
    "kernel_lr_limits",
    "linear",
    "linear_backward",
    "loss_surface",
    "make_target",
    "mse_loss",
    "mse_loss_grad",
    "parameter_counts",
    "pixel_permutation",
    "shuffle_pixels",
    "tiny_net",
    "tiny_net_params",
    "CnnError",
    "check_fit",
    "step_through",
    "window_cells",
    "DropoutError",
    "TransposeError",
    "checkerboard_strength",
    "conv_transpose2d",
    "conv_transpose_output_size",
    "conv_transpose_output_size_latex",
    "dropout",
    "dropout2d",
    "RF",
    "StackError",
    "effective_receptive_field",
    "input_box",
    "receptive_field",
    "DigitReduction",
    "ImageError",
    "KERNELS",
    "PADDING_MODES",
    "PoolError",
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "batch_norm_steps",
    "collapse_linear",
    "col2im",
    "conv2d",
    "conv2d_backward",
    "conv2d_naive",
    "convolve2d",
    "corr2d",
    "elu",
    "elu_grad",
    "fit",
    "flip_kernel",
    "get_kernel",
    "im2col",
    "image_digest",
    "image_to_digit",
    "leaky_relu",
    "leaky_relu_grad",
    "load_image",
    "lp_pool2d",
    "max_pool2d",
    "max_pool2d_with_indices",
    "output_size",
    "output_size_latex",
    "pad2d",
    "pool_output_size",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_grad",
    "tanh",
    "tanh_grad",
    "to_grayscale",
    "TrainError",
    "train_xor",
    "unvisited",
    "RGB_KERNELS",
    "ChannelError",
    "bottleneck",
    "channel_sum",
    "conv2d_mult_adds",
    "conv2d_parameters",
    "feature_bank",
    "gray_weight",
    "grouped_costs",
    "pca_reduction",
    "pointwise_conv",
    "rgb_kernel",
    "BlockError",
    "basic_block",
    "basic_block_steps",
    "block_parameters",
    "demo_block",
    "shortcut_parameters",
    "BasicBlock",
    "PlainNet",
    "ResNet",
    "block_receptive_field",
    "degradation",
    "gradient_profile",
]
