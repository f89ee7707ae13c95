"""cnn_core.digits: the shipped data match their source, the split is clean, the NumPy forward pass equals torch's
layer by layer, the committed network is as good as promised, and pictures are reduced the way the data were made.

Tolerances: activations are float32 sums of at most 64 products of numbers below ~10: atol 1e-4 (the issue's bound)
with rtol 1e-5. Counts, labels and indices are integers and compared exactly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from cnn_core.digits import (
    ARCH,
    DATA_SHA256,
    MODEL_PATH,
    ONE_PIXEL_SHIFTS,
    confusion_matrix,
    content_sha256,
    forward,
    kernel_likeness,
    layer_table,
    load_counts,
    load_data,
    load_model,
    logits,
    make_model,
    mistakes,
    predict,
    shift_images,
    tile_maps,
    torch_logits,
    weights,
)
from cnn_core.errors import CnnError
from cnn_core.handwriting import STROKE, image_to_digit, otsu_threshold, stroke_width
from cnn_core.kernels import KERNELS

ROOT = Path(__file__).resolve().parents[2]
ACTIVATIONS = dict(rtol=1e-5, atol=1e-4)
torch.set_num_threads(1)


def torch_activations(model: torch.nn.Module, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every named layer's output in torch, collected with forward hooks."""
    found = {}
    hooks = [module.register_forward_hook(lambda _m, _i, out, name=name: found.__setitem__(name, out.numpy()))
             for name, module in model.named_children()]
    with torch.no_grad():
        model(torch.from_numpy(x))
    for hook in hooks:
        hook.remove()
    return found


def full_source_order() -> tuple[np.ndarray, np.ndarray]:
    """Put the two sides of the split back into the source's row order."""
    c = load_counts()
    index = np.concatenate([c["train_index"], c["test_index"]])
    counts = np.empty((len(index), 8, 8), np.uint8)
    labels = np.empty(len(index), np.uint8)
    counts[index] = np.concatenate([c["train_x"], c["test_x"]])
    labels[index] = np.concatenate([c["train_y"], c["test_y"]])
    return counts, labels


# --- data -------------------------------------------------------------------------------------------------------

def test_data_shapes_types_and_range():
    train_x, train_y, test_x, test_y = load_data()
    assert train_x.shape[1:] == test_x.shape[1:] == (1, 8, 8)
    assert train_x.dtype == test_x.dtype == np.float32 and train_y.dtype == np.int64
    assert len(train_x) + len(test_x) == 1797 and len(train_x) == len(train_y) and len(test_x) == len(test_y)
    for x in (train_x, test_x):
        assert x.min() >= 0 and x.max() <= 1
        np.testing.assert_allclose(x * 16, np.round(x * 16), atol=1e-6)  # counts 0..16 divided by 16


def test_split_has_no_overlap_covers_every_row_and_is_stratified():
    c = load_counts()
    train, test = set(c["train_index"].tolist()), set(c["test_index"].tolist())
    assert not train & test
    assert train | test == set(range(1797))
    for digit in range(10):
        n_test, n_all = (c["test_y"] == digit).sum(), (c["train_y"] == digit).sum() + (c["test_y"] == digit).sum()
        assert abs(n_test - 0.2 * n_all) <= 1, digit


def test_no_held_out_image_is_also_a_training_image():
    """Not only the row numbers: the same pixels must not sit on both sides (duplicates would flatter the score)."""
    c = load_counts()
    train = {x.tobytes() for x in c["train_x"]}
    assert sum(x.tobytes() in train for x in c["test_x"]) == 0


def test_data_checksum_matches_the_recorded_one():
    counts, labels = full_source_order()
    assert content_sha256(counts, labels) == DATA_SHA256
    assert DATA_SHA256 in (ROOT / "assets" / "README.md").read_text(encoding="utf-8")


def test_data_equal_scikit_learns_digits():
    datasets = pytest.importorskip("sklearn.datasets")
    source = datasets.load_digits()
    counts, labels = full_source_order()
    np.testing.assert_array_equal(counts, source.images.astype(np.uint8))
    np.testing.assert_array_equal(counts, source.images)  # the source really holds whole numbers
    np.testing.assert_array_equal(labels, source.target)


@pytest.mark.parametrize("dy", [-2, -1, 0, 1, 3])
@pytest.mark.parametrize("dx", [-3, -1, 0, 2])
def test_shift_images_against_torch_pad_and_crop(dy, dx):
    x = np.random.default_rng((dy + 5) * 10 + dx + 5).random((3, 2, 8, 7), dtype=np.float32)
    m = 3
    padded = F.pad(torch.from_numpy(x), (m, m, m, m))  # the shifted picture is a window of the padded one
    expected = padded[..., m - dy:m - dy + 8, m - dx:m - dx + 7].numpy()
    np.testing.assert_array_equal(shift_images(x, dy, dx), expected)


