"""Accuracy recovery per swap: the mean squared output error with and without bias correction.

For every fixture model (real exporters' output) and the recovery test models, runs
``convert --preset mobile --recover bias`` and ``--recover fit`` with 64 random calibration
samples (seeds 1000–1063) and reports, on 16 verification samples (seeds 0–15, fresh: none of
them calibrated anything), the error each swap adds alone without recovery ("plain") and with
each mode, and the whole model's. A swap that feeds no layer with a bias says why ("–" under
biases; fitting may still help it). Figures, not timings: the machine's load does not matter.

    PYTHONPATH=. python bench/bench_recovery.py                 # ~1 min
    PYTHONPATH=. python bench/bench_recovery.py --json recovery.json

``--test-cases`` instead runs the 18 TFLite models of tests/test_tflite_recover.py's recovery
tests as those tests do (64 N(0, 1) calibration samples from seed ``CAL``, ``--fresh`` N(0, 1)
verification samples from seed ``FRESH``; the tests use 0, 1 and 8) and prints, per model and
mode, the error left over the swap's (mse with / mse without):

    PYTHONPATH=. python bench/bench_recovery.py --test-cases --seeds 0,1 --fresh 256  # ~1 min
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # measure the checkout this script belongs to

import numpy as np  # noqa: E402

from edgeact import converters  # noqa: E402
from edgeact.converters._inputs import sample_inputs  # noqa: E402
from edgeact.converters.onnx._verify import input_specs, session  # noqa: E402
from edgeact.converters.tflite._verify import load, make_inputs  # noqa: E402
from tests import onnx_models as om  # noqa: E402
from tests import tflite_models as tm  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures"
CALIBRATION = 64
CALIBRATION_SEED = 1000
MODES = ("bias", "fit")
FRESH = 16  # verification samples (seeds 0-15): three left a few per cent to chance


def _models(scratch: Path) -> list[tuple[Path, list[str]]]:
    """(model, explicit swaps): the fixtures under the preset, the test models' own swaps."""
    built = {
        "test_mlp_gelu.onnx": (om.mlp_block(om.gelu_erf).SerializeToString(), ["gelu=hardswish"]),
        "test_mlp_mish.onnx": (om.mlp_block(om.mish).SerializeToString(), ["mish=hardswish"]),
        "test_mobile_silu_x3.onnx": (om.conv_chain(3).SerializeToString(), ["silu=hardswish"]),
        "test_mlp_silu.tflite": (tm.mlp_model("silu"), ["silu=hardswish"]),
        "test_mlp_gelu.tflite": (tm.mlp_model("gelu"), ["gelu=hardswish"]),
        "test_mlp_gelu_float16.tflite": (tm.mlp_model("gelu", "float16"), ["gelu=hardswish"]),
        "test_mlp_silu_int8.tflite": (tm.mlp_model("silu", "int8"), ["silu=hardswish"]),
        "test_mobile_silu_int8.tflite": (
            tm.mlp_model("silu", "int8", conv=True),
            ["silu=hardswish"],
        ),
        "test_mlp_mish.tflite": (tm.mlp_model("mish"), ["mish=hardswish"]),
        "test_mlp_mish_int8.tflite": (tm.mlp_model("mish", "int8"), ["mish=hardswish"]),
    }
    rows = np.random.default_rng(9).standard_normal  # ONNX Runtime's quantizer calibrates on
    for name, model, shape in (
        ("test_mlp_gelu_qdq.onnx", om.mlp_block(om.gelu_erf), (32, 1, 16, 32)),
        ("test_mobile_silu_x3_qdq.onnx", om.conv_chain(3), (32, 1, 8, 6, 6)),
    ):
        qdq = om.ort_qdq(model, rows(shape).astype(np.float32), scratch)
        swap = "gelu=hardswish" if "gelu" in name else "silu=hardswish"
        built[name] = (qdq.SerializeToString(), [swap])
    for name, (data, _) in built.items():
        (scratch / name).write_bytes(data)
    fixtures = sorted(FIXTURES.glob("onnx/*.onnx")) + sorted(FIXTURES.glob("tflite/*.tflite"))
    return [(p, []) for p in fixtures] + [(scratch / n, swaps) for n, (_, swaps) in built.items()]


def _calibration(path: Path) -> dict[str, np.ndarray]:
    """64 random samples (seeds 1000-1063) of every input, one more leading axis for them."""
    if path.suffix == ".onnx":
        specs = input_specs(session(str(path), str(path)))
        feeds, _ = sample_inputs(specs, samples=CALIBRATION, seed=CALIBRATION_SEED)
    else:
        samples, _ = make_inputs(
            load(path.read_bytes()), samples=CALIBRATION, seed=CALIBRATION_SEED
        )
        feeds = [
            {n: a for entry in sample.values() for n, a in entry.items()} for sample in samples
        ]
    return {name: np.stack([f[name] for f in feeds]) for name in feeds[0]}


