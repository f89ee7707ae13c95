"""Turn whatever picture a student uploads into a small, clean array.

Every page starts here: ``load_image`` takes the bytes of a file and returns an
H×W×C float32 array with values in [0, 1] (C = 1 for grayscale pictures, 3 for
colour). Real-world files are messy — phone photos stored sideways with an EXIF
"rotate me" tag, transparent PNGs, CMYK JPEGs from print shops, 16-bit scans,
animated GIFs, half-downloaded files, and the occasional "decompression bomb"
(a tiny file that claims to be gigapixels). This module deals with all of them,
so the rest of the app only ever sees one kind of array.

When a file cannot be used, ``load_image`` raises ``ImageError`` whose message is
a sentence a student can act on. No other exception leaves ``load_image``.
"""

from __future__ import annotations

import codecs
import hashlib
import io

import numpy as np
from PIL import Image, ImageOps

from cnn_core.errors import CnnError

# A picture bigger than this is refused before its pixels are decoded: 50
# megapixels is more than any phone camera, and decoding it needs ~200 MB.
MAX_PIXELS = 50_000_000
MAX_SIDE_PIXELS = 30_000
_LIMITS = dict(limit_megapixels=MAX_PIXELS // 1_000_000, limit_side=MAX_SIDE_PIXELS)  # for translated sentences

# Only the formats people actually upload. Pillow can read ~40 formats, but some
# have no "magic number" (TGA) and would claim random bytes, others (EPS) start
# external programs, and ICO may hide a picture larger than its header says.
# Phone MPO photos are opened by the JPEG reader.
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "AVIF", "PPM")

# ITU-R BT.601 luma: how bright each of red, green and blue looks to the eye.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# The file types named in messages, so students know what to pick instead.
_SUPPORTED_TYPES = "a PNG, JPEG, GIF, BMP, TIFF or WebP image"

_EMPTY = f"The file is empty. Please choose {_SUPPORTED_TYPES}."
_SVG = ("SVG and other vector drawings are not supported. "
        "Please export the drawing as a PNG and upload that.")
_HEIC = ("HEIC photos (the iPhone default) are not supported. "
         "Please export or share the photo as a JPEG and upload that.")
_TEXT = f"This looks like a text file, not a picture. Please choose {_SUPPORTED_TYPES}."
_UNKNOWN = f"This file is not a picture we can read. Please choose {_SUPPORTED_TYPES}."
_DAMAGED = ("The picture file is damaged or incomplete (perhaps its download was cut short). "
            "Please download or export it again, or choose another picture.")
_NO_PIXELS = "This picture has no pixels (its width or height is 0). Please choose another picture."
_TOO_BIG = (f"This picture is too large to open safely (the limit is {MAX_PIXELS // 1_000_000} "
            f"megapixels and {MAX_SIDE_PIXELS} pixels per side). Please shrink it and upload it again.")
_NO_MEMORY = "There was not enough memory to open this picture. Please choose a smaller picture."
_UNREADABLE_STREAM = "The file could not be read. Please choose it again."


class ImageError(CnnError):
    """A picture could not be used. The message says why and what to do, in plain words.

    `reason` names the kind of problem (e.g. "svg", "too_large") and `details` its numbers, so an app can say
    the same sentence in another language.
    """


def load_image(data, max_side: int = 1024) -> np.ndarray:
    """Decode an image file into an H×W×C float32 array with values in [0, 1].

    ``data`` is the file's bytes or a binary file object (an open file, a
    ``BytesIO``, a Streamlit ``UploadedFile``). C is 1 for grayscale pictures
    and 3 for colour ones. The picture is turned upright (EXIF orientation),
    transparency is painted onto white, an animation gives its first frame, and
    it is shrunk, keeping its shape, so the longer side is at most ``max_side``.

    Raises ``ImageError`` (a ``ValueError``) with a student-friendly message for
    anything that is not a usable picture; no other exception escapes for any
    input bytes.
    """
    if not isinstance(max_side, (int, np.integer)) or max_side < 1:
        raise ValueError(f"max_side must be a whole number of at least 1, not {max_side!r}.")
    file_bytes = _read_all_bytes(data)
    if not file_bytes:
        raise ImageError(_EMPTY, "empty")

    # Pillow's ~40 format readers can fail on malformed bytes with almost any
    # exception type (OSError, SyntaxError, struct.error, EOFError, IndexError,
    # ZeroDivisionError ...). This is the one place we translate all of them,
    # keeping the original as __cause__ for whoever debugs it.
    try:
        return _decode(file_bytes, max_side)
    except ImageError:
        raise
    except MemoryError as err:
        raise ImageError(_NO_MEMORY, "no_memory") from err
    except Image.UnidentifiedImageError as err:
        raise ImageError(*_explain_unidentified(file_bytes)) from err
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        # Pillow's own bomb guard (the warning is only an exception when
        # warnings are turned into errors, e.g. under `python -W error`).
        raise ImageError(_TOO_BIG, "too_big", **_LIMITS) from err
    except Exception as err:  # any other Pillow failure: see the comment above the try
        raise ImageError(_DAMAGED, "damaged") from err


