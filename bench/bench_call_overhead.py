"""Time per call of edgeact's kernels and NumPy's expressions on small arrays, interleaved.

Activations in inference are often small tensors, where a kernel's fixed cost per call (argument
checks, dispatch into the compiled loop) matters more than its loop. For each activation × dtype
× size this times ``edgeact.kernels.<name>(x, out)``, the same call made from inside a user's
``@njit`` loop, and NumPy's equivalent expression (for int8 codes: the 256-entry table indexed by
NumPy) in the same interleaved batches (see ``bench/_interleave.py``) and prints µs per call and
the ratios. Each timed function makes ``CALLS`` calls, so that the compiled loop and the Python
ones run for similar times per batch (a Python ``for`` step adds ~1 % to a 2 µs call). Run it in
two checkouts to compare a change's per-call cost before and after.

    PYTHONPATH=. python bench/bench_call_overhead.py              # ~3 min
    PYTHONPATH=. python bench/bench_call_overhead.py --sizes 16,3072 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from numba import njit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark the checkout this script belongs to

import edgeact.kernels as K  # noqa: E402
from bench._interleave import best_interleaved  # noqa: E402
from edgeact.bench.numpy_peers import numpy_equivalent  # noqa: E402
from edgeact.quant import QuantParams  # noqa: E402

DTYPES = {"f32": np.float32, "f16": np.float16, "int8": np.int8}
X_Q, Y_Q = QuantParams(0.05, 0, np.int8), QuantParams(0.04, -20, np.int8)
CALLS = 100


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    rows = []
    for name in args.activations.split(","):
        for dtype in args.dtypes.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                rows.append(_time_case(name, np.dtype(DTYPES[dtype]), size, args.repeats))
                print(_line(rows[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _time_case(name: str, dtype: np.dtype, size: int, repeats: int) -> dict:
    kernel = K.get(name)
    if dtype == np.int8:
        x = np.random.default_rng(0).integers(-128, 128, size, dtype=np.int8)
        quant = {"x_q": X_Q, "y_q": Y_Q}
        table = K.make_lut(name, X_Q, Y_Q)
        expression = lambda x: table[x.view(np.uint8)]  # noqa: E731
    else:
        x = np.random.default_rng(0).normal(0, 3, size).astype(dtype)
        quant, expression = {"x_q": None, "y_q": None}, numpy_equivalent(name)
    out = np.empty_like(x)
    in_njit = _njit_loop(kernel)
    kernel(x, out, **quant)  # compile (or load the cached loop) before timing
    in_njit(x, out, quant["x_q"], quant["y_q"], 1)

    def from_python():
        for _ in range(CALLS):
            kernel(x, out, **quant)

    def numpy_expression():
        for _ in range(CALLS):
            expression(x)

    with np.errstate(all="ignore"):
        edgeact_s, njit_s, numpy_s = (
            t / CALLS
            for t in best_interleaved(
                [
                    from_python,
                    lambda: in_njit(x, out, quant["x_q"], quant["y_q"], CALLS),
                    numpy_expression,
                ],
                repeats,
            )
        )
    return {
        "activation": name,
        "dtype": dtype.name,
        "elements": size,
        "edgeact_us": edgeact_s * 1e6,
        "edgeact_in_njit_us": njit_s * 1e6,
        "numpy_us": numpy_s * 1e6,
    }


def _njit_loop(kernel):
    @njit
    def calls(x, out, x_q, y_q, n):
        for _ in range(n):
            kernel(x, out, x_q=x_q, y_q=y_q)

    return calls


def _line(row: dict) -> str:
    ratio, njit_ratio = (row["numpy_us"] / row[k] for k in ("edgeact_us", "edgeact_in_njit_us"))
    return (
        f"{row['activation']:<12} {row['dtype']:<8} {row['elements']:>7}  "
        f"edgeact {row['edgeact_us']:7.2f} µs  in @njit {row['edgeact_in_njit_us']:7.2f} µs  "
        f"numpy {row['numpy_us']:7.2f} µs  × numpy: {ratio:5.2f}, in @njit {njit_ratio:5.2f}"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--activations", default="relu6,hardswish,sigmoid", help="comma-separated")
    p.add_argument("--dtypes", default="f32,f16,int8", help="of f32, f16, int8")
    p.add_argument("--sizes", default="16,3072", help="element counts, comma-separated")
    p.add_argument("--repeats", type=int, default=31, help="interleaved batches per case")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    return p


if __name__ == "__main__":
    sys.exit(main())
