"""edgeact's benchmarks: kernels against their peers, models against each other, the machine.

Importing this package imports neither ONNX Runtime nor LiteRT (they load when a peer or a model
needs them), nor matplotlib (``edgeact.bench.plot`` imports it when a plot is drawn).
Schema 1 only grows: readers ignore fields they do not know, so older documents stay readable.

JSON document (``schema`` 1), written by ``edgeact bench kernels|model --json FILE``:

- ``schema``: 1; ``kind``: "kernels" or "models"; ``date``: UTC ISO 8601;
- ``machine``: ``machine_info()``: cpu_model, cpu_vendor, architecture, system, logical_cores,
  physical_cores, memory_bytes, l1d_bytes, l2_bytes, l3_bytes, simd (list: sse4_2 avx2 avx512f
  avx512bw avx512vbmi f16c avx512_fp16 on x86; neon fp16 dotprod sve on ARM), llvm_cpu,
  int8_lookup ("avx512vbmi" | "avx512bw" | "avx2" | "neon" | "portable": the int8/uint8
  byte-lookup loop that ran), float16_lookup ("avx512f" | "avx2" | "portable": the float16
  65 536-entry table loop that ran),
  edgeact_portable (the EDGEACT_PORTABLE value, or null), versions {python, numpy, numba,
  llvmlite, onnxruntime, ai-edge-litert}; null wherever unknown; and, added after the run,
  xnnpack_microkernels {"<activation> <dtype>": {config, observed, derived}} for every case
  LiteRT's XNNPACK delegate takes: ``config`` XNNPACK's config ("f32_hswish", "x8_lut", ...),
  ``observed`` the microkernel read from the loaded library after the run (null: not readable
  here, or the xnnpack peer did not run), ``derived`` the one XNNPACK's config selects for
  these ``simd`` features (``edgeact.bench.xnnpack``; null: architecture not covered);
- ``settings``: the command's options, wall time, load average before/after;
- ``records``: a list of measurements.

A kernels record is one measurement of one peer on one case:

- ``activation``, ``dtype`` (float32 | float16 | int8 | uint8), ``size_label`` (L1 | L2 | DRAM,
  or null for an explicit count), ``elements``, ``bytes`` (input + output bytes per call);
- ``peer``: "edgeact", "numpy" (NumPy's expression; int8: ``np.take`` of the table),
  "onnxruntime" (single-op model; int8: DequantizeLinear -> op -> QuantizeLinear), "litert"
  (single-op TFLite model, builtin kernels), "xnnpack" (LiteRT's default resolver, when XNNPACK
  takes the op), "copy" (``np.copyto`` of the same bytes: the bandwidth roof);
- ``implementation`` (e.g. "byte lookup (avx512vbmi)", "LOGISTIC via XNNPACK"), ``compat`` (int8:
  the edgeact ``compat`` this peer was checked against), ``threads`` (edgeact and the runtime
  peers; NumPy and the copy run on one);
- ``status``: "ok" (validated and timed), "wrong" (failed validation, not timed, ``error`` says
  why) or "unavailable" (this peer cannot run this case here, ``error`` says why);
- ``seconds`` (best time per call), ``elements_per_s``, ``bytes_per_s``;
- ``edgeact_speedup``: this peer's seconds / edgeact's (how many times faster edgeact is);
  ``fraction_of_copy``: copy seconds / these seconds; ``above_copy_roof``: fraction_of_copy >
  ROOF_MARGIN (1.1) where the copy takes 1 µs or more: faster than a copy of the same bytes, a
  measurement to distrust (below 1 µs the copy is mostly np.copyto's own call);
- ``validation``: edgeact {max_ulps} (float) or {max_steps} (int8, vs the float64 reference);
  the other peers {max_abs_error, max_ulps, above_max_ulps, checked} (float: the same ulps,
  and how many of the checked elements are beyond edgeact's MAX_ULPS) or {codes_differing,
  max_steps} (int8, vs edgeact's compat).

A models record: ``index``, ``model``, ``runtime``, ``threads``, ``runs``, ``warmup``,
``inputs`` [{name, shape, dtype}], ``load_and_warmup_s``, ``latency_ms`` {median, p90, min, mean},
``peak_rss_bytes``, ``memory_method``, and on the second of two: ``median_ratio``, ``min_ratio``.
"""

from edgeact.bench.kernels import (
    DTYPES,
    MAX_ULPS,
    PEERS,
    ROOF_MARGIN,
    SIZE_LABELS,
    ValidationError,
    bench_kernels,
    measure_kernels,
    parse_sizes,
    rows,
)
from edgeact.bench.machine import default_sizes, describe_machine, machine_info, parse_size
from edgeact.bench.models import bench_models, detect_runtime
from edgeact.bench.numpy_peers import numpy_equivalent
from edgeact.bench.report import SCHEMA, compare, format_table
from edgeact.bench.timing import time_call

__all__ = [
    "DTYPES",
    "MAX_ULPS",
    "PEERS",
    "ROOF_MARGIN",
    "SCHEMA",
    "SIZE_LABELS",
    "ValidationError",
    "bench_kernels",
    "bench_models",
    "compare",
    "default_sizes",
    "describe_machine",
    "detect_runtime",
    "format_table",
    "machine_info",
    "measure_kernels",
    "numpy_equivalent",
    "parse_size",
    "parse_sizes",
    "rows",
    "time_call",
]
