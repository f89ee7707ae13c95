"""Benchmark: one control move → the page drawn again, in Debian's Chromium (Playwright), on the real server.

For each control (found by its key: Streamlit gives a keyed widget the CSS class `st-key-<key>`), the script moves
it the way a student does — a slider by one arrow-key step, a toggle by a click, a radio or select box to another
option, a number input by its + button — and measures
  * in the browser: key press / pointer down (taken in the page, so Playwright's own round trips do not count) →
    the script run is over (running → not running) and every picture on the page has loaded;
  * on the server: CPU seconds of the server process during that move (/proc/<pid>/stat, user + system).
Prints figures per control, then the median over the page's controls. Not pass/fail.

Run:  .venv/bin/python bench/bench_browser.py --page convolution --upload 1024 --moves 5
      .venv/bin/python bench/bench_browser.py --page pooling --keys pool_kernel,pool_noise
Targets (issue 8): ≤ 50 ms server CPU per move (median over the controls), ≤ 250 ms median and ≤ 500 ms p95 in
Chromium with a 1024² upload.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e"), str(ROOT / "bench")]

from conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, free_port  # noqa: E402
from load import cpu_seconds  # noqa: E402
from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

# The controls a student moves on each page (the declared controls, plus a few page-only ones).
DEFAULT_KEYS = {
    "convolution": "conv_bias,conv_relu,conv_row,conv_col,conv_true_convolution,conv_channels,conv_patch,"
                   "conv_explain_sobel_x,click:conv_map_laplacian_0,click:conv_image",
    "pooling": "pool_kernel,pool_stride,pool_padding,pool_type,pool_source,pool_ceil,pool_count_pad,pool_crop_row,"
               "pool_crop_col,pool_noise,pool_noise_kind,pool_shift,pool_shift_dir,click:pool_output_click,"
               "click:pool_crop_click",
    "stride_padding": "sp_kernel,sp_stride,sp_padding,sp_dilation,sp_mode,sp_grid,sp_pos",
    "receptive_field": "rf_row,rf_col,rf_zoom,click:rf_map_click,rf_weights,rf_relu,rf_kernel_0,rf_stride_0,"
                       "rf_padding_1,rf_preset",
    "batch_norm": "bn_gamma_sobel_x,bn_beta_sobel_x,bn_momentum,bn_steps,bn_place_channel,bn_channel,bn_batch,"
                  "bn_crop,bn_seed",
    "activations": "act_depth,act_kernel,act_bias,act_temperature,act_function,act_leaky_slope,act_collapse_seed,"
                   "act_hidden",
    "learning": "ln_act,ln_b,ln_batch,ln_epochs,ln_hidden,ln_lr,ln_seed,ln_steps,ln_train_lr,ln_w,ln_x1,ln_x2,ln_y",
    "learn_kernel": "lk_auto,lk_d2l_lr,lk_d2l_steps,lk_lr,lk_noise,lk_seed,lk_size,lk_source,lk_steps,lk_target,lk_view",
    "whole_cnn": "wc_augment,wc_batch,wc_channel,wc_epochs,wc_index,wc_layer,wc_lr,wc_net,wc_source",
    "channels": "ch_bias,ch_cin,ch_cout,ch_groups,ch_k,ch_kernel,ch_out,ch_reduce,ch_size",
    "resnet": "rn_channel,rn_depth,rn_grad_depth,rn_scale,rn_shortcut",
    "regularization": "rg_map_p,rg_mask,rg_mode,rg_p,rg_size,rg_wd",
    "transfer": "tf_canvas,tf_digits,tf_finetune,tf_reuse,tf_task,tf_threshold",
    "transposed_conv": "tc_ck,tc_cs,tc_dilation,tc_grid,tc_kernel,tc_output_padding,tc_padding,tc_step,tc_stride",
}

WATCH = """() => {  // when the student's input reaches the page, and when the next run (full or fragment) ends
  const app = document.querySelector('[data-testid=stApp]');
  window.__move = {start: null, running: false, end: null, drawn: null};
  if (window.__observer) window.__observer.disconnect();
  window.__observer = new MutationObserver(() => {
    const state = app.getAttribute('data-test-script-state');
    if (state === 'running') window.__move.running = true;
    else if (window.__move.running && window.__move.end === null) window.__move.end = performance.now();
  });
  window.__observer.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  if (!window.__inputListener) {  // capture phase: before the widget itself sees the key press or click
    window.__inputListener = () => { if (window.__move.start === null) window.__move.start = performance.now(); };
    for (const type of ['keydown', 'pointerdown']) document.addEventListener(type, window.__inputListener, true);
  }
}"""
# Polled every 5 ms from Playwright: the first time everything is drawn, the time is taken in the page itself,
# so the harness's own round trips (finding and pressing the control) are not counted.
DRAWN = """() => {
  const m = window.__move;
  if (m.drawn !== null) return true;
  if (m.end === null || !Array.from(document.images).every(image => image.complete)
      || document.querySelector('[data-testid=stSkeleton]')) return false;
  m.drawn = performance.now();
  return true;
}"""
ELAPSED = "() => window.__move.drawn - (window.__move.start ?? window.__move.drawn)"
RUN_OVER = "() => window.__move.end - (window.__move.start ?? window.__move.drawn)"


def photo_like(side: int) -> bytes:
    """The landscape sample stretched to side × side (a photo with edges and flat areas), as PNG bytes."""
    picture = Image.open(ROOT / "assets" / "scene.png").convert("RGB").resize((side, side), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def upload(page, data: bytes, side: int) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="Upload").or_(page.get_by_role("option", name="上传")).first.click()
    page.wait_for_selector(IDLE)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": data}])
    page.get_by_text(f"{side} × {side}").first.wait_for(timeout=60_000)
    page.wait_for_selector(IDLE)


def move(page, key: str, step: int) -> bool:
    """Move the control with this key once (direction alternates with `step`); False if it cannot be found.

    "click:<key>" clicks a clickable map (ui.clickmap) whose key starts with <key>, at a different spot each time."""
    if key.startswith("click:"):
        area = page.locator(f'[class*="st-key-{key[6:]}"]  .cnnlab-cm').first
        if area.count() == 0:
            return False
        area.scroll_into_view_if_needed()
        box = area.bounding_box()
        fy, fx = ((0.3, 0.6), (0.6, 0.3), (0.45, 0.8))[step % 3]
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        return True
    box = page.locator(f".st-key-{key}")
    if box.count() == 0:
        return False
    box = box.first
    slider = box.locator('input[type="range"]')
    if slider.count():
        thumb = slider.first
        now, top, bottom = (float(thumb.get_attribute(a) or 0) for a in ("value", "max", "min"))
        thumb.focus()
        thumb.press("ArrowLeft" if now >= top or (step % 2 and now > bottom) else "ArrowRight")
        return True
    number = box.locator('input[type="number"]')
    if number.count() and not box.locator('[data-testid="stNumberInputStepUp"]').count():  # no ± buttons: type
        value = float(number.first.input_value() or 0)
        number.first.fill(f"{value + (-1 if step % 2 else 1):g}")
        page.evaluate("() => { window.__move.start = null; }")  # the move is the Enter, not the typing
        number.first.press("Enter")
        return True
    if box.locator('[data-testid="stNumberInputStepUp"]').count():
        up, down = box.locator('[data-testid="stNumberInputStepUp"]'), box.locator('[data-testid="stNumberInputStepDown"]')
        (down if step % 2 or up.is_disabled() else up).click()
        return True
    if box.locator('[data-testid="stSelectbox"]').count():
        select = box.locator('[data-testid="stSelectbox"]').first
        page.keyboard.press("Escape")  # no other list still open
        select.locator('[role="combobox"]').first.click()
        options = page.locator('[role="listbox"] [role="option"]')
        try:
            options.first.wait_for(timeout=3000)
        except PlaywrightError:  # the click focused the field without opening its list: the keyboard opens it
            select.locator('[role="combobox"]').first.press("ArrowDown")
            options.first.wait_for(timeout=10_000)
        page.evaluate("() => { window.__move.start = null; }")  # the move is the option's click, not the opening
        for index in range(options.count()):
            if options.nth(index).get_attribute("aria-selected") != "true":
                options.nth(index).click()
                return True
        return False
    radios = box.locator('label:has(input[type="radio"])')
    if radios.count():
        for index in range(radios.count()):
            if not radios.nth(index).locator("input").is_checked():
                radios.nth(index).click()
                return True
        return False
    if box.locator("label").count() == 0 and box.locator("button").count():  # a button
        box.locator("button").first.click()
        return True
    box.locator("label").first.click()  # toggle / checkbox
    return True


def main_thread_ms(cdp) -> float:
    """Milliseconds the page's main thread has been busy (scripts, style, layout, paint), from Chromium's metrics."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["TaskDuration"] * 1000


