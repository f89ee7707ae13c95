"""Classifier → detector → segmenter: the fully convolutional network gives the sliding window's numbers exactly,
and the trained detector finds the digits of composed canvases.

Tolerance for "the same numbers": float32 sums of ~600 products per logit computed in another order: 1e-4.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from cnn_core.detect import (
    BACKGROUND,
    DETECTOR_ARCH,
    STRIDE,
    WINDOW,
    Box,
    DetectError,
    detections,
    detector,
    four_tasks,
    fully_convolutional,
    make_canvas,
    score_map,
    segment,
    sliding_window,
)
from cnn_core.digits import load_data, load_model

torch.set_num_threads(1)
SAME = dict(rtol=1e-4, atol=1e-4)


def _random_detector(seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    model = nn.Sequential(OrderedDict((name, make()) for name, make in DETECTOR_ARCH))
    for module in model:  # non-trivial batch-norm statistics, so BN is part of what must match
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.fixture(scope="module")
def trained():
    return detector()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fully_convolutional_equals_sliding_window_on_random_canvases(seed):
    model = _random_detector(seed)
    canvas = np.random.default_rng(seed).random((8 + 2 * (seed + 3), 8 + 2 * (2 * seed + 5)), dtype=np.float32)
    expected = sliding_window(model, canvas)
    np.testing.assert_allclose(score_map(fully_convolutional(model), canvas), expected, **SAME)
    rows, cols = (canvas.shape[0] - WINDOW) // STRIDE + 1, (canvas.shape[1] - WINDOW) // STRIDE + 1
    assert expected.shape == (11, rows, cols)


def test_on_one_window_the_fully_convolutional_digit_network_returns_its_logits():
    """The conversion itself is exact for the padded digit network too: a 1×1 map equal to the logits."""
    model, x = load_model(), torch.from_numpy(load_data()[2][:16])
    with torch.no_grad():
        np.testing.assert_allclose(fully_convolutional(model)(x)[:, :, 0, 0].numpy(), model(x).numpy(), **SAME)


def test_with_padding_the_two_disagree_on_a_canvas():
    """Why the detector has no padding: a cut-out window sees zeros past its edge, the canvas its neighbours."""
    model = load_model()
    canvas, _ = make_canvas(4, seed=0)
    whole = fully_convolutional(model)(torch.from_numpy(canvas)[None, None])[0].detach().numpy()  # stride 4
    windows = sliding_window(model, canvas, stride=4)
    assert whole.shape == windows.shape
    assert np.abs(whole - windows).max() > 0.1


def test_the_trained_detector_finds_the_digits(trained):
    """40 held-out digits on 10 canvases: its misses are about its classification errors (~3 %, so ≤ 4 allowed),
    and it sees almost nothing where there is no digit (≤ 4 extra boxes)."""
    fcn, hits, extra = fully_convolutional(trained), 0, 0
    for seed in range(10):
        canvas, truth = make_canvas(4, seed=seed)
        found = {(b.top, b.left, b.label) for b in detections(score_map(fcn, canvas))}
        expected = {(b.top, b.left, b.label) for b in truth}
        hits, extra = hits + len(found & expected), extra + len(found - expected)
    assert hits >= 36 and extra <= 4


def test_four_tasks_and_segmentation(trained):
    canvas, truth = make_canvas(4, seed=2)
    tasks = four_tasks(canvas, score_map(fully_convolutional(trained), canvas))
    assert tasks["classification"] in {b.label for b in truth}
    assert tasks["localisation"] == tasks["detection"][0]
    labels = tasks["segmentation"]
    assert labels.shape == canvas.shape and (labels[canvas <= 0] == -1).all()
    for box in truth:  # most ink pixels of each digit get that digit's label
        patch, ink = labels[box.top:box.top + 8, box.left:box.left + 8], canvas[box.top:box.top + 8, box.left:box.left + 8] > 0
        assert np.mean(patch[ink] == box.label) > 0.8


def test_segmentation_paints_each_window_over_exactly_its_pixels():
    """One sure window (digit 3 at map entry (1, 2)) paints exactly the 8×8 pixels it saw, nothing else."""
    logits = np.full((11, 3, 4), -10.0, dtype=np.float32)
    logits[BACKGROUND] = 10.0
    logits[:, 1, 2] = -10.0
    logits[3, 1, 2] = 10.0
    canvas = np.ones(((3 - 1) * STRIDE + WINDOW, (4 - 1) * STRIDE + WINDOW), dtype=np.float32)
    labels = segment(logits, canvas)
    expected = np.full(canvas.shape, -1)
    expected[2:10, 4:12] = 3
    np.testing.assert_array_equal(labels, expected)


def test_non_maximum_suppression_keeps_the_surer_of_two_overlapping_boxes():
    logits = np.zeros((11, 2, 6), dtype=np.float32)
    logits[BACKGROUND] = 5.0
    # Boxes at (0, 0) and (0, 2) share 8×6 of their 64 pixels; the one at (2, 10) touches neither.
    logits[7, 0, 0], logits[7, 0, 1], logits[1, 1, 5] = 12.0, 10.0, 11.0
    found = detections(logits)
    assert [(b.top, b.left, b.label) for b in found] == [(0, 0, 7), (2, 10, 1)]
    assert found[0].score > found[1].score > 0.9


def test_canvas_places_held_out_digits_without_overlap():
    canvas, boxes = make_canvas(6, seed=4, height=16, width=48)
    test_x, test_y = load_data()[2:]
    for a in boxes:
        window = canvas[a.top:a.top + 8, a.left:a.left + 8]
        assert any(np.array_equal(window, test_x[i, 0]) for i in np.flatnonzero(test_y == a.label))
        assert a.top % STRIDE == 0 and a.left % STRIDE == 0
        for b in boxes:
            if a is not b:
                assert abs(a.top - b.top) >= 8 or abs(a.left - b.left) >= 8


@pytest.mark.parametrize("call, reason", [
    (lambda: make_canvas(20), "too_many_digits"),
    (lambda: sliding_window(_random_detector(0), np.zeros((5, 30))), "bad_canvas"),
    (lambda: fully_convolutional(nn.Sequential(nn.Linear(4, 2))), "no_flatten"),
])
def test_errors_have_a_reason(call, reason):
    with pytest.raises(DetectError) as caught:
        call()
    assert caught.value.reason == reason


def test_box_defaults():
    assert Box(0, 0, 3).size == WINDOW and Box(0, 0, 3).score == 1.0
