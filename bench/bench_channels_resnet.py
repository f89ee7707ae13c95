"""Channels and residual networks: our time ÷ torch's, the degradation demo's wall time, and each page's
control → picture time in Chromium on a 1024² photo.

Run from the repository root:
  .venv/bin/python bench/bench_channels_resnet.py                 # everything
  .venv/bin/python bench/bench_channels_resnet.py --skip-browser  # only the ops and the training demo
Prints figures, not pass/fail. Targets: ops ≤ 2× torch; each training run a few seconds on one thread;
≤ 50 ms server CPU and ≤ 250 ms in the browser per control move (issue 8).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests" / "e2e")]

from timing import median_ms  # noqa: E402

from cnn_core.channels import channel_sum, feature_bank, pca_reduction, pointwise_conv, rgb_kernel  # noqa: E402
from cnn_core.resnet import basic_block  # noqa: E402
from cnn_core.resnet_train import BasicBlock, block_arguments, degradation, gradient_profile  # noqa: E402

PAGE_KEYS = {"channels": "ch_kernel,ch_bias,ch_out,ch_cin,ch_k,ch_groups,ch_reduce",
             "resnet": "rn_shortcut,rn_scale,rn_channel,rn_grad_depth,rn_depth"}


def ops(repeat: int) -> None:
    rng = np.random.default_rng(0)
    X = rng.random((3, 1024, 1024), dtype=np.float32)
    Xt = torch.from_numpy(X)[None]
    K = rgb_kernel("sobel_x_gray")
    block = BasicBlock(64, 128, stride=2).eval()
    arguments = block_arguments(block)
    feature = rng.standard_normal((1, 64, 56, 56)).astype(np.float32)
    maps = feature_bank(X[:, :256, :256])
    cases = [
        ("channel_sum 3×1024² (3 maps + sum)", lambda: channel_sum(X, K, 0.1, padding=1),
         lambda: F.conv2d(Xt, torch.from_numpy(K)[None], torch.tensor([0.1]), padding=1)),
        ("pointwise_conv 16→4 on 256²", lambda: pointwise_conv(maps, rng.random((4, 16, 1, 1), dtype=np.float32)),
         lambda: F.conv2d(torch.from_numpy(maps)[None], torch.rand(4, 16, 1, 1))),
        ("basic_block 64→128 /2 on 56²", lambda: basic_block(feature, **arguments),
         lambda: block(torch.from_numpy(feature))),
    ]
    print(f"{'op':<38} {'ours ms':>9} {'torch ms':>9} {'ratio':>7}")
    with torch.no_grad():
        for name, ours, theirs in cases:
            a, b = median_ms(ours, repeat), median_ms(theirs, repeat)
            print(f"{name:<38} {a:9.2f} {b:9.2f} {a / b:6.2f}×", flush=True)
    print(f"{'pca_reduction 16→4 on 256² (no twin)':<38} {median_ms(lambda: pca_reduction(maps, 4), repeat):9.2f}")


def training() -> None:
    print("\nDegradation demo (digits, 4 epochs, one thread; the page runs it per click):")
    for depth in (8, 20, 32):
        start = time.perf_counter()
        result = degradation(depth, time_limit=None)
        seconds = time.perf_counter() - start
        print(f"  depth {depth:2d}: plain loss {result.plain_loss:.3f}, residual {result.residual_loss:.3f}; "
              f"{result.plain.seconds:.1f} s + {result.residual.seconds:.1f} s training, {seconds:.1f} s in all",
              flush=True)
    for depth in (20, 56):
        start = time.perf_counter()
        profile = gradient_profile(depth)
        print(f"  gradient profile depth {depth}: spread plain {profile.plain_spread:.0f}×, residual "
              f"{profile.residual_spread:.1f}×, {time.perf_counter() - start:.2f} s")


def browser(moves: int, side: int) -> None:
    from bench_browser import measure, photo_like, upload
    from conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, free_port
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true", "--server.fileWatcherType", "none"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(4)
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, keys in PAGE_KEYS.items():
                page = chromium.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/{name}?lang=en")
                page.wait_for_selector(IDLE, timeout=120_000)
                upload(page, photo_like(side), side)
                page.wait_for_timeout(1000)
                print(f"\n{name} ({side}² upload): control → picture, median over {moves} moves")
                for key in keys.split(","):
                    result = measure(page, server.pid, key, moves)
                    if not result or not result[0]:
                        print(f"  {key:16s} not found")
                        continue
                    browser_ms, server_ms = result
                    print(f"  {key:16s} browser {statistics.median(browser_ms):6.0f} ms (max {max(browser_ms):5.0f})"
                          f"   server CPU {statistics.median(server_ms):6.0f} ms", flush=True)
                page.close()
            chromium.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--moves", type=int, default=4)
    parser.add_argument("--upload", type=int, default=1024)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)  # as in the app: one thread per session
    print(f"numpy {np.__version__}, torch {torch.__version__}, 1 thread, median of {args.repeat} runs")
    ops(args.repeat)
    training()
    if not args.skip_browser:
        browser(args.moves, args.upload)


if __name__ == "__main__":
    main()