def measure(page, pid: int, key: str, moves: int, cdp=None, phases: list | None = None
            ) -> tuple[list[float], list[float]] | None:
    browser_ms, server_ms = [], []
    for step in range(moves):
        page.evaluate(WATCH)
        cpu = cpu_seconds(pid)
        busy = main_thread_ms(cdp) if cdp else 0.0
        try:
            moved = move(page, key, step)
        except PlaywrightError as error:  # a control the harness cannot work (say why, go on with the others)
            print(f"  {key}: could not be moved ({str(error).splitlines()[0]})")
            page.keyboard.press("Escape")
            return None
        if not moved:
            return None
        try:
            page.wait_for_function(DRAWN, timeout=60_000, polling=5)
        except Exception:
            print(f"  {key}: no rerun seen after move {step + 1}")
            continue
        browser_ms.append(page.evaluate(ELAPSED))
        if cdp is not None and phases is not None:
            phases.append((page.evaluate(RUN_OVER), main_thread_ms(cdp) - busy))
        page.wait_for_selector(IDLE)
        page.wait_for_timeout(400)  # let late work (media requests, cache writes) land inside this move's CPU
        server_ms.append((cpu_seconds(pid) - cpu) * 1000)
    return browser_ms, server_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page", default="convolution")
    parser.add_argument("--keys", default=None, help="comma-separated control keys (default: the page's own list)")
    parser.add_argument("--moves", type=int, default=5)
    parser.add_argument("--upload", type=int, default=1024, help="side of the square photo to upload (0: sample)")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--app", default="app.py", help="the Streamlit script to serve (e.g. a minimal app, to see "
                                                       "the fixed cost of any rerun)")
    parser.add_argument("--phases", action="store_true", help="also print, per control, when the run was over and "
                        "how long the browser's main thread was busy in the move (scripts, style, layout, paint)")
    parser.add_argument("--launcher", default="", help="a script that starts Streamlit itself (e.g. with a profiler)")
    args = parser.parse_args()
    keys = (args.keys or DEFAULT_KEYS.get(args.page, "")).split(",")
    port = free_port()
    launcher = ["-m", "streamlit", "run"] if not args.launcher else [args.launcher]
    server = subprocess.Popen([sys.executable, *launcher, args.app, "--server.port", str(port),
                               "--server.headless", "true", "--server.fileWatcherType", "none"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(4)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 1000})
            cdp = None
            if args.phases:
                cdp = page.context.new_cdp_session(page)
                cdp.send("Performance.enable")
            page.goto(f"http://127.0.0.1:{port}/{args.page}?lang=en")
            page.wait_for_selector(IDLE, timeout=120_000)
            if args.upload:
                upload(page, photo_like(args.upload), args.upload)
            page.wait_for_timeout(1000)
            image = f"{args.upload}² upload" if args.upload else "sample image"
            print(f"{args.page} ({image}, {args.width} px wide): per control, median over {args.moves} moves")
            medians_browser, medians_server, everything = [], [], []
            for key in keys:
                phases = []
                result = measure(page, server.pid, key, args.moves, cdp, phases)
                if not result or not result[0]:
                    print(f"  {key:24s} not found on the page")
                    continue
                browser_ms, server_ms = result
                medians_browser.append(statistics.median(browser_ms))
                medians_server.append(statistics.median(server_ms))
                everything += browser_ms
                print(f"  {key:24s} browser {statistics.median(browser_ms):6.0f} ms (max {max(browser_ms):5.0f})   "
                      f"server CPU {statistics.median(server_ms):6.0f} ms")
                if phases:
                    end, busy = (statistics.median(column) for column in zip(*phases, strict=True))
                    print(f"  {'':24s} run over after {end:4.0f} ms; main thread busy {busy:4.0f} ms")
            if medians_browser:
                p95 = np.percentile(everything, 95)
                print(f"  median over controls: browser {statistics.median(medians_browser):.0f} ms, server CPU "
                      f"{statistics.median(medians_server):.0f} ms; p95 of all moves {p95:.0f} ms "
                      f"(targets ≤ 250 ms / ≤ 50 ms / ≤ 500 ms)")
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
