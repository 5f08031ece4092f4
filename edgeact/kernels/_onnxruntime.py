"""256-entry tables that reproduce ONNX Runtime (CPU, x86-64) on QDQ models, bit for bit.

A QDQ activation is ``DequantizeLinear -> op -> QuantizeLinear``. With its default session options
(``ORT_ENABLE_ALL``) ONNX Runtime 1.32 executes it as follows (checked by saving the optimized
graph, and by comparing against ``ORT_DISABLE_ALL``, which gives the same codes for every op here):

- relu (Relu): DQ -> Relu -> Q. ORT drops the Relu when y's zero point is the dtype's minimum
  (Q saturates instead): the same codes.
- relu6 (Clip 0, 6), hardtanh (Clip min_val, max_val): DQ -> Clip -> Q. ORT drops the Clip when
  its range covers Q's range: the same codes.
- leaky_relu (LeakyRelu, alpha = negative_slope): fused into com.microsoft QLinearLeakyRelu.
- sigmoid (Sigmoid): fused into com.microsoft QLinearSigmoid.
- hardsigmoid (HardSigmoid, alpha = 1/6, beta = 0.5): DQ -> HardSigmoid -> Q.
- hardswish (HardSwish): DQ -> HardSigmoid(1/6, 0.5) -> Mul(x) -> Q (ONNX's function body,
  inlined when the model is loaded, in both optimization modes).
- gelu, gelu_tanh (Gelu, opset 20, approximate "none"/"tanh"): DQ -> Gelu -> Q.
- tanh (Tanh): DQ -> Tanh -> Q.

The fused tables (``contrib_ops/cpu/quantization/qlinear_lookup_table.cc``,
``qlinear_activations.cc``) dequantize all 256 codes, apply the same float function as the float
kernel and quantize with the same ``MlasQuantizeLinear``, so fused and unfused paths agree.

Arithmetic, all in float32 (sources: ``onnxruntime/core/mlas/lib/dequantize.cpp``,
``quantize.cpp``, ``logistic.cpp``, ``tanh.cpp``, ``erf.cpp``, ``gelu.cpp``, ``platform.cpp``,
``x86_64/LogisticKernelFma3.S``, ``TanhKernelFma3.S``, ``ErfKernelFma3.S``,
``intrinsics/avx512/gelu_avx512f.cpp``; ``core/providers/cpu/activation/activations.h``,
``core/providers/cpu/tensor/gelu.cc``):

- DequantizeLinear: ``float(q - zp) * scale``.
- QuantizeLinear (MLAS): ``y / scale`` (a division, not a multiplication by 1/scale), clamped to
  ``[qmin - zp, qmax - zp]`` (NaN becomes the lower bound: MAXPS returns its second operand), then
  ``cvtps2dq`` (round half to even) and ``+ zp``.
- Sigmoid, Tanh, Erf: MLAS's FMA3 kernels, which ``platform.cpp`` selects on every AVX2/FMA3 CPU
  (AVX-512 machines included): rational/polynomial approximations evaluated with fused
  multiply-adds. They are emulated here with an exactly rounded float32 FMA, in the same order.
  The logistic kernel clamps its result at 0 only (not at 1). The erf kernel in ORT 1.32 clamps
  ``|x|`` at 3.925 (older sources: 3.725) and takes the exp branch for ``|x| > 0.921875``.
- Gelu: ``(0.5 * x) * (erf(x * float32(1/sqrt 2)) + 1)``; tanh form: ``u = ((C * x) * x + B)
  * x``, ``(0.5 * x) * (tanh(u) + 1)``, B = float32(sqrt(2/pi)), C = float32(0.044715 sqrt(2/pi))
  (scalar C++ loops, built without FMA contraction). The AVX-512 fused GELU kernel computes the
  same erf and the same products, so results do not depend on which of the two ORT dispatches.
- HardSigmoid: ``min(max(alpha * x + beta, 0), 1)`` (Eigen, multiply then add, not fused); the
  attributes are float32. LeakyRelu: ``x if x >= 0 else alpha * x``. Clip: ``min(max(x, lo), hi)``.

Every other element-wise activation (no ONNX op here) is documented as
DQ -> catalogue reference in float64, rounded to float32 -> Q (MLAS quantization as above).

This reproduces the x86-64 CPU execution provider; ARM64 builds use NEON/SVE kernels without the
FMA3 code paths, whose last bits can differ.
"""

