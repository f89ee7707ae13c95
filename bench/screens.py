"""Full-page screenshots of chosen pages in Chromium, both languages, at several widths (for comparing by eye).

Not part of the suite (it writes PNGs, never tracked files). Run before and after changing a page:
  .venv/bin/python bench/screens.py --out /tmp/shots/before --pages convolution,pooling --widths 1400,390
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, free_port  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pages", default="convolution,pooling")
    parser.add_argument("--widths", default="1400,390")
    parser.add_argument("--langs", default="en,zh")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true", "--server.fileWatcherType", "none"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(4)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name in args.pages.split(","):
                for lang in args.langs.split(","):
                    for width in map(int, args.widths.split(",")):
                        page = browser.new_page(viewport={"width": width, "height": 1000})
                        page.goto(f"http://127.0.0.1:{port}/{name}?lang={lang}")
                        page.wait_for_selector(IDLE, timeout=120_000)
                        page.wait_for_timeout(1500)  # charts and pictures settle
                        # Streamlit scrolls inside its main block: make the viewport as tall as the content.
                        height, previous = 0, -1
                        while height != previous:  # pictures arriving late make the page taller
                            page.wait_for_timeout(700)
                            page.wait_for_selector(IDLE)
                            previous, height = height, page.evaluate(
                                "() => document.querySelector('[data-testid=stMain]').scrollHeight")
                        page.set_viewport_size({"width": width, "height": min(int(height) + 50, 16000)})
                        page.wait_for_timeout(800)
                        page.wait_for_selector(IDLE)
                        target = args.out / f"{name}_{lang}_{width}.png"
                        page.screenshot(path=str(target))
                        errors = page.locator('[data-testid="stException"]').count()
                        print(f"{target} ({errors} exceptions)")
                        page.close()
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
