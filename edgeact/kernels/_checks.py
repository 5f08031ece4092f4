"""Argument checks shared by the public kernels and the table functions.

Every error names the function, the argument and what is wrong with it, and nothing is converted
behind the caller's back (no silent copies to float64).
"""

import math
import numbers
from typing import Literal, get_args

import numpy as np

from edgeact.quant import QUANTIZED_DTYPES, QuantParams

__all__ = [
    "ACCURACIES",
    "COMPATS",
    "FLOAT_DTYPES",
    "Accuracy",
    "Compat",
    "check_accuracy",
    "check_array",
    "check_compat",
    "check_quant_params",
    "checked_out",
    "param_values",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))
Compat = Literal["tflite", "xnnpack", "onnxruntime"]  # whose int8 arithmetic a kernel reproduces
COMPATS: tuple[Compat, ...] = get_args(Compat)
# float32 only: "fast" computes in float32 (within 2 ulp) where edgeact has such a loop, "exact"
# in float64, rounded once (within 1 ulp); float16 and int8/uint8 results are the same under both.
Accuracy = Literal["fast", "exact"]
ACCURACIES: tuple[Accuracy, ...] = get_args(Accuracy)


def param_values(name, defaults, kwargs) -> tuple[float, ...]:
    """The activation's parameters in catalogue order, defaults filled in, each a finite float."""
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        allowed = ", ".join(defaults) or "none"
        raise TypeError(
            f"{name}() got unexpected parameter(s) {', '.join(unknown)} (parameters: {allowed})"
        )
    values = []
    for key, default in defaults.items():
        value = kwargs.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{name}: parameter {key} must be a finite number, got {value!r}")
        values.append(float(value))
    return tuple(values)


def check_array(name, x) -> None:
    """x is a NumPy array of a dtype some kernel takes: float32, float16, int8 or uint8."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: x must be a NumPy array, got {type(x).__name__}")
    if x.dtype in FLOAT_DTYPES or x.dtype in QUANTIZED_DTYPES:
        return
    if x.dtype.kind in "iu":
        raise TypeError(
            f"{name}: x is an {x.dtype} array; quantized kernels take int8 or uint8 codes "
            f"with quantization parameters x_q and y_q"
        )
    raise TypeError(
        f"{name}: unsupported dtype {x.dtype} for x; supported: float32, float16, and int8/uint8 "
        f"with quantization parameters (convert explicitly, e.g. x.astype(np.float32))"
    )


def check_compat(name, compat) -> None:
    if compat not in COMPATS:
        raise ValueError(f"{name}: unknown compat {compat!r}; choose one of {', '.join(COMPATS)}")


def check_accuracy(name, accuracy) -> None:
    if not isinstance(accuracy, str) or accuracy not in ACCURACIES:
        raise ValueError(
            f"{name}: unknown accuracy {accuracy!r}; choose one of {', '.join(ACCURACIES)}"
        )


def check_quant_params(name, x, x_q, y_q) -> None:
    """Quantized input needs both parameter sets, and x_q must describe x's dtype."""
    if x.dtype in QUANTIZED_DTYPES:
        for label, params in (("x_q", x_q), ("y_q", y_q)):
            if params is None:
                raise TypeError(
                    f"{name}: x is an {x.dtype} array; quantized kernels need x_q and y_q "
                    f"(edgeact.QuantParams), {label} is missing"
                )
            if not isinstance(params, QuantParams):
                raise TypeError(
                    f"{name}: {label} must be an edgeact.QuantParams, got {type(params).__name__}"
                )
        if x_q.dtype != x.dtype:
            raise ValueError(f"{name}: x_q.dtype is {x_q.dtype} but x is an {x.dtype} array")
    elif x_q is not None or y_q is not None:
        raise TypeError(
            f"{name}: x_q/y_q describe int8/uint8 codes, but x is a {x.dtype} array; "
            f"leave them out for float input"
        )


def checked_out(name, x, dtype, out) -> np.ndarray:
    """out as given (checked), or a new array for the result in x's memory layout."""
    shape = x.shape
    if out is None:
        return np.empty_like(x, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: out must be a NumPy array, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(
            f"{name}: out has dtype {out.dtype}, the result is {dtype}; they must match"
        )
    if out.shape != shape:
        raise ValueError(f"{name}: out has shape {out.shape}, x has {shape}; they must match")
    if not out.flags.writeable:
        raise ValueError(f"{name}: out is read-only")
    return out
