"""Per-tensor affine quantization parameters: real = scale · (q - zero_point).

Scales are held as float32, because that is how every runtime stores them (TFLite flatbuffers,
ONNX initializers) and computes with them; a scale given as a Python float is rounded once here,
so edgeact's arithmetic sees the same number the runtime does.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["QUANTIZED_DTYPES", "QuantParams"]

QUANTIZED_DTYPES = (np.dtype(np.int8), np.dtype(np.uint8))


@dataclass(frozen=True)
class QuantParams:
    """scale (finite, > 0), zero_point (an integer inside dtype's range), dtype (int8 or uint8)."""

    scale: float
    zero_point: int
    dtype: np.dtype

    def __init__(self, scale: float, zero_point: int, dtype: npt.DTypeLike) -> None:
        try:
            dtype = np.dtype(dtype)
        except TypeError as error:
            raise ValueError(f"QuantParams: dtype must be int8 or uint8, got {dtype!r}") from error
        if dtype not in QUANTIZED_DTYPES:
            raise ValueError(f"QuantParams: dtype must be int8 or uint8, got {dtype}")
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
            raise ValueError(f"QuantParams: scale must be a number, got {scale!r}")
        if not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"QuantParams: scale must be finite and > 0, got {scale!r}")
        with np.errstate(over="ignore"):  # beyond float32: inf, refused just below
            scale32 = float(np.float32(scale))
        if scale32 == 0.0 or not math.isfinite(scale32):
            raise ValueError(f"QuantParams: scale {scale!r} is not representable as a float32 > 0")
        if isinstance(zero_point, bool) or not isinstance(zero_point, numbers.Integral):
            raise ValueError(f"QuantParams: zero_point must be an integer, got {zero_point!r}")
        info = np.iinfo(dtype)
        if not info.min <= zero_point <= info.max:
            raise ValueError(
                f"QuantParams: zero_point {zero_point} is outside {dtype}'s range "
                f"[{info.min}, {info.max}]"
            )
        object.__setattr__(self, "scale", scale32)
        object.__setattr__(self, "zero_point", int(zero_point))
        object.__setattr__(self, "dtype", dtype)

    @property
    def qmin(self) -> int:
        return int(np.iinfo(self.dtype).min)

    @property
    def qmax(self) -> int:
        return int(np.iinfo(self.dtype).max)

    def dequantize(self, q: npt.ArrayLike) -> np.ndarray:
        """float32 values of the codes q: scale · (q - zero_point), as the runtimes compute it."""
        q = np.asarray(q)
        if q.dtype != self.dtype:
            raise TypeError(
                f"dequantize: codes have dtype {q.dtype}, parameters are for {self.dtype}"
            )
        with np.errstate(over="ignore"):  # a huge scale gives ±inf, as in float32 runtimes
            return (q.astype(np.int32) - self.zero_point).astype(np.float32) * np.float32(
                self.scale
            )

    def quantize(self, x: npt.ArrayLike) -> np.ndarray:
        """Codes for real values x: round(x / scale) + zero_point, ties to even, saturated.

        This is ONNX QuantizeLinear's definition (float32 division, round half to even).
        """
        x = np.asarray(x, dtype=np.float32)
        with np.errstate(invalid="ignore", over="ignore"):
            q = np.rint(x / np.float32(self.scale)) + self.zero_point
        if np.isnan(q).any():
            raise ValueError("quantize: x contains NaN, which has no quantized code")
        return np.clip(q, self.qmin, self.qmax).astype(self.dtype)
