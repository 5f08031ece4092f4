"""float16 scalars in Numba code: widened to float64 and rounded back, in integer arithmetic.

Numba has no float16 arithmetic on CPUs; edgeact teaches it the type's layout (``_njit``), so a
float16 array's element can be read and written, and these functions turn it into a float64 and
back. They work on the bits, not through LLVM's ``fpext``/``fptrunc``: a double-to-half
``fptrunc`` is a compiler-rt call on x86 (F16C converts only from float32, and float64 → float32
→ float16 would round twice), which Numba cannot link.

``half_from_float64`` rounds to nearest even, as NumPy's ``astype(np.float16)`` does
(tests/test_scalar.py compares them on every float16 value, every midpoint between two, and
random float64s), so a scalar function's float16 result is the array kernel's. They are
``register_jitable``: compiled into their callers only, as Python cannot pass a float16 scalar
to a compiled function itself.
"""

import math

import numpy as np
from numba import types
from numba.extending import register_jitable

from edgeact._jit import bit_cast
from edgeact.kernels._half import quieted_nan_or

__all__ = ["float64_from_half", "half_from_float64", "half_nan_rule"]

_SIGN, _EXPONENT, _FRACTION, _QUIET = 0x8000, 0x7C00, 0x03FF, 0x0200  # float16 bit fields
_SMALLEST_NORMAL = 2.0**-14
_OVERFLOW = 65520.0  # halfway between float16's largest, 65504, and 2**16: rounds to inf


_bits = bit_cast(types.float16, types.uint16)
_half = bit_cast(types.uint16, types.float16)


@register_jitable
def half_nan_rule(h, y):
    """y, or h quieted where h is a NaN (sign and payload kept): the kernels' NaN rule
    (``_half.quieted_nan_or``) on float16 values."""
    return _half(np.uint16(quieted_nan_or(_bits(h), _bits(y))))


@register_jitable
def float64_from_half(h):
    """float16 h as a float64, exactly (a NaN becomes float64's NaN)."""
    bits = _bits(h)
    sign = -1.0 if bits & _SIGN else 1.0
    exponent, fraction = (bits & _EXPONENT) >> 10, bits & _FRACTION
    if exponent == 0x1F:
        return sign * math.inf if fraction == 0 else math.nan
    if exponent == 0:
        return sign * math.ldexp(float(fraction), -24)
    return sign * math.ldexp(float(fraction + 1024), exponent - 25)


@register_jitable
def half_from_float64(y):
    """float64 y rounded to the nearest float16, ties to even (NaN: float16's quiet NaN)."""
    if y != y:
        return _half(np.uint16(_EXPONENT | _QUIET))
    sign = _SIGN if math.copysign(1.0, y) < 0.0 else 0
    a = abs(y)
    if a >= _OVERFLOW:
        bits = sign | _EXPONENT
    elif a < _SMALLEST_NORMAL:  # subnormal steps of 2**-24; 1024 steps is the smallest normal
        bits = sign | int(np.rint(math.ldexp(a, 24)))
    else:
        fraction, exponent = math.frexp(a)  # a = fraction·2**exponent, 0.5 <= fraction < 1
        significand = int(np.rint(math.ldexp(fraction, 11)))  # 11 bits, rounding may carry
        bits = sign | ((exponent + 14) << 10) + significand - 1024
    return _half(np.uint16(bits))
