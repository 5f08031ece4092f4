"""Accuracy recovery per swap: the mean squared output error with and without bias correction.

For every ONNX fixture model (real exporters' output) and the recovery test models, runs
``convert --preset mobile --recover`` with 64 random calibration samples (seeds 1000–1063) and
reports, on the verification samples (seeds 0–2, fresh: none of them calibrated anything), the
error each swap adds alone without and with its correction, and the whole model's. A swap that
feeds no layer with a bias says why. Figures, not timings: the machine's load does not matter.

    PYTHONPATH=. python bench/bench_recovery.py                 # ~1 min
    PYTHONPATH=. python bench/bench_recovery.py --json recovery.json
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
import onnx  # noqa: E402

from edgeact import converters  # noqa: E402
from edgeact.converters._inputs import sample_inputs  # noqa: E402
from edgeact.converters.onnx._verify import input_specs, session  # noqa: E402
from tests import onnx_models as om  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures" / "onnx"
CALIBRATION = 64
CALIBRATION_SEED = 1000


def _models(scratch: Path) -> list[tuple[Path, list[str]]]:
    """(model, explicit swaps): the fixtures under the preset, the test models' own swaps."""
    built = {
        "test_mlp_gelu.onnx": (om.mlp_block(om.gelu_erf), ["gelu=hardswish"]),
        "test_mlp_mish.onnx": (om.mlp_block(om.mish), ["mish=hardswish"]),
        "test_mobile_silu_x3.onnx": (om.conv_chain(3), ["silu=hardswish"]),
    }
    for name, (model, _) in built.items():
        onnx.save(model, scratch / name)
    return [(p, []) for p in sorted(FIXTURES.glob("*.onnx"))] + [
        (scratch / name, swaps) for name, (_, swaps) in built.items()
    ]


def _calibration(path: Path) -> dict[str, np.ndarray]:
    specs = input_specs(session(str(path), str(path)))
    feeds, _ = sample_inputs(specs, samples=CALIBRATION, seed=CALIBRATION_SEED)
    return {name: np.stack([f[name] for f in feeds]) for name in feeds[0]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    args = parser.parse_args(argv)
    rows = []
    print(
        f"{'model, then each swap':<50} {'corrected':>9} {'mse without':>12} {'mse with':>10} "
        f"{'change':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for path, swaps in _models(scratch):
            report = converters.convert(
                path,
                scratch / f"out-{path.name}",
                swaps,
                preset=None if swaps else "mobile",
                recover=True,
                calibration=_calibration(path),
            )
            swapped = [c for c in report["changes"] if c["applied"] and c["recovery"]]
            print(path.name + ("" if swapped else ": no swap applied"), flush=True)
            if not swapped:
                continue
            for change in swapped:
                rows.append(_row(path.name, f"{change['rule']} at {change['nodes'][-1]}",
                                 change["recovery"]))  # fmt: skip
                print(_line(rows[-1]), flush=True)
            rows.append(_row(path.name, "whole model", report["recovery"]))
            print(_line(rows[-1]), flush=True)
    wholes = [r for r in rows if r["swap"] == "whole model" and r["mse_without"]]
    worst = max(wholes, key=lambda r: r["mse_with"] / r["mse_without"])
    print(
        f"\n{len(wholes)} models; whole-model mse lower by "
        f"{min(1 - r['mse_with'] / r['mse_without'] for r in wholes):.0%} (least: {worst['model']})"
        f" to {max(1 - r['mse_with'] / r['mse_without'] for r in wholes):.0%}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


def _row(model: str, swap: str, recovery: dict) -> dict:
    layers = recovery["layers"]
    return {
        "model": model,
        "swap": swap,
        "layers": len(layers),
        "corrected": sum(1 for layer in layers if layer["corrected"]),
        "note": recovery["note"],
        "mse_without": recovery["mse_without"],
        "mse_with": recovery["mse_with"],
    }


def _line(row: dict) -> str:
    label = f"  {row['swap']}"[:50]
    if row["note"]:
        return f"{label:<50} {'–':>9}  {row['note'][:38]}"
    change = 1 - row["mse_with"] / row["mse_without"] if row["mse_without"] else 0.0
    return (
        f"{label:<50} {row['corrected']:>4} of {row['layers']:<2} {row['mse_without']:>12.3g} "
        f"{row['mse_with']:>10.3g} {-change:>+7.0%}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
