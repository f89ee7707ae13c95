"""Pooling ops: our numpy time ÷ PyTorch's time for the same work (single thread, median of several runs).

Run: `.venv/bin/python bench/bench_pool.py [--repeat 9]`. Prints figures, not pass/fail; the target is ≤ 2×.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import median_ms  # noqa: E402

from cnn_core.pool import (  # noqa: E402
    adaptive_avg_pool2d,
    avg_pool2d,
    lp_pool2d,
    max_pool2d,
    max_pool2d_with_indices,
)

SHAPES = ((1, 3, 1024, 1024), (1, 64, 256, 256))
WINDOWS = ((2, 2), (3, 2))  # (kernel, stride)


def cases(X: np.ndarray, Xt: torch.Tensor) -> list[tuple[str, object, object]]:
    """(name, ours, torch's) for every op on one input: the same arguments on both sides."""
    found = []
    for k, s in WINDOWS:
        found += [
            (f"max_pool2d {k}x{k}/{s}", lambda k=k, s=s: max_pool2d(X, k, s), lambda k=k, s=s: F.max_pool2d(Xt, k, s)),
            (f"max_pool2d +indices {k}x{k}/{s}", lambda k=k, s=s: max_pool2d_with_indices(X, k, s),
             lambda k=k, s=s: F.max_pool2d(Xt, k, s, return_indices=True)),
            (f"avg_pool2d {k}x{k}/{s}", lambda k=k, s=s: avg_pool2d(X, k, s), lambda k=k, s=s: F.avg_pool2d(Xt, k, s)),
            (f"avg_pool2d pad1 ceil {k}x{k}/{s}", lambda k=k, s=s: avg_pool2d(X, k, s, 1, True),
             lambda k=k, s=s: F.avg_pool2d(Xt, k, s, 1, True)),
            (f"lp_pool2d p=2 {k}x{k}/{s}", lambda k=k, s=s: lp_pool2d(X, 2, k, s),
             lambda k=k, s=s: F.lp_pool2d(Xt, 2, k, s)),
        ]
    return found + [
        ("adaptive_avg_pool2d 1 (global)", lambda: adaptive_avg_pool2d(X, 1), lambda: F.adaptive_avg_pool2d(Xt, 1)),
        ("adaptive_avg_pool2d 7", lambda: adaptive_avg_pool2d(X, 7), lambda: F.adaptive_avg_pool2d(Xt, 7)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, torch {torch.__version__}, 1 thread, median of {args.repeat} runs")
    print(f"{'input':<20} {'op':<34} {'ours ms':>9} {'torch ms':>9} {'ratio':>7}")
    for shape in SHAPES:
        X = rng.standard_normal(shape).astype(np.float32)
        label = "×".join(map(str, shape))
        for name, ours, theirs in cases(X, torch.from_numpy(X)):
            ours_ms, torch_ms = median_ms(ours, args.repeat), median_ms(theirs, args.repeat)
            print(f"{label:<20} {name:<34} {ours_ms:9.2f} {torch_ms:9.2f} {ours_ms / torch_ms:6.2f}×", flush=True)


if __name__ == "__main__":
    main()
