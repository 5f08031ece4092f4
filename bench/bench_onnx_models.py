"""ONNX Runtime latency of test models before and after ``edgeact convert``, in one run.

For each model: the original, the model with fusion only (no swaps: decomposed patterns become
single ops where the opset has them, or shorter forms in the opset's ops), and the model
converted with ``--preset mobile`` (plus ``relu=relu6`` for the ReLU CNNs) are timed interleaved
on the same inputs in ONNX Runtime (one thread, default graph optimizations; see
``bench/_interleave.py``). Models: the PyTorch exports in tests/fixtures/onnx, the demo's
exporter-shaped model at opsets 13, 14, 17 and 20 (with ``--opset 20`` as a fourth variant where
that enables Gelu), and two of the CNNs the onnx package ships under
onnx/backend/test/data/light. Fusion must never make a model slower: the table's "fuse" column
is before/after speed (≥ 0.98 passes); "–" where a conversion changed nothing.

    PYTHONPATH=. python bench/bench_onnx_models.py              # ~1 min
    PYTHONPATH=. python bench/bench_onnx_models.py --repeats 31 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark the checkout this script belongs to

from bench._interleave import best_interleaved  # noqa: E402
from edgeact.bench.runtimes import ort_session  # noqa: E402
from edgeact.converters import convert  # noqa: E402
from edgeact.converters.onnx._demo import exporter_shaped_model  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures" / "onnx"
LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
CNNS = ("light_squeezenet", "light_shufflenet")
FUSION_FLOOR = 0.98


def _models(tmp: Path) -> list[tuple[str, Path, list[str]]]:
    """(name, path, extra swaps) of every benchmarked model."""
    models = [(p.stem, p, []) for p in sorted(FIXTURES.glob("*.onnx"))]
    for opset in (13, 14, 17, 20):  # 13: the Hardswish chain fused as HardSigmoid·x
        path = tmp / f"exporter_shaped_opset{opset}.onnx"
        onnx.save(exporter_shaped_model(opset), path)
        models.append((path.stem, path, []))
    models += [(name, LIGHT / f"{name}.onnx", ["relu=relu6"]) for name in CNNS]
    return models


def _feeds(sess) -> dict:
    from edgeact.converters._inputs import sample_inputs
    from edgeact.converters.onnx._verify import input_specs

    return sample_inputs(input_specs(sess))[0][0]


def _variants(name: str, source: Path, swaps: list[str], tmp: Path) -> dict[str, Path]:
    """The original and each conversion of it that changed something (others would time noise)."""
    variants = {"before": source}
    opset = next(i.version for i in onnx.load(source).opset_import if i.domain in ("", "ai.onnx"))
    plans = {"fuse": ([], None, None), "mobile": (swaps, "mobile", None)}
    if opset < 20:
        plans["fuse@20"] = ([], None, 20)
    for key, (rules, preset, target_opset) in plans.items():
        path = tmp / f"{name}.{key}.onnx"
        report = convert(source, path, rules, preset, verify=False, opset=target_opset)
        if any(c["applied"] for c in report["changes"]) or target_opset:
            variants[key] = path
    return variants


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, source, swaps in _models(tmp):
            variants = _variants(name, source, swaps, tmp)
            sessions = {k: ort_session(str(p)) for k, p in variants.items()}
            feeds = _feeds(sessions["before"])
            fns = [lambda s=s, f=feeds: s.run(None, f) for s in sessions.values()]
            times = dict(zip(sessions, best_interleaved(fns, args.repeats), strict=True))
            row = {"model": name, "before_us": times["before"] * 1e6}
            row |= {f"{k}_speedup": times["before"] / t for k, t in times.items() if k != "before"}
            rows.append(row)
            print(_line(row), flush=True)
    fused = [r["fuse_speedup"] for r in rows if "fuse_speedup" in r]
    print(f"fusion speed-up: min {min(fused):.3f}, geometric mean "
          f"{float(np.exp(np.mean(np.log(fused)))):.3f} over {len(fused)} models "
          f"({'all' if min(fused) >= FUSION_FLOOR else 'NOT all'} ≥ {FUSION_FLOOR})")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def _line(row: dict) -> str:
    cells = [f"{row['model']:<36} {row['before_us']:9.1f} µs"]
    for key in ("fuse", "fuse@20", "mobile"):
        value = row.get(f"{key}_speedup")
        cells.append(f"{key} ×{value:.3f}" if value is not None else f"{key} –".ljust(len(key) + 7))
    return "  ".join(cells)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=61, help="interleaved batches per model")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    return p


if __name__ == "__main__":
    sys.exit(main())
