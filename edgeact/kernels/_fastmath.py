"""Vectorisable float64 exponentials and logarithms for the element functions.

``math.exp`` inside a Numba loop is a call into scalar libm, which stops LLVM from vectorising the
loop. The exponentials below are plain arithmetic (range reduction n = round(x/ln 2), a Taylor
polynomial in r = x - n·ln 2, |r| <= ln(2)/2, and scaling by 2**n built from the exponent bits), so
loops that use them vectorise.

- ``exp``: relative error below 3e-16 over the whole float64 range (tested against ``math.exp``):
  the element functions' float64 results, and the float16 tables built from them.
- ``exp_for_float32``: relative error below 3e-10 (the degree-8 Taylor remainder, r**9/9!·e**|r|),
  0.005 float32 ulp, and clamped to ±200, where every element function that uses it has reached
  its float32 limit. Four fewer multiply-adds and one scaling instead of two: the float32 loops
  compile the element functions with it (``_loops.map_loop``), which makes them ~1.6× faster.
- ``expm1``: e**x - 1 within 1e-15 relative (its Taylor series below |x| = ln(2)/2, where
  exp(x) - 1 would cancel; ``exp`` beyond).
- ``erfc_for_float32``: erfc to 3e-11 relative, for results rounded to float32 (libm's erfc is a
  scalar call: GELU's float32 loop ran at 0.065 G elements/s). Below |z| = 0.5, 1 - erf(z) by
  erf's Taylor series (to z**19); above, erfc(|z|) = e**-z²·R(t), t = (|z| - 3)/(|z| + 3), R a
  degree-12 polynomial least-squares fitted here (on a Chebyshev basis, then expanded in powers
  of t) to erfc(z)·e**z² from libm over 0.5 <= z <= 11, and 2 - erfc(|z|) for negative z: no
  cancellation anywhere. Beyond |z| = 11 erfc(z) is below 2**-149 or rounds to 2.
- ``log1p_unit``: log(1 + y) for 0 <= y <= 1 (softplus's log(1 + e**-|x|)) within 5e-16 relative,
  as 2·atanh(s) with s = y/(2 + y), or ln 2 + 2·atanh((y - 1)/(y + 3)) above y = √2 - 1, so that
  |s| <= 0.172 and eleven odd terms of the series reach float64's precision.
"""

import math

import numpy as np
from numba import types

from edgeact._jit import always_inline, bit_cast, jit

__all__ = ["FOR_FLOAT32", "erfc_for_float32", "exp", "exp_for_float32", "expm1", "log1p_unit"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split in two so that n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_ROUND = 6755399441055744.0  # 1.5 * 2**52: adding and subtracting it rounds to an integer
_EXP_MAX = 709.8  # exp overflows above ~709.78 ...
_EXP_MIN = -745.2  # ... and underflows to 0 below ~-745.13
_FLOAT32_LIMIT = 200.0  # e**-200 * 3.4e38 (float32's largest) is still far below float32's 2**-150
_TAYLOR_12 = tuple(1.0 / math.factorial(k) for k in range(12, -1, -1))  # highest degree first
_TAYLOR_8 = _TAYLOR_12[4:]
_EXPM1_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(13, 1, -1))  # of (e**x - 1 - x)/x²
_EXPM1_SMALL = 0.34657359027997264  # ln(2)/2: x**14/14! < 4e-18 of x below it
_ATANH_ODD = tuple(1.0 / (2 * k + 1) for k in range(11, 0, -1))  # of (atanh(s) - s)/s³, in s²
_ERF_TAYLOR = tuple(  # erf(z)/z in z²: 2/√π·Σ (-z²)**n/(n!·(2n + 1)), n = 9 down to 0
    2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(9, -1, -1)
)
_ERFC_SMALL, _ERFC_FLAT = 0.5, 11.0
_ERFC_SCALED_FIT = (  # erfc(z)·e**z² in t = (z - 3)/(z + 3), highest power first (see above)
    -7.412017837505759e-06, -1.077310476059097e-05, 6.41966814719627e-05, 4.44016285094587e-05,
    -0.0005971936931044663, 0.0007079205600995595, 0.004269164789435021, -0.024392517184545427,
    0.0716658348105789, -0.15011593568742043, 0.24560380177981517, -0.32623356005397774,
    0.17900115118110457,
)  # fmt: skip
_SQRT2_MINUS_1 = 0.41421356237309503
_LN2 = 0.6931471805599453


_bits_to_float64 = bit_cast(types.int64, types.float64)


@jit
def _pow2(k):
    """2.0**k for integer k in [-1022, 1023]."""
    return _bits_to_float64((k + 1023) << 52)


@jit
def _horner(r, coefficients):
    """The polynomial with ``coefficients`` (highest degree first) at r."""
    p = 0.0
    for c in coefficients:
        p = p * r + c
    return p


@jit
def exp(x):
    """e**x in float64 without libm; NaN -> NaN, -inf -> 0, +inf -> inf."""
    x = _EXP_MAX if x > _EXP_MAX else x
    x = _EXP_MIN if x < _EXP_MIN else x
    n = (x * _LOG2E + _ROUND) - _ROUND
    r = (x - n * _LN2_HI) - n * _LN2_LO
    p = _horner(r, _TAYLOR_12)
    # n is in [-1075, 1024]: scale in two halves, so neither power of two leaves the normal range.
    k = np.int64(n)
    half = k >> 1
    return p * _pow2(half) * _pow2(k - half)


@jit
def exp_for_float32(x):
    """e**x to 3e-10 for results that are rounded to float32; x is clamped to [-200, 200]."""
    x = _FLOAT32_LIMIT if x > _FLOAT32_LIMIT else x
    x = -_FLOAT32_LIMIT if x < -_FLOAT32_LIMIT else x
    n = (x * _LOG2E + _ROUND) - _ROUND
    r = x - n * (_LN2_HI + _LN2_LO)  # one fused multiply-add: n·ln 2's error is ~1e-14 here
    return _horner(r, _TAYLOR_8) * _pow2(np.int64(n))


@jit
def expm1(x):
    """e**x - 1 without libm; NaN -> NaN, -inf -> -1, +inf -> inf."""
    always_inline()  # too large for LLVM to inline by itself, and a call stops vectorisation
    series = x * (1.0 + x * _horner(x, _EXPM1_TAYLOR))  # keeps the sign of a zero
    return series if abs(x) < _EXPM1_SMALL else exp(x) - 1.0


@jit
def log1p_unit(y):
    """log(1 + y) for 0 <= y <= 1 without libm (NaN -> NaN)."""
    always_inline()
    upper = y > _SQRT2_MINUS_1
    s = (y - 1.0) / (y + 3.0) if upper else y / (y + 2.0)
    atanh = s + s * (s * s) * _horner(s * s, _ATANH_ODD)
    return _LN2 + 2.0 * atanh if upper else 2.0 * atanh


@jit
def erfc_for_float32(z):
    """erfc(z) to 3e-11 relative, for results rounded to float32 (NaN -> NaN)."""
    always_inline()
    a = abs(z)
    a = _ERFC_FLAT if a > _ERFC_FLAT else a
    small = 1.0 - z * _horner(z * z, _ERF_TAYLOR)
    tail = exp_for_float32(-(a * a)) * _horner((a - 3.0) / (a + 3.0), _ERFC_SCALED_FIT)
    return small if a < _ERFC_SMALL else (tail if z > 0.0 else 2.0 - tail)


# What the float32 loops compile the element functions with instead (``_loops.map_loop``), by
# the name the element function calls.
FOR_FLOAT32 = {"exp": exp_for_float32, "erfc": erfc_for_float32}
