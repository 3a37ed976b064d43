"""Side-by-side timing helpers: A B A B ... in one process, medians, compile time separate."""

from __future__ import annotations

import statistics
import time


def interleaved(fns: dict, repeats: int, warmup: int = 1) -> dict:
    """Time each callable ``repeats`` times, interleaved (A B A B ...), after ``warmup`` calls each.

    Returns name -> median seconds.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def first_call(fn) -> float:
    """Seconds taken by one call of ``fn``."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def burst(fn, n: int):
    """A callable that calls ``fn`` ``n`` times (one timed sample; divide its time by ``n``)."""

    def run():
        for _ in range(n):
            fn()

    return run


def burst_size(fns, target: float, tries: int = 1, floor: float = 1e-6) -> int:
    """Runs per burst so that one burst of the slowest callable takes about ``target`` seconds.

    Each callable's single-call time is the fastest of ``tries`` calls, and at least ``floor``.
    """
    one = max(min(first_call(f) for _ in range(tries)) for f in fns)
    return max(1, int(target / max(one, floor)))


def geomean(values) -> float:
    """Geometric mean of the positive values (zeros, negatives and NaNs are skipped); NaN if none."""
    values = [v for v in values if v and v > 0]
    if not values:
        return float("nan")
    prod = 1.0
    for v in values:
        prod *= v
    return prod ** (1.0 / len(values))
