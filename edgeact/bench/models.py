"""Model latency and memory: one model, or two measured interleaved (A B A B ...) in one run.

Interleaving puts both models under the same machine conditions (frequency, other load), so their
ratio is meaningful on a busy machine. Inputs are random per the model's input signature, dynamic
dimensions set to 1. The runtime is a ``--target`` of convert (``edgeact.converters._targets``):
onnxruntime, litert (builtin kernels) or litert-xnnpack (the default resolver, with XNNPACK where
it applies), by default onnxruntime or litert-xnnpack as the file's TFLite identifier (``TFL3`` at
bytes 4..8) or suffix says.

Peak memory is the process's resident-set high-water mark above its RSS before the session was
created, over session creation and the warm-up runs (the runtime library is imported before, so
its own code and data are not counted). On Linux the high-water mark (``VmHWM`` in
``/proc/self/status``) is reset first by writing 5 to ``/proc/self/clear_refs``, so each model is
measured on its own; where that is not possible, the growth of ``getrusage``'s ``ru_maxrss`` is
used, which only sees memory above the process's earlier peak (a lower bound, often 0). The
record's ``memory_method`` says which.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from edgeact.converters._targets import TARGETS, delegated

__all__ = ["bench_models", "detect_runtime"]


def detect_runtime(path: str | Path) -> str:
    """The default target: "litert-xnnpack" for a TFLite flatbuffer (identifier or .tflite
    suffix), else "onnxruntime"."""
    path = Path(path)
    with path.open("rb") as f:
        head = f.read(8)
    tflite = path.suffix.lower() == ".tflite" or head[4:8] == b"TFL3"
    return "litert-xnnpack" if tflite else "onnxruntime"


def bench_models(
    paths: Sequence[str | Path],
    *,
    target: str | None = None,
    threads: int = 1,
    runs: int = 50,
    warmup: int = 3,
    seed: int = 0,
    progress: Callable[[str], object] | None = None,
) -> list[dict]:
    """One record per model: latency (median, p90, min, mean in ms over ``runs``), peak memory.

    With two models the runs alternate, and the second record has ``median_ratio`` and
    ``min_ratio`` (second / first); ``runtime`` is the target's name. ValueError for a model that
    cannot be loaded, an unknown target or missing runtime, or runs/threads < 1.
    """
    if not 1 <= len(paths) <= 2:
        raise ValueError(f"bench one model or two, got {len(paths)}")
    for label, value in (("runs", runs), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{label} must be an integer >= 1, got {value!r}")
    if target is not None and target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; targets: {', '.join(TARGETS)}")
    for path in paths:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such model file: {path}")
    rng = np.random.default_rng(seed)
    records, runners = [], []
    for index, path in enumerate(paths):
        chosen = target or detect_runtime(path)
        if progress is not None:
            progress(f"loading {path} in {chosen}")
        _import_runtime(chosen)  # before measuring: the library's own memory is not the model's
        memory = _PeakMemory()
        start = time.perf_counter()
        run, inputs = _load(Path(path), chosen, threads, rng)
        for _ in range(warmup):
            run()
        records.append({
            "index": index, "model": str(path), "runtime": chosen, "threads": threads,
            "runs": runs, "warmup": warmup, "inputs": inputs,
            "load_and_warmup_s": time.perf_counter() - start,
            "peak_rss_bytes": memory.peak(), "memory_method": memory.method,
        })  # fmt: skip
        runners.append(run)
    if progress is not None:
        progress(f"{runs} runs of {' and '.join(map(str, paths))}, interleaved")
    latencies = [[] for _ in runners]
    for _ in range(runs):
        for run, times in zip(runners, latencies, strict=True):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    for record, times in zip(records, latencies, strict=True):
        ms = 1e3 * np.asarray(times)
        record["latency_ms"] = {
            "median": float(np.median(ms)), "p90": float(np.percentile(ms, 90)),
            "min": float(ms.min()), "mean": float(ms.mean()),
        }  # fmt: skip
    if len(records) == 2:
        first, second = (r["latency_ms"] for r in records)
        records[1]["median_ratio"] = second["median"] / first["median"]
        records[1]["min_ratio"] = second["min"] / first["min"]
    return records


def _import_runtime(target: str) -> None:
    try:
        if target == "onnxruntime":
            import onnxruntime  # noqa: F401
        else:
            import ai_edge_litert.interpreter  # noqa: F401
    except ImportError as error:
        raise ValueError(f"{target} is not installed ({error})") from error


def _load(path: Path, target: str, threads: int, rng) -> tuple[Callable[[], object], list]:
    """A no-argument callable running the model on random inputs, and the inputs' description."""
    try:
        if target == "onnxruntime":
            return _load_onnxruntime(path, threads, rng)
        return _load_litert(path, threads, rng, delegate=delegated(target))
    except (RuntimeError, ValueError) as error:
        raise ValueError(f"{path}: {target} cannot load or run it: {error}") from error


def _load_onnxruntime(path: Path, threads: int, rng):
    from edgeact.bench.runtimes import ort_session
    from edgeact.converters.onnx import input_specs

    session = ort_session(str(path), threads)
    feeds = {
        name: _random(rng, [d if d is not None and d > 0 else 1 for d in shape], dtype)
        for name, shape, dtype in input_specs(session)
    }
    return (lambda: session.run(None, feeds)), _describe(feeds)


def _load_litert(path: Path, threads: int, rng, *, delegate: bool):
    from edgeact.runtimes.litert import new_interpreter

    interp = new_interpreter(path.read_bytes(), delegate=delegate, num_threads=threads)
    for detail in interp.get_input_details():
        signature = detail.get("shape_signature", detail["shape"])
        if any(d < 0 for d in signature):
            interp.resize_tensor_input(detail["index"], [d if d > 0 else 1 for d in signature])
    interp.allocate_tensors()
    feeds = {}
    for detail in interp.get_input_details():
        feeds[detail["name"]] = x = _random(rng, detail["shape"], detail["dtype"])
        interp.set_tensor(detail["index"], x)
    return interp.invoke, _describe(feeds)


def _random(rng, shape, dtype) -> np.ndarray:
    """Random values a model accepts: N(0, 1) floats, full-range 8-bit codes, small integers."""
    dtype = np.dtype(dtype)
    shape = [int(d) for d in shape]
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(dtype)
    high = 256 if dtype.itemsize == 1 else 10  # 10: safe for index and length inputs
    return rng.integers(0, high, shape).astype(np.uint8 if high == 256 else dtype).view(dtype)


def _describe(feeds: dict) -> list[dict]:
    return [{"name": k, "shape": list(v.shape), "dtype": v.dtype.name} for k, v in feeds.items()]


class _PeakMemory:
    """RSS high-water mark above the RSS at construction (see the module docstring)."""

    def __init__(self):
        self.method = "procfs VmHWM reset by clear_refs"
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.start = _status_bytes("VmRSS")
        except OSError:
            self.method = "getrusage ru_maxrss growth (lower bound)"
            self.start = _maxrss()

    def peak(self) -> int | None:
        try:
            now = _status_bytes("VmHWM") if self.method.startswith("procfs") else _maxrss()
        except (OSError, ValueError):
            return None
        return None if now is None or self.start is None else max(0, now - self.start)


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) << 10  # kB
    raise ValueError(f"no {field} in /proc/self/status")


def _maxrss() -> int | None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak << 10  # macOS: bytes; Linux: KiB
