"""float32 element functions computed in float32: the default (``accuracy="fast"``) float32 path.

The general float32 loop widens to float64 and rounds once (``_loops.map_loop``): within 1 ulp,
8 lanes per AVX-512 vector. These compute in float32, 16 lanes, within 2 ulp of the float64
reference rounded to float32 (XNNPACK's accuracy class; tests/test_kernels.py sweeps ~1M inputs,
subnormals and the breakpoints). relu and relu6 only select, so theirs are bit-identical to the
float64 loop's and serve ``accuracy="exact"`` too (``EXACT``).

The exponential is Cody and Waite's with fused multiply-adds: n = round(w/ln 2), r = w - n·ln 2
as fma(-n, L1, w) and then fma(-n, L2, ·), ln 2 = L1 + L2 split in float32 (L1 rounded to
nearest, 1.9e-9 above ln 2). The first is exact: for n != 0, |w| > 0.34, so w and n·L1 (L1 has
24 bits, in [0.5, 1)) are multiples of 2**-25, and |w - n·L1| < 0.35 < 2**24·2**-25; the second
rounds once, and L2's own error adds below 2**-45 at |n| <= 160. tanh and selu skip the second
(``_exp32_normal``): their e**w is then a factor 1 + 1.9e-9·n off, which tanh = m/(m + 2) takes
divided by sinh(2|x|) (|x| >= 0.3) and selu's e**x - 1 times e**x/(1 - e**x) (n = 0 above
x = -0.35): below 4.6e-9 of either result, 0.08·2**-24; the sigmoid and the gates pass it on
whole (3e-7 at x = -110) and keep the step. tests/test_float32_exp.py checks these claims.
Cephes' ``expf.c`` splits ln 2 at 9 bits instead, so that n·C1 is exact without FMA: a multiply
and a subtraction more.

e**r - 1 is r + r²·P(r), P of degree 4, minimax for the error relative to e**r - 1 on
|r| <= 0.3466 (Lawson's iteration, then rounded to float32 coefficient by coefficient with the
others refitted; tests/test_float32_exp.py derives the coefficients again): 1.4e-8 of e**r - 1
(0.23·2**-24), where the degree-7 Taylor polynomial it replaced reached 1.8e-8 with one
multiply-add more, and a degree lower left the kernels up to 8 ulp off. It is kept apart from
the 1 so that the callers' fused multiply-adds absorb it: sigmoid, silu, tanh (m/(m + 2),
m = e**2|x| - 1) and selu use it. The power of two comes from the rounding itself, as in
XNNPACK's exp kernels: w/ln 2 + 1.5·2**23 + 127 holds n + 127 in its low bits, which shifted
into the exponent field give 2**n (``_exp32_normal``: tanh and selu, whose w keeps 2**n normal).
The sigmoid and the gates may round to subnormals, so theirs (``_exp32``) biases by
191 = 127 + 64, giving 2**(n + 64), and the 2**-64 comes last, folded into a division that is
there anyway, so subnormal results round once (XNNPACK flushes them to zero).

The element functions compile without FMA contraction (``jit(contract=False)``) and write their
fused multiply-adds out (``_fma``), so their bits do not depend on the CPU target (NaN payloads
included: tests/test_cpu_dispatch.py, tests/test_kernel_bits.py).

The gates (``_gated``) never let e**w overflow and never round the numerator outside the tail:
x/(1 + e**-z) down to z = -16, x·e**z·(1 - e**z) below.

tanh-GELU's exponent z = 2·√(2/π)·(x + 0.044715·x³) is large (~87 at x = -10) and enters the
result through e**-z, so a float32 z would be ~100 ulp off: z is computed as a float32 pair (to
~2**-44 of z) and its low part joins the exponential's reduced argument. About as fast as the
float64 loop (0.95× at L2 size), not more: the pair costs as much as the exponential.
"""

import functools
import math

import numpy as np
from llvmlite import ir
from llvmlite.binding import llvm_version_info
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from edgeact._jit import always_inline, jit, prefer_wide_vectors
from edgeact.catalogue import GELU_TANH_CUBIC, SELU_ALPHA, SELU_SCALE
from edgeact.kernels._loops import line_parts, specialise

