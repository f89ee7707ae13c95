"""The stride & padding step-through in Chromium: click an output cell → its window's arithmetic (checked against
cnn_core); play moves the window with no rerun; pause reports the position back to the server, so the next
rerun (here: a language switch) draws the window where the student left it."""

from __future__ import annotations

import re

import numpy as np
import pytest

playwright = pytest.importorskip("playwright.sync_api")

from conftest import IDLE, open_app  # noqa: E402

from cnn_core.conv import pad2d  # noqa: E402
from cnn_core.windows import step_through, window_cells  # noqa: E402

GRID = (np.arange(32 * 32).reshape(32, 32) * 7 % 10).astype(np.float32)[:7, :7]  # the page's 7 × 7 grid


def stepper(page):
    return page.locator(".stepper")


def test_click_a_cell_then_play_and_pause(browser, server):
    page = open_app(browser, server, "stride_padding?sp_kernel=3&sp_stride=2&sp_padding=1", "en")
    box = stepper(page)
    box.wait_for(timeout=90_000)
    padded = pad2d(GRID, (1, 1, 1, 1), "zeros")
    sums, _ = step_through(padded, 3, 2, 1)
    assert sums.shape == (4, 4)
    box.locator(".cell.out").nth(1 * 4 + 2).click()  # output (1, 2)
    terms = " + ".join(f"{padded[r, c]:g}" for r, c in window_cells(1, 2, 3, 2, 1))
    expected = f"Output (1, 2) = {terms} = {sums[1, 2]:g}"
    assert box.locator(".sum").inner_text() == expected
    assert len(box.locator(".cell.win").all()) == 9
    page.wait_for_selector(IDLE)

    box.locator(".speed").select_option("120")
    box.locator(".play").click()
    page.wait_for_timeout(700)
    box.locator(".play").click()  # pause
    where = box.locator(".where").inner_text()
    reached = int(re.match(r"(\d+) /", where).group(1)) - 1
    assert reached > 6, where  # the window moved on by itself
    page.wait_for_selector(IDLE)
    page.get_by_text("简体中文").click()  # a full rerun: the server draws the stepper from the position it was sent
    page.get_by_text("播放").wait_for(timeout=60_000)
    page.wait_for_selector(IDLE)
    assert box.locator(".where").inner_text().startswith(f"{reached + 1} /")
    assert page.locator('[data-testid="stException"]').count() == 0
    page.close()
