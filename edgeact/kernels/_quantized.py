"""256-entry tables for int8/uint8 kernels, built by the arithmetic of the runtime to match.

An element-wise op on 8-bit codes is a function of 256 inputs, so a table holds *any* runtime's
arithmetic exactly, whether that runtime evaluates a float function and rounds (LUT ops, QDQ) or
runs a fixed-point algorithm (TFLite's HARD_SWISH, RELU6, LEAKY_RELU): each compat module computes
the runtime's result for all 256 codes, and one gather loop applies it.

Builders (``edgeact.kernels._tflite``, ``edgeact.kernels._onnxruntime``) have the signature
``build(name, params, x_q, y_q) -> ndarray`` of shape (256,) and dtype ``y_q.dtype``, where entry
``i`` is the output code for the input code whose byte is ``i``.
"""

import functools
import importlib

import numpy as np

from edgeact.quant import QuantParams

__all__ = ["quantized_table"]

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
    module, function = _BUILDERS[compat]
    build = getattr(importlib.import_module(module), function)
    table = np.asarray(build(name, dict(params), x_q, y_q))
    if table.shape != (256,) or table.dtype != y_q.dtype:
        raise RuntimeError(
            f"{module}.{function} returned {table.dtype}{table.shape} for {name}; "
            f"expected {y_q.dtype}(256,)"
        )
    table = table.view(np.uint8).copy()
    table.flags.writeable = False
    return table