__all__ = ["ELEMENTS", "EXACT", "KEEPS_THE_NAN", "computes_in_float32", "float32_loop"]

_F = np.float32


def _split(c: float) -> tuple[np.float32, np.float32]:
    """The float64 constant c as high + low float32 parts, the high one rounded toward zero so
    that both have c's sign (x·high + x·low at x = ±inf is then ±inf, not inf - inf)."""
    high = _F(c)
    if abs(float(high)) > abs(c):
        high = np.nextafter(high, _F(0))
    return high, _F(c - float(high))


_ZERO, _ONE, _THREE, _SIX, _SIXTH = _F(0), _F(1), _F(3), _F(6), _F(1 / 6)
_LOG2E = _F(1.4426950408889634)
_LN2 = (_F(math.log(2)), _F(math.log(2) - float(_F(math.log(2)))))  # nearest, and the rest
_BIASED = _F(12582912.0 + 127)  # 1.5 * 2**23 rounds to an integer, and 127 biases it
_BIASED_64 = _F(12582912.0 + 191)  # 191 = 127 + 64: 2**(n + 64), normal down to n = -190
_SCALE, _UNSCALE = _F(2.0**64), _F(2.0**-64)
_NORMAL_ONLY = _F(-87)  # the lowest w whose 2**n is normal (n >= -126): ``_exp32_normal``
# e**r - 1 = r + r²·P(r) on |r| <= 0.3466, P of degree 4, highest coefficient first: derived and
# checked by tests/test_float32_exp.py (max error 1.4e-8 of e**r - 1, 0.23·2**-24).
_EXPM1_P = (_F(0.00138698), _F(0.008366257), _F(0.041667443), _F(0.16666546), _F(0.49999997))
_GATE_CLOSED = _F(-110)  # e**-110 · 110 is below float32's 2**-150: the gate is shut
_TWO = _F(2)
_TANH_FLAT = _F(9.1)  # tanh(x) rounds to ±1 from |x| = 9.01
_TANH_SMALL = _F(0.3)  # below, x + x³·T(x²); above, m/(m + 2) has no cancellation left
# T of degree 3, minimax for the error relative to tanh(x) on [0, 0.3], highest coefficient first:
# derived and checked by tests/test_float32_exp.py (max error 1.6e-10, 0.003·2**-24).
_TANH_SMALL_P = (_F(0.019900369), _F(-0.05381106), _F(0.13332833), _F(-0.33333328))
_TAIL = _F(-16)  # below it, e**z < 2**-23: the gates' tail formula (``_gated``)
_SELU_SCALE, _SELU_NEG = (_split(c) for c in (SELU_SCALE, SELU_SCALE * SELU_ALPHA))
_GELU_C1 = _split(2 * math.sqrt(2 / math.pi))  # tanh-GELU's z = x·(C1 + C3·x²)
_GELU_C3 = _split(2 * math.sqrt(2 / math.pi) * GELU_TANH_CUBIC)
_GELU_FLAT = _F(11)  # |x| beyond it: tanh-GELU is x or 0 in float32 (see ``gelu_tanh``)


@intrinsic
def _fma(typingctx, a, b, c):
    """a·b + c rounded once (LLVM's fma: the FMA instruction, or libm's fmaf where the target
    has none), so results do not depend on the CPU target."""
    if not a == b == c == types.float32:
        return None

    def codegen(context, builder, signature, args):
        f32 = ir.FloatType()
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(f32, [f32, f32, f32]), "llvm.fma.f32"
        )
        return builder.call(fma, args)

    return types.float32(types.float32, types.float32, types.float32), codegen


@intrinsic
def _exponent_scale(typingctx, biased):
    """2.0**(k - 127) for ``biased`` = 1.5·2**23 + k, k in [1, 254]: its low bits shifted into
    the exponent field."""
    if biased != types.float32:
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        shifted = builder.shl(builder.bitcast(args[0], i32), ir.Constant(i32, 23))
        return builder.bitcast(shifted, ir.FloatType())

    return types.float32(types.float32), codegen


