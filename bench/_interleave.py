"""Time two or more callables in the same run, interleaved, for before/after model comparisons.

Batches alternate (A batch, B batch, A batch, ...) so that clock and load drift hit every
callable alike. A batch is ``loops`` back-to-back calls, ``loops`` chosen so the slowest
callable's batch takes at least ``min_batch_s``; the figure is the best batch per call: on a
shared machine other work only ever adds time, so the minimum is the stable estimate.
"""

import time
from collections.abc import Callable, Sequence

__all__ = ["best_interleaved"]


def _loops(fn: Callable[[], object], min_batch_s: float) -> int:
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        if time.perf_counter() - start >= min_batch_s:
            return loops
        loops *= 2


def best_interleaved(
    fns: Sequence[Callable[[], object]], repeats: int, min_batch_s: float = 0.01
) -> list[float]:
    """Best seconds per call of each of ``fns``, over ``repeats`` interleaved batches."""
    loops = max(_loops(fn, min_batch_s) for fn in fns)
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(loops):
                fn()
            best[k] = min(best[k], (time.perf_counter() - start) / loops)
    return best
