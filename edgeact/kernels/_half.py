"""float16 kernels computed without the 65 536-entry table, for the activations where that is
exact.

The general float16 path is a 65 536-entry table (one gather per element, ~3-4 G elements/s on
x86-64). Hardsigmoid and hardswish vectorise instead: load halves, widen them to float32 (F16C
``vcvtph2ps`` on x86, 8 per 256-bit vector, since on Zen 5 a 512-bit conversion costs two;
``fcvtl`` on ARM), compute, round back to nearest even (``vcvtps2ph``):
hardswish at ~5 G elements/s at L2 size, 1.4× its table. Numba has no float16 type, so the
conversions are LLVM ``half`` casts through two intrinsics on the uint16 view. Where the compiled
target has no conversion instructions (``_cpu.has_half_conversion``; ``EDGEACT_PORTABLE=1``),
LLVM would emit library calls Numba cannot link, so these use the table there too. relu and relu6
only select: they compare the float16 bits as 16-bit integers, exact on every target.

Only activations whose float32 result always rounds to the same float16 as the float64
reference are listed: hardsigmoid's ``clamp(x + 3, 0, 6) · (1/6)`` and hardswish's
``a · (clamp(a + 3, 0, 6) · (1/6))``, a = max(x, -3), in float32 (``_float32``) were checked over
all 65 536 inputs (tests/test_kernels.py checks them exhaustively on every run, against the
reference and bit for bit against the table, as it does relu and relu6). Hardswish has one input
where float32 rounds differently; it is special-cased (see ``_hardswish_f32``).
"""

import functools

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from edgeact._jit import jit, prefer_256_bit_vectors
from edgeact.kernels import _float32
from edgeact.kernels._cpu import has_half_conversion
from edgeact.kernels._float32 import KEEPS_THE_NAN
from edgeact.kernels._loops import line_parts, specialise

__all__ = [
    "HALF_ARITHMETIC",
    "HALF_CODE_ELEMENTS",
    "HALF_ELEMENTS",
    "half_loop",
    "quieted_nan_or",
]

_TINIEST_HALF = np.float32(2.0**-24)  # float16's smallest subnormal
_ABS_HALF, _INF_HALF, _QUIET_HALF = np.uint16(0x7FFF), np.uint16(0x7C00), np.uint16(0x0200)


@intrinsic
def _half_to_float32(typingctx, code):
    """The float16 with bits ``code``, widened (exactly) to float32."""
    if code != types.uint16:
        return None

    def codegen(context, builder, signature, args):
        return builder.fpext(builder.bitcast(args[0], ir.HalfType()), ir.FloatType())

    return types.float32(types.uint16), codegen


@intrinsic
def _float32_to_half(typingctx, value):
    """The bits of ``value`` rounded to float16, to nearest even."""
    if value != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.fptrunc(args[0], ir.HalfType()), ir.IntType(16))

    return types.uint16(types.float32), codegen


@jit
def _hardswish_f32(x):
    """``_float32.hardswish`` for float16 results.

    At x = 2**-24 the exact result, 2**-25 + 2**-48/6, lies just above a float16 rounding tie;
    float32's x + 3 drops the 2**-48, and 2**-25 would round (to even) to 0. The float16 result is
    x itself. This is the only input of the 65 536 where the float32 arithmetic differs.
    """
    y = _float32.hardswish(x)
    return x if x == _TINIEST_HALF else y  # selecting last vectorises better: 5.0 vs 4.4 G/s


_SIGN_HALF, _SIX_HALF = np.uint16(0x8000), np.uint16(0x4600)  # -0.0 and 6.0 as float16 bits
_ZERO_CODE = np.uint16(0)


@jit
def quieted_nan_or(code, y):
    """The NaN rule on float16 bits (see _loops): ``code`` quieted if it is a NaN, else ``y``."""
    return code | _QUIET_HALF if code & _ABS_HALF > _INF_HALF else y


@jit
def _relu_code(code):
    """relu on float16 bits: NaN quieted, negative numbers (not -0.0) to +0, the rest kept."""
    return quieted_nan_or(code, _ZERO_CODE if code > _SIGN_HALF else code)


@jit
def _relu6_code(code):
    """relu6 on float16 bits: as ``_relu_code``, and above 6.0 (+inf included) to 6.0."""
    clamped = _SIX_HALF if code > _SIX_HALF else code  # below 0x8000 the bits sort as the values
    return quieted_nan_or(code, clamped if code < _SIGN_HALF else _relu_code(code))


HALF_ELEMENTS = {"hardsigmoid": _float32.hardsigmoid, "hardswish": _hardswish_f32}
# relu and relu6 only select, which integer compares on the float16 bits do exactly on every
# CPU target: no conversion, and no float compare for LLVM to turn into max/min (LLVM 14, in
# llvmlite 0.43, made relu6(-0.0) +0.0 that way once the NaN rule's select was added).
HALF_CODE_ELEMENTS = {"relu": _relu_code, "relu6": _relu6_code}
# The names not computed by the float16 table on this CPU target; chosen at import, like the
# table loops (_simd)
HALF_ARITHMETIC = frozenset(
    [*HALF_CODE_ELEMENTS, *(HALF_ELEMENTS if has_half_conversion() else ())]
)


def _half_template(codes, out):
    prefer_256_bit_vectors()
    for lo, hi in line_parts(codes, out):
        for i in range(lo, hi):
            code = codes[i]
            y = _float32_to_half(_element(_half_to_float32(code)))  # noqa: F821
            out[i] = quieted_nan_or(code, y)


# For hardsigmoid and hardswish the conversions give the NaN rule by themselves (``_float32``'s
# KEEPS_THE_NAN: the float32 arithmetic keeps x's NaN, and widening and narrowing a NaN keep its
# payload and set the quiet bit, on x86's F16C and AArch64 alike), so the rule's integer select
# goes: 1.1-1.2x faster at 1 Mi values. tests/test_kernel_bits.py holds every NaN code's bits.
def _converted_template(codes, out):
    prefer_256_bit_vectors()
    for lo, hi in line_parts(codes, out):
        for i in range(lo, hi):
            out[i] = _float32_to_half(_element(_half_to_float32(codes[i])))  # noqa: F821


def _code_template(codes, out):
    for lo, hi in line_parts(codes, out):
        for i in range(lo, hi):
            out[i] = _element(codes[i])  # noqa: F821


@functools.cache
def half_loop(name: str):
    """The compiled ``loop(codes, out)`` over float16 bits (uint16 views) for ``name``."""
    if name in HALF_CODE_ELEMENTS:
        return specialise(_code_template, f"code_{name}", _element=HALF_CODE_ELEMENTS[name])
    return specialise(
        _converted_template if name in KEEPS_THE_NAN else _half_template,
        f"half_{name}",
        _element=HALF_ELEMENTS[name],
        _half_to_float32=_half_to_float32,
        _float32_to_half=_float32_to_half,
    )
