"""float16 arrays computed directly in float32, for the activations where that is exact.

The general float16 path is a 65 536-entry table (one gather per element, ~3 G elements/s on
x86-64). Clamps and hardsigmoid vectorise instead: load 16 halves, widen them to float32 (F16C
``vcvtph2ps`` on x86, ``fcvtl`` on ARM), compute, round back to nearest even (``vcvtps2ph``), at
memory speed (~14 G elements/s on the development machine). Numba has no float16 type, so the
conversions are LLVM ``half`` casts through two intrinsics on the uint16 view.

Only activations whose float32 result always rounds to the same float16 as the float64
reference are listed: relu and relu6 only select (exact in any precision), and hardsigmoid's
``clamp(x + 3, 0, 6) · (1/6)`` in float32 was checked over all 65 536 inputs (the exhaustive
float16 test in tests/test_kernels.py checks it on every run). Hardswish is not: x·(x + 3)/6
rounds twice for tiny x and gives -0 for x < -3, so it stays on the table.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from edgeact._jit import jit
from edgeact.kernels._loops import specialise

__all__ = ["HALF_ELEMENTS", "half_loop"]

_ZERO, _THREE, _SIX, _SIXTH = np.float32(0), np.float32(3), np.float32(6), np.float32(1 / 6)


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
def _relu_f32(x):
    return _ZERO if x < _ZERO else x


@jit
def _relu6_f32(x):
    y = _ZERO if x < _ZERO else x
    return _SIX if y > _SIX else y


@jit
def _hardsigmoid_f32(x):
    return _relu6_f32(x + _THREE) * _SIXTH


HALF_ELEMENTS = {"relu": _relu_f32, "relu6": _relu6_f32, "hardsigmoid": _hardsigmoid_f32}


def _half_template(codes, out):
    for i in range(codes.size):
        out[i] = _float32_to_half(_element(_half_to_float32(codes[i])))  # noqa: F821


def half_loop(name: str):
    """The compiled ``loop(codes, out)`` over float16 bits (uint16 views) for ``name``."""
    return specialise(
        _half_template,
        f"half_{name}",
        _element=HALF_ELEMENTS[name],
        _half_to_float32=_half_to_float32,
        _float32_to_half=_float32_to_half,
    )
