"""The app shell: navigation, language, the shared sidebar, uploads (good and refused)."""


import numpy as np
import pytest
from harness import open_page, png_bytes, texts


@pytest.mark.parametrize("lang, title", [("en", "CNN Lab"), ("zh", "CNN 实验室")])
def test_home_page_in_both_languages(lang, title):
    at = open_page("home", lang)
    assert at.title[0].value == title
    assert at.radio(key="lang").value == lang
    assert at.selectbox(key="image_source").value == "scene"
    assert len(at.sidebar.image) == 1  # the thumbnail of the current image


def test_switching_language_translates_the_page():
    at = open_page("home", "en")
    assert "Course map" in texts(at)
    at.radio(key="lang").set_value("zh").run()
    assert not at.exception
    assert "课程地图" in texts(at) and "Course map" not in texts(at)


def test_every_sample_image_loads_and_shows_its_size():
    at = open_page("home", "en")
    for sample in ("scene", "shapes", "digit", "texture"):
        at.selectbox(key="image_source").set_value(sample).run()
        assert not at.exception
        assert at.session_state.image["name"] == sample
        height, width, channels = at.session_state.image["array"].shape
        assert channels in (1, 3)
        assert f"{height} × {width}" in at.sidebar.image[0].proto.imgs[0].caption  # the thumbnail says its size
        assert at.query_params.get("image") in (sample, [sample]) or sample == "scene"  # a link names the sample


def test_a_link_names_the_sample_image():
    from harness import ROOT
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(lang="en", image="texture")
    at.run()
    assert not at.exception and at.session_state.image["name"] == "texture"
    at.query_params.update(image="no-such-sample")
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    fresh.query_params.update(lang="en", image="no-such-sample")
    fresh.run()
    assert not fresh.exception and fresh.session_state.image["name"] == "scene"


def test_an_old_language_label_for_the_sample_keeps_the_picture():
    at = open_page("home", "en")
    at.selectbox(key="image_source").set_value("digit").run()
    at.session_state["image_source"] = "Sample: handwritten digit"  # what a browser may send back after a switch
    at.run()
    assert not at.exception
    assert at.session_state.image["name"] == "digit" and at.selectbox(key="image_source").value == "digit"


def test_upload_replaces_the_image_and_a_refused_upload_keeps_it():
    at = open_page("home", "en")
    at.selectbox(key="image_source").set_value("upload").run()
    picture = np.zeros((40, 60, 3), np.uint8)
    picture[:, 30:] = 255
    at.file_uploader(key="upload_file").upload("stripes.png", png_bytes(picture), "image/png").run()
    assert not at.exception
    assert at.session_state.image["name"] == "stripes.png"
    assert at.session_state.image["array"].shape == (40, 60, 3)

    at.file_uploader(key="upload_file").upload("notes.png", b"this is not a picture at all", "image/png").run()
    assert not at.exception
    assert at.session_state.image["name"] == "stripes.png"  # the previous image stays
    assert len(at.sidebar.error) == 1 and "previous image" in at.sidebar.error[0].value
    assert "Traceback" not in at.sidebar.error[0].value


def test_switching_language_keeps_every_choice():
    """The browser sends a select box's old-language label on the switching rerun; the choice must survive it."""
    at = open_page("convolution", "en")
    at.selectbox(key="image_source").set_value("shapes").run()
    at.multiselect(key="conv_kernels").set_value(["sobel_y", "emboss"]).run()
    at.radio(key="conv_channels").set_value("rgb").run()
    at.radio(key="lang").set_value("zh").run()
    assert not at.exception
    assert at.session_state.image["name"] == "shapes"
    assert at.multiselect(key="conv_kernels").value == ["sobel_y", "emboss"]
    assert at.radio(key="conv_channels").value == "rgb"
    assert "Sobel y" in at.multiselect(key="conv_kernels").options and "浮雕" in at.multiselect(key="conv_kernels").options
    at.radio(key="lang").set_value("en").run()
    assert not at.exception and at.session_state.image["name"] == "shapes"


def test_the_app_runs_numpy_and_torch_on_one_thread_each():
    """Many sessions share few cores: a second BLAS thread per matrix product only spins (twice the CPU)."""
    import torch
    from threadpoolctl import threadpool_info

    open_page("home", "en")
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
    assert torch.get_num_threads() == 1
