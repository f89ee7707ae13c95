"""cnn_core — the engine of CNN Lab: small pure functions, NumPy in (torch's NCHW layout) → NumPy out.

Names and arguments mirror torch.nn.functional, so every op can be checked against PyTorch on the same input.
No Streamlit here: the pages call these functions and display what they return.
"""

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

__all__ = [
    "KERNELS",
    "PADDING_MODES",
    "ImageError",
    "conv2d",
    "conv2d_naive",
    "convolve2d",
    "corr2d",
    "flip_kernel",
    "get_kernel",
    "im2col",
    "image_digest",
    "load_image",
    "output_size",
    "output_size_latex",
    "pad2d",
    "to_grayscale",
    "unvisited",
]
