"""ui.downloads: a registered map comes back as a full-size PNG in the page's colours, a CSV and an .npy of its
numbers; a picture as PNG and .npy; names and file names a student can read."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from cnn_core import render
from ui import downloads
from ui.downloads import FORMATS, Item, Registry, encode, file_name, make_file, short_name, slug

RNG = np.random.default_rng(0)


def signed_map(h: int = 37, w: int = 53) -> np.ndarray:
    return (RNG.standard_normal((h, w)) * 3).astype(np.float32)


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize("lazy", [False, True])
def test_a_map_gives_a_full_size_png_in_the_shown_colours_a_csv_and_an_exact_npy(lazy):
    X = signed_map()
    item = Item("A map", 1, (lambda: X) if lazy else X, "map", (None, -2.0, 2.0, "RdBu_r"))
    png = decode(encode(item, "png"))
    assert png.shape == (*X.shape, 3)  # full resolution: one pixel per number, not the thinned display
    np.testing.assert_array_equal(png, render.colorize(X, None, -2.0, 2.0, "RdBu_r")[0])  # the page's scale
    back = np.loadtxt(io.StringIO(encode(item, "csv").decode("ascii")), delimiter=",", ndmin=2)
    np.testing.assert_allclose(back, X, rtol=1e-7, atol=0)
    npy = np.load(io.BytesIO(encode(item, "npy")))
    assert npy.dtype == X.dtype and npy.shape == X.shape
    np.testing.assert_array_equal(npy, X)


def test_a_map_png_keeps_a_different_scale_when_the_page_used_one():
    """The colours follow the scale the page showed (here 0..10), not the map's own range."""
    X = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    own = decode(encode(Item(None, 1, X, "map"), "png"))
    shown = decode(encode(Item(None, 1, X, "map", (False, 0.0, 10.0, "gray")), "png"))
    assert not np.array_equal(own, shown)
    assert shown.max() <= 26  # 1 of 10 on a gray scale: dark


def test_a_one_row_map_and_nan_cells_still_give_files():
    X = np.array([1.0, np.nan, -2.0], dtype=np.float32)
    item = Item("row", 1, X, "map")
    assert decode(encode(item, "png")).shape == (1, 3, 3)
    back = np.loadtxt(io.StringIO(encode(item, "csv").decode("ascii")), delimiter=",", ndmin=2)
    np.testing.assert_array_equal(back, X[None])  # NaN written as nan and read back as NaN (equal_nan)


def test_a_picture_has_png_and_npy_and_no_csv():
    P = RNG.integers(0, 256, (19, 23, 3), dtype=np.uint8)
    item = Item("A picture", 1, P, "picture")
    assert "csv" not in FORMATS["picture"]
    np.testing.assert_array_equal(decode(encode(item, "png")), P)
    np.testing.assert_array_equal(np.load(io.BytesIO(encode(item, "npy"))), P)
    with pytest.raises(ValueError):
        encode(item, "csv")


def test_a_float_picture_becomes_an_8_bit_png_and_keeps_its_floats_in_npy():
    P = RNG.random((5, 7, 3)).astype(np.float32)
    item = Item(None, 1, P, "picture")
    np.testing.assert_array_equal(decode(encode(item, "png")), render.image_to_uint8(P))
    np.testing.assert_array_equal(np.load(io.BytesIO(encode(item, "npy"))), P)


def test_a_ready_made_png_is_offered_as_it_is_and_only_as_png():
    png = render.to_png(np.zeros((4, 4, 3), np.uint8))
    assert encode(Item("shown", 1, png, "png"), "png") == png
    assert FORMATS["png"] == ("png",)


def test_the_download_reads_the_registry_when_clicked_so_a_redrawn_map_is_downloaded_as_shown(monkeypatch):
    registry = Registry("convolution")
    monkeypatch.setattr(downloads, "current", lambda: registry)
    downloads.offer("Map", np.zeros((2, 2), np.float32), "map", key="slot-1")
    data = lambda: make_file(registry.items, "slot-1", "npy")  # noqa: E731  (what the button holds)
    downloads.offer("Map", np.ones((3, 3), np.float32), "map", key="slot-1")  # a fragment rerun redraws it
    np.testing.assert_array_equal(np.load(io.BytesIO(data())), np.ones((3, 3)))
    assert list(registry.items) == ["slot-1"] and registry.items["slot-1"].number == 1  # overwritten, not added


def test_offers_are_numbered_in_the_order_shown_and_unnamed_ones_are_told_apart(monkeypatch):
    registry = Registry("t")
    monkeypatch.setattr(downloads, "current", lambda: registry)
    for i in range(3):
        downloads.offer(None, np.zeros((i + 2, 4)), "map", key=f"k{i}")
    downloads.offer(None, b"png", "png", key="k3")
    names = [downloads.name_of(item) for item in registry.items.values()]
    assert names == ["Picture 1 (2 × 4)", "Picture 2 (3 × 4)", "Picture 3 (4 × 4)", "Picture 4"]


def test_nothing_is_registered_before_a_scaffolded_page_ran(monkeypatch):
    monkeypatch.setattr(downloads, "current", lambda: None)
    downloads.offer("x", np.zeros((2, 2)), "map")  # no error, nothing to keep


@pytest.mark.parametrize("caption, name", [
    ("**Sobel x**\n\n:gray[:small[Brightness change from left to right]]", "Sobel x"),
    ("Sobel x · gray: feature map 512 × 768, the image's size thanks to 'same' zero padding (blue < 0 < red)",
     "Sobel x · gray: feature map 512 × 768"),
    ("The kernel's window for output (126, 268) — padding keeps the output the same size", "The kernel's window for "
     "output (126, 268)"),
    ("**Edge detector [1, −1]**", "Edge detector [1, −1]"),
    ("Output 510 × 766, drawn at the same scale", "Output 510 × 766"),
    ("灰度：特征图 512 × 768，用了“same”零填充，所以与图像一样大（蓝 < 0 < 红）", "灰度：特征图 512 × 768"),
    ("卷积核覆盖的**输入小块**", "卷积核覆盖的输入小块"),
    ("", ""),
    (None, ""),
])
def test_a_caption_gives_a_short_plain_name(caption, name):
    assert short_name(caption) == name


def test_a_long_caption_is_cut_with_an_ellipsis():
    name = short_name("word " * 40)
    assert len(name) <= downloads.NAME_LENGTH and name.endswith("…")


@pytest.mark.parametrize("name, number, expected", [
    ("Sobel x · gray: feature map 512 × 768", 2, "sobel-x-gray-feature-map-512x768"),
    ("∂L/∂Ŷ at the start", 3, "l-y-at-the-start"),
    ("灰度：特征图 512 × 768", 4, "picture-4"),
    ("输入 512 × 768", 1, "picture-1"),
    ("(1, 2)", 5, "picture-5"),
])
def test_file_names_are_ascii_and_chinese_names_fall_back_to_a_number(name, number, expected):
    assert slug(name, number) == expected
    assert re.fullmatch(r"cnnlab-convolution-[a-z0-9-]+\.png", file_name("convolution", name, number, "png"))


def test_repeated_names_are_told_apart():
    assert downloads.distinct(["a", "b", "a", "a"]) == ["a", "b", "a (2)", "a (3)"]
