"""Several threads for large arrays: the kernels' ``threads=`` argument.

The compiled loops release the GIL (``edgeact._jit``), so plain Python threads run them in
parallel on disjoint parts of an array. ``apply_threads`` cuts x and out into one part per thread
and runs the same loop on each, so the results are the bits one thread gives: every element is
computed by the same code, only by another core. A contiguous array is cut into runs of its
memory whose borders fall on 64-byte lines of out (no two threads write one cache line, and the
SIMD loops' blocks stay whole); any other layout is cut along its outermost axis in memory that
has at least one index per thread, and each part goes through ``apply_1d`` as one thread would.

Threads cost a fixed 20-60 µs per call here (wake a pool thread, wait for it), which only an
array of THREADED_BYTES or more pays back. Below that a kernel takes exactly its one-thread path
and never touches the pool.
"""

import concurrent.futures
import itertools
import os
import threading

import numpy as np
from numba.core import config as numba_config

from edgeact.kernels._loops import LINE_BYTES, apply_1d

__all__ = ["THREADED_BYTES", "apply_threads", "check_threads"]

# From bench/bench_threads.py --sweep on this 2-core VM (AMD EPYC Zen 5), both cores idle: an
# empty task through the pool takes 23 µs at best, 60 µs typically (waking an idle vCPU), and two
# threads first beat one at 8-16 MiB of input for the cheap kernels (relu6 float32 0.91-1.04× at
# 8 MiB, 1.32× at 16 MiB; the int8 sigmoid table 0.99-1.01×, 1.30×; np.copyto 0.81×, 1.62×),
# at 2-4 MiB for float16 hardswish (0.91×, 1.22×) and 4-8 MiB for float32 hardswish (0.80×,
# 1.30×; it then still computed in float64). Hence threads from 8 MiB on, each on 4 MiB or
# more: no kernel loses there, the arithmetic ones gain 1.3-1.5×. With one core busy elsewhere, two
# threads lost up to 8 MiB for every kernel.
THREADED_BYTES = 8 << 20  # input bytes from which threads run, each on half of it or more

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def check_threads(name: str, threads) -> None:
    """``threads`` is an int >= 1 (None, Numba's count, is not checked: kernels skip this call
    for it); anything else is an error naming ``name``."""
    if type(threads) is int and threads >= 1:
        return
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"{name}: threads must be an int >= 1 or None, got {threads!r}")
    if threads < 1:
        raise ValueError(f"{name}: threads must be >= 1 (or None for Numba's), got {threads}")


def apply_threads(loop, x: np.ndarray, out: np.ndarray, threads: int | None) -> None:
    """``apply_1d(loop, x, out)`` on up to ``threads`` threads (as ``check_threads`` allows;
    None: Numba's count, ``NUMBA_NUM_THREADS``, else the core count), at most one per half
    THREADED_BYTES of x.

    x and out must not overlap partly (``unaliased``); ``out is x`` is fine, as each thread
    writes only the elements it read. Below the threshold this is one test and ``apply_1d``.
    """
    if x.nbytes < THREADED_BYTES or threads == 1:
        apply_1d(loop, x, out)
        return
    wanted = numba_config.NUMBA_NUM_THREADS if threads is None else int(threads)
    workers = min(wanted, 2 * x.nbytes // THREADED_BYTES)
    parts = _parts(x, out, workers) if workers > 1 else None
    if parts is None:
        apply_1d(loop, x, out)
        return
    futures = _submit(loop, parts[1:])
    try:
        apply_1d(loop, *parts[0])  # this thread takes the first part
    finally:  # never return (or raise) while a worker may still be writing into out
        concurrent.futures.wait(futures)
    for future in futures:
        future.result()  # a worker's exception, raised here


def _parts(x, out, workers):
    """[(x part, out part)] covering x and out, or None where no axis has ``workers`` indices."""
    if x.strides == out.strides and (x.flags.c_contiguous or x.flags.f_contiguous):
        x, out = x.ravel(order="K"), out.ravel(order="K")
        axis, bounds = 0, _line_bounds(out, workers)
    else:
        outermost_first = sorted(range(x.ndim), key=lambda a: -abs(x.strides[a]))
        axis = next((a for a in outermost_first if x.shape[a] >= workers), None)
        if axis is None:
            return None
        bounds = [x.shape[axis] * k // workers for k in range(workers + 1)]
    cut = [slice(None)] * x.ndim
    parts = []
    for lo, hi in itertools.pairwise(bounds):
        cut[axis] = slice(lo, hi)
        parts.append((x[tuple(cut)], out[tuple(cut)]))
    return parts


def _line_bounds(out, workers) -> list[int]:
    """Borders of ``workers`` near-equal runs of the 1-D out, each moved to the nearest 64-byte
    line (where out's address allows)."""
    size, itemsize = out.size, out.itemsize
    step = LINE_BYTES // itemsize
    address = out.__array_interface__["data"][0]
    first_line = (-(address // itemsize)) % step if address % itemsize == 0 else 0
    bounds = [0]
    for k in range(1, workers):
        aligned = first_line + round((size * k // workers - first_line) / step) * step
        bounds.append(min(max(aligned, bounds[-1]), size))
    return [*bounds, size]


def _submit(loop, parts) -> list[concurrent.futures.Future]:
    """``apply_1d(loop, *part)`` for each part on the process's thread pool, which is kept
    between calls and grown when a call wants more threads than it has. Submitting under the
    lock keeps a call from submitting to a pool another call has just replaced."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool_size < len(parts):
            previous = _pool
            _pool = concurrent.futures.ThreadPoolExecutor(len(parts), "edgeact-kernel")
            _pool_size = len(parts)
            if previous is not None:
                previous.shutdown(wait=False)  # its queued parts still run, then its threads end
        return [_pool.submit(apply_1d, loop, *part) for part in parts]


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: its first threaded call starts a pool."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)
