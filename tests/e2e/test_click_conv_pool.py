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
    """The clickable map (ui/components/clickmap.js) whose key starts with `key`."""
    return page.locator(f'[class*="st-key-{key}"] .cnnlab-cm').first


def click_at(page, key: str, fy: float, fx: float, aspect: float) -> None:
    """Click at (fy, fx) of the map, which is exactly the picture: `aspect` (map height / width) is checked."""
    area = plot(page, key)
    area.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = area.bounding_box()
    assert box["height"] == pytest.approx(box["width"] * aspect, abs=1.5)  # drawn at the map's own proportions
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


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
    crop = page.get_by_text(re.compile(r"^Input, a \d+ × \d+ crop at row"))  # the closer look's zoomed crop
    old_crop = crop.inner_text()
    click_at(page, "pool_output_click", 0.25, 0.75, H / W)  # default: 2×2 max pooling, stride 2, gray
    page.wait_for_function("old => Array.from(document.querySelectorAll('[data-testid=stCaptionContainer]'))"
                           ".some(c => c.innerText.startsWith('Check: the pooled output') && c.innerText !== old)",
                           arg=old, timeout=60_000)
    page.wait_for_selector(IDLE)
    assert crop.inner_text() != old_crop  # the click moved the zoomed crop there too (same fragment)
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


def test_hover_reads_a_cell_without_a_rerun_and_the_keyboard_picks_one(browser, server):
    """Under the pointer the map names the cell and its value (the block's mean, as cnn_core computes it), with no
    run of the script; the arrow keys move that cursor and Enter makes the cell the worked example."""
    from cnn_core.render import area_mean

    page = open_app(browser, server, "convolution")
    page.get_by_text(re.compile("holds .* at this position")).first.wait_for(timeout=60_000)
    page.wait_for_selector(IDLE)
    area = plot(page, "conv_map_diff_x_0")
    area.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = area.bounding_box()
    page.evaluate("() => { window.__runs = 0; new MutationObserver(() => { if (document.querySelector("
                  "'[data-testid=stApp][data-test-script-state=running]')) window.__runs++; })"
                  ".observe(document.body, { subtree: true, attributes: true }); }")
    page.mouse.move(box["x"] + 0.4 * box["width"], box["y"] + 0.7 * box["height"])
    tip = area.locator(".cnnlab-cm-tip")
    tip.wait_for(state="visible", timeout=5_000)
    page.wait_for_function("e => /value/.test(e.textContent)", arg=tip.element_handle(), timeout=5_000)
    row, col, value = re.fullmatch(r"row (\d+) · column (\d+) · value (-?[\d.]+)", tip.inner_text()).groups()
    row, col = int(row), int(col)
    block = -(-max(H, W) // (270 // 4))
    assert abs(row - 0.7 * H) <= 1.5 * block and abs(col - 0.4 * W) <= 1.5 * block
    gray = planes_of(IMAGE, "gray")[0]
    means = area_mean(_map(gray), block)
    assert float(value) == pytest.approx(float(means[row // block, col // block]), abs=2e-4)
    assert page.evaluate("window.__runs") == 0  # the hover ran nothing on the server
    # The keyboard: the cursor starts on the explained cell; one step right and Enter pick the next block.
    before_row, before_col = number(page, "conv_row"), number(page, "conv_col")
    page.mouse.move(0, 0)
    area.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    col = wait_for_change(page, "conv_col", before_col)
    assert col == min((before_col // block + 1) * block + block // 2, W - 1)
    assert number(page, "conv_row") == min(before_row // block * block + block // 2, H - 1)
    page.close()


def _map(gray):
    """The diff_x feature map of the sample ('same' zero padding), as the page computes it."""
    from cnn_core.explain import feature_maps

    return feature_maps(gray[None], KERNELS["diff_x"])[0]


def test_a_pooling_setting_moved_in_its_panel_brings_the_lesson_question_up_to_date(browser, server):
    """The pooling settings rerun their own panel (a fragment inside the experiment); the lesson's live question
    uses them, so the move must redraw the lesson too, or the question would ask about the old window."""
    from ui.lesson import load_lesson

    steps = len(load_lesson("pooling", "en").steps)
    page = open_app(browser, server, f"pooling?step={steps}")
    question = page.get_by_text(re.compile(r"With max pooling, window \d, stride \d, padding \d")).first
    question.wait_for(timeout=60_000)
    assert "window 2, stride 2, padding 0" in question.inner_text()
    thumb = page.locator('.st-key-pool_kernel input[type="range"]').first
    thumb.focus()
    thumb.press("ArrowRight")
    page.get_by_text("window 3, stride 2, padding 0").first.wait_for(timeout=60_000)
    page.wait_for_selector(IDLE)


def test_a_new_seed_in_the_collapse_panel_brings_the_lesson_question_up_to_date(browser, server):
    """Activations: the random layers' seed reruns its own panel, and the lesson question about W₂b₁ for that seed,
    when it is on screen, is asked again with the new seed."""
    from ui.lesson import load_lesson

    steps = load_lesson("activations", "en").steps
    step = next(n for n, s in enumerate(steps, start=1) if any(getattr(q, "live", None) == "act_w2b1_first"
                                                                for q in s.parts))
    page = open_app(browser, server, f"activations?step={step}")
    page.get_by_text("With the random layers on the page now (seed 0)").first.wait_for(timeout=60_000)
    page.locator(".st-key-act_collapse_seed button[data-testid=stNumberInputStepUp]").first.click()
    page.get_by_text("With the random layers on the page now (seed 1)").first.wait_for(timeout=60_000)
    page.wait_for_selector(IDLE)
