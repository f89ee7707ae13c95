"""The timing helpers every benchmark shares (run the scripts from the repository root: python bench/<name>.py)."""

from __future__ import annotations

import statistics
import time


def median_seconds(function, repeats: int = 7) -> float:
    """Median wall time of `function()` over `repeats` calls, after one warm-up call (allocations, caches)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def median_ms(function, repeats: int = 7) -> float:
    return median_seconds(function, repeats) * 1000


def interleaved_times(functions: dict, repeats: int = 21) -> dict[str, list[float]]:
    """Times of each function in seconds, calls interleaved so a busy machine slows all of them alike."""
    for function in functions.values():
        function()  # warm-up
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times