# --- the network ------------------------------------------------------------------------------------------------

def test_forward_equals_torch_layer_by_layer_on_the_held_out_set():
    model = load_model()
    *_, test_x, _ = load_data()
    ours = forward(test_x)
    theirs = torch_activations(model, test_x)
    assert [name for name, _ in ours] == ["input"] + [name for name, _, _ in ARCH]
    for name, activation in ours[1:]:
        np.testing.assert_allclose(activation, theirs[name], **ACTIVATIONS, err_msg=name)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_forward_equals_torch_for_random_weights_and_inputs(seed):
    """A fresh network with random BN statistics too, on random (not digit-like) inputs."""
    model = make_model(seed)
    g = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=g))
            module.running_var.copy_(torch.rand(module.num_features, generator=g) + 0.1)
            module.weight.data.copy_(torch.randn(module.num_features, generator=g))
            module.bias.data.copy_(torch.randn(module.num_features, generator=g))
    model.eval()
    x = np.random.default_rng(seed).random((seed + 1, 1, 8, 8), dtype=np.float32)
    ours = dict(forward(x, weights(model)))
    theirs = torch_activations(model, x)
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], **ACTIVATIONS, err_msg=name)


def test_committed_model_is_small_in_eval_mode_and_accurate():
    assert MODEL_PATH.stat().st_size < 5 * 1024 * 1024
    model = load_model()
    assert not model.training
    *_, test_x, test_y = load_data()
    with torch.no_grad():
        assert model(torch.from_numpy(test_x)).shape == (len(test_x), 10)
    accuracy = (predict(test_x).argmax(axis=1) == test_y).mean()
    shifted = np.mean([(predict(shift_images(test_x, dy, dx)).argmax(axis=1) == test_y).mean()
                       for dy, dx in ONE_PIXEL_SHIFTS])
    assert accuracy >= 0.97
    assert shifted >= 0.90


def test_training_script_reproduces_the_committed_accuracy():
    sys.path.insert(0, str(ROOT / "scripts"))
    import train_digits

    _, scores = train_digits.train()
    *_, test_x, test_y = load_data()
    committed = (predict(test_x).argmax(axis=1) == test_y).mean()
    # The recipe is deterministic on one machine, not across CPUs: the float kernels torch picks differ by
    # instruction set, so the same seed trains a slightly different network (here on an AMD EPYC: 0.972 against
    # the committed 0.989). Within 3 points (11 of 359 test digits) and above 96 %: a broken recipe is far below.
    assert scores["test_acc"] >= 0.96
    assert abs(scores["test_acc"] - committed) <= 0.03