# LLVM's x86 back end lowers canonicalize from LLVM 20 on (llvmlite 0.45, numba 0.62); LLVM 15
# and earlier stop the process ("Cannot select: fcanonicalize"). There ``_quieted`` is x itself
# and relu and relu6 keep the NaN rule's compare and select (``KEEPS_THE_NAN``).
CANONICALIZES = llvm_version_info >= (20,)


@intrinsic
def _quieted(typingctx, x):
    """x with a signalling NaN made quiet, its payload kept, and every other value unchanged:
    LLVM's canonicalize (a multiply by 1 on x86, FMINNM x, x on AArch64), which LLVM does not
    fold away as it does x * 1. Without ``CANONICALIZES``, x."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        if not CANONICALIZES:
            return args[0]
        f32 = ir.FloatType()
        canonicalize = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(f32, [f32]), "llvm.canonicalize.f32"
        )
        return builder.call(canonicalize, args)

    return types.float32(types.float32), codegen


@jit(contract=False)
def relu(x):
    q = _quieted(x)
    return _ZERO if q < _ZERO else q


@jit(contract=False)
def relu6(x):
    """The NaN rule's result (``KEEPS_THE_NAN``) from the quieted x, which the clamp passes: one
    multiply where the rule's compare, add and blend took three (relu6 7 % faster at L2 size)."""
    q = _quieted(x)
    y = _ZERO if q < _ZERO else q
    return _SIX if y > _SIX else y


@jit(contract=False)
def hardsigmoid(x):
    """relu6(x + 3) · (1/6), the float16 kernels' arithmetic too (``_half``), which the division
    by 6 is not: it rounds 2 float16 inputs differently. Written as clamp((x + 3)·(1/6), 0, 1),
    the same bits (6·(1/6) rounds to 1, and a NaN passes both ways), because LLVM sinks a
    multiply after the clamp into its selects, which then stay compare-and-blend pairs instead
    of one vminps: 1.1x hardswish, 1.6x hardsigmoid (float32, L2 size)."""
    t = (x + _THREE) * _SIXTH
    t = _ZERO if t < _ZERO else t
    return _ONE if t > _ONE else t


@jit(contract=False)
def hardswish(x):
    """a·hardsigmoid(a), a = max(x, -3), as the float64 element (``sigmoid.hardswish``): -inf
    needs no select of its own, and below -3 the result is -0. 6 instructions per vector where a
    select of 0 below -3 took 7: 10-20 % faster at L2 size, the two forms timed in turns.
    The max passes a NaN x on unchanged, so the NaN rule holds as in hardsigmoid
    (``KEEPS_THE_NAN``)."""
    a = -_THREE if x < -_THREE else x
    return a * hardsigmoid(a)


@jit(contract=False)
def _expm1_reduced(r):
    """e**r - 1 for |r| <= ln(2)/2, as r + r²·P(r): r is exact, so only the last fused
    multiply-add rounds at full weight (r·P(r) would round twice)."""
    c = _EXPM1_P[0]
    for k in _EXPM1_P[1:]:
        c = _fma(c, r, k)
    return _fma(r * r, c, r)


@jit(contract=False)
def _reduce(w, bias):
    """(w/ln 2 + bias rounded, n = round(w/ln 2), w - n·L1 exactly: see the module docstring),
    ``bias`` one of the ``_BIASED`` constants."""
    biased = _fma(w, _LOG2E, bias)
    n = biased - bias
    return biased, n, _fma(-n, _LN2[0], w)


@jit(contract=False)
def _exp32(w, low=None):
    """(q, s) with e**(w + low) = (1 + q)·s·2**-64, for float32 w <= 43 (clamped at the closed
    gate), ``low`` a correction below w's last bit (omitted: 0, and no instruction for it)."""
    biased, n, r = _reduce(_GATE_CLOSED if w < _GATE_CLOSED else w, _BIASED_64)
    if low is None:
        r = _fma(-n, _LN2[1], r)
    else:
        r = r + _fma(-n, _LN2[1], low)
    return _expm1_reduced(r), _exponent_scale(biased)


