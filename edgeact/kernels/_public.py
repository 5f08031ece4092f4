"""The public array kernels: argument checks and dispatch in Python, all work in compiled loops.

float32 arrays run the element function in a vectorised loop (float64 inside, rounded once).
float16 arrays run through a 65 536-entry table that holds the element function's float64 result
for every float16 code, rounded once by NumPy's correctly rounded double-to-half conversion: one
gather per element, so float16 results are as accurate as the float64 arithmetic, and the input is
never converted as a whole.
"""

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Mapping

import numpy as np

from edgeact.kernels._loops import lut16_loop, map_loop

__all__ = ["SUPPORTED_DTYPES", "float16_table", "make_kernel"]

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))


def make_kernel(name: str, element, params: Mapping[str, float], formula: str) -> Callable:
    """Build the public kernel ``name(x, out=None, **params)`` around a scalar element function."""
    defaults = dict(params)

    def kernel(x, out=None, **kwargs):
        values = _param_values(name, defaults, kwargs)
        _check_input(name, x)
        out = _checked_out(name, x, out)
        if x.size == 0:
            return out
        if out is not x and np.may_share_memory(x, out) and not _same_view(x, out):
            x = x.copy()  # a partially overlapping out would overwrite inputs not yet read
        if x.dtype == np.float16:
            table = float16_table(element, values)
            _each_1d(lambda a, b: lut16_loop(a, table, b), x.view(np.uint16), out.view(np.uint16))
        else:
            loop = map_loop(element)
            _each_1d(lambda a, b: loop(a, b, values), x, out)
        return out

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = (
        f"{name}(x) = {formula}, element-wise.\n\n"
        f"x: float32 or float16 array of any shape and layout. out: optional array of the same\n"
        f"shape and dtype (may be x itself). Parameters: {_describe(defaults)}.\n"
        f"Returns out. float32 is within 1 ulp of the float64 result; float16 is the float64\n"
        f"result rounded to nearest (see edgeact.kernels._public)."
    )
    keyword = [
        inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in defaults.items()
    ]
    kernel.__signature__ = inspect.Signature(
        [
            inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter("out", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
            *keyword,
        ]
    )
    return kernel


@functools.lru_cache(maxsize=128)
def float16_table(element, values: tuple[float, ...]) -> np.ndarray:
    """The float16 result bits of ``element`` for all 65 536 float16 codes (read-only, cached)."""
    inputs = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)
    results = np.empty(inputs.size, dtype=np.float64)
    map_loop(element)(inputs, results, values)
    with np.errstate(over="ignore"):  # results beyond float16's range round to inf, as they should
        table = results.astype(np.float16).view(np.uint16)
    table.flags.writeable = False
    return table


def _param_values(name, defaults, kwargs) -> tuple[float, ...]:
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


def _check_input(name, x) -> None:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: x must be a NumPy array, got {type(x).__name__}")
    if x.dtype in SUPPORTED_DTYPES:
        return
    if x.dtype.kind in "iu":
        raise TypeError(
            f"{name}: x is an {x.dtype} array; integer arrays hold quantized data and need "
            f"quantization parameters, or convert to float32/float16 for the float kernel"
        )
    raise TypeError(
        f"{name}: unsupported dtype {x.dtype} for x; supported: float32, float16 "
        f"(convert explicitly, e.g. x.astype(np.float32))"
    )


def _checked_out(name, x, out) -> np.ndarray:
    if out is None:
        return np.empty_like(x)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: out must be a NumPy array, got {type(out).__name__}")
    if out.dtype != x.dtype:
        raise TypeError(f"{name}: out has dtype {out.dtype}, x has {x.dtype}; they must match")
    if out.shape != x.shape:
        raise ValueError(f"{name}: out has shape {out.shape}, x has {x.shape}; they must match")
    if not out.flags.writeable:
        raise ValueError(f"{name}: out is read-only")
    return out


def _same_view(a, b) -> bool:
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.strides == b.strides
    )


def _each_1d(loop, x, out) -> None:
    """Call ``loop(x_1d, out_1d)`` on 1-D views that together cover x and out, in memory order."""
    if x.strides == out.strides and (x.flags.c_contiguous or x.flags.f_contiguous):
        loop(x.ravel(order="K"), out.ravel(order="K"))
        return
    chunks = np.nditer(
        [x, out],
        flags=["external_loop", "zerosize_ok"],
        op_flags=[["readonly"], ["writeonly"]],
        order="K",
    )
    with chunks:
        for x_chunk, out_chunk in chunks:
            loop(x_chunk, out_chunk)


def _describe(defaults) -> str:
    return ", ".join(f"{k}={v}" for k, v in defaults.items()) or "none"
