"""End to end: the real server in Debian's Chromium, driven by Playwright.

Uploads an image through the sidebar, moves the stride slider on the stride & padding page, waits for the
rerun and checks the output shape shown changed; then saves a screenshot of every page in both languages
(docs/screenshots/, untracked; scripts/readme_screenshot.sh refreshes the README picture from them).
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from ui.catalog import HOME
from ui.catalog import PAGES as ALL_PAGES

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")

from conftest import CHROMIUM, IDLE, ROOT, SHOTS, open_app  # noqa: E402, F401  (fixtures: server, browser)

PAGES = tuple("" if topic == HOME else topic.name for topic in ALL_PAGES)  # "" is the home page


def upload_image(page) -> None:
    picture = np.zeros((90, 150, 3), np.uint8)
    picture[:, 75:] = (255, 255, 255)
    picture[30:60, 20:50] = (220, 30, 30)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=re.compile("Upload")).click()
    page.wait_for_selector(IDLE)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "stripes.png", "mimeType": "image/png", "buffer": buffer.getvalue()}])
    page.get_by_text("90 × 150 pixels").wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)


def test_upload_then_move_the_stride_slider(browser, server):
    page = open_app(browser, server, "stride_padding")
    upload_image(page)
    shape = page.get_by_text(re.compile(r"Input 90 × 150 → output"))
    assert "output 88 × 148" in shape.inner_text()
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Stride S").locator('input[type="range"]')
    thumb.focus()
    thumb.press("ArrowRight")  # stride 1 → 2
    page.get_by_text(re.compile(r"output 44 × 74")).wait_for(timeout=30_000)
    page.wait_for_selector(IDLE)
    assert "output 44 × 74" in shape.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_screenshot_every_page(browser, server, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for path in PAGES:
        if path and not (ROOT / "pages" / f"{path}.py").exists():
            continue
        page = open_app(browser, server, path, lang)
        assert page.locator('[data-testid="stException"]').count() == 0, f"exception on /{path} ({lang})"
        if path == "convolution" and lang == "en":  # scripts/readme_screenshot.sh copies it into docs/ for the README
            page.screenshot(path=str(SHOTS / "readme_convolution_en.png"))
        # Streamlit scrolls inside its main block, so "full page" is the viewport: make it as tall as the content.
        height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
        page.set_viewport_size({"width": 1400, "height": min(int(height) + 50, 16000)})
        page.wait_for_timeout(500)
        page.wait_for_selector(IDLE)
        page.screenshot(path=str(SHOTS / f"{path or 'home'}_{lang}.png"))
        page.close()


def test_switching_language_keeps_choices_and_shows_them_translated(browser, server):
    """A select box's browser state is its label: after a language switch the browser sends the old label back.
    The choice must survive, be shown in the new language, and switching back must not break anything."""
    page = open_app(browser, server, "stride_padding")
    boxes = page.locator('[data-testid="stSelectbox"]')
    boxes.nth(0).click()
    page.get_by_role("option", name="Sample: shapes (sharp edges)").click()
    page.wait_for_selector(IDLE)
    boxes.nth(1).click()
    page.get_by_role("option", name="replicate").click()
    page.wait_for_selector(IDLE)

    def shown():
        return [box.get_attribute("value") for box in page.locator('[data-testid="stSelectbox"] input').all()]

    page.get_by_text("简体中文").click()
    page.get_by_text("当前图像").wait_for()
    page.wait_for_selector(IDLE)
    assert shown() == ["示例：几何图形（边缘清晰）", "复制填充"]
    assert "512 × 512" in page.get_by_text("当前图像").inner_text()  # still the shapes image, not the default
    page.get_by_text("English").click()
    page.get_by_text("Current image").wait_for()
    page.wait_for_selector(IDLE)
    assert shown() == ["Sample: shapes (sharp edges)", "replicate"]
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()


def test_a_page_keeps_its_settings_and_lesson_step_when_the_student_comes_back(browser, server):
    """Stride & padding at kernel 5, lesson step 2 → the pooling page → back: both are as the student left them."""
    page = open_app(browser, server, "stride_padding")
    slider = page.locator('.st-key-sp_kernel input[type="range"]')
    slider.focus()
    page.keyboard.press("ArrowRight")  # 3 → 4
    page.keyboard.press("ArrowRight")  # 4 → 5
    page.wait_for_function("() => location.search.includes('sp_kernel=5')", timeout=30_000)
    page.wait_for_selector(IDLE)
    page.locator('[class*="st-key-next_stride_padding"] button').click()
    page.wait_for_function("() => location.search.includes('step=2')", timeout=30_000)
    page.wait_for_selector(IDLE)
    page.locator('[data-testid="stSidebarNav"] a[href$="/pooling"]').click()
    page.wait_for_function("() => location.pathname.endsWith('/pooling')", timeout=30_000)
    page.wait_for_selector(IDLE)
    page.locator('[data-testid="stSidebarNav"] a[href$="/stride_padding"]').click()
    page.wait_for_function("() => location.pathname.endsWith('/stride_padding')", timeout=30_000)
    page.wait_for_selector(IDLE)
    page.wait_for_timeout(500)
    assert slider.input_value() == "5"
    assert "Step 2 of" in page.locator('[data-testid="stMain"]').inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()