@jit(contract=False)
def _exp32_normal(w):
    """(q, p) with e**w = (1 + q)·p·e**(n·(L1 - ln 2)), for float32 w in [-87, 88]
    (``_NORMAL_ONLY``): p = 2**n is then a normal number, and the callers need no 2**-64
    multiply. The last factor, 1 + 1.9e-9·n, is left out, which tanh and selu can afford (see
    the module docstring): the reduction's second step, one multiply-add, goes with it."""
    biased, _, r = _reduce(w, _BIASED)
    return _expm1_reduced(r), _exponent_scale(biased)


@jit(contract=False)
def _gated(x, tail, q, s):
    """x·σ(z) from e**w = (1 + q)·s·2**-64, w = z in the tail (z < -16), else w = -z.

    Outside the tail x/(1 + e**-z), with 1 + e**-z as one fused multiply-add (1 + 2**n is exact:
    n <= 23): x is exact, so the result rounds twice, once in the division. In the tail
    x·e**z·(1 - e**z) (e**z < 2**-23, so the e**2z left out is below 2**-46): x·(1 + q) and its
    product with (1 - e**z) are one fused multiply-add each, and the 2**-64 comes last, as a
    division by 2**64 (the same bits as the multiply; the head divides anyway), so subnormal
    results round once more at most.
    """
    p = s * _UNSCALE
    first = _fma(x, q, x)
    numerator = _fma(-first, _fma(q, p, p), first) * s if tail else x
    return numerator / (_SCALE if tail else _fma(q, p, _ONE + p))


@jit(contract=False)
def tanh(x):
    """x + x³·T(x²) (T a degree-3 minimax polynomial) for |x| < 0.3; beyond, m/(m + 2) with
    m = e**2|x| - 1, the sign of x copied on (flat at ±1 from |x| = 9.1). Near |x| = 0.17, where
    n turns 1, m = 2·(1 + q) - 1 cancels and came out 2 ulp off: the polynomial takes that
    stretch."""
    a = abs(x)
    q, p = _exp32_normal(_TWO * (_TANH_FLAT if a > _TANH_FLAT else a))
    m = _fma(q, p, p - _ONE)  # 2**n - 1 is exact up to n = 24
    t = x * x
    c = _TANH_SMALL_P[0]
    for k in _TANH_SMALL_P[1:]:
        c = _fma(c, t, k)
    small = _fma(x, t * c, x)
    return small if a < _TANH_SMALL else math.copysign(m / (m + _TWO), x)


@jit(contract=False)
def selu(x):
    """scale·x for x >= 0, scale·alpha·(e**x - 1) below; each constant split in two float32s, so
    that its product with x or e**x - 1 rounds once."""
    w = x if x < _ZERO else _ZERO
    q, p = _exp32_normal(_NORMAL_ONLY if w < _NORMAL_ONLY else w)  # e**-87 - 1 rounds to -1
    m = _fma(q, p, p - _ONE)  # e**x - 1: 2**n - 1 is exact down to n = -24, -1 below
    positive = _fma(x, _SELU_SCALE[0], x * _SELU_SCALE[1])
    return positive if x >= _ZERO else _fma(m, _SELU_NEG[0], m * _SELU_NEG[1])


@jit(contract=False)
def sigmoid(x):
    """e/(1 + e) for x < 0, 1/(1 + e) above, e = e**-|x| = (1 + q)·s·2**-64: no overflow, no
    cancellation, one form for the whole range. Numerator and denominator are both scaled by
    2**64 (exactly: no product leaves the normal range), so no 2**-64 multiply, and the division
    rounds subnormal results once."""
    q, s = _exp32(-abs(x))
    numerator = _SCALE if x >= _ZERO else _fma(q, s, s)
    return numerator / _fma(q, s, _SCALE + s)


@jit(contract=False)
def _fast_two_sum(a, b):
    """(a + b rounded, its rounding error), exactly, for a, b >= 0: Dekker's fast two-sum with the
    larger one first (3 operations, a max and a min, where Knuth's two-sum, which needs no order,
    takes 6)."""
    total = a + b
    big = a if a > b else b
    small = b if a > b else a
    return total, (big - total) + small