import numpy as np

from edgeact.catalogue import ACTIVATIONS
from edgeact.quant import QuantParams

__all__ = [
    "ORT_FLOAT_OPS",
    "mlas_erf",
    "mlas_logistic",
    "mlas_tanh",
    "onnx_op",
    "onnxruntime_float",
    "onnxruntime_table",
    "quantize_linear",
]

_f32 = np.float32


def _c(value: float) -> np.float32:
    """A float constant as the C++ source's ``float`` literal (rounded once to float32)."""
    return _f32(value)


def _coefs(*values: float) -> list[np.float32]:
    return [_c(v) for v in values]


def _fma(a, b, c) -> np.ndarray:
    """float32 fused multiply-add a·b + c, rounded once (as VFMADD*PS does).

    a·b of two float32 is exact in float64; the float64 sum is made round-to-odd from its exact
    error term (TwoSum), and rounding that to float32 is then the correctly rounded result
    (53 >= 24 + 2 bits, Boldo & Melquiond), with no double-rounding error.
    """
    a = np.asarray(a, dtype=_f32).astype(np.float64)
    b = np.asarray(b, dtype=_f32).astype(np.float64)
    c = np.asarray(c, dtype=_f32).astype(np.float64)
    p = a * b
    s = p + c
    v = s - p
    e = (p - (s - v)) + (c - v)
    even = (s.view(np.int64) & 1) == 0
    toward = np.where(e > 0, np.inf, -np.inf)
    s = np.where((e != 0) & even & np.isfinite(s), np.nextafter(s, toward), s)
    return s.astype(_f32)


# --- MLAS transcendental kernels (FMA3 variants) ---------------------------------------------

# logistic.cpp, MlasLogisticConstants (same coefficients as Eigen's float logistic).
_LOGISTIC_LOWER = _c(-18.0)
_LOGISTIC_UPPER = _c(18.0)
_LOGISTIC_ALPHA = _coefs(
    4.37031012579801e-11,
    1.15627324459942e-07,
    6.08574864600143e-05,
    8.51377133304701e-03,
    2.48287947061529e-01,
)  # alpha_9, alpha_7, alpha_5, alpha_3, alpha_1
_LOGISTIC_BETA = _coefs(
    6.10247389755681e-13,
    5.76102136993427e-09,
    6.29106785017040e-06,
    1.70198817374094e-03,
    1.16817656904453e-01,
    9.93151921023180e-01,
)  # beta_10, beta_8, beta_6, beta_4, beta_2, beta_0


def _fma_horner(t, coefs):
    """coefs[0]·t^n + ... + coefs[n] by FMA Horner steps, the order MLAS's kernels use."""
    acc = _fma(t, coefs[0], coefs[1])
    for c in coefs[2:]:
        acc = _fma(t, acc, c)
    return acc


def mlas_logistic(x) -> np.ndarray:
    """``MlasComputeLogistic`` as ``x86_64/LogisticKernelFma3.S`` computes it (float32 in/out).

    x clamped to [-18, 18]; p = x·P(x²), q = Q(x²) by FMA Horner steps; max(p/q + 0.5, 0).
    """
    x = np.minimum(_LOGISTIC_UPPER, np.maximum(_LOGISTIC_LOWER, np.asarray(x, dtype=_f32)))
    x2 = x * x
    p = x * _fma_horner(x2, _LOGISTIC_ALPHA)
    return np.maximum(_f32(0.0), p / _fma_horner(x2, _LOGISTIC_BETA) + _f32(0.5))


# tanh.cpp, MlasTanhConstants (Eigen's float tanh rational approximation).
_TANH_LOWER = _c(-9.0)
_TANH_UPPER = _c(9.0)
_TANH_ALPHA = _coefs(
    -2.76076847742355e-16,
    2.00018790482477e-13,
    -8.60467152213735e-11,
    5.12229709037114e-08,
    1.48572235717979e-05,
    6.37261928875436e-04,
    4.89352455891786e-03,
)  # alpha_13 ... alpha_1
_TANH_BETA = _coefs(
    1.19825839466702e-06,
    1.18534705686654e-04,
    2.26843463243900e-03,
    4.89352518554385e-03,
)  # beta_6 ... beta_0


