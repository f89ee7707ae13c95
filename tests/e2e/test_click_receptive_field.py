"""Point and see, in Chromium: a click on the receptive-field page's last feature map picks that neuron; the field
the page then states is checked against cnn_core, computed here for the same sample image and default stack."""

from __future__ import annotations

import re

import pytest

from cnn_core.image import load_image
from cnn_core.receptive_field import input_box, receptive_field
from cnn_core.rf_layers import output_shapes
from cnn_core.rf_presets import PRESETS

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")

from conftest import IDLE, ROOT, open_app  # noqa: E402  (fixtures: server, browser)

IMAGE = load_image((ROOT / "assets" / "scene.png").read_bytes())  # the default sample
STACK = PRESETS["conv_pool_conv"]  # the default preset
H, W = output_shapes(STACK, IMAGE.shape[:2])[-1]  # the last map, the one the student clicks


def slider_value(page, key: str) -> int:
    return int(float(page.locator(f'.st-key-{key} input[type="range"]').first.input_value()))


def test_a_click_on_the_last_map_picks_that_neuron_and_its_field(browser, server):
    page = open_app(browser, server, "receptive_field")
    page.get_by_text(re.compile(r"^Neuron \(\d+, \d+\) sees rows")).first.wait_for(timeout=90_000)
    page.wait_for_selector(IDLE)
    before = slider_value(page, "rf_row"), slider_value(page, "rf_col")
    chart = page.locator('[class*="st-key-rf_map_click"] .cnnlab-cm').first
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = chart.bounding_box()
    page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + 0.2 * box["height"])
    page.wait_for_function("([old]) => { const s = document.querySelector('.st-key-rf_col input[type=range]');"
                           " return s && Number(s.value) !== old; }", arg=[before[1]], timeout=60_000)
    page.wait_for_selector(IDLE)
    page.wait_for_timeout(500)
    row, col = slider_value(page, "rf_row"), slider_value(page, "rf_col")
    block = -(-max(H, W) // 48)  # at most 48 cells a side (fewer on a narrow chart); a click lands on a centre
    assert abs(row - 0.2 * H) <= 1.5 * block and abs(col - 0.8 * W) <= 1.5 * block and (row, col) != before
    field = input_box(receptive_field(STACK)[-1], row, col)
    stated = page.get_by_text(re.compile(rf"^Neuron \({row}, {col}\) sees rows")).first.inner_text()
    assert f"rows {field.top}–{field.bottom - 1} and columns {field.left}–{field.right - 1}" in stated
    assert f"a {field.height}×{field.width} field" in stated
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()
