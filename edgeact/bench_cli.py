"""``edgeact bench kernels|model|compare``: parsing and printing only; the work is in edgeact.bench.

``add_subcommand(subparsers)`` adds the ``bench`` parser to the ``edgeact`` command. Every
handler takes the parsed ``args`` and returns the exit status; bad input raises ValueError (or
OSError), which ``edgeact.cli.main`` prints as one line with exit status 2.
"""

from __future__ import annotations

import os
import sys
import time

from edgeact.converters._targets import TARGETS

__all__ = ["DEFAULT_ACTIVATIONS", "DEFAULT_DTYPES", "add_subcommand"]

# The default run: the edge activations with a peer in every runtime, float and int8, three
# sizes; it takes ~3 minutes on a 2-core x86-64 VM. "--activations all" runs every kernel.
DEFAULT_ACTIVATIONS = ("relu6", "hardswish", "sigmoid", "gelu_tanh")
DEFAULT_DTYPES = ("float32", "float16", "int8")
_DTYPE_TOKENS = {"f32": "float32", "f16": "float16", "fp32": "float32", "fp16": "float16"}


def add_subcommand(subparsers) -> None:
    """Add ``bench`` with its ``kernels``, ``model`` and ``compare`` subcommands."""
    from edgeact.bench import PEERS

    bench = subparsers.add_parser(
        "bench", help="time kernels against NumPy/ONNX Runtime/LiteRT, or models", description=(
            "Benchmarks measured on this machine; every report starts with the machine."),
    )  # fmt: skip
    commands = bench.add_subparsers(dest="bench_command", required=True)

    kernels = commands.add_parser(
        "kernels",
        help="edgeact's kernels vs NumPy, ONNX Runtime, LiteRT and a memory copy",
        description="Validate, then time each activation × dtype × size for edgeact and every "
        "available peer on the same array (best of --repeat, each ≥ --min-time s). Progress on "
        "stderr, the table on stdout; exit status 1 if a result was wrong.",
    )
    kernels.add_argument(
        "--activations",
        default=",".join(DEFAULT_ACTIVATIONS),
        help=f"comma-separated, or 'all' (default: {','.join(DEFAULT_ACTIVATIONS)}, the edge "
        "activations every runtime has, so that the default run stays under 5 minutes)",
    )
    kernels.add_argument(
        "--dtypes", default="f32,f16,int8", help="of f32, f16, int8, uint8 (default: f32,f16,int8)"
    )
    kernels.add_argument(
        "--sizes",
        default="L1,L2,DRAM",
        help="L1, L2, DRAM (from the caches) or element counts like 4096, 64K, 1M "
        "(default: L1,L2,DRAM)",
    )
    kernels.add_argument(
        "--peers", default=",".join(PEERS), help=f"of {', '.join(PEERS)} (default: all)"
    )
    kernels.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads of edgeact's kernels and of the runtime peers (default 1; NumPy and the "
        "copy use one)",
    )
    kernels.add_argument("--repeat", type=int, default=3, help="measurements, best kept (3)")
    kernels.add_argument("--min-time", type=float, default=0.1, help="seconds per measurement")
    kernels.add_argument("--json", metavar="FILE", help="write the records as JSON")
    kernels.add_argument(
        "--plot", metavar="FILE.png",
        help="draw throughput per case, one panel per dtype (needs matplotlib)",
    )  # fmt: skip
    kernels.set_defaults(run=run_kernels)

    model = commands.add_parser(
        "model",
        help="latency and peak memory of a model, or of two interleaved",
        description="Latency (median, p90, min) and peak memory of MODEL, or of MODEL and "
        "OTHER_MODEL measured interleaved (A B A B ...) with their ratio. Inputs are random.",
    )
    model.add_argument("model", help="an .onnx or .tflite file")
    model.add_argument("other", nargs="?", help="a second model, e.g. the converted one")
    model.add_argument(
        "--target",
        help=f"the runtime, named as convert's --target: {', '.join(TARGETS)} (default: "
        "onnxruntime or litert-xnnpack, from the file's identifier)",
    )
    model.add_argument("--threads", type=int, default=1, help="runtime threads (default 1)")
    model.add_argument("--runs", type=int, default=50, help="timed runs per model (default 50)")
    model.add_argument("--json", metavar="FILE", help="write the records as JSON")
    model.set_defaults(run=run_model)

    compare = commands.add_parser(
        "compare", help="two bench JSON files side by side, with B/A ratios"
    )
    compare.add_argument("a", metavar="A.json")
    compare.add_argument("b", metavar="B.json")
    compare.add_argument(
        "--plot", metavar="FILE.png", help="draw B/A per case on a log2 axis (needs matplotlib)"
    )
    compare.set_defaults(run=run_compare)


