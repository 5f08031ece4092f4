"""Vectorisable float64 building blocks for the element functions.

``math.exp`` inside a Numba loop is a call into scalar libm, which stops LLVM from vectorising the
loop. The exponential below is plain arithmetic (Cody-Waite range reduction, a degree-12 Taylor
polynomial, and scaling by 2**n built from the exponent bits), so loops that use it vectorise.
Relative error is below 3e-16 over the whole float64 range (tested against ``math.exp``).
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from edgeact._jit import jit

__all__ = ["exp"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split in two so that n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2**52: adding and subtracting it rounds to an integer
_EXP_MAX = 709.8  # exp overflows above ~709.78 ...
_EXP_MIN = -745.2  # ... and underflows to 0 below ~-745.13


@intrinsic
def _bits_to_float64(typingctx, bits):
    """Reinterpret an int64 as the float64 with the same bits (no conversion)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@jit
def _pow2(k):
    """2.0**k for integer k in [-1022, 1023]."""
    return _bits_to_float64((k + 1023) << 52)


@jit
def exp(x):
    """e**x in float64 without libm; NaN -> NaN, -inf -> 0, +inf -> inf."""
    x = _EXP_MAX if x > _EXP_MAX else x
    x = _EXP_MIN if x < _EXP_MIN else x
    n = (x * _LOG2E + _ROUND) - _ROUND
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # n is in [-1075, 1024]: scale in two halves, so neither power of two leaves the normal range.
    k = np.int64(n)
    half = k >> 1
    return p * _pow2(half) * _pow2(k - half)
