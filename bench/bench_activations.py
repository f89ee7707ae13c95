"""Benchmark: cnn_core.activations vs torch (functions, derivatives vs autograd, softmax), and the XOR training.

Prints figures (not pass/fail). Run: .venv/bin/python bench/bench_activations.py
Ratio = our median time ÷ torch's median time for the same work (21 interleaved runs, 1 torch thread).
"Derivative" compares our closed-form f′(x) with torch's forward + backward of f(x).sum() (what autograd must do
to get the same numbers).
"""

from __future__ import annotations

import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import interleaved_times

from cnn_core.activations import ACTIVATIONS, softmax  # noqa: E402
from cnn_core.xor import train_xor  # noqa: E402

torch.set_num_threads(1)  # as in the app: one thread per session

TORCH = {
    "relu": lambda x: F.relu(x),
    "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
    "elu": lambda x: F.elu(x, 1.0),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}
PARAMETER = {"leaky_relu": {"negative_slope": 0.1}, "elu": {"alpha": 1.0}}


def _medians(functions: dict, repeats: int = 21) -> dict:
    return {name: statistics.median(t) for name, t in interleaved_times(functions, repeats).items()}


def torch_derivative(name: str, xt: torch.Tensor):
    def run():
        x = xt.detach().requires_grad_(True)
        TORCH[name](x).sum().backward()
        return x.grad
    return run


def main() -> None:
    rng = np.random.default_rng(0)
    for shape in [(1, 16, 256, 256), (8, 64, 56, 56)]:
        x = (rng.standard_normal(shape) * 2).astype(np.float32)
        xt = torch.from_numpy(x)
        print(f"\ninput {shape} ({x.size / 1e6:.1f} M values)")
        print(f"{'op':<22}{'ours ms':>10}{'torch ms':>10}{'ratio':>8}")
        for name, (function, derivative, _) in ACTIVATIONS.items():
            kwargs = PARAMETER.get(name, {})
            m = _medians({
                "ours": partial(function, x, **kwargs), "torch": partial(TORCH[name], xt),
                "ours_grad": partial(derivative, x, **kwargs), "torch_grad": torch_derivative(name, xt),
            })
            print(f"{name:<22}{1e3 * m['ours']:>10.2f}{1e3 * m['torch']:>10.2f}{m['ours'] / m['torch']:>8.2f}")
            print(f"{name + ' derivative':<22}{1e3 * m['ours_grad']:>10.2f}{1e3 * m['torch_grad']:>10.2f}"
                  f"{m['ours_grad'] / m['torch_grad']:>8.2f}")
        m = _medians({"ours": partial(softmax, x, dim=1), "torch": partial(F.softmax, xt, dim=1)})
        print(f"{'softmax (dim=1)':<22}{1e3 * m['ours']:>10.2f}{1e3 * m['torch']:>10.2f}{m['ours'] / m['torch']:>8.2f}")

    print("\nXOR training (2-16-1, 300 Adam steps, default settings): wall and CPU time")
    walls, cpus = [], []
    for seed in range(7):
        wall, cpu = time.perf_counter(), time.process_time()
        train_xor(seed=seed)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"median wall {statistics.median(walls):.3f} s, median CPU {statistics.median(cpus):.3f} s "
          f"(the page trains two networks per setting and caches them)")


if __name__ == "__main__":
    main()