def test_predict_gives_probabilities_in_the_logits_order():
    *_, test_x, _ = load_data()
    p = predict(test_x[:20])
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(p.argmax(axis=1), forward(test_x[:20])[-1][1].argmax(axis=1))
    torch_p = torch.softmax(torch.from_numpy(forward(test_x[:20])[-1][1]), dim=1).numpy()
    np.testing.assert_allclose(p, torch_p, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("bad", [np.zeros((1, 8, 8)), np.zeros((2, 1, 9, 8)), np.zeros((1, 3, 8, 8))])
def test_forward_refuses_wrong_shapes_with_a_reason(bad):
    with pytest.raises(CnnError) as error:
        forward(bad)
    assert error.value.reason == "input_shape"


def test_forward_refuses_nan():
    with pytest.raises(CnnError) as error:
        forward(np.full((1, 1, 8, 8), np.nan))
    assert error.value.reason == "not_finite"


@pytest.mark.parametrize("seed", [None, 5])
def test_torch_logits_is_the_twin_of_logits(seed):
    """The page's proof: our NumPy logits against torch's, for the committed network and a fresh one."""
    W = None if seed is None else weights(make_model(seed))
    x = np.random.default_rng(7).random((6, 1, 8, 8), dtype=np.float32)
    np.testing.assert_allclose(logits(x, W), torch_logits(x, W), **ACTIVATIONS)
    with torch.no_grad():
        reference = (load_model() if seed is None else make_model(seed).eval())(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(torch_logits(x, W), reference, rtol=0, atol=1e-6)


def test_mistakes_are_exactly_the_wrong_answers():
    *_, test_x, test_y = load_data()
    wrong, truth, answers = mistakes()
    everything = predict(test_x).argmax(axis=1)
    np.testing.assert_array_equal(wrong, np.flatnonzero(everything != test_y))
    np.testing.assert_array_equal(truth, test_y[wrong])
    assert (answers != truth).all()
    matrix = confusion_matrix(test_y, everything)
    assert matrix.sum() - np.trace(matrix) == len(wrong)


def test_kernel_likeness_finds_a_library_kernel_and_its_negative():
    sobel_y = KERNELS["sobel_y"]
    noise = np.random.default_rng(0).normal(0, 0.05, (3, 3)).astype(np.float32)
    K = np.stack([2.5 * sobel_y + noise, -KERNELS["laplacian"] + 0.3])[:, None]  # scaled, noisy, flipped, offset
    found = kernel_likeness(K, KERNELS)
    assert found[0][0] == "sobel_y" and found[0][1] > 0.95
    assert found[1][0] == "laplacian" and found[1][1] < -0.99  # the same pattern with the sign flipped
    assert all(-1 - 1e-9 <= cos <= 1 + 1e-9 for _, cos in found)


def test_tile_maps_places_every_channel_at_its_scale():
    maps = np.zeros((5, 2, 3), np.float32)
    maps[3, 1, 2] = 1.0  # one bright pixel in channel 3
    picture = tile_maps(maps, scale=4, columns=3, gap=2)
    assert picture.shape == (2 * 8 + 2, 3 * 12 + 2 * 2, 3) and picture.dtype == np.uint8
    bright = picture[10 + 4:10 + 8, 8:12]  # channel 3 = row 1, column 0; its pixel (1, 2) is a 4 × 4 square
    assert (bright == bright[0, 0]).all() and not np.array_equal(bright[0, 0], picture[10, 0])
    assert (picture[8:10] == 255).all()  # the white gap between the rows
    strip = tile_maps(np.arange(10, dtype=np.float32).reshape(1, 1, 10), scale=5, columns=8)
    assert strip.shape == (5, 50, 3)  # one map: no room left for the seven missing ones


def test_confusion_matrix_hand_example():
    """Truth 0,0,1,2,2,2 answered 0,1,1,2,0,2: row = truth, column = answer."""
    m = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], classes=3)
    np.testing.assert_array_equal(m, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert m.sum() == 6 and np.trace(m) == 4


def test_layer_table_hand_worked_fields_and_parameter_total():
    """Receptive field r ← r + (k − 1)·j, jump j ← j·s (Araujo et al.): conv 3 → 3, pool 2 → 3 + 1·1 = 4 (jump 2),
    conv 3 → 4 + 2·2 = 8, pool 2 → 8 + 1·2 = 10 (jump 4). Parameters: conv1 3·3·1·8 = 72, BN 2·8 = 16,
    conv2 3·3·8·16 = 1152, BN 2·16 = 32, fc1 64·64 + 64 = 4160, fc2 64·10 + 10 = 650."""
    model = load_model()
    rows = {row.name: row for row in layer_table(model)}
    assert [rows[n].rf for n in ("conv1", "pool1", "conv2", "pool2")] == [(3, 3), (4, 4), (8, 8), (10, 10)]
    assert [rows[n].jump for n in ("conv1", "pool1", "conv2", "pool2")] == [(1, 1), (2, 2), (2, 2), (4, 4)]
    assert [rows[n].parameters for n in ("conv1", "bn1", "conv2", "bn2", "fc1", "fc2")] == [72, 16, 1152, 32, 4160, 650]
    assert sum(row.parameters for row in rows.values()) == sum(p.numel() for p in model.parameters())
    assert rows["fc1"].rf is None  # after flatten every number sees the whole input
    shapes = {name: a.shape[1:] for name, a in forward(np.zeros((1, 1, 8, 8), np.float32))}
    assert all(rows[name].shape == shapes[name] for name in rows)


# --- a picture → the network's input ----------------------------------------------------------------------------

def test_otsu_threshold_falls_between_two_groups():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0.2, 0.03, 500), rng.normal(0.7, 0.03, 300)]).clip(0, 1)
    t = otsu_threshold(values)
    assert 0.3 < t < 0.6


@pytest.mark.parametrize("width", [1, 3, 6, 9])
def test_stroke_width_of_a_long_ribbon(width):
    """A width × 30 bar: area 30·w, boundary ≈ 2·30 pixels → ≈ w (exactly so for long ribbons, ±1 at the ends)."""
    bitmap = np.zeros((40, 40), bool)
    bitmap[5:35, 10:10 + width] = True
    assert abs(stroke_width(bitmap) - width) <= max(1.0, 0.25 * width)


def draw(strokes, pen: int, ink_on_white: bool = True, size: int = 280) -> np.ndarray:
    image = Image.new("L", (size, size), 255 if ink_on_white else 0)
    pen_draw = ImageDraw.Draw(image)
    for stroke in strokes:
        pen_draw.line(stroke, fill=0 if ink_on_white else 255, width=pen, joint="curve")
    return np.asarray(image, dtype=np.float32) / 255


