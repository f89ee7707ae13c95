"""The PyTorch check's reduced copy of a big image: small enough to be instant, and a faithful block average."""

import numpy as np

from ui.proof import CHECK_SIDE, check_copy


def test_a_big_image_becomes_block_averages_no_side_above_the_limit():
    rng = np.random.default_rng(0)
    image = rng.random((1, 1, 1024, 700), dtype=np.float32)
    small = check_copy(image)
    factor = -(-1024 // CHECK_SIDE)
    assert small.shape == (1, 1, 1024 // factor, 700 // factor) and max(small.shape[-2:]) <= CHECK_SIDE
    assert small.dtype == image.dtype
    assert np.isclose(small[0, 0, 3, 5], image[0, 0, 3 * factor:4 * factor, 5 * factor:6 * factor].mean(), atol=1e-6)


def test_a_small_image_is_checked_as_it_is():
    image = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    assert check_copy(image) is image
    assert check_copy(np.ones((200, 9), np.float32), side=100).shape == (100, 4)


def test_the_check_runs_on_the_copy_and_falls_back_to_the_full_image_when_the_settings_need_more_pixels():
    from cnn_core.conv import conv2d
    from ui.proof import torch_check

    rng = np.random.default_rng(1)
    image = rng.random((1, 1, 400, 300), dtype=np.float32)
    kernel = rng.standard_normal((1, 1, 3, 3)).astype(np.float32)
    difference, tolerance, shape = torch_check(conv2d, image, kernel, key=("test", 1), on_copy=0, padding=1)
    assert difference <= tolerance and shape == (100, 75)
    # dilation 60 spans 121 pixels: more than the 75-pixel-wide copy, fine on the full image
    difference, tolerance, shape = torch_check(conv2d, image, kernel, key=("test", 2), on_copy=0, dilation=60)
    assert difference <= tolerance and shape is None
