"""Benchmark: cnn_core.norm.batch_norm vs torch.nn.functional.batch_norm, and the BN page after a γ-slider move.

Prints figures (not pass/fail). Run: .venv/bin/python bench/bench_batch_norm.py
Targets (issue): batch_norm ≤ 2× torch; BN page rerun after a γ slider move ≤ 150 ms median.

How the page is measured:
  1. AppTest (server side, no browser): the page at default settings, then γ of one channel moved back and forth.
     AppTest reruns the *whole* script on every change (it does not scope reruns to a fragment), so we time both
     the whole `at.run()` and, by wrapping `st.fragment`, the γ/β fragment's body alone — which is what the real
     server reruns when a γ or β slider moves (Streamlit elements included, browser drawing excluded).
  2. The fragment's numpy work, timed outside Streamlit: the cache hit (Streamlit's cache_data pickles values; we
     time a pickle round trip of the cached tuple), batch_norm with the new γ/β, the grid picture and its PNG,
     the histograms' binning and specs, and the LaTeX line.
"""

from __future__ import annotations

import pickle
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "app"))

from timing import interleaved_times

from cnn_core.batch import batch_grid_png, conv_layer, fit_side, make_batch  # noqa: E402
from cnn_core.image import load_image, to_grayscale  # noqa: E402
from cnn_core.norm import batch_norm, batch_norm_latex, batch_norm_steps  # noqa: E402

torch.set_num_threads(1)  # as in the app: one thread per session


def interleaved_medians(functions: dict, repeats: int = 21) -> dict:
    return {name: statistics.median(values) for name, values in interleaved_times(functions, repeats).items()}


def op_cases() -> None:
    rng = np.random.default_rng(0)
    print("cnn_core.norm.batch_norm vs torch.nn.functional.batch_norm (γ, β and running statistics given;")
    print("median of 21 interleaved runs, 1 torch thread)")
    shapes = [(8, 4, 62, 62), (32, 6, 94, 94), (32, 64, 56, 56), (64, 256, 14, 14), (16, 32, 1000), (256, 512)]
    for shape in shapes:
        C = shape[1]
        X = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        weight, bias = rng.standard_normal(C).astype(np.float32), rng.standard_normal(C).astype(np.float32)
        Xt, wt, bt = torch.from_numpy(X), torch.from_numpy(weight), torch.from_numpy(bias)
        for training in (True, False):
            mean, var = np.zeros(C, np.float32), np.ones(C, np.float32)
            tmean, tvar = torch.zeros(C), torch.ones(C)
            times = interleaved_times({
                "ours": lambda X=X, m=mean, v=var, w=weight, b=bias, tr=training: batch_norm(X, m, v, w, b, tr),
                "torch": lambda X=Xt, m=tmean, v=tvar, w=wt, b=bt, tr=training: F.batch_norm(X, m, v, w, b, tr),
            })
            ours, theirs = statistics.median(times["ours"]), statistics.median(times["torch"])
            best = min(times["ours"]) / min(times["torch"])
            mode = "train" if training else "eval "
            print(f"  {str(shape):<18} {mode}: ours {ours * 1000:8.3f} ms, torch {theirs * 1000:8.3f} ms, "
                  f"ratio {ours / theirs:5.2f}×  (best-of-21 ratio {best:4.2f}×; target ≤ 2×)")


def timed_fragments(record: list) -> None:
    """Make `st.fragment` time every call of a fragment body (the page is re-executed, so it picks this up)."""
    import streamlit as st

    original = st.fragment

    def fragment(func=None, **options):
        if func is None:
            return lambda f: fragment(f, **options)
        wrapped = original(func, **options)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            result = wrapped(*args, **kwargs)
            record.append(time.perf_counter() - start)
            return result
        return timed

    st.fragment = fragment


def page_rerun() -> None:
    from harness import open_page

    fragment_times: list[float] = []
    timed_fragments(fragment_times)
    at = open_page("batch_norm", "en")
    at.run()  # caches filled at default settings
    times, fragment_only = [], []
    for value in (1.5, 1.0, 1.5, 1.0, 1.5, 1.0, 1.5, 1.0, 1.5, 1.0, 1.5):
        at.slider(key="bn_gamma_sobel_x").set_value(value)
        fragment_times.clear()
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        fragment_only.append(sum(fragment_times))
        assert not at.exception
    print("BN page, default settings (8 crops of 64², 4 channels), γ of Sobel x moved back and forth (AppTest):")
    print(f"  1. the γ/β fragment (what the server reruns): median {statistics.median(fragment_only) * 1000:6.1f} ms "
          f"(max {max(fragment_only) * 1000:.1f}; target ≤ 150 ms)")
    print(f"  2. whole script, app shell and sidebar too:  median {statistics.median(times) * 1000:6.1f} ms "
          "(AppTest reruns everything; the real server does not on a fragment widget)")


def fragment_work() -> None:
    image = load_image((ROOT / "assets" / "scene.png").read_bytes())
    gray = fit_side(to_grayscale(image))
    crops = make_batch(gray, 8, 64, seed=(0, 0, 0))
    x = conv_layer(crops, ["sobel_x", "sobel_y", "laplacian", "box_blur"])
    steps = batch_norm_steps(x)
    cached = pickle.dumps((crops, x, steps))
    gammas, betas = np.array([1.5, 1, 1, 1], np.float32), np.zeros(4, np.float32)

    def work():
        _, x_hit, steps_hit = pickle.loads(cached)  # what a cache_data hit costs
        y = batch_norm(x_hit, None, None, gammas, betas, training=True)
        png = batch_grid_png(y, samples=16, highlight=3, vmin=-4.0, vmax=4.0, cell=121, signed=True)
        specs = []
        for c in range(4):
            counts, edges = np.histogram(np.clip(y[:, c], -6, 6), bins=36, range=(-6, 6))
            specs.append([{"x0": float(a), "x1": float(b), "share": float(n) / y[:, c].size}
                          for a, b, n in zip(edges[:-1], edges[1:], counts, strict=True)])
        batch_norm_latex(steps_hit, 3, (0, 31, 31), 1.5, 0.0)
        return png, specs

    result = interleaved_medians({"fragment": work})
    print(f"  3. its numpy/PNG work without Streamlit:     median {result['fragment'] * 1000:6.1f} ms "
          "(cache hit + batch_norm + grid PNG + 4 histograms + LaTeX)")


if __name__ == "__main__":
    op_cases()
    print()
    page_rerun()
    fragment_work()
