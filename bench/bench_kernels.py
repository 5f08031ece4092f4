"""edgeact's kernel benchmark: every kernel × float32/float16 × an L2-sized and a DRAM-sized array.

Each case is validated first (edgeact within 1 ulp of the float64 reference), then edgeact, the
equivalent NumPy expression and a plain copy (the bandwidth roof) are timed on the same array.
Prints the machine and a table; writes {"machine", "settings", "records"} as JSON. A case that
fails validation is recorded with its error and not timed; the exit status is then 1.

    PYTHONPATH=. python bench/bench_kernels.py                 # full run, ~10 min on 2 cores
    PYTHONPATH=. python bench/bench_kernels.py --quick         # smoke run, seconds
    PYTHONPATH=. python bench/bench_kernels.py --activations hardswish,gelu --dtypes float16

See bench/README.md for what the columns mean.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark the checkout this script belongs to

from edgeact import bench  # noqa: E402

QUICK_SIZES = (4099, 1 << 16)  # an odd size (exercises loop tails) and a cache-resident one
QUICK_MIN_TIME = 0.02


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    sizes = QUICK_SIZES if args.quick else bench.SIZE_LABELS
    min_time = QUICK_MIN_TIME if args.quick else args.min_time
    machine = bench.machine_info()
    print(bench.describe_machine(machine), end="\n\n", flush=True)
    load_before = _load()
    start = time.perf_counter()
    records = bench.bench_kernels(
        args.activations,
        args.dtypes,
        sizes,
        min_time=min_time,
        repeats=args.repeats,
        errors="raise" if args.strict else "record",
        progress=_Progress(start),
    )
    wall = time.perf_counter() - start
    print(bench.format_table(records))
    print(f"\nwall time {wall:.0f} s")
    settings = {
        "command": " ".join(["python", *sys.argv]) if argv is None else " ".join(argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sizes": list(sizes),
        "min_time": min_time,
        "repeats": args.repeats,
        "wall_time_s": round(wall, 1),
        "load_average_before_after": [load_before, _load()],  # other work on the machine
    }
    path = args.json or (None if args.quick else _default_json(machine))
    if path is not None:
        _write_json(path, {"machine": machine, "settings": settings, "records": records})
        print(f"wrote {path}")
    failed = [r for r in records if r["error"]]
    if failed:
        print(f"{len(failed)} case(s) failed validation and were not timed", file=sys.stderr)
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activations", type=_names, help="comma-separated kernels (default: all)")
    parser.add_argument(
        "--dtypes", type=_names, default=list(bench.DTYPES), help="default: float32,float16"
    )
    parser.add_argument("--json", type=Path, help="default: bench/results/kernels-<arch>.json")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, min_time 0.02 s; no JSON unless --json"
    )
    parser.add_argument(
        "--strict", action="store_true", help="stop at the first wrong kernel (default: record it)"
    )
    parser.add_argument("--min-time", type=float, default=0.1, help="seconds per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="measurements kept best-of")
    return parser


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


class _Progress:
    """Progress lines on stderr: case number, elapsed time, what is being measured."""

    def __init__(self, start: float):
        self.start = start

    def __call__(self, i: int, total: int, label: str) -> None:
        elapsed = time.perf_counter() - self.start
        print(f"[{i + 1:>3}/{total}] {elapsed:6.0f} s  {label}", file=sys.stderr, flush=True)


def _load() -> float | None:
    """The 1-minute load average: above ~0 other processes competed for the cores."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _default_json(machine: dict) -> Path:
    arch = machine["architecture"] or platform.machine() or "unknown"
    return HERE / "results" / f"kernels-{arch}.json"


def _write_json(path: Path, document: dict) -> None:
    """Write atomically: a crash never leaves a half-written results file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(partial, path)


if __name__ == "__main__":
    sys.exit(main())
