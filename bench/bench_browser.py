"""Benchmark: slider → updated picture in Debian's Chromium (Playwright), on the real server.

Moves the convolution page's bias slider one step at a time and times, in the browser, how long it takes until
the first feature map's picture has changed and the app is idle again. Prints figures, not pass/fail.
Run: .venv/bin/python bench/bench_browser.py  (target, issue 2: ≤ 300 ms median)
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from playwright.sync_api import sync_playwright  # noqa: E402
from test_browser import CHROMIUM, CHROMIUM_ARGS, IDLE, free_port  # noqa: E402

# The first feature map: the first picture whose caption says "feature map".
FIRST_MAP_SRC = """() => { for (const figure of document.querySelectorAll('[data-testid=stImage]')) {
    if (figure.innerText.includes('feature map')) return figure.querySelector('img').getAttribute('src'); }
    return null; }"""


def main(moves: int = 15) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(4)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/convolution?lang=en")
            page.wait_for_selector(IDLE, timeout=60_000)
            thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Bias b").locator('input[type="range"]')
            times = []
            for move in range(moves):
                before = page.evaluate(FIRST_MAP_SRC)
                thumb.focus()
                start = time.perf_counter()
                thumb.press("ArrowRight" if move % 2 == 0 else "ArrowLeft")
                page.wait_for_function(f"old => ({FIRST_MAP_SRC})() !== old", arg=before, timeout=30_000)
                page.wait_for_selector(IDLE)
                times.append(time.perf_counter() - start)
            browser.close()
        print(f"Chromium, convolution page (sample image, 3 kernels): bias slider → new feature map, "
              f"median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms over {moves} moves (target ≤ 300 ms median)")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