def image_digest(array: np.ndarray) -> str:
    """A short hex fingerprint of an array's values, shape and dtype (a cache key)."""
    array = np.ascontiguousarray(array)
    hasher = hashlib.blake2b(digest_size=10)
    hasher.update(f"{array.shape}{array.dtype.str}".encode())
    hasher.update(array.data)  # hashes the buffer in place, no copy
    return hasher.hexdigest()


def to_grayscale(image: np.ndarray) -> np.ndarray:
    """H×W×3 colour (or H×W×1 gray) → H×W float32 brightness, using BT.601 luma.

    gray = 0.299·R + 0.587·G + 0.114·B — green looks brightest to the eye.
    An H×W array is taken to be gray already and returned as float32.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return image @ LUMA_WEIGHTS  # (H, W, 3) @ (3,) → (H, W)
    raise ValueError(
        f"to_grayscale expects an H×W×3 colour or H×W×1 gray image, but got shape {image.shape}."
    )


# ---------------------------------------------------------------------------
# The steps of load_image, in the order they run.
# ---------------------------------------------------------------------------

def _read_all_bytes(data) -> bytes:
    """Bytes, bytearray, memoryview or a binary file object → the whole file as bytes."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "getvalue"):  # BytesIO / UploadedFile: the whole file, wherever the cursor is
        reader = data.getvalue
    elif hasattr(data, "read"):
        reader = data.read
    else:
        raise TypeError(
            f"load_image takes a file's bytes or a binary file object, not {type(data).__name__}. "
            "To load from a path, use open(path, 'rb')."
        )
    try:
        content = reader()
    except OSError as err:
        raise ImageError(_UNREADABLE_STREAM, "unreadable_stream") from err
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise TypeError("load_image needs a file opened in binary mode: use open(path, 'rb'), not 'r'.")
    return bytes(content)


def _decode(file_bytes: bytes, max_side: int) -> np.ndarray:
    """Open lazily, check the size, decode small and upright, then convert."""
    with Image.open(io.BytesIO(file_bytes), formats=ACCEPTED_FORMATS) as picture:
        # Image.open has read only the header, so refusing here costs nothing.
        _refuse_bad_sizes(*picture.size)
        picture.seek(0)  # the first frame of an animation
        # JPEG only (a no-op for other formats): let libjpeg decode at 1/2, 1/4
        # or 1/8 scale, still at least the final size — much less work for a
        # 24 MP photo. It must come before exif_transpose, which decodes the
        # pixels. A 90° rotation swaps width and height of both sizes alike, so
        # the stored (unrotated) size is the right one to ask for.
        picture.draft(picture.mode, fit_within(picture.size, max_side))
        ImageOps.exif_transpose(picture, in_place=True)  # upright; in place saves a full-size copy
        return _to_small_array(picture, max_side)


def _to_small_array(picture: Image.Image, max_side: int) -> np.ndarray:
    """A decoded picture of any mode → H×W×C float32 in [0, 1], longer side ≤ max_side."""
    source_mode = picture.mode
    picture = _to_standard_mode(picture)
    # The value range must be measured before resizing: Lanczos overshoots slightly.
    low, high = _value_range(picture, source_mode) if picture.mode == "F" else (0.0, 255.0)

    target_size = fit_within(picture.size, max_side)
    if picture.size != target_size:
        # reducing_gap: shrink by a whole factor with a cheap box filter first,
        # then finish with Lanczos; looks the same, several times faster.
        picture = picture.resize(target_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if picture.mode in ("LA", "RGBA"):
        # After resizing, so it costs little; Pillow resizes alpha images premultiplied,
        # so transparent pixels' hidden colours do not bleed into the edges.
        picture = _composite_on_white(picture)

    pixels = np.asarray(picture, dtype=np.float32)  # float32 only now, at the small size
    pixels = np.clip((pixels - low) / (high - low), 0.0, 1.0)
    pixels = np.nan_to_num(pixels, nan=0.0)  # undefined pixels in float files become black
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]  # (H, W) → (H, W, 1)
    return pixels.astype(np.float32, copy=False)


