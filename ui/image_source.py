"""The sidebar's image source (a sample or an upload) and the current image every page works on.

Data flows one way: bytes → cnn_core.load_image → session state → pages. A refused upload shows a message
and leaves the previous image in place.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from cnn_core.image import ImageError, load_image
from cnn_core.render import image_to_uint8, to_png
from ui.errors import explain
from ui.strings import labels, t

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLES = ("scene", "shapes", "digit", "texture")  # assets/<name>.png
UPLOAD = "upload"
# Pages whose every move redoes whole-image work (Page(pixels=WORKING_PIXELS)) work on an area-averaged copy of a
# bigger image, this many pixels: the landscape sample's size, so the samples are used as they are.
WORKING_PIXELS = 512 * 768
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp"]


def bytes_digest(data: bytes) -> str:
    """Cache key of an image: a digest of its bytes (st.cache_data samples large arrays and can collide)."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


@st.cache_data(show_spinner=False, max_entries=16)
def _decode(digest: str, _data: bytes) -> np.ndarray:
    """Decode once per distinct file; `_data` is not hashed (the underscore), the digest stands for it."""
    return load_image(_data)


def _sample(name: str) -> tuple[str, np.ndarray]:
    data = (ASSETS / f"{name}.png").read_bytes()
    digest = bytes_digest(data)
    return digest, _decode(digest, data)


def _set_image(name: str, digest: str, image: np.ndarray) -> None:
    st.session_state.image = {"name": name, "digest": digest, "array": image}


def _on_upload() -> None:
    """Decode a new upload as soon as it arrives; on failure keep the previous image and remember why."""
    file = st.session_state.get("upload_file")
    st.session_state.upload_error = None
    if file is None:
        return
    data = file.getvalue()
    try:
        digest = bytes_digest(data)
        _set_image(file.name, digest, _decode(digest, data))
    except ImageError as error:
        st.session_state.upload_error = error


def sidebar_image_picker() -> None:
    """Sidebar: choose a sample or upload; show a thumbnail of the current image with its size.

    The sample's name is kept in the address bar (?image=shapes), so a shared link opens on the same picture.
    An upload cannot travel in a link (it lives in this browser tab's session only); the sidebar says so."""
    if "image_source" not in st.session_state and st.query_params.get("image") in SAMPLES:
        st.session_state.image_source = st.query_params["image"]
    if st.session_state.get("image_source", SAMPLES[0]) not in (*SAMPLES, UPLOAD):
        # An old-language label the browser sent back (see app.keep_choices_across_languages): keep the picture.
        shown = st.session_state.get("image", {}).get("name")
        st.session_state.image_source = shown if shown in SAMPLES else UPLOAD if "image" in st.session_state else SAMPLES[0]
    with st.sidebar:
        source = st.selectbox(t("sidebar.image_source"), (*SAMPLES, UPLOAD), key="image_source",
                              format_func=labels("sidebar.sample_"))
        if source == UPLOAD:
            st.file_uploader(t("sidebar.upload"), type=UPLOAD_TYPES, key="upload_file", on_change=_on_upload,
                             help=t("sidebar.upload_help"))
            error = st.session_state.get("upload_error")
            if error is not None:
                st.error(explain(error) + " " + t("sidebar.kept_previous"))
            st.caption(t("sidebar.upload_not_in_link"))
        elif st.session_state.get("image", {}).get("name") != source:
            _set_image(source, *_sample(source))
        if source == SAMPLES[0] or source == UPLOAD:
            st.query_params.pop("image", None)
        else:
            st.query_params["image"] = source
        height, width, channels = current_image().shape
        st.image(_thumbnail_png(current_digest()), caption=t("sidebar.image_size", h=height, w=width, c=channels),
                 width="stretch", output_format="PNG")


@st.cache_data(show_spinner=False, max_entries=32)
def display_image(digest: str, max_width: int = 480) -> tuple[np.ndarray, float]:
    """The current image as (H, W, 3) uint8 about `max_width` wide, and the factor it was scaled by.

    Big images are shrunk (colouring and encoding the full-size image on every rerun would cost more than the
    maths); tiny ones (a 28×28 digit) are enlarged by a whole factor with hard pixel edges, so every pixel stays a
    visible square instead of a browser blur. Pages draw their boxes on this copy (coordinates × factor).
    """
    picture = image_to_uint8(current_image())
    width = picture.shape[1]
    if width > max_width:
        factor = max_width / width
        size = (max_width, max(1, round(picture.shape[0] * factor)))
        return np.asarray(Image.fromarray(picture).resize(size, Image.Resampling.BOX)), factor
    factor = max(1, max_width // width)
    return np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1), float(factor)


@st.cache_data(show_spinner=False, max_entries=32)
def _thumbnail_png(digest: str) -> bytes:
    return to_png(display_image(digest, 320)[0])


def current_image() -> np.ndarray:
    """The image every page works on: (H, W, C) float32 in [0, 1], C = 1 or 3."""
    if "image" not in st.session_state:
        _set_image(SAMPLES[0], *_sample(SAMPLES[0]))
    return st.session_state.image["array"]


def current_digest() -> str:
    """A short id of the current image, for cache keys."""
    current_image()
    return st.session_state.image["digest"]


@st.cache_resource(show_spinner=False, max_entries=8)
def _shrunk(digest: str, pixels: int, _image: np.ndarray) -> np.ndarray:
    """The image area-averaged (each new pixel the mean of the pixels it covers) to at most `pixels` pixels, its
    shape kept. cache_resource: every student on this image shares one read-only array, not an unpickled copy."""
    H, W = _image.shape[:2]
    factor = (pixels / (H * W)) ** 0.5
    size = (max(1, int(W * factor)), max(1, int(H * factor)))
    planes = [np.asarray(Image.fromarray(_image[..., c]).resize(size, Image.Resampling.BOX)) for c in range(_image.shape[2])]
    shrunk = np.clip(np.stack(planes, axis=-1), 0.0, 1.0).astype(np.float32)
    shrunk.flags.writeable = False
    return shrunk


def working_image(pixels: int | None = None) -> np.ndarray:
    """The image a page works on: the current image, or, when it has more than `pixels` pixels, an area-averaged
    copy that size (for pages whose every move redoes whole-image work: a 1024² photo would make each move there
    2.7 times slower than the 512 × 768 sample). The copy's cache key is the image's digest and `pixels`."""
    image = current_image()
    if pixels is None or image.shape[0] * image.shape[1] <= pixels:
        return image
    copies = st.session_state.image.setdefault("copies", {})  # a new image starts a new dict (_set_image)
    if pixels not in copies:  # a page asks dozens of times per run; the cache lookup alone costs ~0.5 ms
        copies[pixels] = _shrunk(current_digest(), pixels, image)
    return copies[pixels]


def working_digest(pixels: int | None = None) -> str:
    """The cache key of working_image(pixels)."""
    return digest_of(working_image(pixels))


def digest_of(image: np.ndarray) -> str:
    """A cache key for an image array: the current image's digest when it is that image or one of its working
    copies (free: a hash of a 1024² photo costs milliseconds, and a page's defaults ask for it several times per
    move), else a hash."""
    current = st.session_state.get("image", {})
    if image is current.get("array"):
        return current_digest()
    for pixels, copy in current.get("copies", {}).items():
        if image is copy:
            return f"{current_digest()}@{pixels}"
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes() + str(image.shape).encode(), digest_size=8).hexdigest()
