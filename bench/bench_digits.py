"""Benchmark: the digit network of "A whole CNN" — training time to 90 % held-out accuracy in the app's setting,
one forward pass with every feature map rendered, NumPy forward ÷ torch forward, and the page's rerun per move.

Prints figures (not pass/fail). Run: .venv/bin/python bench/bench_digits.py
Targets (issue 11): > 90 % held-out in a few seconds; forward pass + all maps rendered ≤ 150 ms server time.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one BLAS thread, as in the app

import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "app"))

from timing import interleaved_times, median_ms  # noqa: E402

from cnn_core import digits  # noqa: E402
from cnn_core.render import to_png  # noqa: E402
from cnn_core.train import fit  # noqa: E402

torch.set_num_threads(1)  # the app trains on one thread
PAGE_SETTINGS = dict(lr=0.05, batch_size=32, augment=True)  # the page's defaults


def time_to_90() -> None:
    """From random weights with the page's settings: wall time until a finished epoch scores ≥ 90 % held-out."""
    data = digits.load_data()
    print("Training from random weights, page defaults (lr 0.05, batch 32, 1-pixel shifts, 1 thread):")
    reached = []
    for seed in (1, 2, 3, 4, 5):
        history = fit(digits.make_model(seed), *data, epochs=30, seed=seed, **PAGE_SETTINGS,
                      on_epoch=lambda h: h.test_acc[-1] < 0.9)
        reached.append((history.seconds, history.epochs, history.test_acc[-1]))
        print(f"  seed {seed}: {history.test_acc[-1]:.1%} after {history.epochs} epoch(s), {history.seconds:.2f} s")
    print(f"  median time to 90 %: {statistics.median(s for s, _, _ in reached):.2f} s "
          f"(per epoch {statistics.median(s / e for s, e, _ in reached):.2f} s)")


def render_all(x, w) -> list[bytes]:
    """What the page does for one new input: the NumPy forward pass and one PNG per layer."""
    pngs = []
    for _, A in digits.forward(x, w):
        maps = A[0] if A.ndim == 4 else A[0].reshape(1, 1, -1)
        pngs.append(to_png(digits.tile_maps(maps, 12, columns=8)))
    return pngs


def forward_and_maps() -> None:
    *_, test_x, _ = digits.load_data()
    w, model = digits.weights(digits.load_model()), digits.load_model()
    x = test_x[:1]
    print("One input through the network (median of 15):")
    print(f"  NumPy forward + every layer's maps as PNG: {median_ms(lambda: render_all(x, w), 15):6.1f} ms "
          f"(target ≤ 150 ms)")
    with torch.no_grad():
        X = torch.from_numpy(x)
        times = interleaved_times({"ours": lambda: digits.forward(x, w), "torch": lambda: model(X)}, 51)
    ours, theirs = statistics.median(times["ours"]), statistics.median(times["torch"])
    print(f"  forward only: ours {ours * 1000:.2f} ms, torch {theirs * 1000:.2f} ms, ours ÷ torch = {ours / theirs:.1f}")
    with torch.no_grad():
        X = torch.from_numpy(test_x)
        times = interleaved_times({"ours": lambda: digits.forward(test_x, w), "torch": lambda: model(X)}, 15)
    ours, theirs = statistics.median(times["ours"]), statistics.median(times["torch"])
    print(f"  all {len(test_x)} held-out digits: ours {ours * 1000:.1f} ms, torch {theirs * 1000:.1f} ms, "
          f"ours ÷ torch = {ours / theirs:.1f}")


def page_moves() -> None:
    """Server time of a rerun after moving the held-out digit (whole script under AppTest: an upper bound, the
    browser reruns only the input fragment)."""
    from harness import open_page

    at = open_page("whole_cnn", "en")
    moves = []
    for index in (5, 6, 7, 8, 9, 10, 11):  # new digits: nothing cached yet
        at.slider(key="wc_index").set_value(index)
        start = time.perf_counter()
        at.run()
        moves.append(time.perf_counter() - start)
        assert not at.exception
    again = []
    for index in (5, 6, 7, 8, 9, 10, 11):  # the same digits again: cached pictures
        at.slider(key="wc_index").set_value(index)
        start = time.perf_counter()
        at.run()
        again.append(time.perf_counter() - start)
    print("Whole-CNN page (AppTest, whole script, server side):")
    print(f"  rerun after moving to a new held-out digit: median {statistics.median(moves) * 1000:6.1f} ms")
    print(f"  rerun after moving to a digit seen before:  median {statistics.median(again) * 1000:6.1f} ms")


if __name__ == "__main__":
    time_to_90()
    forward_and_maps()
    page_moves()
