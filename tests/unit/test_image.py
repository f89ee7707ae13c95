"""Tests for cnn_core.image: every odd file is made here, in memory, with Pillow.

The contract under test: load_image returns an H×W×C float32 array in [0, 1]
(C = 1 or 3, longer side ≤ max_side), or raises ImageError whose message is a
plain sentence — and nothing else, whatever the bytes.
"""

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import cnn_core.image as image_module
from cnn_core.image import (
    LUMA_WEIGHTS,
    MAX_PIXELS,
    ImageError,
    fit_within,
    image_digest,
    load_image,
    to_grayscale,
)

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def encode(picture: Image.Image, fmt: str, **options) -> bytes:
    """Save a Pillow image to bytes in the given format."""
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload, CRC of type+payload."""
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_with_header_size(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR *claims* width×height (8-bit RGB); the pixel data is a stub."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def assert_valid_picture(pixels: np.ndarray, max_side: int = 1024) -> None:
    """The shape, dtype and value range every load_image result must have."""
    assert isinstance(pixels, np.ndarray)
    assert pixels.dtype == np.float32
    assert pixels.ndim == 3
    height, width, channels = pixels.shape
    assert channels in (1, 3)
    assert 1 <= height <= max_side and 1 <= width <= max_side
    assert np.isfinite(pixels).all()
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0


def assert_student_sentence(message: str) -> None:
    """An ImageError message is one plain sentence (or a few), with no programmer noise."""
    assert message and message[0].isupper(), message
    assert message.endswith("."), message
    for noise in ("<", ">", "Error(", "PIL", "Pillow", "Traceback", 'File "', "errno", "{", "\n", "/tmp"):
        assert noise not in message, f"{noise!r} in {message!r}"


def load_error(data, **kwargs) -> str:
    """load_image(data) must raise ImageError; return its (checked) message."""
    with pytest.raises(ImageError) as caught:
        load_image(data, **kwargs)
    message = str(caught.value)
    assert_student_sentence(message)
    return message


def photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A uint8 H×W×3 picture with gradients and noise (compresses like a photo)."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    base = np.stack([200 * y + 40 * x, 120 + 80 * np.sin(6 * x + 3 * y), 180 * (1 - y) + 0 * x], axis=-1)
    noise = rng.normal(0, 12, size=(height, width, 1)).astype(np.float32)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# Ordinary files in every accepted format
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "AVIF", "PPM"])
def test_each_accepted_format_loads_with_its_shape(fmt):
    picture = Image.fromarray(photo_like(48, 32))
    pixels = load_image(encode(picture, fmt))
    assert_valid_picture(pixels)
    assert pixels.shape == (32, 48, 3)


def test_grayscale_source_gives_one_channel_and_exact_values():
    gray = np.array([[0, 128, 255]], dtype=np.uint8)
    pixels = load_image(encode(Image.fromarray(gray), "PNG"))
    assert pixels.shape == (1, 3, 1)
    np.testing.assert_allclose(pixels[0, :, 0], [0.0, 128 / 255, 1.0], rtol=0, atol=1e-7)


def test_accepts_bytearray_memoryview_and_file_objects(tmp_path):
    data = encode(Image.new("RGB", (5, 4), RED), "PNG")
    path = tmp_path / "red.png"
    path.write_bytes(data)
    already_read = io.BytesIO(data)
    already_read.read()  # a BytesIO whose cursor is at the end still gives the whole file
    with open(path, "rb") as binary_file:
        results = [load_image(bytearray(data)), load_image(memoryview(data)),
                   load_image(already_read), load_image(binary_file)]
    for pixels in results:
        assert pixels.shape == (4, 5, 3)
        np.testing.assert_allclose(pixels[0, 0], [1, 0, 0])


def test_wrong_argument_types_are_programmer_errors(tmp_path):
    path = tmp_path / "red.png"
    path.write_bytes(encode(Image.new("RGB", (2, 2), RED), "PNG"))
    with pytest.raises(TypeError, match="open"):
        load_image(str(path))
    with open(path, encoding="latin-1") as text_file, pytest.raises(TypeError, match="binary"):
        load_image(text_file)
    with pytest.raises(ValueError, match="max_side"):
        load_image(path.read_bytes(), max_side=0)


# ---------------------------------------------------------------------------
# Modes that need converting
# ---------------------------------------------------------------------------

def test_cmyk_jpeg_becomes_rgb():
    cmyk_red = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full magenta+yellow
    pixels = load_image(encode(cmyk_red, "JPEG", quality=95))
    assert pixels.shape == (16, 16, 3)
    red, green, blue = pixels[8, 8]
    assert red > 0.9 and green < 0.1 and blue < 0.1


def test_16_bit_grayscale_png_keeps_its_full_range():
    ramp = np.arange(65536, dtype=np.uint16).reshape(256, 256)  # every 16-bit level once
    picture = Image.fromarray(ramp)
    assert picture.mode == "I;16"
    pixels = load_image(encode(picture, "PNG"))
    assert pixels.shape == (256, 256, 1)
    assert pixels.min() == 0.0 and pixels.max() == 1.0
    assert len(np.unique(pixels)) == 65536  # convert("L") would leave at most 256
    np.testing.assert_allclose(pixels[:, :, 0], ramp / 65535, rtol=0, atol=1e-7)


def test_16_bit_pgm_opened_as_32_bit_int_keeps_its_scale():
    ramp = np.linspace(0, 30000, 64 * 64).astype(np.uint16).reshape(64, 64)
    pixels = load_image(encode(Image.fromarray(ramp), "PPM"))
    assert pixels.shape == (64, 64, 1)
    # Not stretched: the brightest pixel is 30000/65535, not white.
    np.testing.assert_allclose(pixels.max(), 30000 / 65535, rtol=1e-6)


def test_32_bit_integer_tiff_with_no_standard_white_is_stretched():
    values = np.linspace(-1000, 1_000_000, 32 * 32).astype(np.int32).reshape(32, 32)
    pixels = load_image(encode(Image.fromarray(values, mode="I"), "TIFF"))
    assert pixels.shape == (32, 32, 1)
    assert pixels.min() == 0.0 and pixels.max() == pytest.approx(1.0)


def test_32_bit_float_tiff_in_unit_range_is_kept():
    values = np.linspace(0, 1, 40 * 30, dtype=np.float32).reshape(30, 40)
    picture = Image.fromarray(values)
    assert picture.mode == "F"
    pixels = load_image(encode(picture, "TIFF"))
    assert pixels.shape == (30, 40, 1)
    np.testing.assert_allclose(pixels[:, :, 0], values, rtol=0, atol=1e-7)


def test_32_bit_float_tiff_out_of_range_is_stretched_and_nan_is_black():
    values = np.linspace(-5, 20, 20 * 20, dtype=np.float32).reshape(20, 20)
    values[10, 10] = np.nan
    pixels = load_image(encode(Image.fromarray(values), "TIFF"))
    assert_valid_picture(pixels)
    assert pixels[0, 0, 0] == 0.0 and pixels[-1, -1, 0] == pytest.approx(1.0)
    assert pixels[10, 10, 0] == 0.0


def test_one_bit_image_gives_pure_black_and_white():
    checkerboard = (np.indices((8, 8)).sum(axis=0) % 2).astype(bool)
    pixels = load_image(encode(Image.fromarray(checkerboard), "PNG"))
    assert pixels.shape == (8, 8, 1)
    np.testing.assert_array_equal(pixels[:, :, 0], checkerboard.astype(np.float32))


# ---------------------------------------------------------------------------
# Transparency is painted onto white
# ---------------------------------------------------------------------------

def test_palette_png_transparent_colour_becomes_white():
    picture = Image.new("P", (4, 2), 0)
    picture.putpalette([0, 0, 0, *RED] + [0] * (256 * 3 - 6))  # index 0 black, 1 red
    picture.putpixel((3, 1), 1)
    pixels = load_image(encode(picture, "PNG", transparency=0))
    assert pixels.shape == (2, 4, 3)
    np.testing.assert_allclose(pixels[0, 0], [1, 1, 1])  # transparent black → white
    np.testing.assert_allclose(pixels[1, 3], [1, 0, 0])  # opaque red stays red


def test_rgba_transparent_is_white_opaque_kept_half_is_blended():
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (0, 0, 255, 0)  # fully transparent blue
    rgba[0, 1] = (0, 255, 0, 255)  # opaque green
    rgba[0, 2] = (255, 0, 0, 128)  # half-transparent red
    pixels = load_image(encode(Image.fromarray(rgba), "PNG"))
    np.testing.assert_allclose(pixels[0, 0], [1, 1, 1])
    np.testing.assert_allclose(pixels[0, 1], [0, 1, 0])
    np.testing.assert_allclose(pixels[0, 2], [1, 127 / 255, 127 / 255], atol=1 / 255)


def test_gray_with_alpha_stays_one_channel():
    la = np.array([[[0, 0], [0, 255], [100, 255]]], dtype=np.uint8)  # (gray, alpha)
    pixels = load_image(encode(Image.fromarray(la, mode="LA"), "PNG"))
    assert pixels.shape == (1, 3, 1)
    np.testing.assert_allclose(pixels[0, :, 0], [1.0, 0.0, 100 / 255], atol=1e-7)


def test_animated_gif_gives_the_first_frame():
    first, second = Image.new("RGB", (10, 10), RED), Image.new("RGB", (10, 10), BLUE)
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    pixels = load_image(data)
    np.testing.assert_allclose(pixels[5, 5], [1, 0, 0])


# ---------------------------------------------------------------------------
# EXIF orientation
# ---------------------------------------------------------------------------

def jpeg_with_marked_corner(width: int, height: int, orientation: int) -> bytes:
    """A white JPEG with a red block in its *stored* top-left corner and an EXIF orientation tag."""
    picture = Image.new("RGB", (width, height), WHITE)
    picture.paste(RED, (0, 0, width // 4, height // 4))
    exif = Image.Exif()
    exif[0x0112] = orientation  # the Orientation tag
    return encode(picture, "JPEG", quality=95, exif=exif.tobytes())


@pytest.mark.parametrize(
    "orientation, upright_shape, red_corner",
    [
        (1, (40, 60), "top-left"),  # as stored
        (3, (40, 60), "bottom-right"),  # rotated 180°
        (6, (60, 40), "top-right"),  # camera held upright: turn 90° clockwise to view
        (8, (60, 40), "bottom-left"),  # turn 90° counter-clockwise to view
    ],
)
def test_exif_orientation_turns_the_picture_upright(orientation, upright_shape, red_corner):
    pixels = load_image(jpeg_with_marked_corner(60, 40, orientation))
    assert pixels.shape[:2] == upright_shape
    height, width = upright_shape
    corners = {"top-left": (2, 2), "top-right": (2, width - 3),
               "bottom-left": (height - 3, 2), "bottom-right": (height - 3, width - 3)}
    for name, (row, col) in corners.items():
        red, green, _ = pixels[row, col]
        is_red = red > 0.8 and green < 0.2
        assert is_red == (name == red_corner), f"{name} corner: {pixels[row, col]}"


def test_exif_rotation_combined_with_downsizing():
    # JPEG draft decoding happens on the stored (sideways) picture, before rotation.
    pixels = load_image(jpeg_with_marked_corner(3000, 2000, 6), max_side=1024)
    assert pixels.shape == (1024, 683, 3)
    assert pixels[5, -6, 0] > 0.8 and pixels[5, -6, 1] < 0.2  # red top-right
    assert pixels[-6, 5].min() > 0.9  # white bottom-left


# ---------------------------------------------------------------------------
# Sizes: tiny, thin, large
# ---------------------------------------------------------------------------

def test_one_by_one_pixel():
    pixels = load_image(encode(Image.new("RGB", (1, 1), GREEN), "PNG"))
    assert pixels.shape == (1, 1, 3)
    np.testing.assert_allclose(pixels[0, 0], [0, 1, 0])


@pytest.mark.parametrize("size, expected_shape", [((1, 5000), (1024, 1, 3)), ((5000, 1), (1, 1024, 3))])
def test_one_pixel_thin_strip_is_shrunk_without_crashing(size, expected_shape):
    pixels = load_image(encode(Image.new("RGB", size, BLUE), "PNG"))
    assert pixels.shape == expected_shape
    np.testing.assert_allclose(pixels[0, 0], [0, 0, 1], atol=1e-6)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_picture_is_shrunk_to_max_side_keeping_its_shape(fmt):
    picture = Image.fromarray(photo_like(1500, 1000))
    options = {"quality": 95} if fmt == "JPEG" else {"compress_level": 1}  # level 1: fast to write
    pixels = load_image(encode(picture, fmt, **options), max_side=300)
    assert pixels.shape == (200, 300, 3)
    # Shrinking (with or without JPEG draft decoding) keeps the content.
    reference = np.asarray(picture.resize((300, 200), Image.Resampling.LANCZOS), dtype=np.float32) / 255
    assert np.abs(pixels - reference).mean() < 0.02


def test_small_picture_is_never_enlarged():
    pixels = load_image(encode(Image.new("RGB", (30, 20), RED), "PNG"), max_side=1024)
    assert pixels.shape == (20, 30, 3)


@pytest.mark.parametrize(
    "size, max_side, expected",
    [((6000, 4000), 1024, (1024, 683)), ((4000, 6000), 1024, (683, 1024)), ((10, 10), 4, (4, 4)),
     ((1, 5000), 1024, (1, 1024)), ((100, 50), 100, (100, 50)), ((3, 1), 1, (1, 1))],
)
def test_fit_within(size, max_side, expected):
    assert fit_within(size, max_side) == expected


def test_24_megapixel_jpeg_loads_quickly():
    # The bench measures this precisely; here a generous bound guards against losing draft decoding.
    y = np.linspace(0, 127, 4000, dtype=np.float32)[:, None]
    x = np.linspace(0, 127, 6000, dtype=np.float32)[None, :]
    photo = Image.fromarray((y + x).astype(np.uint8)).convert("RGB")  # a 6000×4000 gradient
    data = encode(photo, "JPEG", quality=90)
    start = time.perf_counter()
    pixels = load_image(data)
    assert time.perf_counter() - start < 2.0
    assert pixels.shape == (683, 1024, 3)


# ---------------------------------------------------------------------------
# Refusals, each with a sentence a student understands
# ---------------------------------------------------------------------------

def test_png_claiming_60000_by_60000_is_refused_at_once():
    bomb = png_with_header_size(60000, 60000)
    assert len(bomb) < 100
    start = time.perf_counter()
    message = load_error(bomb)
    assert time.perf_counter() - start < 1.0
    assert "too large" in message


@pytest.mark.parametrize("width, height", [(8000, 8000), (30001, 10)])
def test_too_many_pixels_or_too_long_a_side_is_refused_with_the_size(width, height):
    # 64 MP passes Pillow's own guard (~89 MP) but not ours; so does one 30001-pixel side.
    assert width * height > MAX_PIXELS or max(width, height) > 30000
    message = load_error(png_with_header_size(width, height))
    assert f"{width} × {height}" in message


def test_zero_width_picture_is_refused():
    load_error(png_with_header_size(0, 10))


def test_truncated_jpeg_is_refused_not_half_loaded():
    data = encode(Image.fromarray(photo_like(200, 150)), "JPEG")
    message = load_error(data[: len(data) // 2])
    assert "damaged or incomplete" in message


def test_truncated_png_is_refused():
    data = encode(Image.fromarray(photo_like(200, 150)), "PNG")
    assert "damaged or incomplete" in load_error(data[: len(data) - 40])


def test_empty_file_is_refused():
    assert "empty" in load_error(b"")
    assert "empty" in load_error(io.BytesIO())


def test_text_file_is_refused_as_text():
    assert "text file" in load_error("Hello, 你好!\nThis is not a picture.\n".encode())


@pytest.mark.parametrize(
    "svg",
    [b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>',
     b'\xef\xbb\xbf<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'],
)
def test_svg_is_refused_with_a_hint_to_export_png(svg):
    message = load_error(svg)
    assert "SVG" in message and "PNG" in message


def test_iphone_heic_is_refused_with_a_hint_to_export_jpeg():
    heic_start = struct.pack(">I", 24) + b"ftypheic" + b"\x00" * 40
    assert "JPEG" in load_error(heic_start)


@pytest.mark.parametrize("fmt", ["TGA", "ICO", "PCX"])
def test_formats_outside_the_accepted_list_are_refused(fmt):
    # TGA has no magic number (Pillow would claim random bytes as TGA); an ICO may
    # hold a picture bigger than its header says; PCX is simply rare.
    message = load_error(encode(Image.new("RGB", (4, 4), RED), fmt))
    assert "not a picture we can read" in message


def test_binary_garbage_is_refused():
    assert "not a picture we can read" in load_error(bytes(range(256)) * 4)


# ---------------------------------------------------------------------------
# Fuzzing: whatever the bytes, an ImageError or a valid picture
# ---------------------------------------------------------------------------

def _load_or_refuse(data: bytes, max_side: int = 64) -> None:
    try:
        pixels = load_image(data, max_side=max_side)
    except ImageError as err:
        assert_student_sentence(str(err))
    else:
        assert_valid_picture(pixels, max_side=max_side)


_SMALL_PHOTO = Image.fromarray(photo_like(40, 30, seed=1))
VALID_FILES = {
    "PNG": encode(_SMALL_PHOTO, "PNG"),
    "JPEG": encode(_SMALL_PHOTO, "JPEG", quality=80),
    "GIF": encode(_SMALL_PHOTO.convert("P"), "GIF"),
    "TIFF": encode(_SMALL_PHOTO, "TIFF"),
}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Pillow warns about corrupt TIFF/EXIF metadata while reading mangled files; expected here.
ignore_pillow_warnings = pytest.mark.filterwarnings("ignore::UserWarning")


@ignore_pillow_warnings
@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_never_escape_as_other_errors(data):
    _load_or_refuse(data)


@ignore_pillow_warnings
@FUZZ
@given(fmt=st.sampled_from(sorted(VALID_FILES)), fraction=st.floats(0, 1))
def test_prefixes_of_valid_files_never_escape_as_other_errors(fmt, fraction):
    data = VALID_FILES[fmt]
    _load_or_refuse(data[: int(len(data) * fraction)])


@ignore_pillow_warnings
@FUZZ
@given(fmt=st.sampled_from(sorted(VALID_FILES)), edits=st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8))
def test_corrupted_valid_files_never_escape_as_other_errors(fmt, edits):
    data = bytearray(VALID_FILES[fmt])
    for where, new_byte in edits:
        data[int(where * len(data))] = new_byte
    _load_or_refuse(bytes(data))


# ---------------------------------------------------------------------------
# image_digest and to_grayscale
# ---------------------------------------------------------------------------

def test_image_digest_depends_on_values_shape_and_dtype():
    image = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    digest = image_digest(image)
    assert isinstance(digest, str) and len(digest) <= 40 and int(digest, 16) >= 0
    assert image_digest(image.copy()) == digest
    changed = image.copy()
    changed[0, 0, 0] += 1e-3
    assert image_digest(changed) != digest
    assert image_digest(image.reshape(2, 3, 2)) != digest  # same bytes, other shape
    assert image_digest(image.astype(np.float64)) != digest


def test_image_digest_of_a_non_contiguous_view_equals_its_copy():
    image = np.random.default_rng(0).random((8, 8, 3), dtype=np.float32)
    view = image[::2, ::-1]
    assert image_digest(view) == image_digest(np.ascontiguousarray(view))


def test_to_grayscale_uses_bt601_luma():
    primaries = np.eye(3, dtype=np.float32).reshape(1, 3, 3)  # red, green, blue pixels
    gray = to_grayscale(primaries)
    assert gray.shape == (1, 3) and gray.dtype == np.float32
    np.testing.assert_allclose(gray[0], [0.299, 0.587, 0.114], rtol=1e-6)
    np.testing.assert_allclose(to_grayscale(np.ones((2, 2, 3), np.float32)), 1.0, rtol=1e-6)
    assert LUMA_WEIGHTS.sum() == pytest.approx(1.0)


def test_to_grayscale_of_random_colour_matches_the_formula():
    rgb = np.random.default_rng(1).random((5, 7, 3), dtype=np.float32)
    expected = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(to_grayscale(rgb), expected, rtol=1e-6, atol=1e-7)


def test_to_grayscale_is_identity_for_gray_images():
    gray = np.random.default_rng(2).random((4, 6, 1), dtype=np.float32)
    np.testing.assert_array_equal(to_grayscale(gray), gray[:, :, 0])
    np.testing.assert_array_equal(to_grayscale(gray[:, :, 0]), gray[:, :, 0])


def test_to_grayscale_refuses_other_channel_counts():
    with pytest.raises(ValueError, match="H×W×3"):
        to_grayscale(np.zeros((2, 2, 4), np.float32))


# ---------------------------------------------------------------------------
# The sample pictures in assets/
# ---------------------------------------------------------------------------

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.mark.parametrize(
    "name, shape",
    [("scene.png", (512, 768, 3)), ("shapes.png", (512, 512, 3)), ("digit.png", (28, 28, 1)),
     ("texture.png", (512, 512, 3))],
)
def test_sample_pictures_load_with_their_shapes(name, shape):
    pixels = load_image((ASSETS / name).read_bytes())
    assert_valid_picture(pixels)
    assert pixels.shape == shape
    assert pixels.std() > 0.1  # not blank


def test_every_refusal_reason_has_a_sentence_in_both_languages():
    """The app shows ImageError.reason in the student's language (lessons/<lang>/ui/errors.toml)."""
    import re
    import tomllib
    from pathlib import Path

    source = Path(image_module.__file__).read_text(encoding="utf-8")
    reasons = set(re.findall(r'ImageError\([^)]*?"(\w+)"', source)) | set(re.findall(r'return _\w+, "(\w+)"', source))
    reasons |= set(re.findall(r'^\s+"(\w+)", width=', source, flags=re.M))
    assert {"empty", "svg", "text", "damaged", "too_large", "too_big"} <= reasons
    lessons = Path(__file__).resolve().parents[2] / "lessons"
    for lang in ("en", "zh"):
        with (lessons / lang / "ui" / "errors.toml").open("rb") as file:
            strings = tomllib.load(file)
        assert reasons <= set(strings), (lang, reasons - set(strings))
    with pytest.raises(image_module.ImageError) as refused:
        image_module.load_image(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    assert refused.value.reason == "svg"
