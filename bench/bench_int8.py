"""int8 kernels against LiteRT's own int8 kernels and NumPy, on the same codes, in one run.

    python bench/bench_int8.py [--sizes 1048576,67108864] [--json FILE] [--quick]

For each op: one single-op int8 TFLite model per runtime path (LiteRT's builtin kernels, and its
default XNNPACK delegate), one thread. Every result is first checked bit for bit against edgeact
with the matching ``compat`` (nothing wrong is timed), then edgeact, LiteRT and NumPy's table
indexing (``np.take``) are timed on the same input with preallocated outputs; the table prints
elements/s and the ratio of edgeact to each peer.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import edgeact.kernels as K
from edgeact import QuantParams, bench
from edgeact.runtimes import litert

X_Q = QuantParams(0.05, -3, "int8")
Y_Q = QuantParams(0.04, -20, "int8")
# (edgeact name, TFLite op, TFLite options, output parameters): LOGISTIC and TANH require theirs.
CASES = [
    ("hardswish", "HARD_SWISH", {}, Y_Q),
    ("relu6", "RELU6", {}, Y_Q),
    ("hardsigmoid", None, {}, QuantParams(1 / 256, -128, "int8")),
    ("sigmoid", "LOGISTIC", {}, QuantParams(1 / 256, -128, "int8")),
    ("tanh", "TANH", {}, QuantParams(1 / 128, 0, "int8")),
    ("gelu", "GELU", {"approximate": False}, Y_Q),
    ("leaky_relu", "LEAKY_RELU", {"alpha": 0.01}, Y_Q),
]
DEFAULT_SIZES = (1 << 20, 1 << 26)


def _litert_peers(name, op, options, y_q, codes, want_builtin):
    """{peer: interpreter} for the LiteRT paths that run this op, each checked against edgeact."""
    peers = {}
    for label, delegate, compat in (("litert", False, "tflite"), ("xnnpack", True, "xnnpack")):
        interp = litert.interpreter(
            litert.single_op_model(op, X_Q, y_q, shape=codes.shape, **options), delegate=delegate
        )
        if delegate and "DELEGATE" not in litert.delegated_ops(interp):
            continue  # XNNPACK does not take this op: the delegate path is the builtin kernel
        got = litert.run_interpreter(interp, codes)
        want = (
            want_builtin
            if compat == "tflite"
            else K.get(name)(codes, x_q=X_Q, y_q=y_q, compat=compat)
        )
        if not np.array_equal(got, want):
            raise bench.ValidationError(
                f"{name}: edgeact (compat={compat}) differs from LiteRT {label}"
            )
        peers[label] = interp
    return peers


def bench_case(name, op, options, y_q, size, min_time):
    codes = np.random.default_rng(size).integers(-128, 128, size).astype(np.int8)
    out = np.empty_like(codes)
    kernel = K.get(name)
    params = {"negative_slope": options["alpha"]} if "alpha" in options else {}
    want = kernel(codes, x_q=X_Q, y_q=y_q, **params)
    table = K.make_lut(name, X_Q, y_q, **params)
    taken = np.empty_like(codes)
    np.take(table, codes.view(np.uint8), out=taken)
    if not np.array_equal(taken, want):
        raise bench.ValidationError(f"{name}: NumPy's table indexing disagrees with edgeact")
    peers = _litert_peers(name, op, options, y_q, codes, want) if op else {}
    seconds = {
        "edgeact": bench.time_call(
            lambda: kernel(codes, out, x_q=X_Q, y_q=y_q, **params), min_time=min_time
        )
    }
    seconds["numpy"] = bench.time_call(
        lambda: np.take(table, codes.view(np.uint8), out=taken), min_time=min_time
    )
    for label, interp in peers.items():
        seconds[label] = bench.time_call(interp.invoke, min_time=min_time, max_time=5 * min_time)
    return {
        "activation": name,
        "tflite_op": op,
        "elements": size,
        "seconds": seconds,
        "elements_per_s": {k: size / v for k, v in seconds.items()},
        "edgeact_speedup": {
            k: v / seconds["edgeact"] for k, v in seconds.items() if k != "edgeact"
        },
    }


def format_table(records) -> str:
    peers = ("numpy", "litert", "xnnpack")
    head = f"{'activation':<12} {'elements':>10} {'edgeact':>9} " + " ".join(
        f"{p:>9} {'×' + p:>9}" for p in peers
    )
    lines = [head, "(G elements/s; ×peer = how many times faster edgeact is)", "-" * len(head)]
    for r in records:
        rate = r["elements_per_s"]
        cells = [
            f"{rate[p] / 1e9:>9.2f} {r['edgeact_speedup'][p]:>8.1f}×"
            if p in rate
            else f"{'-':>9} {'-':>9}"
            for p in peers
        ]
        lines.append(
            f"{r['activation']:<12} {r['elements']:>10} {rate['edgeact'] / 1e9:>9.2f} "
            + " ".join(cells)
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", help="comma-separated element counts")
    parser.add_argument("--json", type=Path, help="write the records here")
    parser.add_argument("--quick", action="store_true", help="small sizes, short timings")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(DEFAULT_SIZES)
    if args.quick:
        sizes = [1 << 16]
    if any(s < 1 for s in sizes):
        parser.error("sizes must be positive")
    min_time = 0.02 if args.quick else 0.1
    machine = bench.machine_info()
    print(bench.describe_machine(machine))
    records = []
    total = len(CASES) * len(sizes)
    for i, (case, size) in enumerate((c, s) for s in sizes for c in CASES):
        print(f"[{i + 1}/{total}] {case[0]} {size}", file=sys.stderr, flush=True)
        records.append(bench_case(*case, size, min_time))
    print(format_table(records))
    path = args.json or Path(__file__).parent / "results" / f"int8-{machine['architecture']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine, "records": records}, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
