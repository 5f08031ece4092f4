"""The 256-entry int8/uint8 tables of LiteRT's builtin kernels and of its XNNPACK delegate.

Each table is computed by emulating, over all 256 input codes, the arithmetic the runtime runs
(explicit int16/int32/int64/float32 steps, ``float32`` libm calls made through ``ctypes`` into the
same C library LiteRT links against). Sources read (public, paths in google-ai-edge/LiteRT unless
stated):

- ``tflite/kernels/activations.cc``: which kernel each op runs and what its Prepare computes.
- ``tflite/kernels/internal/reference/hard_swish.h``, ``.../optimized/optimized_ops.h``
  (``HardSwish``: scalar reference on x86, a NEON path on ARM), gemmlowp ``fixedpoint.h``
  (``SaturatingRoundingDoublingHighMul``, ``RoundingDivideByPOT``).
- ``tflite/kernels/internal/reference/leaky_relu.h``, ``.../reference_ops.h`` (``ReluX``),
  ``.../common.cc`` (``MultiplyByQuantizedMultiplier``), ``.../quantization_util.cc``
  (``QuantizeMultiplier``), ``.../common.h`` (``LUTPopulateInt8``), ``.../reference/gelu.h``.
- ``tflite/delegates/xnnpack/xnnpack_delegate.cc`` (which 8-bit ops the delegate takes), and in
  google/XNNPACK ``src/operators/unary-elementwise-nc.c`` (8-bit ops without a dedicated kernel
  become a LUT made by running the reference kernel on the 256 codes),
  ``src/reference/unary-elementwise.cc`` + ``src/xnnpack/reference-utils.h`` (those reference
  kernels), ``src/microparams-init.c`` + ``src/qs8-vlrelu/*`` (its LEAKY_RELU kernel).

Where the source leaves it to the compiler, the LiteRT 2.3 x86-64 wheel's machine code decided
(``objdump`` of ``libpywrap_litert_common.so``): XNNPACK's quantized reference kernels round with
``nearbyintf`` (ties to even); ``LUTPopulateInt8`` clamps in float before converting for int8 but
converts first for uint8; no ``a·b + c`` is fused (no FMA on baseline x86-64). On 64-bit ARM this
module switches to the NEON HARD_SWISH path, saturating float-to-int conversion and fused
``a·b + c`` (clang's default contraction where FMA exists); those ARM choices come from the
source and the compiler's documented defaults, not from a test run.

No code is copied from those projects; the formulas are re-expressed in NumPy here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import platform

import numpy as np

from edgeact.catalogue import ACTIVATIONS
from edgeact.quant import QuantParams

__all__ = ["is_arm", "tflite_table", "xnnpack_delegates", "xnnpack_table"]

_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1
_F32 = np.float32


def is_arm() -> bool:
    """True on 64-bit ARM (``platform.machine()`` aarch64/arm64): NEON HARD_SWISH, FMA, fcvtzs."""
    return platform.machine().lower() in ("aarch64", "arm64")


# Whether LiteRT's C++ was compiled with a*b + c contracted into one fused multiply-add: not on
# the x86-64 wheels (baseline x86-64 has no FMA; the binary shows separate mulss/addss), but on
# 64-bit ARM, where FMA is always available and clang contracts within an expression by default.
_FMA_CONTRACTION = is_arm()


# --- public builders --------------------------------------------------------------------------


def tflite_table(name: str, params: dict, x_q: QuantParams, y_q: QuantParams) -> np.ndarray:
    """Output codes of LiteRT's builtin kernel for ``name`` on every input byte (see module doc).

    - ``hardswish``: HARD_SWISH's 16-bit fixed-point algorithm (x86/reference; NEON on ARM).
    - ``relu``, ``relu6``, ``hardtanh`` (min -1, max 1): RELU / RELU6 / RELU_N1_TO_1, i.e.
      requantization by ``MultiplyByQuantizedMultiplier`` then the quantized clamp bounds.
    - ``leaky_relu`` (alpha = negative_slope): LEAKY_RELU's two fixed-point multipliers.
      ``prelu`` (scalar weight) is computed as LEAKY_RELU with alpha = weight; TFLite's PRELU op,
      which takes alpha as a quantized tensor, would add the weight's own quantization.
    - ``sigmoid``, ``tanh``, ``elu`` (alpha 1), ``gelu``, ``gelu_tanh``: LOGISTIC / TANH / ELU /
      GELU's ``LUTPopulate`` tables (float32 evaluation with libm's ``expf``/``tanhf``/``expm1f``/
      ``erfcf``, ``roundf``). LiteRT's LOGISTIC refuses any output scale but exactly 1/256 (the
      zero point is free); the table here is what the same recipe gives for any parameters.
      ELU is int8-only in LiteRT; for uint8 the table is the same recipe.
    - every other element-wise activation: no TFLite op exists, so the table is what TFLite's LUT
      ops do (``LUTPopulateInt8``) applied to the catalogue's float64 reference rounded to
      float32.
    """
    act = _activation(name)
    codes = _codes(x_q)
    if name == "hardswish":
        out = _hard_swish(codes, x_q, y_q, neon=is_arm())
    elif name == "relu":
        out = _relu_x(codes, x_q, y_q, 0.0, math.inf)
    elif name == "relu6":
        out = _relu_x(codes, x_q, y_q, 0.0, 6.0)
    elif name == "hardtanh" and (params["min_val"], params["max_val"]) == (-1.0, 1.0):
        out = _relu_x(codes, x_q, y_q, -1.0, 1.0)
    elif name in ("leaky_relu", "prelu"):
        out = _leaky_relu(codes, x_q, y_q, _alpha(name, params))
    elif name in _TFLITE_LUT_FUNCTIONS and not (name == "elu" and params["alpha"] != 1.0):
        out = _lut_populate(codes, x_q, y_q, _TFLITE_LUT_FUNCTIONS[name])
    else:
        reference = functools.partial(act.reference, **params)
        out = _lut_populate(codes, x_q, y_q, lambda x: reference(x.astype(np.float64)))
    return out.astype(y_q.dtype)


def xnnpack_table(name: str, params: dict, x_q: QuantParams, y_q: QuantParams) -> np.ndarray:
    """Output codes of LiteRT's default resolver, i.e. with the XNNPACK delegate applied.

    The delegate takes 8-bit LOGISTIC and TANH (int8 and uint8), ELU (int8) and LEAKY_RELU (see
    ``xnnpack_delegates``). XNNPACK runs LEAKY_RELU with its own 8.8 fixed-point multipliers
    (``lrintf(256·r)``, ``lrintf(256·r·alpha)``, r = s_in/s_out; products rounded half up), and the
    other three through a LUT made by its reference kernels: dequantize in float32, evaluate
    (sigmoid via double ``exp``), ``y·(1/s_out) + zp_out`` rounded half to even (``nearbyintf``),
    saturate. Every op the delegate does not take (HARD_SWISH, GELU, RELU, RELU6, RELU_N1_TO_1,
    uint8 ELU, LEAKY_RELU outside the delegate's ranges, all non-TFLite activations) runs on the
    builtin kernels, so for those this returns ``tflite_table``.
    """
    _activation(name)
    if not xnnpack_delegates(name, params, x_q, y_q):
        return tflite_table(name, params, x_q, y_q)
    codes = _codes(x_q)
    if name in ("leaky_relu", "prelu"):
        out = _xnn_leaky_relu(codes, x_q, y_q, _alpha(name, params))
    else:
        out = _xnn_reference_lut(codes, x_q, y_q, _XNN_FUNCTIONS[name])
    return out.astype(y_q.dtype)


def xnnpack_delegates(name: str, params: dict, x_q: QuantParams, y_q: QuantParams) -> bool:
    """Whether LiteRT's default XNNPACK delegate takes the TFLite op of ``name`` for these params.

    From ``VisitUnaryNode`` in tflite/delegates/xnnpack/xnnpack_delegate.cc: 8-bit LOGISTIC and
    TANH always; ELU for int8 only; LEAKY_RELU (int8/uint8) when alpha is a normal nonzero float,
    r = s_in/s_out (float32) is in [1/256, 128], and r·alpha is in [-127.99609375, 128] with
    |r·alpha| >= 1/256. HARD_SWISH, GELU and the RELUs are float-only there.
    """
    if name in ("sigmoid", "tanh"):
        return True
    if name == "elu":
        return params["alpha"] == 1.0 and x_q.dtype == np.int8
    if name not in ("leaky_relu", "prelu"):
        return False
    alpha = _F32(_alpha(name, params))
    if not (np.isfinite(alpha) and abs(alpha) >= np.finfo(_F32).tiny):  # std::isnormal
        return False
    positive = _F32(x_q.scale) / _F32(y_q.scale)
    if not _F32(1.0 / 256.0) <= positive <= _F32(128.0):
        return False
    negative = positive * alpha
    return bool(_F32(-127.99609375) <= negative <= _F32(128.0) and abs(negative) >= _F32(1 / 256))


def _alpha(name, params) -> float:
    return params["negative_slope" if name == "leaky_relu" else "weight"]


def _activation(name):
    if name not in ACTIVATIONS or not ACTIVATIONS[name].elementwise:
        raise ValueError(f"no 256-entry table for {name!r}: not an element-wise activation")
    return ACTIVATIONS[name]


def _codes(q: QuantParams) -> np.ndarray:
    """The integer value of the input code with byte i, for i = 0..255 (int64)."""
    return np.arange(256, dtype=np.uint8).view(q.dtype).astype(np.int64)


# --- integer helpers (all on int64 arrays holding narrower C values) ------------------------------


def _wrap(x, bits):
    """Two's-complement wrap to a signed ``bits``-bit integer (what a C narrowing store does)."""
    half = 1 << (bits - 1)
    return ((np.asarray(x, dtype=np.int64) + half) & ((1 << bits) - 1)) - half


def _tdiv(a, d: int):
    """C integer division (truncation toward zero) of an int64 array by a positive int."""
    a = np.asarray(a, dtype=np.int64)
    return np.where(a >= 0, a // d, -((-a) // d))


def _f32_to_i32(v):
    """``static_cast<int32_t>(float)``: truncation; out-of-range/NaN as the CPU does it.

    x86 ``cvttss2si`` returns INT32_MIN for NaN and out-of-range values; ARM ``fcvtzs``
    saturates and maps NaN to 0.
    """
    v = np.asarray(v, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        t = np.trunc(v)
        bad = ~((t >= _INT32_MIN) & (t <= _INT32_MAX))
        if is_arm():
            sat = np.where(np.isnan(v), 0, np.where(v > 0, _INT32_MAX, _INT32_MIN))
        else:
            sat = np.full(v.shape, _INT32_MIN)
        return np.where(bad, sat, np.where(bad, 0, t)).astype(np.int64)


def _roundf(v):
    """C ``roundf``/``std::round`` on float32 values: nearest, ties away from zero (exact)."""
    v = np.asarray(v, dtype=_F32)
    with np.errstate(invalid="ignore"):
        t = np.trunc(v)
        frac = v - t  # exact in float32
        return np.where(np.abs(frac) >= _F32(0.5), t + np.sign(v), t).astype(_F32)


def _mul_add_f32(a, b, c, *, fused: bool):
    """float32 a·b + c: two roundings, or (``fused``) one rounding of the exact value, like FMA."""
    a, b, c = (np.asarray(v, dtype=_F32) for v in (a, b, c))
    if not fused:
        return (a * b + c).astype(_F32)
    with np.errstate(all="ignore"):
        p = a.astype(np.float64) * b.astype(np.float64)  # exact: 24 x 24 significant bits
        s = p + c.astype(np.float64)
        bb = s - p
        err = (p - (s - bb)) + (c.astype(np.float64) - bb)  # TwoSum: p + c == s + err exactly
        r = s.astype(_F32)  # round(round64(x)) == round32(x) unless s is a float32 midpoint
        lo = np.where(r.astype(np.float64) > s, np.nextafter(r, _F32(-np.inf)), r)
        hi = np.nextafter(lo, _F32(np.inf))
        mid = (lo.astype(np.float64) + hi.astype(np.float64)) / 2
        tie = (s == mid) & (err != 0) & np.isfinite(s)
        return np.where(tie, np.where(err > 0, hi, lo), r).astype(_F32)


def _quantize_multiplier(m: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier``: m = q·2^(shift-31), q a Q0.31 int32 (quantization_util.cc).

    ``frexp``, then ``q·2^31`` rounded half away from zero; q = 2^31 becomes 2^30 with shift + 1;
    shifts below -31 flush to (0, 0). LiteRT 2.3 is a double-rounding build (TFLITE_SINGLE_ROUNDING
    off): single rounding would change some code for ~40 % of random scale pairs, and the tests
    against LiteRT pass with double rounding.
    """
    if m == 0.0:
        return 0, 0
    if not math.isfinite(m):
        raise ValueError(f"scale ratio {m!r} is not finite in float32: no TFLite multiplier for it")
    frac, shift = math.frexp(m)
    scaled = frac * (1 << 31)  # exact: a power-of-two scaling
    q = int(math.copysign(math.floor(abs(scaled) + 0.5), scaled))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(_wrap(q, 32)), shift


def _srdhm32(a, b: int):
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int32: (a·b + nudge)/2^31, C division."""
    a = np.asarray(a, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    out = _wrap(_tdiv(ab + nudge, 1 << 31), 32)
    return np.where((a == b) & (a == _INT32_MIN), _INT32_MAX, out)


def _rdbpot(x, exponent: int, bits: int):
    """gemmlowp ``RoundingDivideByPOT`` for an int``bits`` type: x/2^e, ties away from zero.

    Written as gemmlowp's mask/threshold recipe, with the C type's wrap, so that it also
    reproduces what the int16 instantiation does for exponents >= 16 (mask wraps to -1).
    """
    x = np.asarray(x, dtype=np.int64)
    mask = int(_wrap((1 << exponent) - 1, bits))
    remainder = _wrap(x & mask, bits)
    threshold = _wrap((mask >> 1) + (x < 0), bits)
    return _wrap((x >> exponent) + (remainder > threshold), bits)


def _multiply_by_quantized_multiplier(x, q: int, shift: int):
    """TFLite ``MultiplyByQuantizedMultiplier(int32 x, q, shift)`` (double rounding, common.cc)."""
    left = max(shift, 0) % 32  # ``1 << left`` for left >= 32 is UB; x86 ``shl`` masks the count
    right = max(-shift, 0)
    return _rdbpot(_srdhm32(_wrap(np.asarray(x) * (1 << left), 32), q), right, 32)


# --- LiteRT builtin kernels -------------------------------------------------------------------


def _relu_x(codes, x_q, y_q, act_min: float, act_max: float):
    """RELU / RELU6 / RELU_N1_TO_1 (activations.cc ``QuantizedReluX``, reference ``ReluX``)."""
    info = np.iinfo(y_q.dtype)
    scale_in, scale_out = _F32(x_q.scale), _F32(y_q.scale)
    q, shift = _quantize_multiplier(float(scale_in / scale_out))  # a float32 division

    def bound(a):  # zero_point + (int32) roundf(a / scale), float32 arithmetic, int32 sum
        with np.errstate(over="ignore"):
            rounded = _roundf(_F32(a) / scale_out)
        return int(_wrap(y_q.zero_point + _f32_to_i32(rounded), 32))

    qmin = max(int(info.min), bound(act_min))
    qmax = int(info.max) if act_max == math.inf else min(int(info.max), bound(act_max))
    scaled = _multiply_by_quantized_multiplier(codes - x_q.zero_point, q, shift)
    out = _wrap(y_q.zero_point + scaled, 32)
    return np.minimum(qmax, np.maximum(qmin, out))


def _leaky_relu(codes, x_q, y_q, alpha: float):
    """LEAKY_RELU (activations.cc ``LeakyReluPrepare``, reference/leaky_relu.h).

    Multipliers from float32 arithmetic: identity = s_in/s_out, alpha = s_in·alpha/s_out. A
    negative alpha multiplier is applied to |x| and negated (LiteRT's handling of alpha < 0).
    """
    info = np.iinfo(y_q.dtype)
    scale_in, scale_out, a = _F32(x_q.scale), _F32(y_q.scale), _F32(alpha)
    q_alpha, s_alpha = _quantize_multiplier(float(scale_in * a / scale_out))
    q_id, s_id = _quantize_multiplier(float(scale_in / scale_out))
    value = codes - x_q.zero_point
    positive = _multiply_by_quantized_multiplier(value, q_id, s_id)
    negative = _multiply_by_quantized_multiplier(value, abs(q_alpha), s_alpha)
    if q_alpha < 0:
        negative = -negative
    out = y_q.zero_point + np.where(value >= 0, positive, negative)
    return np.minimum(int(info.max), np.maximum(int(info.min), out))


def _hard_swish_params(x_q, y_q):
    """HardSwishPrepare: the int16 multipliers and exponents (all ratios in float32)."""
    hires_scale = _F32(1.0 / 128.0) * _F32(x_q.scale)
    reluish_scale = _F32(3.0) / _F32(32768.0)
    out_q, out_exp = _quantize_multiplier(float(hires_scale / _F32(y_q.scale)))
    if out_exp > 0:
        raise ValueError(
            "HARD_SWISH: LiteRT rejects these parameters (its Prepare requires "
            "input_scale/128 < output_scale; got input scale "
            f"{x_q.scale!r}, output scale {y_q.scale!r})"
        )
    relu_q, relu_exp = _quantize_multiplier(float(hires_scale / reluish_scale))
    return _downscale_to_int16(out_q), out_exp, _downscale_to_int16(relu_q), relu_exp


def _downscale_to_int16(q: int) -> int:
    """``DownScaleInt32ToInt16Multiplier``: round the Q0.31 multiplier to Q0.15 (saturating)."""
    return 32767 if q >= _INT32_MAX - (1 << 15) else (q + (1 << 15)) >> 16


def _hard_swish(codes, x_q, y_q, *, neon: bool):
    """HARD_SWISH in int16 fixed point (reference/hard_swish.h; NEON path in optimized_ops.h).

    x86 runs the scalar reference. ARM NEON differs in three roundings: ``vrshl`` (ties up)
    where the reference's ``RoundingDivideByPOT`` rounds ties away from zero (the reluish and
    output shifts), and ``vqdmulh`` (floor) where its ``SaturatingDoublingHighMul`` truncates
    toward zero; it also lacks the int16 ``RoundingDivideByPOT`` wrap for shifts >= 16. LiteRT
    runs the NEON path on whole blocks of 8 elements only; the last ``size % 8`` elements of a
    tensor take the reference path, so on ARM this table is exact for those blocks.
    """
    info = np.iinfo(y_q.dtype)
    out_mult, out_exp, relu_mult, relu_exp = _hard_swish_params(x_q, y_q)
    hires = _wrap(_wrap(codes - x_q.zero_point, 16) * 128, 16)
    preshift = _srdhm16(hires, out_mult)  # vqrdmulh is the same function
    reluish = hires
    if relu_exp > 0:
        reluish = _saturating_left_shift16(reluish, relu_exp - 1)
    reluish = _srdhm16(reluish, relu_mult)
    if relu_exp > 0:
        reluish = _saturating_left_shift16(reluish, 1)
    if relu_exp < 0:
        reluish = _vrshr16(reluish, -relu_exp) if neon else _rdbpot(reluish, -relu_exp, 16)
    reluish = (reluish + (1 << 15)) >> 1  # [-1, 1] -> [0, 1]; vrhadd(x, 32767) is the same
    product = reluish * preshift
    if neon:  # vqdmulh: floor of the doubled high half (no saturation possible: reluish >= 0)
        preshift_out = product >> 15
    else:  # SaturatingDoublingHighMul: C division, truncation toward zero
        preshift_out = _wrap(_tdiv(product, 1 << 15), 16)
    if neon:
        out = _vrshr16(preshift_out, -out_exp)
    else:
        out = _rdbpot(preshift_out, -out_exp, 16)
    out = _wrap(out + y_q.zero_point, 16)
    return np.maximum(int(info.min), np.minimum(int(info.max), out))


def _srdhm16(a, b: int):
    """gemmlowp int16 ``SaturatingRoundingDoublingHighMul`` (== NEON ``vqrdmulh``)."""
    a = np.asarray(a, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    out = _wrap(_tdiv(ab + nudge, 1 << 15), 16)
    return np.where((a == b) & (a == -(1 << 15)), (1 << 15) - 1, out)


def _saturating_left_shift16(x, amount: int):
    """x·2^amount saturated to int16 (reference ``SaturatingLeftShift``; NEON ``vqshl``)."""
    return np.clip(np.asarray(x, dtype=object) * (1 << amount), -(1 << 15), (1 << 15) - 1).astype(
        np.int64
    )


def _vrshr16(x, n: int):
    """NEON rounding shift right (``vrshl`` by -n): (x + 2^(n-1)) >> n, ties toward +inf."""
    x = np.asarray(x, dtype=np.int64)
    return x if n == 0 else (x + (1 << (n - 1))) >> n


def _lut_populate(codes, x_q, y_q, transform):
    """``LUTPopulateInt8`` (internal/common.h): float32 dequantize, f, ``roundf(f/s) + zp``.

    dequantized = s_in·(q - zp_in) in float32; rescaled = roundf(f(x)·(1/s_out)) with the
    inverse scale a float32 division; then ``(int32)(rescaled + zp_out)`` (a float32 sum, then a
    truncating conversion), clamped to the type's range. Out of int32 range the conversion is
    undefined in C++; the LiteRT 2.3 x86-64 binary clamps in float before converting for int8
    (saturation) but converts first for uint8, where ``cvttss2si`` gives INT32_MIN and the clamp
    then gives 0 (ARM's ``fcvtzs`` saturates instead). NaN gives 0 either way.
    """
    info = np.iinfo(y_q.dtype)
    x = _F32(x_q.scale) * (codes - x_q.zero_point).astype(_F32)
    with np.errstate(all="ignore"):
        y = np.asarray(transform(x)).astype(_F32)
        inverse = _F32(1.0) / _F32(y_q.scale)
        rescaled = _roundf(y * inverse)
        total = rescaled + _F32(y_q.zero_point)
        if y_q.dtype == np.int8:
            clamped = np.minimum(np.maximum(total, _F32(info.min)), _F32(info.max))
            return np.where(np.isnan(total), 0, clamped).astype(np.int64)
        quantized = _f32_to_i32(total)
    return np.maximum(int(info.min), np.minimum(int(info.max), quantized))


# float32 transforms of LiteRT's LUT ops (activations.cc, reference/gelu.h); f32 arrays in/out.


def _tfl_sigmoid(x):
    return _F32(1.0) / (_F32(1.0) + _libm("expf", -x))


def _tfl_tanh(x):
    return _libm("tanhf", x)


def _tfl_elu(x):
    return np.where(x < 0, _libm("expm1f", x), x)


_MINUS_SQRT1_2_F32 = _F32(-0.7071067811865476)  # static_cast<float>(-M_SQRT1_2)
_SQRT_2_OVER_PI_F32 = _F32(1.1283791670955126 * 0.7071067811865476)  # M_2_SQRTPI·M_SQRT1_2


def _tfl_gelu(x):
    """GeluTransform: 0.5f·x·erfcf(x·(float)(-1/√2))."""
    return (_F32(0.5) * x) * _libm("erfcf", x * _MINUS_SQRT1_2_F32)


def _tfl_gelu_tanh(x):
    """GeluTransformApproximate: 0.5f·x·(1 + tanhf(√(2/π)·(x + 0.044715f·x·x·x))).

    x86-64 evaluates it with separate multiplies and adds (verified); on ARM, where FMA is
    always available, clang's default ``-ffp-contract=on`` fuses ``x + (0.044715f·x·x)·x``.
    """
    cubic = (_F32(0.044715) * x) * x
    inner = _mul_add_f32(cubic, x, x, fused=_FMA_CONTRACTION)  # x + (0.044715f·x·x)·x
    return (_F32(0.5) * x) * (_F32(1.0) + _libm("tanhf", _SQRT_2_OVER_PI_F32 * inner))


_TFLITE_LUT_FUNCTIONS = {
    "sigmoid": _tfl_sigmoid,
    "tanh": _tfl_tanh,
    "elu": _tfl_elu,
    "gelu": _tfl_gelu,
    "gelu_tanh": _tfl_gelu_tanh,
}


# --- XNNPACK ------------------------------------------------------------------------------------


def _xnn_leaky_relu(codes, x_q, y_q, alpha: float):
    """XNNPACK qs8/qu8 LEAKY_RELU (microparams-init.c, qs8-vlrelu/qu8-vlrelu kernels).

    ``xnn_init_qs8_lrelu_scalar_params``: r = s_in/s_out and r·alpha in float32, multipliers
    ``lrintf(256·r)`` and ``lrintf(256·r·alpha)`` (ties to even); kernel
    ``(zp_out·256 + 128 + (q - zp_in)·m) >> 8``, saturated. The SIMD kernels (SSE/AVX ``mulhrs``,
    NEON ``vqrdmulh`` on (q - zp)·128) compute the same rounding-half-up product.
    """
    positive = _F32(x_q.scale) / _F32(y_q.scale)
    negative = positive * _F32(alpha)
    m_pos = int(np.rint(_F32(256.0) * positive))  # an exact product; rint = lrintf, ties to even
    m_neg = int(np.rint(_F32(256.0) * negative))
    info = np.iinfo(y_q.dtype)
    value = codes - x_q.zero_point
    acc = (y_q.zero_point << 8) + 0x80 + value * np.where(value >= 0, m_pos, m_neg)
    return np.maximum(int(info.min), np.minimum(int(info.max), acc >> 8))


def _xnn_reference_lut(codes, x_q, y_q, op):
    """XNNPACK's LUT from its reference kernel (unary-elementwise.cc, reference-utils.h).

    x = (float(q) - float(zp_in))·s_in; y = op(x); v = y·(1/s_out) + float(zp_out) in float32;
    NaN -> 0; ``nearbyintf`` (ties to even); saturate. The rounding is read from the LiteRT 2.3
    x86-64 binary, whose quantized reference kernels call ``nearbyintf`` (the reference-utils.h
    revisions in the public index use ``std::round``, ties away, instead). The x86-64 build does
    ``mulss`` then ``addss``; on ARM the compiler contracts ``y·inv + zp`` into one FMA.
    """
    info = np.iinfo(y_q.dtype)
    x = (codes.astype(_F32) - _F32(x_q.zero_point)) * _F32(x_q.scale)
    with np.errstate(all="ignore"):
        y = np.asarray(op(x)).astype(_F32)
        inverse = _F32(1.0) / _F32(y_q.scale)
        v = _mul_add_f32(y, inverse, _F32(y_q.zero_point), fused=_FMA_CONTRACTION)
        v = np.rint(np.where(np.isnan(v), _F32(0.0), v))  # rint: ties to even, like nearbyintf
        v = np.minimum(np.maximum(v, _F32(info.min)), _F32(info.max))
    return v.astype(np.int64)


def _xnn_sigmoid(x):
    """SigmoidOp: 1 above 100, 0 below -100, else e/(1+e) with e = exp(double x), to float."""
    e = _libm("exp", x.astype(np.float64))
    mid = (e / (1.0 + e)).astype(_F32)
    return np.where(x > 100, _F32(1.0), np.where(x < -100, _F32(0.0), mid))


def _xnn_elu(x):
    """ELUOp with alpha = 1 (what the delegate passes): x < 0 ? alpha·expm1f(x) : x."""
    return np.where(x < 0, _F32(1.0) * _libm("expm1f", x), x)


_XNN_FUNCTIONS = {"sigmoid": _xnn_sigmoid, "tanh": _tfl_tanh, "elu": _xnn_elu}


# --- libm ----------------------------------------------------------------------------------------

_LIBM_SIGNATURES = {
    "expf": ctypes.c_float,
    "expm1f": ctypes.c_float,
    "tanhf": ctypes.c_float,
    "erfcf": ctypes.c_float,
    "exp": ctypes.c_double,
}
_NUMPY_FALLBACK = {
    "expf": np.exp,
    "expm1f": np.expm1,
    "tanhf": np.tanh,
    "exp": np.exp,
    "erfcf": None,
}


@functools.cache
def _libm_function(name: str):
    """The C library's ``name`` (the function LiteRT's ``std::`` calls resolve to), or None."""
    candidates = [ctypes.util.find_library("m"), ctypes.util.find_library("c"), None]
    for candidate in candidates:
        try:
            library = ctypes.CDLL(candidate)
            function = getattr(library, name)
        except (OSError, AttributeError, TypeError):
            continue
        ctype = _LIBM_SIGNATURES[name]
        function.restype = ctype
        function.argtypes = [ctype]
        return function
    return None


def _libm(name: str, x) -> np.ndarray:
    """Apply libm's ``name`` element-wise to a float32 (``...f``) or float64 array."""
    x = np.asarray(x)
    function = _libm_function(name)
    dtype = _F32 if _LIBM_SIGNATURES[name] is ctypes.c_float else np.float64
    if function is None:  # no C library reachable: NumPy's, possibly 1 ulp off the runtime's
        fallback = _NUMPY_FALLBACK[name]
        if fallback is None:
            erfc = np.frompyfunc(math.erfc, 1, 1)
            return np.asarray(erfc(x.astype(np.float64)), dtype=np.float64).astype(dtype)
        return fallback(x.astype(dtype))
    flat = x.astype(dtype).ravel()
    out = np.fromiter((function(float(v)) for v in flat), dtype=dtype, count=flat.size)
    return out.reshape(x.shape)