def _test_cases(seeds: tuple[int, int], fresh: int) -> list[dict]:
    """The recovery tests' 18 TFLite models, each under both modes: mse with / without."""
    rows = []
    print(f"{'model':<24} {'bias':>6} {'fit':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.tflite"
        for activation in ("silu", "gelu", "mish"):
            for flavour in ("float32", "float16", "int8"):
                for conv in (False, True):
                    source.write_bytes(tm.mlp_model(activation, flavour, conv=conv))
                    shape = (1, 4, 4, 32) if conv else (1, 32)
                    calibration, inputs = (
                        {"x": np.random.default_rng(seed).standard_normal((n, *shape))}
                        for seed, n in zip(seeds, (CALIBRATION, fresh), strict=True)
                    )
                    row = {"model": f"{activation} {flavour} {'conv' if conv else 'mlp'}"}
                    for mode in MODES:
                        whole = converters.convert(
                            source, Path(tmp) / "out.tflite", [f"{activation}=hardswish"],
                            inputs=inputs, recover=mode, calibration=calibration,
                        )["recovery"]  # fmt: skip
                        row[mode] = whole["mse_with"] / whole["mse_without"]
                    print(f"{row['model']:<24} {row['bias']:>6.3f} {row['fit']:>6.3f}", flush=True)
                    rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    parser.add_argument("--test-cases", action="store_true", help="the recovery tests' models")
    parser.add_argument("--seeds", default="0,1", metavar="CAL,FRESH", help="with --test-cases")
    parser.add_argument("--fresh", type=int, default=8, metavar="N", help="with --test-cases")
    args = parser.parse_args(argv)
    if args.test_cases:
        rows = _test_cases(tuple(int(s) for s in args.seeds.split(",")), args.fresh)
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
        return 0
    rows = []
    print(f"{'model, then each swap':<44} {'biases':>7} {'mse plain':>10} {'bias':>16} {'fit':>16}")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for path, swaps in _models(scratch):
            reports = {
                mode: converters.convert(
                    path,
                    scratch / f"out-{mode}-{path.name}",
                    swaps,
                    preset=None if swaps else "mobile",
                    recover=mode,
                    calibration=_calibration(path),
                    samples=FRESH,
                )
                for mode in MODES
            }
            pairs = [
                [c for c in reports[mode]["changes"] if c["applied"] and c["recovery"]]
                for mode in MODES
            ]
            print(path.name + ("" if pairs[0] else ": no swap applied"), flush=True)
            if not pairs[0]:
                continue
            for changes in zip(*pairs, strict=True):
                where = f"{changes[0]['rule']} at {changes[0]['nodes'][-1]}"
                rows.append(_row(path.name, where, [c["recovery"] for c in changes]))
                print(_line(rows[-1]), flush=True)
            rows.append(_row(path.name, "whole model", [r["recovery"] for r in reports.values()]))
            print(_line(rows[-1]), flush=True)
    wholes = [r for r in rows if r["swap"] == "whole model" and r["mse_plain"]]
    for mode in MODES:
        gains = [1 - r[f"mse_{mode}"] / r["mse_plain"] for r in wholes]
        print(f"{mode}: whole-model mse lower by {min(gains):.0%} to {max(gains):.0%} "
              f"over {len(gains)} models")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _row(model: str, swap: str, recoveries: list[dict]) -> dict:
    """One swap (or the whole model) under both modes; "plain" is the swap without recovery."""
    layers = recoveries[0]["layers"]
    return {
        "model": model,
        "swap": swap,
        "layers": len(layers),
        "corrected": sum(1 for layer in layers if layer["corrected"]),
        "note": recoveries[0]["note"],
        "mse_plain": recoveries[0]["mse_without"],
        **{f"mse_{m}": r["mse_with"] for m, r in zip(MODES, recoveries, strict=True)},
    }


def _line(row: dict) -> str:
    label = f"  {row['swap']}"[:44]
    biases = f"{row['corrected']} of {row['layers']}" if not row["note"] else "–"
    cells = [f"{row['mse_plain']:>10.3g}"]
    for mode in MODES:
        value = row[f"mse_{mode}"]
        change = value / row["mse_plain"] - 1 if row["mse_plain"] else 0.0
        cells.append(f"{value:>9.3g} {change:>+6.0%}")
    return f"{label:<44} {biases:>7} {' '.join(cells)}"


if __name__ == "__main__":
    raise SystemExit(main())
