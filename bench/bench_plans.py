"""The mobile preset's plan per target: each model's latency before and after conversion.

For every fixture model (real exporters' output) and a few test models, runs ``convert --preset
mobile --target T`` for each target of its format, then times the original and the converted
model in that target's runtime on one thread, and prints the speed ratio (before / after: above
1 is faster). The preset keeps a change only if timing it alone did not make the model slower
(``edgeact/converters/_targets.py``); this measures the whole plan again, in fresh sessions,
with more of them and more rounds (``paired_times``: medians of batches run back to back, over
pairs of fresh sessions, because one session's speed varies by up to ±30 % here). The "self"
column times the original against itself the same way: the noise of the ratio beside it.

    PYTHONPATH=. python bench/bench_plans.py                 # ~5 min on 2 cores
    PYTHONPATH=. python bench/bench_plans.py --repeats 60 --json plans.json
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

from edgeact import converters  # noqa: E402
from edgeact.converters._inputs import sample_inputs  # noqa: E402
from edgeact.converters._targets import TARGETS, paired_times  # noqa: E402
from edgeact.converters.onnx import _convert as onnx_convert  # noqa: E402
from edgeact.converters.onnx._verify import input_specs, session  # noqa: E402
from edgeact.converters.tflite import _convert as tflite_convert  # noqa: E402
from edgeact.converters.tflite._verify import load, make_inputs  # noqa: E402
from tests import onnx_models as om  # noqa: E402
from tests import tflite_models as tm  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures"
GOAL = 0.98  # issue 14: no ratio below this for the preset's plan
SESSIONS = 8  # pairs of fresh sessions per estimate (convert's own timing uses 6)


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
    """Fresh sessions of the model at ``path`` in ``target``, on random inputs (seed 0)."""
    if path.suffix == ".onnx":
        model = onnx.load(path)
        [feed], _ = sample_inputs(input_specs(session(str(path), str(path))))
        return onnx_convert.runner(model, feed)
    data = path.read_bytes()
    [feed], _ = make_inputs(load(data))
    return tflite_convert.runner(data, feed, target)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="paired batches per session")
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
                rows.append(
                    {
                        "model": path.name,
                        "target": target,
                        "applied": applied,
                        "left_out": left,
                        **_timed(path, out, target, args.repeats),
                    }
                )
                print(_line(rows[-1]), flush=True)
    worst = min(rows, key=lambda r: r["speed_ratio"])
    below = [r for r in rows if r["speed_ratio"] < GOAL]
    noise = [abs(r["self_ratio"] - 1) for r in rows if not r["identical"]]
    print(
        f"\n{len(rows)} plans; lowest speed ratio {worst['speed_ratio']:.3f} ({worst['model']} on "
        f"{worst['target']}); {len(below)} below {GOAL}; the original against itself: "
        f"within ±{max(noise):.3f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _timed(path: Path, out: Path, target: str, repeats: int) -> dict:
    """Before/after timing; a plan that changed nothing wrote the input's bytes, whose ratio
    is 1 by construction (timing it would only measure the noise the self column shows)."""
    if out.read_bytes() == path.read_bytes():
        return {"identical": True, "before_ms": None, "after_ms": None, "speed_ratio": 1.0,
                "self_ratio": None}  # fmt: skip
    original, converted = _runner(path, target), _runner(out, target)
    ratio, before, after = paired_times(original, converted, SESSIONS, repeats)
    self_ratio = paired_times(original, original, SESSIONS, repeats)[0]
    return {
        "identical": False,
        "before_ms": before * 1e3,
        "after_ms": after * 1e3,
        "speed_ratio": 1 / ratio,
        "self_ratio": 1 / self_ratio,
    }


def _line(row: dict) -> str:
    changes = f"{len(row['applied'])} applied, {len(row['left_out'])} left out"
    if row["identical"]:
        return f"{row['model']:<36} {row['target']:<15} {changes:<22} same bytes as the input"
    return (
        f"{row['model']:<36} {row['target']:<15} {changes:<22} {row['before_ms']:8.3f} ms → "
        f"{row['after_ms']:8.3f} ms   ×{row['speed_ratio']:.3f}  self ×{row['self_ratio']:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
