"""Speed of the loops on arrays placed as NumPy places them against arrays on a 64-byte line.

NumPy places an array of more than a few KiB 16 bytes past a page, so a loop's vector stores
straddle cache lines unless the loop runs the elements before out's first line apart
(``_loops.line_parts``). This times each loop, interleaved, on arrays 16 bytes past a line and
on arrays on one, and prints G elements/s and their ratio: ~1.0 where the split does its job.
Run it in a checkout from before the split to see what the split gains (2026-12-06, Zen 5,
64 Ki values before it: relu6 0.91×, hardswish 0.87× float32; float16 relu6 0.91×).

    PYTHONPATH=. python bench/bench_alignment.py            # ~20 s
    PYTHONPATH=. python bench/bench_alignment.py --elements 16384
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark the checkout this script belongs to

from bench._interleave import best_interleaved  # noqa: E402
from edgeact.kernels._float32 import float32_loop  # noqa: E402
from edgeact.kernels._half import half_loop  # noqa: E402

LINE_BYTES = 64  # a cache line (here, not imported: the script runs on older checkouts too)
CASES = {  # name: (loop, dtype its arrays are viewed as, dtype of the values)
    "relu6 float32": (float32_loop("relu6"), np.float32, np.float32),
    "hardswish float32": (float32_loop("hardswish"), np.float32, np.float32),
    "sigmoid float32": (float32_loop("sigmoid"), np.float32, np.float32),
    "relu6 float16": (half_loop("relu6"), np.uint16, np.float16),
    "hardswish float16": (half_loop("hardswish"), np.uint16, np.float16),
}


def placed(size: int, dtype, past_line: int) -> np.ndarray:
    """An empty 1-D array ``past_line`` bytes past a 64-byte line."""
    dtype = np.dtype(dtype)
    raw = np.empty(size * dtype.itemsize + 2 * LINE_BYTES, np.uint8)
    start = -raw.ctypes.data % LINE_BYTES + past_line
    return raw[start : start + size * dtype.itemsize].view(dtype)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=64 << 10, help="per array (64 Ki)")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    numpy_offset = np.empty(args.elements, np.float32).ctypes.data % LINE_BYTES
    print(f"{args.elements} elements; NumPy placed this size {numpy_offset} bytes past a line")
    print(f"{'kernel':<18} {'16 past':>9} {'on a line':>10} {'ratio':>6}  G elements/s")
    for name, (loop, view, values) in CASES.items():
        rng = np.random.default_rng(0)
        calls = []
        for past in (16, 0):
            x = placed(args.elements, values, past)
            x[:] = rng.standard_normal(args.elements) * 4
            out = placed(args.elements, values, past)
            calls.append(functools.partial(loop, x.view(view), out.view(view)))
        seconds = best_interleaved(calls, args.repeats)
        rates = [args.elements / s / 1e9 for s in seconds]
        print(f"{name:<18} {rates[0]:9.2f} {rates[1]:10.2f} {seconds[1] / seconds[0]:5.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
