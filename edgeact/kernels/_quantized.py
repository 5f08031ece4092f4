"""256-entry tables for int8/uint8 kernels, built by the arithmetic of the runtime to match.

An element-wise op on 8-bit codes is a function of 256 inputs, so a table holds *any* runtime's
arithmetic exactly, whether that runtime evaluates a float function and rounds (LUT ops, QDQ) or
runs a fixed-point algorithm (TFLite's HARD_SWISH, RELU6, LEAKY_RELU): each compat module computes
the runtime's result for all 256 codes, and one gather loop applies it.

Builders (``edgeact.kernels._tflite``, ``edgeact.kernels._onnxruntime``) have the signature
``build(name, params, x_q, y_q) -> ndarray`` of shape (256,) and dtype ``y_q.dtype``, where entry
``i`` is the output code for the input code whose byte is ``i``.

Each compat reproduces one release of its runtime (``TRACKED_RUNTIMES``); other releases can differ
in the last code (LiteRT 2.1.3's int8 LEAKY_RELU gives other codes than 2.3's, for example). The
first table built for a compat compares that release's major.minor with the installed runtime's
(read from the package metadata: the runtime itself is not imported) and warns once if they differ.
"""

import functools
import importlib
import importlib.metadata
import pathlib
import re
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from edgeact.quant import QuantParams

__all__ = [
    "TRACKED_RUNTIMES",
    "RuntimeVersionWarning",
    "TrackedRuntime",
    "quantized_table",
    "runtime_version_mismatch",
]


@dataclass(frozen=True)
class TrackedRuntime:
    """The runtime release a compat reproduces bit for bit: its PyPI distribution, its version
    (major.minor) and what of it is reproduced."""

    distribution: str
    version: str
    reproduces: str


TRACKED_RUNTIMES: Mapping[str, TrackedRuntime] = MappingProxyType(
    {
        "tflite": TrackedRuntime("ai-edge-litert", "2.3", "LiteRT's builtin kernels"),
        "xnnpack": TrackedRuntime("ai-edge-litert", "2.3", "LiteRT's default XNNPACK delegate"),
        "onnxruntime": TrackedRuntime(
            "onnxruntime", "1.32", "ONNX Runtime's CPU execution provider on QDQ models"
        ),
    }
)


class RuntimeVersionWarning(UserWarning):
    """The installed runtime is not the release an int8 compat reproduces."""


def runtime_version_mismatch(compat: str, installed: str | None) -> str | None:
    """Why ``installed`` (a version string, None if not installed) may not match ``compat``'s
    tables, or None if its major.minor is the tracked one (or there is nothing installed)."""
    tracked = TRACKED_RUNTIMES[compat]
    if installed is None:
        return None
    match = re.match(r"(\d+)\.(\d+)", installed)
    if match and f"{int(match[1])}.{int(match[2])}" == tracked.version:
        return None
    return (
        f"edgeact's compat={compat!r} reproduces {tracked.reproduces} as of {tracked.distribution} "
        f"{tracked.version}, but {tracked.distribution} {installed} is installed: its int8 "
        f"results may differ from edgeact's by one code (see edgeact.kernels.TRACKED_RUNTIMES)"
    )


@functools.cache
def _warn_if_untracked(compat: str) -> None:
    """Warn once per compat if the installed runtime is not the tracked release."""
    try:
        installed = importlib.metadata.version(TRACKED_RUNTIMES[compat].distribution)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    message = runtime_version_mismatch(compat, installed)
    if message is not None:
        warnings.warn(message, RuntimeVersionWarning, stacklevel=_outside_this_package())


_PACKAGE = str(pathlib.Path(__file__).parent)


def _outside_this_package() -> int:
    """The stacklevel of the first frame whose code is not edgeact.kernels' (the line that
    called a kernel or make_lut, however many of the package's frames lie between)."""
    frame, level = sys._getframe(2), 2  # 1 is the function calling warnings.warn
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


_BUILDERS = {
    "tflite": ("edgeact.kernels._tflite", "tflite_table"),
    "xnnpack": ("edgeact.kernels._tflite", "xnnpack_table"),
    "onnxruntime": ("edgeact.kernels._onnxruntime", "onnxruntime_table"),
}


@functools.lru_cache(maxsize=512)
def quantized_table(
    name: str,
    params: tuple[tuple[str, float], ...],
    x_q: QuantParams,
    y_q: QuantParams,
    compat: str,
) -> np.ndarray:
    """The output-code bytes (uint8 view, read-only) for every input byte; cached."""
    _warn_if_untracked(compat)
    module, function = _BUILDERS[compat]
    build = getattr(importlib.import_module(module), function)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # extreme scales (1e-45, 3e38) overflow float32 as in the runtimes: inf, then saturated
        table = np.asarray(build(name, dict(params), x_q, y_q))
    if table.shape != (256,) or table.dtype != y_q.dtype:
        raise RuntimeError(
            f"{module}.{function} returned {table.dtype}{table.shape} for {name}; "
            f"expected {y_q.dtype}(256,)"
        )
    table = table.view(np.uint8).copy()
    table.flags.writeable = False
    return table