def run_kernels(args) -> int:
    from edgeact import bench
    from edgeact.bench import report, xnnpack
    from edgeact.kernels import lookup_paths

    lookup_paths()  # chosen at import: a bad EDGEACT_BYTE_LUT is an error here, before any output

    activations = _names(args.activations)
    if activations == ["all"]:
        activations = None
    dtypes = [_DTYPE_TOKENS.get(d, d) for d in _names(args.dtypes)]
    sizes = bench.parse_sizes(args.sizes)
    if args.plot:
        from edgeact.bench.plot import require_matplotlib

        require_matplotlib()  # a missing matplotlib is an error before the run, not after it
    machine = bench.machine_info()
    print(bench.describe_machine(machine), end="\n\n", flush=True)
    load_before, start = _load(), time.perf_counter()
    records = bench.measure_kernels(
        activations, dtypes, sizes, peers=_names(args.peers), threads=args.threads,
        min_time=args.min_time, repeats=args.repeat, errors="record", progress=_progress,
    )  # fmt: skip
    wall = time.perf_counter() - start
    machine["xnnpack_microkernels"] = xnnpack.microkernels(records, machine)
    header = report.format_xnnpack(machine)
    print(*([header, ""] if header else []), bench.format_table(bench.rows(records)), sep="\n")
    if args.threads > 1:
        print(f"edgeact and the runtimes ran on {args.threads} threads, NumPy and the copy on one")
    print(f"\nwall time {wall:.0f} s")
    settings = {
        "command": _command(), "activations": activations, "dtypes": dtypes, "sizes": sizes,
        "peers": _names(args.peers), "threads": args.threads, "repeats": args.repeat,
        "min_time": args.min_time, "wall_time_s": round(wall, 1),
        "load_average_before_after": [load_before, _load()],
    }  # fmt: skip
    document = report.document("kernels", machine, settings, records)
    _outputs(args, document)
    if args.plot:
        from edgeact.bench.plot import plot_kernels

        plot_kernels(document, args.plot)
        print(f"wrote {args.plot}")
    wrong = [r for r in records if r["status"] == "wrong"]
    if wrong:
        print(f"{len(wrong)} result(s) failed validation and were not timed", file=sys.stderr)
    return 1 if wrong else 0


def run_model(args) -> int:
    from edgeact import bench
    from edgeact.bench import report

    paths = [args.model] + ([args.other] if args.other else [])
    machine = bench.machine_info()
    print(bench.describe_machine(machine), end="\n\n", flush=True)
    records = bench.bench_models(
        paths, target=args.target, threads=args.threads, runs=args.runs,
        progress=lambda text: print(text, file=sys.stderr, flush=True),
    )  # fmt: skip
    print(report.format_models(records))
    settings = {"command": _command(), "threads": args.threads, "runs": args.runs}
    _outputs(args, report.document("models", machine, settings, records))
    return 0


def run_compare(args) -> int:
    from edgeact.bench import report

    a, b = report.read_document(args.a), report.read_document(args.b)
    matched = report.compare(a, b)
    names = (os.path.basename(args.a), os.path.basename(args.b))
    print(report.format_compare(a, b, matched, names))
    if args.plot:
        from edgeact.bench.plot import plot_compare

        plot_compare(matched, args.plot, names, higher_is_better=a["kind"] == "kernels")
        print(f"wrote {args.plot}")
    return 0


def _outputs(args, document) -> None:
    if args.json:
        from edgeact.bench.report import write_document

        write_document(args.json, document)
        print(f"wrote {args.json}")


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError(f"expected a comma-separated list, got {text!r}")
    return names


def _command() -> str:
    """The command line as the process got it (a shell or a test runner's)."""
    return " ".join([os.path.basename(sys.argv[0]), *sys.argv[1:]])


def _load() -> float | None:
    """The 1-minute load average: above ~0 other processes competed for the cores."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _progress(done: int, total: int, label: str) -> None:
    """One updating line on a terminal; one line per step in a log."""
    if sys.stderr.isatty():
        end = "\n" if done + 1 == total else ""
        print(f"\r[{done + 1}/{total}] {label:<50}", end=end, file=sys.stderr, flush=True)
    else:
        print(f"[{done + 1}/{total}] {label}", file=sys.stderr, flush=True)
