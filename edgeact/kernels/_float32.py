"""float32 element functions computed in float32: the default (``accuracy="fast"``) float32 path.

The general float32 loop widens to float64 and rounds once (``_loops.map_loop``): within 1 ulp,
8 lanes per AVX-512 vector. These compute in float32, 16 lanes, within 2 ulp of the float64
reference rounded to float32 (XNNPACK's accuracy class; tests/test_kernels.py sweeps ~1M inputs,
subnormals and the breakpoints). relu and relu6 only select, so theirs are bit-identical to the
float64 loop's and serve ``accuracy="exact"`` too (``EXACT``).

The exponential, e**z for z <= 0, is Cody and Waite's (as in Cephes' ``expf.c``): n = round(z/ln 2),
r = z - n·ln 2 with ln 2 split in Cephes' two parts (0.693359375 has 9 bits, so n·C1 is exact even
without FMA), e**r by its degree-7 Taylor polynomial (|r| <= ln(2)/2: remainder r**8/8!·e**|r| <
7.4e-9, 0.06 ulp), and 2**n from exponent bits. Subnormal results are scaled in two steps, so they
round once (XNNPACK's kernels flush them to zero instead). The gated functions take the gate as
``e/(1 + e)`` with e = e**-|z| on the negative side (XNNPACK's ``f32-vsigmoid`` does the same), so
e never overflows, and multiply in the tail's power of two last, after the division.

tanh-GELU's exponent, 2u = 2·√(2/π)·(x + 0.044715·x³), is large (~87 at x = -10) and enters the
result through e**-2u: a float32 2u would be off by ~100 ulp of the result. It and its reduction
run in float64 (a handful of operations); only r goes to float32.
"""

import functools

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from edgeact._jit import jit
from edgeact.catalogue import GELU_TANH_CUBIC
from edgeact.kernels._loops import specialise

__all__ = ["ELEMENTS", "EXACT", "computes_in_float32", "float32_loop"]

_F = np.float32
_ZERO, _ONE, _THREE, _SIX, _SIXTH = _F(0), _F(1), _F(3), _F(6), _F(1 / 6)
_LOG2E = _F(1.4426950408889634)
_LN2_C1, _LN2_C2 = _F(0.693359375), _F(-2.12194440e-4)  # Cephes expf.c
_ROUND32 = _F(12582912.0)  # 1.5 * 2**23: adding and subtracting it rounds to an integer
_ROUND64 = 6755399441055744.0  # 1.5 * 2**52, the same for float64
_LN2 = 0.6931471805599453
_TAYLOR_7 = tuple(_F(c) for c in (1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1))  # /r
_GATE_CLOSED = -110.0  # e**-110 · 11.5 (tanh-GELU's largest |x| there) is below 2**-150 / 2
_GATE_CLOSED32 = _F(_GATE_CLOSED)
_TAIL = -16.0  # below it, e**z < 2**-23: the gates' tail formula (``_gated``)
_TAIL32 = _F(_TAIL)
_DEEP, _LIFT, _DROP = _F(-100), _F(64), _F(2.0**-64)  # two-step scaling below 2**-100
_TWO_SQRT_2_OVER_PI = 2 * 0.7978845608028654


@intrinsic
def _pow2(typingctx, n):
    """2.0**n as float32, for an integral float32 n in [-126, 127] (built from exponent bits)."""
    if n != types.float32:
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        exponent = builder.add(builder.fptosi(args[0], i32), ir.Constant(i32, 127))
        return builder.bitcast(builder.shl(exponent, ir.Constant(i32, 23)), ir.FloatType())

    return types.float32(types.float32), codegen


@jit
def relu(x):
    return _ZERO if x < _ZERO else x


@jit
def relu6(x):
    y = _ZERO if x < _ZERO else x
    return _SIX if y > _SIX else y


@jit
def hardsigmoid(x):
    """relu6(x + 3) · (1/6), the float16 kernels' arithmetic too (``_half``), which the division
    by 6 is not: it rounds 2 float16 inputs differently."""
    return relu6(x + _THREE) * _SIXTH


@jit
def hardswish(x):
    return _ZERO if x < -_THREE else x * hardsigmoid(x)