def _refuse_bad_sizes(width: int, height: int) -> None:
    """Refuse empty pictures and decompression bombs, from the header alone."""
    if width < 1 or height < 1:
        raise ImageError(_NO_PIXELS, "no_pixels")
    if width > MAX_SIDE_PIXELS or height > MAX_SIDE_PIXELS or width * height > MAX_PIXELS:
        megapixels = width * height / 1_000_000
        raise ImageError(
            f"This picture is too large: {width} × {height} pixels is {megapixels:,.0f} megapixels, "
            f"more than the limit of {MAX_PIXELS // 1_000_000} megapixels and {MAX_SIDE_PIXELS} "
            "pixels per side. Please shrink it and upload it again.",
            "too_large", width=width, height=height, megapixels=f"{megapixels:,.0f}", **_LIMITS
        )


def fit_within(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) shrunk, keeping its shape, so the longer side is ≤ max_side.

    Sizes already small enough are returned unchanged; no side drops below 1.
    """
    width, height = size
    longer = max(width, height)
    if longer <= max_side:
        return width, height
    scale = max_side / longer
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_standard_mode(picture: Image.Image) -> Image.Image:
    """Any Pillow mode → L, LA, RGB or RGBA (8 bits per channel) or F (32-bit float gray)."""
    mode = picture.mode
    if mode in ("L", "LA", "RGB", "RGBA", "F"):
        return picture
    if mode.startswith("I"):
        # 16-bit (I;16, I;16B ...) or 32-bit (I) integer gray. Pillow's
        # convert("L") would clip these to few levels; float keeps them all.
        return picture.convert("F")
    if mode in ("1", "La"):
        return picture.convert("LA" if mode == "La" else "L")
    if picture.has_transparency_data:  # P with a transparent colour, PA, RGBa ...
        return picture.convert("RGBA")
    return picture.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV, RGBX ...


def _value_range(picture: Image.Image, source_mode: str) -> tuple[float, float]:
    """The (black, white) levels of a float gray picture made from source_mode.

    16-bit files run from 0 to 65535. Float files are taken as-is when already
    within [0, 1]. Anything else has no standard white, so its darkest pixel
    becomes black and its brightest white.
    """
    low, high = picture.getextrema()
    if source_mode.startswith("I;16"):
        return 0.0, 65535.0
    if source_mode == "I" and 0 <= low and high <= 65535:
        return 0.0, 65535.0  # 16-bit data that Pillow keeps in 32-bit ints (e.g. PGM)
    if source_mode == "F" and 0 <= low and high <= 1:
        return 0.0, 1.0
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        return 0.0, 1.0  # NaN/inf or a flat picture: nothing sensible to stretch
    return float(low), float(high)


def _composite_on_white(picture: Image.Image) -> Image.Image:
    """LA → L or RGBA → RGB, as if the picture were printed on white paper."""
    colour_mode = picture.mode[:-1]  # drop the "A"
    paper = Image.new(colour_mode, picture.size, "white")
    paper.paste(picture.convert(colour_mode), mask=picture.getchannel("A"))
    return paper


def _explain_unidentified(file_bytes: bytes) -> tuple[str, str]:
    """Why no image reader recognised these bytes, as a sentence with a way out."""
    head = file_bytes[:4096]
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()  # skip a UTF-8 BOM and blank lines
    if text_head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) and b"<svg" in text_head:
        return _SVG, "svg"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1"):
        return _HEIC, "heic"
    if _looks_like_text(head):
        return _TEXT, "text"
    return _UNKNOWN, "unknown"


def _looks_like_text(head: bytes) -> bool:
    """True when the bytes read as UTF-8 text (no NUL bytes, no invalid sequences)."""
    if b"\x00" in head:
        return False
    try:
        # final=False: a multi-byte letter cut off at the end of `head` is fine.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True