@jit(contract=False)
def _gelu_tanh_exponent(x):
    """z = 2·√(2/π)·(x + 0.044715·x³) = x·(C1 + C3·x²) as z + z_low, to ~2**-44 of z: e**-z
    scales the result by z's absolute error, so a float32 z (|z| up to 110) would cost ~100 ulp.
    x² and each product are split exactly with fused multiply-adds, C1 + C3·x² (both positive)
    by a two-sum; the low parts' own products and sums round at ~2**-48 of z."""
    t = x * x
    t_low = _fma(x, x, -t)
    p = _GELU_C3[0] * t
    p_low = _fma(_GELU_C3[0], t, -p)
    a, a_error = _fast_two_sum(_GELU_C1[0], p)
    a_low = a_error + p_low + _fma(_GELU_C3[0], t_low, _fma(_GELU_C3[1], t, _GELU_C1[1]))
    z = x * a
    return z, _fma(x, a_low, _fma(x, a, -z))


@jit(contract=False)
def gelu_tanh(x):
    """x·σ(z), z = 2·√(2/π)·(x + 0.044715·x³) in two parts (``_gelu_tanh_exponent``), through
    the sigmoid's gate. Beyond |x| = 11 the result is x or 0 in float32 (z > 112: e**-z < 2**-161),
    so x is clamped there first: x³ then never overflows into inf - inf."""
    always_inline()  # too large for LLVM to inline by itself, and a call stops vectorisation
    a = _GELU_FLAT if x > _GELU_FLAT else x
    a = -_GELU_FLAT if a < -_GELU_FLAT else a
    z, z_low = _gelu_tanh_exponent(a)
    tail = z < _TAIL
    q, s = _exp32(z if tail else -z, z_low if tail else -z_low)
    y = _gated(a, tail, q, s)
    return x if x > _GELU_FLAT else (_ZERO if x < -_GELU_FLAT else y)


@jit(contract=False)
def silu(x):
    q, s = _exp32(x if x < _TAIL else -x)
    return _ZERO if x < _GATE_CLOSED else _gated(x, x < _TAIL, q, s)


ELEMENTS = {
    "relu": relu,
    "relu6": relu6,
    "hardsigmoid": hardsigmoid,
    "hardswish": hardswish,
    "sigmoid": sigmoid,
    "silu": silu,
    "tanh": tanh,
    "selu": selu,
    "gelu_tanh": gelu_tanh,
}
EXACT = frozenset(["relu", "relu6"])  # bit-identical to the float64 loop: also accuracy="exact"


def computes_in_float32(name: str, accuracy: str) -> bool:
    """Whether float32 ``name`` runs ``float32_loop`` (else the float64 ``_loops.map_loop``)."""
    return name in EXACT or (accuracy == "fast" and name in ELEMENTS)


# Their arithmetic already gives the NaN rule's result (see _loops): x + 3 (or relu's quieting)
# is x quieted, and every later operand that is a NaN is that one (none is negated), so the rule's
# compare and select can go: hardswish and hardsigmoid 1.4x faster at L2 size. tests/test_kernels.py
# checks the NaN bits.
KEEPS_THE_NAN = frozenset(["hardsigmoid", "hardswish", *(["relu", "relu6"] * CANONICALIZES)])


def _float32_template(x, out):
    prefer_wide_vectors()
    for lo, hi in line_parts(x, out):
        for i in range(lo, hi):
            y = _element(x[i])  # noqa: F821
            out[i] = y if x[i] == x[i] else x[i] + x[i]  # NaN rule: see _loops


def _arithmetic_template(x, out):
    prefer_wide_vectors()
    for lo, hi in line_parts(x, out):
        for i in range(lo, hi):
            out[i] = _element(x[i])  # noqa: F821


@functools.cache
def float32_loop(name: str):
    """The compiled ``loop(x, out)`` over float32 arrays for an ``ELEMENTS`` name."""
    template = _arithmetic_template if name in KEEPS_THE_NAN else _float32_template
    return specialise(template, f"float32_{name}", _element=ELEMENTS[name])
