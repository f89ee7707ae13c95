"""The download popover under the experiment: it lists the pictures the page shows, with the right files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from harness import open_page
from PIL import Image

from ui.downloads import encode, short_name


def popovers(node, label: str) -> list:
    found = []
    for child in getattr(node, "children", {}).values():
        proto = getattr(child, "proto", None)
        if type(child).__name__ == "Block" and proto is not None and proto.WhichOneof("type") == "popover" \
                and proto.popover.label == label:
            found.append(child)
        found.extend(popovers(child, label))
    return found


def download_popover(at, lang: str = "en"):
    found = popovers(at._tree, {"en": "Download", "zh": "下载"}[lang])
    assert len(found) == 1, f"one download popover expected, found {len(found)}"
    return found[0]


def files(popover) -> list[str]:
    return [button.proto.label for button in popover.get("download_button")]


def open_downloads(at, topic: str, lang: str = "en"):
    """The popover opened (as a click does: its state set, a rerun): its content is drawn only while open."""
    closed = download_popover(at, lang)
    assert not closed.selectbox and not closed.get("download_button")  # closed: nothing drawn, nothing to pay
    at.session_state[f"_downloads_open_{topic}"] = True
    at.run()
    assert not at.exception, at.exception
    return download_popover(at, lang)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_stride_padding_lists_its_two_pictures(lang):
    at = open_page("stride_padding", lang)
    popover = open_downloads(at, "stride_padding", lang)
    shown = [short_name(caption) for image in at.main.get("image") for caption in image.captions if caption]
    assert len(shown) == 2  # the input and the output on the image (the step-through is drawn by the browser)
    assert popover.selectbox[0].options == shown
    assert files(popover) == ["PNG", "CSV", ".npy"]  # the maps behind the pictures, not only the pictures


def test_stride_padding_downloads_the_whole_output_not_the_thinned_picture():
    at = open_page("stride_padding", "en")
    at.session_state.sp_stride = 2
    at.run()
    image = at.session_state.image["array"]
    H, W = image.shape[:2]
    OH, OW = (H - 3) // 2 + 1, (W - 3) // 2 + 1  # kernel 3, stride 2, no padding
    before, after = at.session_state["_downloads"].items.values()
    assert np.load(io.BytesIO(encode(before, "npy"))).shape == (H, W)
    assert Image.open(io.BytesIO(encode(after, "png"))).size == (OW, OH)  # shown thinned to the column, kept whole


def test_convolution_lists_every_kernel_and_its_feature_map_with_numbers():
    at = open_page("convolution", "en")
    popover = open_downloads(at, "convolution")
    options = popover.selectbox[0].options
    kernels = at.session_state.conv_kernels
    assert len(kernels) >= 2
    maps = [o for o in options if ": feature map" in o]
    assert len(maps) == len(kernels) and len(set(maps)) == len(maps)  # one per kernel, each told apart by name
    assert options[0] == "Edge detector [1, −1]" and files(popover) == ["PNG", "CSV", ".npy"]  # a kernel's numbers
    picture = next(o for o in options if o.startswith("The kernel's window for output"))
    key = list(at.session_state["_downloads"].items)[options.index(picture)]  # the option's value: a registry key
    popover.selectbox[0].set_value(key).run()
    assert not at.exception
    popover = download_popover(at)
    assert popover.selectbox[0].value == key
    assert files(popover) == ["PNG", ".npy"]  # a picture has no CSV


def test_another_page_does_not_list_the_last_pages_pictures():
    at = open_page("convolution", "en")
    assert open_downloads(at, "convolution").selectbox[0].options
    at.switch_page("pages/stride_padding.py").run()
    assert not at.exception
    assert all(": feature map" not in o for o in open_downloads(at, "stride_padding").selectbox[0].options)
