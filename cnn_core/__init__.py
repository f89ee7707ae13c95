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
from cnn_core.conv import (
    PADDING_MODES,
    conv2d,
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
from cnn_core.image import ImageError, image_digest, load_image, to_grayscale
from cnn_core.kernels import KERNELS, get_kernel
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
from cnn_core.receptive_field import RF, StackError, effective_receptive_field, input_box, receptive_field
from cnn_core.xor import collapse_linear, train_xor

__all__ = [
    "RF",
    "StackError",
    "effective_receptive_field",
    "input_box",
    "receptive_field",
    "ImageError",
    "KERNELS",
    "PADDING_MODES",
    "PoolError",
    "adaptive_avg_pool2d",
    "avg_pool2d",
    "batch_norm",
    "batch_norm_steps",
    "collapse_linear",
    "conv2d",
    "conv2d_naive",
    "convolve2d",
    "corr2d",
    "elu",
    "elu_grad",
    "flip_kernel",
    "get_kernel",
    "im2col",
    "image_digest",
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
    "train_xor",
    "unvisited",
]
