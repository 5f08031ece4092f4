"""LiteRT latency of each TFLite test model before and after ``edgeact convert --preset mobile``.

Each model in tests/fixtures/tflite is converted (verified in LiteRT; the mobile preset plus
relu=relu6 where the model has a ReLU), then the original and the converted model are timed in
the same run, interleaved (original batch, converted batch, original batch, ...) so that clock
and load drift hit both alike. A batch is ``loops`` back-to-back ``invoke()`` calls on fixed
inputs (loops chosen so a batch takes ≥ 10 ms); the figure is the best of ``--repeats`` batches,
per invoke (as in edgeact's kernel benchmark: on a shared machine, other work only ever adds
time, so the minimum is the stable estimate of what the model costs). Both LiteRT resolvers are
timed: the builtin kernels and the default one with the XNNPACK delegate (``--no-xnnpack`` skips
it, e.g. under emulation). The models are tiny, so the latencies include LiteRT's fixed
per-invoke cost; the speed-ups (before / after: above 1 is faster) are what to read.

    PYTHONPATH=. python bench/bench_tflite_models.py              # ~10 s
    PYTHONPATH=. python bench/bench_tflite_models.py --repeats 51 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # benchmark the checkout this script belongs to

from bench._interleave import best_interleaved  # noqa: E402
from edgeact.converters import convert  # noqa: E402
from edgeact.converters.tflite._verify import load, make_inputs  # noqa: E402
from edgeact.runtimes.litert import interpreter  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures" / "tflite"


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    resolvers = ("builtin",) if args.no_xnnpack else ("builtin", "xnnpack")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for source in sorted(FIXTURES.glob("*.tflite")):
            converted = Path(tmp) / source.name
            report = convert(source, converted, _swaps(source), "mobile")
            if not report["written"]:
                print(f"{source.name}: not converted ({report['notes']})", file=sys.stderr)
                continue
            row = {
                "model": source.stem,
                "changes": [c["rule"] for c in report["changes"] if c["applied"]],
                "max_abs": report["verification"]["max_abs"],
            }
            for resolver in resolvers:
                before, after = _time_pair(source.read_bytes(), converted.read_bytes(),
                                           resolver, args.repeats)  # fmt: skip
                row[resolver] = {"before_us": before, "after_us": after, "speedup": before / after}
            rows.append(row)
            print(_line(row, resolvers), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


def _swaps(source: Path) -> list[str]:
    """relu=relu6 on top of the preset when the model has a ReLU (explicit rules must match)."""
    from edgeact.converters import inspect

    found = {f["activation"] for f in inspect(source)["findings"]}
    return ["relu=relu6"] if "relu" in found else []


def _time_pair(original: bytes, converted: bytes, resolver: str, repeats: int):
    """Best µs per invoke of each model, batches interleaved."""
    delegate = resolver == "xnnpack"
    interps = [interpreter(m, delegate=delegate) for m in (original, converted)]
    feeds, _ = make_inputs(load(original))
    for interp in interps:
        for d in interp.get_input_details():
            interp.set_tensor(d["index"], feeds[next(iter(feeds))][_input_name(feeds, d)])
    before, after = best_interleaved([i.invoke for i in interps], repeats)
    return before * 1e6, after * 1e6


def _input_name(feeds: dict, details: dict) -> str:
    """The feed for a plain-interpreter input: by name, or the only one."""
    feed = feeds[next(iter(feeds))]
    return details["name"] if details["name"] in feed else next(iter(feed))


def _line(row: dict, resolvers) -> str:
    cells = [f"{row['model']:<16}"]
    for r in resolvers:
        t = row[r]
        times = f"{t['before_us']:7.1f} → {t['after_us']:7.1f} µs"
        cells.append(f"{r} {times} speed-up ×{t['speedup']:.2f}")
    cells.append(", ".join(row["changes"]) or "no change")
    return "  ".join(cells)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=21, help="batches per model and resolver")
    p.add_argument("--no-xnnpack", action="store_true", help="time the builtin kernels only")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    return p


if __name__ == "__main__":
    sys.exit(main())