@jit
def _exp_reduced(r, r_low, n):
    """(q, s, t) with e**(r + r_low + n·ln 2) = (1 + q)·s·t, for |r| <= ln(2)/2, |r_low| below
    r's half ulp, and integral n in [-159, 23].

    q = e**r - 1 is kept apart from the 1, so that callers fold the 1 into a fused multiply-add
    and save a rounding. s·t is 2**n: t is 2**-64 where n is below -100, so that s stays normal
    and a subnormal result rounds once, in the multiplication by t.
    """
    q = _TAYLOR_7[0]
    for c in _TAYLOR_7[1:]:
        q = q * r + c
    deep = n < _DEEP
    # e**(r + r_low) - 1 = q + r_low·(1 + q): the q·r_low left out is below 0.1 ulp
    return q * r + r_low, _pow2(n + _LIFT if deep else n), _DROP if deep else _ONE


@jit
def _exp32(w):
    """``_exp_reduced``'s parts of e**w for float32 w <= 16, w clamped at the closed gate."""
    w = _GATE_CLOSED32 if w < _GATE_CLOSED32 else w
    n = (w * _LOG2E + _ROUND32) - _ROUND32
    r = (w - n * _LN2_C1) - n * _LN2_C2
    return _exp_reduced(r, _ZERO, n)


@jit
def _exp64(w):
    """``_exp_reduced``'s parts of e**w for float64 w <= 16: reduced in float64 and passed on as
    two float32s (r alone would cost up to 0.35 ulp)."""
    w = _GATE_CLOSED if w < _GATE_CLOSED else w
    n = (w * 1.4426950408889634 + _ROUND64) - _ROUND64
    r = w - n * _LN2
    r_high = _F(r)
    return _exp_reduced(r_high, _F(r - r_high), _F(n))


@jit
def _gated(x, tail, q, s, t):
    """x·σ(z) from e**w = (1 + q)·s·t, w = z in the tail (z < -16), else w = -z.

    Outside the tail x/(1 + e**-z), with 1 + e**-z as one fused multiply-add (1 + s·t is exact:
    n <= 23): x is exact, so the result rounds twice, once in the division. In the tail
    x·e**z·(1 - e**z) (e**z < 2**-23, so the e**2z left out is below 2**-46): x·(1 + q) and its
    product with (1 - e**z) are one fused multiply-add each, and s·t comes last, so subnormal
    results round once more at most.
    """
    st = s * t
    head = x / (q * st + (_ONE + st))
    first = x * q + x
    return (first - first * (q * st + st)) * s * t if tail else head


@jit
def sigmoid(x):
    q, s, t = _exp32(x if x < _TAIL32 else -x)
    return _gated(_ONE, x < _TAIL32, q, s, t)


@jit
def silu(x):
    q, s, t = _exp32(x if x < _TAIL32 else -x)
    return _ZERO if x < _GATE_CLOSED32 else _gated(x, x < _TAIL32, q, s, t)


@jit
def gelu_tanh(x):
    wide = np.float64(x)
    u2 = _TWO_SQRT_2_OVER_PI * (wide + GELU_TANH_CUBIC * wide * wide * wide)
    q, s, t = _exp64(u2 if u2 < _TAIL else -u2)
    return _ZERO if u2 < _GATE_CLOSED else _gated(x, u2 < _TAIL, q, s, t)


ELEMENTS = {
    "relu": relu,
    "relu6": relu6,
    "hardsigmoid": hardsigmoid,
    "hardswish": hardswish,
    "sigmoid": sigmoid,
    "silu": silu,
    "gelu_tanh": gelu_tanh,
}
EXACT = frozenset(["relu", "relu6"])  # bit-identical to the float64 loop: also accuracy="exact"


def computes_in_float32(name: str, accuracy: str) -> bool:
    """Whether float32 ``name`` runs ``float32_loop`` (else the float64 ``_loops.map_loop``)."""
    return name in EXACT or (accuracy == "fast" and name in ELEMENTS)


def _float32_template(x, out):
    for i in range(x.size):
        y = _element(x[i])  # noqa: F821
        out[i] = y if x[i] == x[i] else x[i] + x[i]  # NaN rule: see _loops


@functools.cache
def float32_loop(name: str):
    """The compiled ``loop(x, out)`` over float32 arrays for an ``ELEMENTS`` name."""
    return specialise(_float32_template, f"float32_{name}", _element=ELEMENTS[name])
