"""Two threads against one: the speedup of the kernels' ``threads=`` argument, and its threshold.

By default times relu6 and hardswish on float32, hardswish on float16 (arithmetic), sigmoid on int8
(byte table), and sigmoid and gelu_tanh on float32 and sigmoid on float16 (table gathers), which
the core, not the memory, limits, at the DRAM size of ``edgeact bench kernels`` with ``threads=1``
and ``threads=2``, interleaved (``bench/_interleave.py``: load hits both alike), and prints seconds
per call and the ratio; and ``np.copyto`` split the same way, the bandwidth roof of two threads (a
machine whose memory one core saturates gives threads nothing there); last, the cores' roof:
float32 gelu_tanh on a cached array in one process, then in as many processes as threads at once
(vCPUs that share a physical core give less than their count, and no thread count beats that).
``--sweep`` times the same pairs at sizes from 64 KiB to 16 MiB of input with the threshold lowered
so that two threads really run, after the round trip of an empty task through the kernels' thread
pool (the fixed cost two threads must win back): the size where the ratio first passes 1 for the
cheap kernels is what ``_threads.THREADED_BYTES`` is chosen from.

    PYTHONPATH=. python bench/bench_threads.py                   # ~20 s at 32 MiB DRAM size
    PYTHONPATH=. python bench/bench_threads.py --sweep           # ~1.5 min
    PYTHONPATH=. python bench/bench_threads.py --threads 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark the checkout this script belongs to

import edgeact.kernels as K  # noqa: E402
from bench._interleave import best_interleaved  # noqa: E402
from edgeact.bench.machine import default_sizes  # noqa: E402
from edgeact.kernels import _threads  # noqa: E402
from edgeact.quant import QuantParams  # noqa: E402

CASES = [("relu6", "float32"), ("hardswish", "float32"), ("hardswish", "float16"),
         ("sigmoid", "int8"), ("sigmoid", "float32"), ("gelu_tanh", "float32"),
         ("sigmoid", "float16"), ("copy", "float32")]  # fmt: skip
SWEEP_KIB = [64, 256, 1024, 2048, 4096, 8192, 16384]
X_Q, Y_Q = QuantParams(0.05, -3, np.int8), QuantParams(1 / 256, -128, np.int8)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.sweep:
        _threads.THREADED_BYTES = 2  # time the threads at every size, below the threshold too
    rows = []
    if args.sweep:
        print(_pool_round_trip(), flush=True)
    for name, dtype in CASES:
        itemsize = np.dtype(dtype).itemsize
        sizes = (
            [kib * 1024 // itemsize for kib in SWEEP_KIB]
            if args.sweep
            else [default_sizes(itemsize)["DRAM"]]
        )
        for n in sizes:
            rows.append(_time_case(name, dtype, n, args.threads, args.repeats))
            print(_line(rows[-1]), flush=True)
    if not args.sweep:
        rows.append(_cores_roof(args.threads))
        print(
            f"cores roof: {args.threads} processes of compute-bound work (float32 gelu_tanh on "
            f"{_ROOF_ELEMENTS} values) at once ran {rows[-1]['speedup']:.2f}× one alone",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _time_case(name: str, dtype: str, n: int, threads: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    if dtype == "int8":
        x, quant = rng.integers(-128, 128, n, dtype=np.int8), {"x_q": X_Q, "y_q": Y_Q}
    else:
        x, quant = (3 * rng.standard_normal(n, dtype=np.float32)).astype(dtype), {}
    kernel, out = (_copy if name == "copy" else K.get(name)), np.empty_like(x)
    one = kernel(x, **quant, threads=1)
    if not np.array_equal(
        kernel(x, out, **quant, threads=threads).view(np.uint8), one.view(np.uint8)
    ):
        raise SystemExit(f"{name} {dtype}: {threads} threads differ from one")
    one_s, many_s = best_interleaved(
        [
            lambda: kernel(x, out, **quant, threads=1),
            lambda: kernel(x, out, **quant, threads=threads),
        ],
        repeats,
        min_batch_s=0.02,
    )
    return {"activation": name, "dtype": dtype, "elements": n, "bytes_in": x.nbytes,
            "threads": threads, "one_thread_s": one_s, "threads_s": many_s,
            "speedup": one_s / many_s}  # fmt: skip


def _copy(x, out=None, *, threads):
    """``np.copyto`` (which releases the GIL) split over threads as the kernels are: the memory
    bandwidth two threads can have at most."""
    out = np.empty_like(x) if out is None else out
    _threads.apply_threads(lambda a, b: np.copyto(b, a), x, out, threads)
    return out


_ROOF_ELEMENTS = 16384  # float32: 64 KiB in and out, in L1/L2, so memory is not the limit


def _cores_roof(processes: int, seconds: float = 2.0) -> dict:
    """The speedup ``processes`` cores give compute-bound work at most: float32 gelu_tanh on an
    array that stays in cache, run in one process, then in ``processes`` at once. Where vCPUs
    share one physical core's units this is well below their count, and no thread count can
    beat it, as the copy's row bounds the memory-bound kernels."""
    context = multiprocessing.get_context("spawn")

    def rates(count: int) -> list[float]:
        ready, results = context.Barrier(count + 1), context.Queue()
        workers = [
            context.Process(target=_gelu_rate, args=(seconds, ready, results)) for _ in range(count)
        ]
        for worker in workers:
            worker.start()
        ready.wait()
        measured = [results.get() for _ in workers]
        for worker in workers:
            worker.join()
        return measured

    alone, together = rates(1)[0], sum(rates(processes))
    return {"activation": "cores roof", "dtype": "float32", "elements": _ROOF_ELEMENTS,
            "threads": processes, "one_process_rate": alone, "processes_rate": together,
            "speedup": together / alone}  # fmt: skip


def _gelu_rate(seconds: float, ready, results) -> None:
    """Elements per second of ``K.gelu_tanh`` on one thread, timed after every process is ready."""
    x = np.random.default_rng(0).normal(0, 3, _ROOF_ELEMENTS).astype(np.float32)
    out = np.empty_like(x)
    K.gelu_tanh(x, out, threads=1)
    ready.wait()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            K.gelu_tanh(x, out, threads=1)
        calls += 100
    results.put(calls * x.size / (time.perf_counter() - start))


def _pool_round_trip(calls: int = 5000) -> str:
    """What handing one part to the kernels' pool and waiting for it costs, with no work in it:
    the fixed price two threads must win back."""
    times, x = [], np.empty(0)
    for _ in range(calls):
        start = time.perf_counter()
        (part,) = _threads._submit(lambda x, out: None, [(x, x)])
        part.result()
        times.append(time.perf_counter() - start)
    times.sort()
    return (
        f"pool round trip: min {times[0] * 1e6:.1f} µs, median {times[calls // 2] * 1e6:.1f} µs "
        f"({calls} empty tasks)"
    )


def _line(row: dict) -> str:
    return (
        f"{row['activation']:<10} {row['dtype']:<8} {row['bytes_in'] / 1024:>9.0f} KiB  "
        f"1 thread {row['one_thread_s'] * 1e6:9.1f} µs  {row['threads']} threads "
        f"{row['threads_s'] * 1e6:9.1f} µs  speedup {row['speedup']:5.2f}×"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", action="store_true", help="sizes 64 KiB..16 MiB instead of DRAM")
    p.add_argument("--threads", type=int, default=2, help="threads against one (default 2)")
    p.add_argument("--repeats", type=int, default=15, help="interleaved batches per case")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    return p


if __name__ == "__main__":
    sys.exit(main())