def mlas_tanh(x) -> np.ndarray:
    """``MlasComputeTanh`` as the FMA3 kernel computes it: clamp to [-9, 9], x·P(x²)/Q(x²)."""
    x = np.minimum(_TANH_UPPER, np.maximum(_TANH_LOWER, np.asarray(x, dtype=_f32)))
    x2 = x * x
    return (x * _fma_horner(x2, _TANH_ALPHA)) / _fma_horner(x2, _TANH_BETA)


# erf.cpp, MlasErfConstants (ORT 1.32 binary: ErfUpperAbsRange = 3.925).
_ERF_UPPER_ABS = _c(3.925)
_ERF_SPLIT = _c(0.921875)
_ERF_SMALL = _coefs(
    -5.99104969e-4,
    4.99339588e-3,
    -2.67667342e-2,
    1.12818025e-1,
    -3.76124859e-1,
    1.28379151e-1,
)  # P0 ... P5 - 1
_ERF_BIG = _coefs(
    1.72948930e-5,
    -3.83208680e-4,
    3.88393435e-3,
    -2.42545605e-2,
    1.06777847e-1,
    6.34846687e-1,
    1.28717512e-1,
)  # P0 ... P6 - 1
_EXP_LOWER = _c(-88.3762626647949)
_EXP_LOG2_RECIPROCAL = _c(1.44269504088896341)
_EXP_LOG2_HI = _c(-6.93145752e-1)
_EXP_LOG2_LO = _c(-1.42860677e-6)
_EXP_P = _coefs(
    1.38319808e-3,
    8.37550033e-3,
    4.16689515e-2,
    1.66664466e-1,
    4.99999851e-1,
    1.0,
    1.0,
)
_EXP_C = _c(1.25829120e7)  # 1.5·2^23: adding it rounds to an integer (ties to even)


def mlas_erf(x) -> np.ndarray:
    """``MlasComputeErf`` as the FMA3 kernel computes it (float32 in/out).

    a = min(|x|, 3.925). a <= 0.921875: a + a·P(a²). Otherwise 1 - exp(-(a + a·Q(a))), with exp
    by Cody-Waite reduction (r = round(v/ln 2), two-constant ln 2) and a degree-6 polynomial,
    scaled by 2^r. The sign of x is OR-ed back in.
    """
    x = np.asarray(x, dtype=_f32)
    negative = np.signbit(x)
    a = np.minimum(_ERF_UPPER_ABS, np.abs(x))
    s = a * a
    small = _fma(s, _ERF_SMALL[0], _ERF_SMALL[1])
    for coef in _ERF_SMALL[2:]:
        small = _fma(s, small, coef)
    small = _fma(a, small, a)
    big_mask = a > _ERF_SPLIT
    ab = np.where(big_mask, a, _f32(0.0))
    big = _fma(ab, _ERF_BIG[0], _ERF_BIG[1])
    for coef in _ERF_BIG[2:]:
        big = _fma(ab, big, coef)
    big = _fma(ab, big, ab)
    v = np.maximum(-big, _EXP_LOWER)
    r = _fma(v, _EXP_LOG2_RECIPROCAL, _EXP_C) - _EXP_C
    f = _fma(r, _EXP_LOG2_HI, v)
    f = _fma(r, _EXP_LOG2_LO, f)
    y = _fma(f, _EXP_P[0], _EXP_P[1])
    for coef in _EXP_P[2:]:
        y = _fma(f, y, coef)
    y = np.ldexp(y, r.astype(np.int32)).astype(_f32)
    result = np.where(big_mask, _f32(1.0) - y, small)
    return np.where(negative, -result, result).astype(_f32)


# --- float ops as ORT's CPU kernels compute them -----------------------------------------------

_INV_SQRT2 = _c(0.70710678118654752440)
_GELU_B = _c(0.7978845608028654)  # sqrt(2/pi)
_GELU_C = _c(0.035677408136300125)  # 0.044715·sqrt(2/pi)
_HALF = _f32(0.5)
_ONE = _f32(1.0)


def _relu(x):
    return np.maximum(x, _f32(0.0))


def _clip(lo, hi):
    lo, hi = _f32(lo), _f32(hi)
    return lambda x: np.minimum(np.maximum(x, lo), hi)


def _leaky_relu(negative_slope):
    alpha = _f32(negative_slope)
    return lambda x: np.where(x >= 0, x, alpha * x)


