"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import time


def best_time(fn, repeat: int = 1) -> float:
    """The shortest of ``repeat`` wall-clock timings of ``fn()``, in seconds."""
    times = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
