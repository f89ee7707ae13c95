"""Benchmark: learning ops against torch, and the two learning pages' slider → new picture in Chromium.

Prints figures (not pass/fail). Run: .venv/bin/python bench/bench_learn.py  [--no-browser]
Targets (issue 10): conv2d_backward ≤ 2× torch autograd on conv2d's benchmark shapes; one fit_kernel step on a
512² image (against one torch autograd step on the same loss); slider → picture in Chromium (≤ 300 ms median, as
for the other pages) and server CPU per move ≤ 50 ms (bench/load.py, one student).
"""

from __future__ import annotations

import os

# One BLAS thread, like torch below and like the app: a fair comparison, and no fight with other sessions.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import interleaved_times  # noqa: E402

from cnn_core.conv import conv2d_backward
from cnn_core.kernels import get_kernel
from cnn_core.learn import fit_kernel, make_target

torch.set_num_threads(1)


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def backward_cases() -> None:
    """∂L/∂X, ∂L/∂K, ∂L/∂b for a given ∂L/∂Y: ours (im2col, two matrix products, col2im) vs torch's backward."""
    rng = np.random.default_rng(0)
    print("cnn_core.conv2d_backward vs torch autograd (3×3, padding 1, all three gradients, median of 9, 1 thread)")
    for C, O, side in ((3, 8, 1024), (3, 64, 1024), (64, 64, 128)):
        X = rng.random((1, C, side, side), dtype=np.float32)
        K = rng.standard_normal((O, C, 3, 3)).astype(np.float32)
        dY = rng.standard_normal((1, O, side, side)).astype(np.float32)
        Xt, Kt = torch.from_numpy(X).requires_grad_(), torch.from_numpy(K).requires_grad_()
        bt = torch.zeros(O, requires_grad=True)
        Yt, dYt = F.conv2d(Xt, Kt, bt, padding=1), torch.from_numpy(dY)
        times = interleaved_times({
            "ours": lambda X=X, K=K, dY=dY: conv2d_backward(X, K, dY, padding=1),
            "torch": lambda Yt=Yt, dYt=dYt, args=(Xt, Kt, bt): torch.autograd.grad(Yt, args, dYt, retain_graph=True),
        }, repeats=9)
        ours, theirs = median_ms(times["ours"]), median_ms(times["torch"])
        print(f"  {C:>2}→{O:<2} at {side}×{side}: ours {ours:7.1f} ms, torch {theirs:7.1f} ms, ratio {ours / theirs:4.2f}×"
              "  (target ≤ 2×)")


def fit_kernel_step() -> None:
    """One gradient step of fit_kernel on a 512² image, and the same step done by torch autograd."""
    X = np.random.default_rng(1).random((512, 512), dtype=np.float32)
    Y = make_target(X, get_kernel("sobel_x"))
    Xt, Yt = torch.from_numpy(X)[None, None], torch.from_numpy(Y)[None, None]
    K = torch.zeros(1, 1, 3, 3, requires_grad=True)

    def torch_step():
        loss = F.mse_loss(F.conv2d(Xt, K), Yt)
        (grad,) = torch.autograd.grad(loss, K)
        with torch.no_grad():
            K.sub_(0.2 * grad)

    times = interleaved_times({"setup": lambda: fit_kernel(X, Y, 3, steps=1),
                               "steps": lambda: fit_kernel(X, Y, 3, steps=21),
                               "torch": torch_step}, repeats=7)
    setup = median_ms(times["setup"])
    step = (median_ms(times["steps"]) - setup) / 20
    theirs = median_ms(times["torch"])
    print("fit_kernel on a 512×512 image, 3×3 kernel (median of 7):")
    print(f"  setup (unfold the windows once, λ_max of the 9×9 Hessian) + 1 step: {setup:6.1f} ms")
    print(f"  one more step: ours {step:5.2f} ms, torch autograd step {theirs:5.2f} ms, ratio {step / theirs:4.2f}×")
    print(f"  default run (300 steps): about {setup + 299 * step:5.0f} ms; the page learns on ≤ 128 px wide images")


def browser_moves(moves: int = 9) -> None:
    """Chromium: move a slider with the keyboard, time until the picture it drives has changed and the app is idle."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from conftest import CHROMIUM, CHROMIUM_ARGS, IDLE, free_port
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true", "--server.fileWatcherType", "none"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # (page, slider label, caption of the picture that must change)
    cases = (("learning", "Slope w", "Contours of the loss"), ("learning", "Learning rate η", "Contours of the loss"),
             ("learn_kernel", "Show step", "Predicted map"))
    try:
        time.sleep(5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for path, label, caption in cases:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/{path}?lang=en")
                page.wait_for_selector(IDLE, timeout=180_000)
                picture = f"""() => {{ for (const f of document.querySelectorAll('[data-testid=stImage], [data-testid=stElementContainer]')) {{
                    if (f.innerText.includes({caption!r}) && f.querySelector('img')) return f.querySelector('img').getAttribute('src'); }}
                    return null; }}"""
                thumb = page.locator('[data-testid="stSlider"]').filter(
                    has=page.get_by_text(label, exact=True)).locator('input[type="range"]')
                times = []
                for move in range(moves):
                    before = page.evaluate(picture)
                    thumb.focus()
                    start = time.perf_counter()
                    thumb.press("ArrowLeft" if move % 2 == 0 else "ArrowRight")
                    page.wait_for_function(f"old => ({picture})() !== old", arg=before, timeout=60_000)
                    page.wait_for_selector(IDLE)
                    times.append(time.perf_counter() - start)
                print(f"Chromium, {path}: '{label}' slider → new '{caption}' picture: median {median_ms(times):.0f} ms, "
                      f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {moves} moves")
                page.close()
            browser.close()
        for path, key in (("learning", "ln_w"), ("learn_kernel", "lk_view")):
            out = subprocess.run([sys.executable, "bench/load.py", "--url", f"http://127.0.0.1:{port}", "--page", path,
                                  "--slider-key", key, "--sessions", "1", "--moves", "8", "--interval", "1.5"],
                                 cwd=ROOT, capture_output=True, text=True, timeout=600)
            print(f"bench/load.py, one student moving {key} on {path}:")
            print("\n".join("  " + line for line in out.stdout.strip().splitlines()[-4:]) or out.stderr[-800:])
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    backward_cases()
    fit_kernel_step()
    if "--no-browser" not in sys.argv:
        browser_moves()