_HARDSIGMOID_ALPHA = _c(1.0 / 6.0)  # HardSwish's function body: alpha = 1/6 as a float attribute
_HARDSIGMOID_BETA = _c(0.5)


def _hardsigmoid(x):
    return np.maximum(np.minimum(_HARDSIGMOID_ALPHA * x + _HARDSIGMOID_BETA, _ONE), _f32(0.0))


def _hardswish(x):
    return x * _hardsigmoid(x)


def _gelu(x):
    return (_HALF * x) * (mlas_erf(x * _INV_SQRT2) + _ONE)


def _gelu_tanh(x):
    u = ((_GELU_C * x) * x + _GELU_B) * x
    return (_HALF * x) * (mlas_tanh(u) + _ONE)


# edgeact name -> factory of the float32 function ORT's CPU kernel computes (from the catalogue
# parameters); the op itself is the catalogue's ONNX form (``onnx_op``).
ORT_FLOAT_OPS = {
    "relu": lambda: _relu,
    "relu6": lambda: _clip(0.0, 6.0),
    "hardtanh": lambda min_val, max_val: _clip(min_val, max_val),
    "leaky_relu": _leaky_relu,
    "sigmoid": lambda: mlas_logistic,
    "tanh": lambda: mlas_tanh,
    "hardsigmoid": lambda: _hardsigmoid,
    "hardswish": lambda: _hardswish,
    "gelu": lambda: _gelu,
    "gelu_tanh": lambda: _gelu_tanh,
}


def onnx_op(name: str, params: dict[str, float] | None = None) -> tuple[str, dict]:
    """The ONNX op and ``qdq_model`` keywords that compute catalogue activation ``name``."""
    form = ACTIVATIONS[name].onnx_form()
    if form is None:
        raise ValueError(f"onnxruntime: the catalogue has no ONNX op for {name}")
    return form.op, form.attributes_for(_params(name, params))


def onnxruntime_float(name: str, x, params: dict[str, float] | None = None) -> np.ndarray:
    """The float32 result ORT's CPU kernel for ``name`` computes on float32 ``x``.

    Activations without an emulated ORT kernel give the float64 catalogue reference rounded to
    float32.
    """
    x = np.asarray(x, dtype=_f32)
    values = _params(name, params)
    if name in ORT_FLOAT_OPS:
        return np.asarray(ORT_FLOAT_OPS[name](**values)(x), dtype=_f32)
    activation = ACTIVATIONS[name]
    if not activation.elementwise:
        raise ValueError(f"onnxruntime: {name} is not element-wise; it has no 256-entry table")
    with np.errstate(over="ignore"):
        return np.asarray(activation.reference(x.astype(np.float64), **values)).astype(_f32)


def quantize_linear(y, y_q: QuantParams) -> np.ndarray:
    """ORT QuantizeLinear (``MlasQuantizeLinear``): codes of dtype ``y_q.dtype``."""
    lo = _f32(y_q.qmin - y_q.zero_point)
    hi = _f32(y_q.qmax - y_q.zero_point)
    with np.errstate(over="ignore", invalid="ignore"):
        v = np.asarray(y, dtype=_f32) / _f32(y_q.scale)
    v = np.where(np.isnan(v), lo, v)
    v = np.minimum(np.maximum(v, lo), hi)
    return (np.rint(v).astype(np.int32) + y_q.zero_point).astype(y_q.dtype)


def onnxruntime_table(
    name: str, params: dict[str, float], x_q: QuantParams, y_q: QuantParams
) -> np.ndarray:
    """Output codes (dtype ``y_q.dtype``) for all 256 input codes, as ORT computes the QDQ op.

    Entry ``i`` is for the input code whose byte is ``i``.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"onnxruntime: unknown activation {name!r}")
    codes = np.arange(256, dtype=np.uint8).view(x_q.dtype)
    y = onnxruntime_float(name, x_q.dequantize(codes), params)  # = MlasDequantizeLinear
    return quantize_linear(y, y_q)


def _params(name: str, params: dict[str, float] | None) -> dict[str, float]:
    values = dict(ACTIVATIONS[name].params)
    values.update(params or {})
    unknown = set(values) - set(ACTIVATIONS[name].params)
    if unknown:
        raise TypeError(f"onnxruntime: {name} has no parameter(s) {', '.join(sorted(unknown))}")
    return values
