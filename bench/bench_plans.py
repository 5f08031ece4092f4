"""The mobile preset's plan per target: each model's latency before and after conversion.

For every fixture model (real exporters' output) and a few test models, runs ``convert --preset
mobile --target T`` for each target of its format, then times the original and the converted
model interleaved in that target's runtime on one thread (``bench/_interleave``: best batch per
call), and prints the speed ratio (before / after: above 1 is faster). The preset keeps a change
only if timing it alone did not make the model slower (``edgeact/converters/_targets.py``); this
measures the whole plan again, independently, with another estimator.

    PYTHONPATH=. python bench/bench_plans.py                 # ~3 min on 2 cores
    PYTHONPATH=. python bench/bench_plans.py --repeats 30 --json plans.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark the checkout this script belongs to

import onnx  # noqa: E402

from bench._interleave import best_interleaved  # noqa: E402
from edgeact import converters  # noqa: E402
from edgeact.converters._inputs import sample_inputs  # noqa: E402
from edgeact.converters._targets import TARGETS  # noqa: E402
from edgeact.converters.onnx import _convert as onnx_convert  # noqa: E402
from edgeact.converters.onnx._verify import input_specs, session  # noqa: E402
from edgeact.converters.tflite import _convert as tflite_convert  # noqa: E402
from edgeact.converters.tflite._verify import load, make_inputs  # noqa: E402
from tests import onnx_models as om  # noqa: E402
from tests import tflite_models as tm  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures"
GOAL = 0.98  # issue 14: no ratio below this for the preset's plan


def _models(scratch: Path) -> list[Path]:
    built = {
        "test_exporter_shaped.onnx": om.exporter_shaped(13).SerializeToString(),
        "test_float_signature.tflite": tm.float_model(),
        "test_int8.tflite": tm.int8_model(),
        "test_se_block.tflite": tm.se_block_model(),
    }
    for name, data in built.items():
        (scratch / name).write_bytes(data)
    fixtures = sorted(FIXTURES.glob("onnx/*.onnx")) + sorted(FIXTURES.glob("tflite/*.tflite"))
    return fixtures + [scratch / name for name in built]


def _runner(path: Path, target: str):
    """One run of the model at ``path`` in ``target``, on random inputs (seed 0)."""
    if path.suffix == ".onnx":
        model = onnx.load(path)
        [feed], _ = sample_inputs(input_specs(session(str(path), str(path))))
        return onnx_convert.one_run(model, feed)
    data = path.read_bytes()
    [feed], _ = make_inputs(load(data))
    return tflite_convert.one_run(data, feed, target)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved batches per model")
    parser.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for path in _models(scratch):
            fmt = converters.detect_format(path)
            for target in (t for t, (f, _) in TARGETS.items() if f == fmt):
                out = scratch / f"{path.stem}.{target}{path.suffix}"
                report = converters.convert(path, out, preset="mobile", target=target)
                applied = [c["rule"] for c in report["changes"] if c["applied"]]
                left = [c["rule"] for c in report["changes"] if not c["applied"]]
                if not report["written"]:
                    print(f"{path.name:<36} {target:<15} not written", flush=True)
                    continue
                before, after = best_interleaved(
                    [_runner(path, target), _runner(out, target)], args.repeats
                )
                rows.append(
                    {
                        "model": path.name,
                        "target": target,
                        "applied": applied,
                        "left_out": left,
                        "before_ms": before * 1e3,
                        "after_ms": after * 1e3,
                        "speed_ratio": before / after,
                    }
                )
                print(_line(rows[-1]), flush=True)
    worst = min(rows, key=lambda r: r["speed_ratio"])
    below = [r for r in rows if r["speed_ratio"] < GOAL]
    print(
        f"\n{len(rows)} plans; lowest speed ratio {worst['speed_ratio']:.3f} ({worst['model']} on "
        f"{worst['target']}); {len(below)} below {GOAL}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _line(row: dict) -> str:
    changes = f"{len(row['applied'])} applied, {len(row['left_out'])} left out"
    return (
        f"{row['model']:<36} {row['target']:<15} {changes:<22} {row['before_ms']:8.3f} ms → "
        f"{row['after_ms']:8.3f} ms   ×{row['speed_ratio']:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
