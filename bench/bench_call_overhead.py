"""Time per call of edgeact's kernels and NumPy's expressions on small arrays, interleaved.

Activations in inference are often small tensors, where a kernel's fixed cost per call (argument
checks, dispatch into the compiled loop) matters more than its loop. For each activation × dtype
× size this times ``edgeact.kernels.<name>(x, out)`` and NumPy's equivalent expression in the
same interleaved batches (see ``bench/_interleave.py``) and prints µs per call and the ratio.
Run it in two checkouts to compare a change's per-call cost before and after.

    PYTHONPATH=. python bench/bench_call_overhead.py              # ~20 s
    PYTHONPATH=. python bench/bench_call_overhead.py --sizes 16,3072 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark the checkout this script belongs to

import edgeact.kernels as K  # noqa: E402
from bench._interleave import best_interleaved  # noqa: E402
from edgeact.bench.numpy_peers import numpy_equivalent  # noqa: E402

DTYPES = {"f32": np.float32, "f16": np.float16}


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
    x = np.random.default_rng(0).normal(0, 3, size).astype(dtype)
    out = np.empty_like(x)
    kernel, expression = K.get(name), numpy_equivalent(name)
    kernel(x, out)  # compile (or load the cached loop) before timing
    with np.errstate(all="ignore"):
        edgeact_s, numpy_s = best_interleaved(
            [lambda: kernel(x, out), lambda: expression(x)], repeats
        )
    return {
        "activation": name,
        "dtype": dtype.name,
        "elements": size,
        "edgeact_us": edgeact_s * 1e6,
        "numpy_us": numpy_s * 1e6,
    }


def _line(row: dict) -> str:
    ratio = row["numpy_us"] / row["edgeact_us"]
    return (
        f"{row['activation']:<12} {row['dtype']:<8} {row['elements']:>7}  "
        f"edgeact {row['edgeact_us']:7.2f} µs  numpy {row['numpy_us']:7.2f} µs  {ratio:5.2f}× numpy"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--activations", default="relu6,hardswish,sigmoid", help="comma-separated")
    p.add_argument("--dtypes", default="f32,f16", help="of f32, f16")
    p.add_argument("--sizes", default="16,3072", help="element counts, comma-separated")
    p.add_argument("--repeats", type=int, default=31, help="interleaved batches per case")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    return p


if __name__ == "__main__":
    sys.exit(main())
