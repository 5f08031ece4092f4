"""``time_call`` and ``time_calls``: best seconds per call, each measurement lasting at least
``min_time``, several callables' measurements interleaved."""

import gc
import math
import time
from collections.abc import Callable, Sequence

__all__ = ["time_call", "time_calls"]


def time_call(
    fn: Callable[[], object],
    *,
    min_time: float = 0.1,
    repeats: int = 5,
    max_time: float | None = None,
) -> float:
    """Best seconds per call of ``fn()`` (``time_calls`` of one callable)."""
    return time_calls([fn], min_time=min_time, repeats=repeats, max_time=max_time)[0]


def time_calls(
    fns: Sequence[Callable[[], object]],
    *,
    min_time: float = 0.1,
    repeats: int = 5,
    max_time: float | None = None,
) -> list[float]:
    """Best seconds per call of each of ``fns``, their measurements interleaved.

    One untimed call of each first: a first call may compile (edgeact's short path compiles its
    entry on first use, ~0.5 s without a disk cache), and timed it set n to 1 and left single
    cold calls to measure (relu6 at L2 size read 1.8 G elements/s instead of 16). Then each gets
    an inner count n, calibrated so one measurement of n calls lasts ≥ ``min_time`` (the
    calibrating one counts: it is a valid measurement), and the measurements take turns, one of
    each per round, so that a drift of the machine (a neighbour on the host taking memory
    bandwidth) hits them alike: a kernel's fraction of a copy at DRAM size read 55-92 % in three
    runs of one command when the copy was timed after the kernel. The minimum per callable is
    the least disturbed run. ``max_time`` stops the rounds once a callable has spent that much
    time measuring, so a peer that takes seconds per call is measured once, not five times.
    """
    if not min_time > 0 or repeats < 1:
        raise ValueError(f"need min_time > 0 and repeats >= 1, got {min_time!r}, {repeats!r}")
    counts, best, spent = [], [], []
    for fn in fns:
        fn()
        n, elapsed = 1, _measure(fn, 1)
        while elapsed < min_time:
            grow = 1.2 * min_time / max(elapsed, 1e-9)
            n = max(2 * n, math.ceil(n * min(grow, 1000.0)))
            elapsed = _measure(fn, n)
        counts.append(n)
        best.append(elapsed / n)
        spent.append(elapsed)
    for _ in range(repeats - 1):
        if max_time is not None and max(spent) >= max_time:
            break
        for k, fn in enumerate(fns):
            elapsed = _measure(fn, counts[k])
            best[k], spent[k] = min(best[k], elapsed / counts[k]), spent[k] + elapsed
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
