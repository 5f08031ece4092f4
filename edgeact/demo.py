"""``edgeact demo``: check every kernel against its reference on this machine, time it, and
convert small models the way exporters write them.

The accuracy part is the same check the tests make (float16 over all 65 536 inputs); the speed
part is a short run of the benchmark harness, against NumPy on the same arrays; the converter
part builds models in memory (no downloads), converts them with the mobile preset in a
temporary folder, verifies them in their runtime and shows the reports.
"""

import importlib
import tempfile
from pathlib import Path

import numpy as np

from edgeact import bench, numerics, schema
from edgeact.catalogue import ACTIVATIONS
from edgeact.converters import format_conversion
from edgeact.kernels import KERNELS

__all__ = ["format_report", "run"]

DEMO_ELEMENTS = 1 << 16
DTYPES = ("float32", "float16")
CONVERTER_DEMOS = ("edgeact.converters.onnx._demo", "edgeact.converters.tflite._demo")


def _accuracy_inputs(dtype) -> np.ndarray:
    if dtype == np.float16:
        return np.arange(1 << 16, dtype=np.uint16).view(np.float16)  # every float16 value
    rng = np.random.default_rng(0)
    finite = rng.normal(0, 4, DEMO_ELEMENTS) * rng.choice([1e-30, 1e-3, 1, 30, 1e30], DEMO_ELEMENTS)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -3.0, 3.0, 6.0]
    return np.concatenate([finite, special]).astype(dtype)


def check_accuracy() -> list[dict]:
    """Max ulp error of every kernel against its float64 reference, per dtype."""
    rows = []
    for name, kernel in KERNELS.items():
        row = {"activation": name}
        for dtype in DTYPES:
            x = _accuracy_inputs(np.dtype(dtype))
            want = numerics.expected(ACTIVATIONS[name].reference, x)
            row[f"{dtype}_max_ulp"] = int(numerics.ulp_distance(kernel(x), want).max())
        rows.append(row)
    return rows


def convert_models() -> list[dict]:
    """The conversion reports of each format's demo model (written to a temporary folder)."""
    reports = []
    with tempfile.TemporaryDirectory(prefix="edgeact-demo-") as workdir:
        for module in CONVERTER_DEMOS:
            reports += importlib.import_module(module).demo(Path(workdir))
    return reports


def run(progress=None) -> dict:
    """Everything the demo reports, as plain data (what ``--json`` prints)."""
    accuracy = check_accuracy()
    speed = bench.bench_kernels(
        list(KERNELS), list(DTYPES), [DEMO_ELEMENTS], min_time=0.02, repeats=3, progress=progress
    )
    conversions = convert_models()
    return schema.document(
        "demo",
        {
            "machine": bench.machine_info(),
            "accuracy": accuracy,
            "speed": speed,
            "conversions": conversions,
        },
    )


def format_report(report: dict) -> str:
    machine = report["machine"]
    lines = [
        "edgeact demo: edge activation kernels on this CPU",
        f"CPU: {bench.describe_machine(machine)}",
        "",
        "Accuracy against the float64 references (max error in ulp; float16: all 65 536 inputs)",
        f"  {'activation':<12} {'float32':>8} {'float16':>8}",
    ]
    for row in report["accuracy"]:
        lines.append(
            f"  {row['activation']:<12} {row['float32_max_ulp']:>8} {row['float16_max_ulp']:>8}"
        )
    lines += ["", f"Speed on {DEMO_ELEMENTS} elements, against NumPy on the same arrays", ""]
    lines.append(bench.format_table(report["speed"]))
    for conversion in report["conversions"]:
        kind = conversion["format"].upper() if conversion["format"] == "onnx" else "TFLite"
        lines += ["", f"Converting a small {kind} model (built in memory, written to a temporary"]
        lines += ["folder) with the mobile preset: swap, verify, write", ""]
        lines.append(format_conversion(conversion))
    return "\n".join(lines)
