"""The drawing pad of "A whole CNN" in Chromium: draw a digit with the mouse → the server reduces it to 8×8 and the
network's answer appears; Clear empties the pad again. The pad is our own components-v2 element (HTML + JS)."""

from __future__ import annotations

import math

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from conftest import IDLE, open_app  # noqa: E402


def draw(page, canvas, points) -> None:
    """One stroke with the mouse through `points`, given in canvas pixels (0–224)."""
    canvas.scroll_into_view_if_needed()  # the mouse only reaches what is on screen
    box = canvas.bounding_box()
    scale = box["width"] / 224
    x0, y0 = points[0]
    page.mouse.move(box["x"] + x0 * scale, box["y"] + y0 * scale)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=3)
    page.mouse.up()


def test_draw_a_zero_and_see_the_answer_then_clear(browser, server):
    page = open_app(browser, server, "whole_cnn?wc_source=draw", "en")
    page.get_by_text("Draw a digit on the pad").wait_for(timeout=90_000)
    canvas = page.locator(".draw-canvas canvas")  # Playwright's CSS locators reach into the shadow root
    canvas.wait_for(timeout=30_000)
    ring = [(112 + 40 * math.sin(a / 20 * 2 * math.pi), 112 - 80 * math.cos(a / 20 * 2 * math.pi)) for a in range(21)]
    draw(page, canvas, ring)
    answer = page.get_by_text("The network says")
    answer.wait_for(timeout=60_000)
    page.wait_for_selector(IDLE)
    assert answer.inner_text().startswith("The network says 0"), answer.inner_text()
    assert page.get_by_text("The 32×32 bitmap").count() == 1  # the reduction is shown
    assert page.locator('[data-testid="stException"]').count() == 0
    page.locator(".draw-canvas .clear").click()
    page.get_by_text("Draw a digit on the pad").wait_for(timeout=60_000)
    page.close()
