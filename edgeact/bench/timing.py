"""``time_call``: best seconds per call, each measurement lasting at least ``min_time``."""

import gc
import math
import time
from collections.abc import Callable

__all__ = ["time_call"]


def time_call(
    fn: Callable[[], object],
    *,
    min_time: float = 0.1,
    repeats: int = 5,
    max_time: float | None = None,
) -> float:
    """Best seconds per call of ``fn()``.

    One untimed call first: a first call may compile (edgeact's short path compiles its entry on
    first use, ~0.5 s without a disk cache), and timed it set n to 1 and left single cold calls
    to measure (relu6 at L2 size read 1.8 G elements/s instead of 16). Then calibrates an inner
    count n so one measurement of n calls lasts ≥ ``min_time``, and keeps the minimum of
    ``repeats`` measurements (the calibrating one counts: it is a valid measurement).
    The minimum is the least disturbed run. ``max_time`` stops repeating once that much time was
    spent measuring, so a peer that takes seconds per call is measured once, not five times.
    """
    if not min_time > 0 or repeats < 1:
        raise ValueError(f"need min_time > 0 and repeats >= 1, got {min_time!r}, {repeats!r}")
    fn()
    n, elapsed = 1, _measure(fn, 1)
    while elapsed < min_time:
        grow = 1.2 * min_time / max(elapsed, 1e-9)
        n = max(2 * n, math.ceil(n * min(grow, 1000.0)))
        elapsed = _measure(fn, n)
    best, spent = elapsed / n, elapsed
    for _ in range(repeats - 1):
        if max_time is not None and spent >= max_time:
            break
        elapsed = _measure(fn, n)
        best, spent = min(best, elapsed / n), spent + elapsed
    return best


def _measure(fn, n: int) -> float:
    """Seconds for n calls, with the garbage collector paused (as timeit does)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
