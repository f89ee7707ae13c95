"""Every page built on the scaffold, shaken with its declared extremes; links and page switches keep settings."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from harness import open_page, texts
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from test_page_scaffold import SCAFFOLDED, load_page  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("topic", SCAFFOLDED)
@pytest.mark.parametrize("end", [0, 1])
def test_every_control_at_its_extremes(topic, end):
    """All controls at one end of their range at once (then the other end): a sentence, never an exception."""
    at = open_page(topic, "en")
    image = at.session_state.image["array"]
    for key, control in load_page(topic).controls.items():
        at.session_state[key] = control.extremes(image)[end]
    at.run()
    assert not at.exception, at.exception
    assert "Traceback" not in texts(at)


def test_a_link_reproduces_the_settings_and_a_page_switch_keeps_them():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(lang="en")
    at.run()
    at.switch_page("pages/stride_padding.py")
    at.query_params.update(sp_kernel="7", sp_stride="2", sp_padding="3", sp_mode="reflect", sp_dilation="oops")
    at.run()
    assert not at.exception, at.exception
    state = at.session_state
    assert (state.sp_kernel, state.sp_stride, state.sp_padding, state.sp_mode, state.sp_dilation) == (7, 2, 3, "reflect", 1)
    at.switch_page("pages/pooling.py").run()
    at.switch_page("pages/stride_padding.py").run()
    assert not at.exception, at.exception
    assert (at.session_state.sp_kernel, at.session_state.sp_stride) == (7, 2)


def test_a_moved_control_goes_into_the_address_bar_and_a_default_leaves_it():
    at = open_page("stride_padding", "en")
    at.slider(key="sp_stride").set_value(3).run()
    assert at.query_params.get("sp_stride") in ("3", ["3"])
    at.slider(key="sp_stride").set_value(1).run()
    assert "sp_stride" not in at.query_params


def test_presentation_mode_lasts_across_pages_and_the_share_link_carries_the_settings():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(lang="en", present="1")
    at.run()
    at.switch_page("pages/stride_padding.py").run()
    assert not at.exception, at.exception
    assert at.query_params.get("present") in ("1", ["1"])
    at.slider(key="sp_kernel").set_value(5).run()
    # The link popover shows the address bar itself (ui/components/link.js, tested in Chromium): it must carry both.
    assert at.query_params.get("sp_kernel") in ("5", ["5"]) and at.query_params.get("present") in ("1", ["1"])


def test_a_try_it_scrolls_to_the_experiment():
    at = open_page("stride_padding", "en")
    try_it = next(button for button in at.button if button.key and button.key.startswith("try_"))
    try_it.click().run()
    assert not at.exception, at.exception
    assert "_tried_it" not in at.session_state  # consumed: the focus component was drawn this run
    assert at.session_state["_focus_count"] == 1


def test_a_lesson_keeps_its_step_when_the_student_comes_back_from_another_page():
    at = open_page("stride_padding", "en")
    for _ in range(2):
        at.button(key="next_stride_padding").click().run()
    assert at.query_params.get("step") in ("3", ["3"])
    at.query_params.pop("step")  # a page switch in the browser empties the address (AppTest keeps it)
    at.switch_page("pages/pooling.py").run()
    assert not at.exception, at.exception
    assert any("Step 1 of" in caption.value for caption in at.caption)  # another lesson, at its own start
    at.query_params.pop("step", None)
    at.switch_page("pages/stride_padding.py").run()
    assert not at.exception, at.exception
    assert any("Step 3 of" in caption.value for caption in at.caption)
    assert at.query_params.get("step") in ("3", ["3"])  # and in the address again, for a copied link


def test_a_working_copy_is_the_area_average_of_the_image_and_keeps_its_own_cache_key():
    """Page(pixels=…): an image with more pixels is shrunk by area averaging (a quarter of the pixels: each new
    pixel is the mean of a 2 × 2 block), never by skipping pixels; a small image is the image itself."""
    from ui import image_source

    image = np.random.default_rng(3).random((8, 12, 3), dtype=np.float32)
    copy = image_source._shrunk("test-digest", 8 * 12 // 4, image)
    assert copy.shape == (4, 6, 3)
    np.testing.assert_allclose(copy, image.reshape(4, 2, 6, 2, 3).mean(axis=(1, 3)), atol=1e-6)
    assert not copy.flags.writeable  # shared by every student on this image: read-only

    at = open_page("pooling", "en")
    sample = at.session_state.image
    assert "copies" not in sample and "copy of it" not in texts(at)  # the 512 × 768 sample is worked on as it is
