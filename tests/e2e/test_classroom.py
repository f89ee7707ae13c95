"""Classroom behaviour in Chromium at a laptop's 1366×768: a Try-it brings the figure it changed into view and
outlines it (the experiment's start when no figure changed), in presentation mode too; a copied link (settings in
the address) reproduces the view in a fresh browser."""

from __future__ import annotations

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from conftest import IDLE  # noqa: E402

WIDTH, HEIGHT = 1366, 768
TRY_IT = '[class*="st-key-try_"] button'
FIGURES = '[data-testid="stImage"], [data-testid="stVegaLiteChart"], .cnnlab-cm'

# Run in the page before a click: what every figure shows (a picture's src; a chart's pixels, in full, or its SVG),
# and a record of every element that gets the outline (.cnnlab-flash) afterwards, with its place when outlined.
WATCH = """figures => {
  const show = e => { const img = e.querySelector('img'), canvas = e.querySelector('canvas'), svg = e.querySelector('svg');
    if (e.matches('.cnnlab-cm')) return 'map ' + img.src + ' ' + e.querySelector('.cnnlab-cm-boxes').innerHTML;
    return img ? 'img ' + img.src : canvas ? 'canvas ' + canvas.toDataURL() : svg ? 'svg ' + svg.outerHTML : null; };
  window.__show = show;
  window.__before = new Set([...document.querySelectorAll(figures)].map(show));
  window.__outlined = [];
  new MutationObserver(records => { for (const { target } of records) {
    if (target.classList.contains('cnnlab-flash') && !window.__outlined.includes(target)) window.__outlined.push(target);
  } }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['class'] });
}"""
OUTLINED_FIGURE = f"() => window.__outlined.some(e => e.matches('{FIGURES}'))"
STILL = """async e => { let top = null;  // the smooth scroll is over: the element stays put for 300 ms
  for (let i = 0; i < 60; i++) { const now = e.getBoundingClientRect().top; if (now === top) return; top = now;
    await new Promise(r => setTimeout(r, 300)); } }"""


def console_errors(page) -> list[str]:
    """Errors in the browser's console and uncaught exceptions, except resources that cannot load offline (the
    favicon from Google's fonts) or that Streamlit probes under the page's path (health, host-config)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text
            else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def open_step(browser, server, path: str):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    errors = console_errors(page)
    page.goto(f"{server}/{path}")
    page.wait_for_selector(IDLE, timeout=90_000)
    page.wait_for_timeout(1500)  # charts drawn, pictures loaded
    return page, errors


def try_it(page, number: int = 0):
    """Click the step's Try-it `number`; return the figure that got the outline (after the scroll)."""
    page.evaluate(WATCH, FIGURES)
    page.locator(TRY_IT).nth(number).click()
    page.wait_for_function(OUTLINED_FIGURE, timeout=30_000)
    figure = page.evaluate_handle(f"() => window.__outlined.find(e => e.matches('{FIGURES}'))").as_element()
    figure.evaluate(STILL)
    return figure


def assert_changed_and_in_view(figure) -> None:
    assert figure.evaluate("e => !window.__before.has(window.__show(e))"), "the outlined figure did not change"
    top, bottom = figure.evaluate("e => [e.getBoundingClientRect().top, e.getBoundingClientRect().bottom]")
    assert 0 <= top and (bottom <= HEIGHT or top <= 0.2 * HEIGHT), (top, bottom)  # whole, or from its top if tall


def test_try_it_shows_the_picture_it_changed_and_a_link_reproduces_it(browser, server):
    page, errors = open_step(browser, server, "stride_padding?lang=en&step=2")
    anchor = page.locator("#cnnlab-experiment")
    assert anchor.evaluate("e => e.getBoundingClientRect().top") > 600  # at the bottom edge or below, before the click
    figure = try_it(page)  # stride 2
    assert figure.evaluate("e => e.matches('[data-testid=\"stImage\"]')")  # the output on the image, drawn again
    assert_changed_and_in_view(figure)
    page.wait_for_selector(IDLE)
    assert not errors, errors
    address = page.url
    assert "sp_stride=2" in address  # the Try-it's settings are in the link
    page.close()

    fresh = browser.new_context().new_page()  # another student: a new session, nothing shared but the link
    fresh.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    fresh.goto(address)
    fresh.wait_for_selector(IDLE, timeout=90_000)
    stride = fresh.locator('[data-testid="stSlider"]').filter(has_text="Stride S")
    assert "2" in stride.inner_text()
    assert fresh.locator('[data-testid="stException"]').count() == 0
    fresh.close()


def test_try_it_in_presentation_mode_shows_the_map_it_changed_or_else_the_experiment(browser, server):
    page, errors = open_step(browser, server, "convolution?lang=en&step=6&present=1")
    figure = try_it(page)  # [1, −1], Sobel x and Sobel y: new feature maps (clickable charts)
    assert_changed_and_in_view(figure)
    page.wait_for_selector(IDLE)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.locator('[data-testid="stMain"]').evaluate("e => e.scrollTo(0, 0)")
    page.wait_for_timeout(500)

    page.evaluate(WATCH, FIGURES)  # the same Try-it again changes nothing: the experiment's start is shown
    page.locator(TRY_IT).first.click()
    page.wait_for_function("() => window.__outlined.length > 0", timeout=30_000)
    outlined = page.evaluate_handle("() => window.__outlined[0]").as_element()
    assert outlined.evaluate("e => e.textContent.includes('Experiment')")  # the heading the experiment starts with
    outlined.evaluate(STILL)
    top = page.locator("#cnnlab-experiment").evaluate("e => e.getBoundingClientRect().top")
    assert -50 <= top <= 200, top
    page.wait_for_selector(IDLE)
    assert not errors, errors
    page.close()


def test_the_link_shows_the_address_after_the_lesson_and_the_experiment_moved_on_their_own(browser, server):
    """The lesson and the experiment rerun apart (fragments); the link must still carry the step and every setting."""
    page, errors = open_step(browser, server, "stride_padding?lang=en&sp_kernel=5&step=1")
    page.locator('[class*="st-key-next_stride_padding"] button').click()  # the lesson alone reruns
    page.wait_for_function("() => location.search.includes('step=2')", timeout=30_000)
    page.wait_for_selector(IDLE)
    page.get_by_role("button", name="Link").click()
    fields = page.locator(".cnnlab-link input")
    fields.first.wait_for(timeout=10_000)
    page.wait_for_timeout(800)  # the field follows the address bar within 0.7 s
    link, presenting = fields.nth(0).input_value(), fields.nth(1).input_value()
    assert "sp_kernel=5" in link and "step=2" in link and "present=1" not in link, link
    assert "sp_kernel=5" in presenting and "present=1" in presenting, presenting
    page.locator(".cnnlab-link button").first.click()  # copying never fails loudly (plain http: select + copy)
    page.wait_for_timeout(300)
    assert page.locator(".cnnlab-link button").first.inner_text() in ("Copied", "Selected: press Ctrl+C")
    assert not errors, errors
    page.close()
