"""Issue 13's demos and conv_transpose2d: wall and CPU time of each demo (target: a few seconds on one thread), and
conv_transpose2d's time ÷ PyTorch's for the same work (target ≤ 2×).

Run: `.venv/bin/python bench/bench_regularize_transfer.py [--repeat 9]`. Prints figures, not pass/fail. CPU time is
shown beside wall time because on a shared machine wall time mostly measures the other users.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import interleaved_times  # noqa: E402

from cnn_core import detect, regularize, transfer  # noqa: E402
from cnn_core.transpose import conv_transpose2d  # noqa: E402

TRANSPOSE_CASES = (  # (input, weight, settings): segmentation-style upsampling, a stride-1 layer, the page's grid
    ((1, 64, 64, 64), (64, 32, 4, 4), dict(stride=2, padding=1)),
    ((1, 3, 256, 256), (3, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ((8, 16, 32, 32), (16, 8, 2, 2), dict(stride=2)),
    ((1, 32, 64, 64), (32, 32, 3, 3), dict(stride=1, padding=1)),
    ((1, 10, 5, 21), (10, 1, 8, 8), dict(stride=2, groups=10)),  # the segmentation paint of the detector page
    ((1, 1, 4, 4), (1, 1, 3, 3), dict(stride=2)),
)


def timed(label: str, function) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    print(f"{label:<58} wall {time.perf_counter() - wall:6.2f} s   cpu {time.process_time() - cpu:6.2f} s", flush=True)


def bench_demos() -> None:
    print("demo (first call includes loading the data and the trained digit network)")
    timed("overfitting: 4 cures × 100 epochs on 100 digits", lambda: regularize.overfit_demo())
    timed("overfitting: one cure (what one control change reruns)", lambda: regularize.overfit_run("dropout"))
    timed("transfer: frozen vs scratch, 5 sizes (odd/even)", lambda: transfer.transfer_curve())
    timed("transfer: + fine-tuning (3 methods, 5 sizes)",
          lambda: transfer.transfer_curve(methods=transfer.METHODS))
    timed("detector: train the padding-free classifier (cached after)", lambda: detect.detector())
    model = detect.detector()
    fcn = detect.fully_convolutional(model)
    canvas, _ = detect.make_canvas(4, seed=0)
    times = interleaved_times({"sliding": lambda: detect.sliding_window(model, canvas),
                               "fcn": lambda: detect.score_map(fcn, canvas)}, repeats=21)
    sliding, whole = (statistics.median(times[k]) * 1000 for k in ("sliding", "fcn"))
    print(f"{'detector on a 16×48 canvas: windows cut out vs one pass':<58} {sliding:6.2f} ms vs {whole:6.2f} ms")


def bench_transpose(repeat: int) -> None:
    print(f"\nconv_transpose2d vs torch (1 thread, median of {repeat} interleaved runs)")
    print(f"{'input':<18} {'weight':<16} {'settings':<44} {'ours ms':>8} {'torch ms':>9} {'ratio':>6}")
    rng = np.random.default_rng(0)
    for x_shape, w_shape, settings in TRANSPOSE_CASES:
        X = rng.standard_normal(x_shape).astype(np.float32)
        W = rng.standard_normal(w_shape).astype(np.float32)
        Xt, Wt = torch.from_numpy(X), torch.from_numpy(W)
        times = interleaved_times({"ours": lambda X=X, W=W, s=settings: conv_transpose2d(X, W, **s),
                                   "torch": lambda X=Xt, W=Wt, s=settings: F.conv_transpose2d(X, W, **s)},
                                  repeats=repeat)
        ours, theirs = (statistics.median(times[k]) * 1000 for k in ("ours", "torch"))
        print(f"{'×'.join(map(str, x_shape)):<18} {'×'.join(map(str, w_shape)):<16} {str(settings):<44} "
              f"{ours:8.3f} {theirs:9.3f} {ours / theirs:5.2f}×", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"numpy {np.__version__}, torch {torch.__version__}, 1 thread, load average {os.getloadavg()[0]:.1f}")
    bench_demos()
    bench_transpose(args.repeat)


if __name__ == "__main__":
    main()