# Digits drawn with a few strokes, roughly in the style of the UCI writers.
DRAWN = {
    0: [[(140, 40), (95, 70), (85, 140), (95, 210), (140, 240), (185, 210), (195, 140), (185, 70), (140, 40)]],
    1: [[(120, 70), (150, 40), (150, 240)]],
    2: [[(90, 80), (120, 45), (170, 45), (195, 85), (180, 130), (90, 235), (200, 235)]],
    3: [[(90, 60), (140, 40), (185, 70), (175, 120), (135, 140), (180, 160), (190, 210), (140, 240), (90, 220)]],
    4: [[(170, 240), (170, 40), (80, 170), (210, 170)]],
    5: [[(190, 45), (105, 45), (95, 130), (150, 120), (190, 160), (185, 215), (140, 240), (90, 225)]],
    6: [[(180, 50), (130, 45), (95, 110), (90, 190), (120, 240), (170, 235), (190, 190), (165, 145), (120, 145),
         (92, 180)]],
    8: [[(140, 140), (100, 110), (105, 60), (140, 40), (178, 62), (180, 110), (140, 140), (95, 175), (100, 225),
         (140, 242), (182, 225), (185, 175), (140, 140)]],
    9: [[(185, 110), (150, 140), (105, 125), (100, 75), (140, 45), (180, 65), (185, 110), (180, 240)]],
}


@pytest.mark.parametrize("pen", [6, 28])
def test_drawn_digits_are_recognised_whatever_the_pen(pen):
    right = sum(predict(image_to_digit(draw(strokes, pen)).x).argmax() == digit for digit, strokes in DRAWN.items())
    assert right >= len(DRAWN) - 1


def test_reduction_steps_have_the_documented_shapes_and_ranges():
    r = image_to_digit(draw(DRAWN[4], pen=14))
    assert r.bitmap.shape == (32, 32) and r.bitmap.dtype == bool
    assert r.counts.shape == (8, 8) and r.counts.min() >= 0 and r.counts.max() <= 16
    np.testing.assert_array_equal(r.counts, r.bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3)))
    np.testing.assert_allclose(r.x[0, 0], r.counts / 16, rtol=0, atol=1e-7)
    assert r.bitmap.any(axis=1).all()  # scaled to the full 32-pixel height, like every UCI digit
    # Scaled to at most 24 pixels wide and centred; thickening the strokes afterwards may add a pixel or two.
    assert not r.bitmap[:, :2].any() and not r.bitmap[:, -2:].any()
    assert abs(stroke_width(r.bitmap) - STROKE) <= 2.5


def test_polarity_does_not_matter():
    dark_on_light = image_to_digit(draw(DRAWN[2], pen=14))
    light_on_dark = image_to_digit(draw(DRAWN[2], pen=14, ink_on_white=False))
    np.testing.assert_array_equal(dark_on_light.counts, light_on_dark.counts)


def test_size_and_colour_of_the_picture_do_not_matter_much():
    small = image_to_digit(draw(DRAWN[3], pen=14))
    big = np.asarray(Image.fromarray((draw(DRAWN[3], pen=14) * 255).astype(np.uint8)).resize((900, 900)),
                     dtype=np.float32) / 255
    rgb = np.stack([big, big * 0.9, big], axis=2)
    large = image_to_digit(rgb)
    assert np.abs(small.counts - large.counts).mean() < 1.5
    assert predict(large.x).argmax() == 3


def test_data_digits_survive_the_round_trip():
    """Held-out digits blown up to 128 × 128 and thresholded, then reduced again, are still mostly recognised."""
    *_, test_x, test_y = load_data()
    right = 0
    for x, y in zip(test_x[::3], test_y[::3], strict=True):
        big = np.asarray(Image.fromarray(x[0]).resize((128, 128), Image.Resampling.BILINEAR)) > 0.5
        right += predict(image_to_digit(1.0 - big.astype(np.float32)).x).argmax() == y
    assert right / len(test_x[::3]) >= 0.88


@pytest.mark.parametrize("picture, reason", [(np.ones((50, 60)), "no_ink"), (np.full((40, 40, 3), 0.3), "no_ink"),
                                             (np.ones((1, 30)), "digit_too_small")])
def test_pictures_without_a_digit_are_refused_with_a_reason(picture, reason):
    with pytest.raises(CnnError) as error:
        image_to_digit(picture)
    assert error.value.reason == reason


def test_a_picture_that_is_mostly_ink_is_refused():
    picture = np.zeros((60, 60), np.float32)
    picture[:, :45] = 1.0  # bright on most of it, the border mixed
    picture[0, :] = picture[-1, :] = 0.0
    with pytest.raises(CnnError) as error:
        image_to_digit(picture)
    assert error.value.reason in ("too_much_ink", "no_ink")
