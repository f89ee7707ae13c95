"""Full-page screenshots of chosen pages in Chromium, both languages, at several widths (for comparing by eye).

Not part of the suite (it writes PNGs, never tracked files). Run before and after changing a page:
  .venv/bin/python bench/screens.py --out /tmp/shots/before --pages convolution,pooling --widths 1400,390
--pages all: every page of ui/catalog.py. --present: presentation mode (?present=1, files *_present.png).
--popovers: also the Link and Download popovers opened (viewport shots, files *_link.png, *_download.png).
--upload 1024: a 1024 × 1024 photo uploaded first instead of the sample (files *_upload1024.png).
A page may carry settings: --pages "pooling?pool_look=noise" (files pooling_pool_look-noise_*.png).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e"), str(ROOT / "bench")]

from bench_browser import photo_like, upload  # noqa: E402
from conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, free_port  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from ui.catalog import HOME, PAGES  # noqa: E402
from ui.strings import all_strings  # noqa: E402


def popover_shot(page, label: str, target: Path) -> None:
    """Open the popover whose button reads `label`, screenshot the viewport around it, close it again."""
    button = page.locator('[data-testid="stPopover"] button', has_text=label).first
    if not button.count():
        print(f"{target}: no {label!r} popover")
        return
    button.scroll_into_view_if_needed()
    button.click()
    page.wait_for_selector('[data-testid="stPopoverBody"]', timeout=20_000)
    page.wait_for_timeout(1200)
    page.wait_for_selector(IDLE)
    body = page.locator('[data-testid="stPopoverBody"]').first
    box, top = body.bounding_box(), button.bounding_box()
    y0 = max(0, min(box["y"], top["y"]) - 60)
    y1 = max(box["y"] + box["height"], top["y"] + top["height"]) + 60
    size = page.viewport_size
    page.screenshot(path=str(target), clip={"x": 0, "y": y0, "width": size["width"], "height": y1 - y0})
    print(target)
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pages", default="convolution,pooling")
    parser.add_argument("--widths", default="1400,390")
    parser.add_argument("--langs", default="en,zh")
    parser.add_argument("--present", action="store_true", help="presentation mode: ?present=1")
    parser.add_argument("--popovers", action="store_true", help="also shoot the Link and Download popovers open")
    parser.add_argument("--upload", type=int, default=0, help="side of a square photo to upload first (0: the sample)")
    args = parser.parse_args()
    if args.pages == "all":
        args.pages = ",".join(topic.name for topic in PAGES)
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
                        topic, _, settings = name.partition("?")
                        path = "" if topic == HOME.name else topic  # the home page is the root
                        extra = ("&present=1" if args.present else "") + (f"&{settings}" if settings else "")
                        page.goto(f"http://127.0.0.1:{port}/{path}?lang={lang}{extra}")
                        page.wait_for_selector(IDLE, timeout=120_000)
                        if args.upload:
                            upload(page, photo_like(args.upload), args.upload)
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
                        for _ in range(40):  # elements still loading show as grey skeletons: wait for them
                            if not page.locator('[data-testid^="stSkeleton"]').count():
                                break
                            page.wait_for_timeout(500)
                        plain = name.replace("?", "_").replace("=", "-").replace("&", "_")
                        stem = (f"{plain}_{lang}_{width}" + ("_present" if args.present else "")
                                + (f"_upload{args.upload}" if args.upload else ""))
                        target = args.out / f"{stem}.png"
                        page.screenshot(path=str(target))
                        errors = page.locator('[data-testid="stException"]').count()
                        print(f"{target} ({errors} exceptions)")
                        if args.popovers:
                            strings = all_strings(lang)
                            labels = {"link": strings["common.share"], "download": strings["downloads.button"]}
                            for kind, label in labels.items():
                                popover_shot(page, label, args.out / f"{stem}_{kind}.png")
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
