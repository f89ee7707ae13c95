"""Classroom behaviour in Chromium at a laptop's 1366×768: a Try-it brings the experiment into view and outlines
it; a copied link (settings in the address) reproduces the view in a fresh browser."""

from __future__ import annotations

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from conftest import IDLE  # noqa: E402


def test_try_it_scrolls_to_the_experiment_and_a_link_reproduces_it(browser, server):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{server}/stride_padding?lang=en&step=2")
    page.wait_for_selector(IDLE, timeout=90_000)
    anchor = page.locator("#cnnlab-experiment")
    assert anchor.evaluate("e => e.getBoundingClientRect().top") > 600  # at the bottom edge or below, before the click
    page.get_by_role("button", name="▶ ").first.click()
    page.wait_for_selector(".cnnlab-flash", timeout=30_000)
    page.wait_for_timeout(1200)  # the smooth scroll
    top = anchor.evaluate("e => e.getBoundingClientRect().top")
    assert -50 <= top <= 400, top  # the experiment is now where the student is looking
    page.wait_for_selector(IDLE)
    address = page.url
    assert "sp_stride=2" in address  # the Try-it's settings are in the link
    page.close()

    fresh = browser.new_context().new_page()  # another student: a new session, nothing shared but the link
    fresh.set_viewport_size({"width": 1366, "height": 768})
    fresh.goto(address)
    fresh.wait_for_selector(IDLE, timeout=90_000)
    stride = fresh.locator('[data-testid="stSlider"]').filter(has_text="Stride S")
    assert "2" in stride.inner_text()
    assert fresh.locator('[data-testid="stException"]').count() == 0
    fresh.close()
