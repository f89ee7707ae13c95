"""Point and see, in Chromium: a click on a feature map (or the picture) makes that cell the convolution page's
worked example; a click on the pooled output explains which input won. The numbers the page then shows are checked
against cnn_core, computed here from the same sample image."""

from __future__ import annotations

import re

import pytest

from cnn_core.explain import conv_example, planes_of, pooling_input, window_of
from cnn_core.image import load_image
from cnn_core.kernels import KERNELS
from cnn_core.pool import max_pool2d_with_indices
from cnn_core.render import format_number

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")

from conftest import IDLE, ROOT, open_app  # noqa: E402  (fixtures: server, browser)

IMAGE = load_image((ROOT / "assets" / "scene.png").read_bytes())  # the default sample
H, W = IMAGE.shape[:2]


def plot(page, key: str):
    """The canvas of the clickable chart whose widget key starts with `key` (the page appends a number to it)."""
    return page.locator(f'[class*="st-key-{key}"] [data-testid="stVegaLiteChart"] canvas').first


def click_at(page, key: str, fy: float, fx: float, aspect: float) -> None:
    """Click at (fy, fx) of the map: the plot starts at the canvas' top left, `aspect` = map height / width."""
    area = plot(page, key)
    area.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = area.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["width"] * aspect)


def number(page, key: str) -> int:
    return int(page.locator(f".st-key-{key} input").input_value())


def wait_for_change(page, key: str, old: int) -> int:
    page.wait_for_function("([key, old]) => { const box = document.querySelector('.st-key-' + key + ' input');"
                           " return box && Number(box.value) !== old; }", arg=[key, old], timeout=60_000)
    page.wait_for_selector(IDLE)
    page.wait_for_timeout(300)
    return number(page, key)


def test_a_click_on_a_feature_map_becomes_the_worked_example(browser, server):
    page = open_app(browser, server, "convolution")
    page.get_by_text(re.compile("holds .* at this position")).first.wait_for(timeout=60_000)  # the first run is over
    page.wait_for_selector(IDLE)
    before = number(page, "conv_row")
    click_at(page, "conv_map_sobel_x_0", 0.30, 0.60, H / W)  # the Sobel x map: it becomes the explained kernel too
    row = wait_for_change(page, "conv_row", before)
    col = number(page, "conv_col")
    block = -(-max(H, W) // (270 // 4))  # grid cells of ≥ 4 screen px on a 270-px map; a click lands on a centre
    assert abs(row - 0.30 * H) <= 1.5 * block and abs(col - 0.60 * W) <= 1.5 * block
    example = conv_example(planes_of(IMAGE, "gray")[0], KERNELS["sobel_x"], row, col)
    holds = float(re.search(r"holds (-?[\d.]+) at this position", page.get_by_text("holds").first.inner_text()).group(1))
    assert holds == pytest.approx(example.total, abs=1e-4)
    sums = page.locator("annotation").evaluate_all("nodes => nodes.map(n => n.textContent)")  # KaTeX keeps the TeX
    assert any(f"= {example.total:.4f}" in tex for tex in sums)
    for product in example.products.ravel():  # every product of the patch is written out
        assert page.get_by_text(format_number(product, 3), exact=True).count()
    assert page.locator('[data-testid="stException"]').count() == 0
    # A click on the picture moves the example there as well.
    before = number(page, "conv_col")
    click_at(page, "conv_image", 0.5, 0.2, H / W)
    col = wait_for_change(page, "conv_col", before)
    assert abs(col - 0.2 * W) <= 1.5 * block and abs(number(page, "conv_row") - 0.5 * H) <= 1.5 * block
    page.close()


def test_a_click_on_the_pooled_output_shows_which_input_won(browser, server):
    page = open_app(browser, server, "pooling")
    caption = page.get_by_text(re.compile(r"^Check: the pooled output holds"))
    caption.wait_for(timeout=60_000)
    page.wait_for_selector(IDLE)
    old = caption.inner_text()
    click_at(page, "pool_output_click", 0.25, 0.75, H / W)  # default: 2×2 max pooling, stride 2, gray
    page.wait_for_function("old => Array.from(document.querySelectorAll('[data-testid=stCaptionContainer]'))"
                           ".some(c => c.innerText.startsWith('Check: the pooled output') && c.innerText !== old)",
                           arg=old, timeout=60_000)
    page.wait_for_selector(IDLE)
    match = re.search(r"holds (-?[\d.e-]+) at \((\d+), (\d+)\)", caption.inner_text())
    value, i, j = float(match.group(1)), int(match.group(2)), int(match.group(3))
    OH, OW = H // 2, W // 2
    block = -(-max(OH, OW) // (200 // 4))  # the 200-px output chart
    assert abs(i - 0.25 * OH) <= 1.5 * block and abs(j - 0.75 * OW) <= 1.5 * block
    Y, indices = max_pool2d_with_indices(pooling_input(IMAGE, "gray", "sobel_x"), 2, 2)
    assert value == pytest.approx(float(Y[0, 0, i, j]), abs=5e-5)
    assert page.get_by_text(f"flat index {int(indices[0, 0, i, j])}").count() == 1  # the winner, as torch records it
    # The explained output follows its input pixel: the window of (i, j) holds the pixel the page now explains.
    assert window_of(2 * i, 2, 2, 0, OH) == i
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()
