"""What running the runtime in a child process costs a conversion (``--isolate``, the default).

Times ``edgeact convert MODEL -o OUT --preset mobile`` with ``--isolate`` and ``--no-isolate``,
interleaved, each run a fresh command as a user types it; and ``converters.convert(...)`` in one
warm process, where the isolated call pays a fresh interpreter and the runtime's import on every
conversion. Prints the median seconds of each and the ratio.

    PYTHONPATH=. python bench/bench_isolation.py                 # ~1 min
    PYTHONPATH=. python bench/bench_isolation.py --runs 9 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark the checkout this script belongs to

from edgeact import converters  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures"
MODELS = [
    FIXTURES / "onnx" / "mobile_block_opset17.onnx",
    FIXTURES / "tflite" / "mobile_int8.tflite",
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each variant (median kept)")
    parser.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for model in MODELS:
            out = Path(scratch) / f"out{model.suffix}"
            for how, timer in (("command", _command), ("library, warm", _library)):
                seconds = {True: [], False: []}
                for _ in range(args.runs):
                    for isolate in (False, True):  # interleaved: drifts hit both alike
                        seconds[isolate].append(timer(model, out, isolate))
                rows.append(
                    {
                        "model": model.name,
                        "how": how,
                        "in_process_s": statistics.median(seconds[False]),
                        "isolated_s": statistics.median(seconds[True]),
                    }
                )
                print(_line(rows[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _command(model: Path, out: Path, isolate: bool) -> float:
    flag = "--isolate" if isolate else "--no-isolate"
    command = [sys.executable, "-m", "edgeact.cli", "convert", str(model), "-o", str(out)]
    start = time.perf_counter()
    subprocess.run([*command, "--preset", "mobile", flag], check=True, capture_output=True)
    return time.perf_counter() - start


def _library(model: Path, out: Path, isolate: bool) -> float:
    start = time.perf_counter()
    converters.convert(model, out, preset="mobile", isolate=isolate)
    return time.perf_counter() - start


def _line(row: dict) -> str:
    ratio = row["isolated_s"] / row["in_process_s"]
    return (
        f"{row['model']:<28} {row['how']:<14} in process {row['in_process_s']:6.2f} s   "
        f"isolated {row['isolated_s']:6.2f} s   ×{ratio:.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
