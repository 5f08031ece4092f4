"""Float64 reference activations and their derivatives: the ground truth kernels are tested against.

Every function takes an array-like ``x`` plus keyword parameters (PyTorch names and defaults),
returns a float64 array of ``x``'s shape, gives NaN for NaN, the mathematical limit at ±inf, and
raises no floating-point warnings. Decimal constants (0.044715, 1.702, I-BERT's a and b, 4.4) and
irrational ones (√2, √(2/π)) mean their exact real values: where the function amplifies an
argument error (the exponentially small negative tails) the argument is carried in double-double,
so the results stay within a few float64 ulp of the exact value.

Derivatives follow PyTorch's backward at kinks (stated per function); ``gelu_poly`` and
``silu_poly`` are not in PyTorch and use the right-hand derivative.

Two are not element-wise and have no derivative here: ``softmax`` (x's shape, along an axis) and
``adaptive_log_softmax``, which maps hidden states (..., in_features) to log-probabilities
(..., n_classes).
"""

import functools
import math
import numbers
from decimal import Decimal, localcontext
from typing import NamedTuple

import numpy as np

__all__ = [
    "SELU_ALPHA",
    "SELU_SCALE",
    "AdaptiveLogSoftmaxWeights",
    "adaptive_log_softmax",
    "adaptive_log_softmax_weights",
    "celu",
    "celu_derivative",
    "elu",
    "elu_derivative",
    "gelu",
    "gelu_derivative",
    "gelu_poly",
    "gelu_poly_derivative",
    "gelu_quick",
    "gelu_quick_derivative",
    "gelu_tanh",
    "gelu_tanh_derivative",
    "hardshrink",
    "hardshrink_derivative",
    "hardsigmoid",
    "hardsigmoid_derivative",
    "hardswish",
    "hardswish_derivative",
    "hardtanh",
    "hardtanh_derivative",
    "leaky_relu",
    "leaky_relu_derivative",
    "mish",
    "mish_derivative",
    "prelu",
    "prelu_derivative",
    "relu",
    "relu6",
    "relu6_derivative",
    "relu_derivative",
    "selu",
    "selu_derivative",
    "sigmoid",
    "sigmoid_derivative",
    "silu",
    "silu_derivative",
    "silu_poly",
    "silu_poly_derivative",
    "softmax",
    "softplus",
    "softplus_derivative",
    "softshrink",
    "softshrink_derivative",
    "tanh",
    "tanh_derivative",
]


def _dd(exact: Decimal) -> tuple[float, float]:
    """Split an exact constant into hi + lo floats (hi = its float64 rounding, lo = the rest)."""
    hi = float(exact)
    return hi, float(exact - Decimal(hi))


with localcontext() as _ctx:
    _ctx.prec = 50
    _PI = Decimal("3.14159265358979323846264338327950288419716939937510")
    _INV_SQRT2 = _dd(1 / Decimal(2).sqrt())
    _SQRT_2_OVER_PI = _dd((2 / _PI).sqrt())
    _TWO_OVER_SQRT_PI = float(2 / _PI.sqrt())
    _INV_SQRT_2PI = float(1 / (2 * _PI).sqrt())
    _GELU_TANH_CUBIC = _dd(Decimal("0.044715"))
    _GELU_QUICK_SCALE = _dd(Decimal("1.702"))
    _IBERT_A = -0.2888
    _IBERT_B = _dd(Decimal("-1.769"))
    _SILU_POLY_C = _dd(Decimal("4.4"))
    _SILU_POLY_K = float(Decimal("0.5") / Decimal("4.4") ** 2)
    _SELU_ALPHA = Decimal("1.6732632423543772848170429916717")
    _SELU_SCALE = Decimal("1.0507009873554804934193349852946")
    _SELU_ALPHA_SCALE = float(_SELU_ALPHA * _SELU_SCALE)
    SELU_ALPHA, SELU_SCALE = float(_SELU_ALPHA), float(_SELU_SCALE)
del _ctx

_SPLITTER = 134217729.0  # 2**27 + 1, Veltkamp's constant for float64


_erfc_object = np.frompyfunc(math.erfc, 1, 1)


def _erfc(z):
    """math.erfc over an array (NumPy has no erfc; a reference may be slow but must be right)."""
    return np.asarray(_erfc_object(z), dtype=np.float64)


def _reference(fn):
    """float64 in, warnings off, NaN in -> NaN out, float64 array of x's shape out."""

    @functools.wraps(fn)
    def wrapper(x, *args, **params):
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            y = np.asarray(fn(x, *args, **params), dtype=np.float64)
        return np.where(np.isnan(x), np.nan, np.broadcast_to(y, x.shape))

    return wrapper


def _at_neg_inf(x, y, limit):
    """y with its value at x = -inf replaced by the limit (the formulas give -inf·0 = NaN)."""
    return np.where(x == -np.inf, limit, y)


def _linear_limit(slope: float) -> float:
    """lim slope·x for x -> -inf (0 for a zero slope, where -inf·0 would give NaN)."""
    return 0.0 if slope == 0 else math.copysign(math.inf, -slope)


def _split(a):
    """Veltkamp split: a = hi + lo with 26-bit halves, so hi·hi etc. are exact products."""
    t = _SPLITTER * a
    hi = t - (t - a)
    return hi, a - hi


def _two_prod(a, b):
    """a·b = p + e exactly (Dekker); needs |a|, |b| < ~1e150 so the split cannot overflow."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _two_sum(a, b):
    """a + b = s + e exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _mul_const(x, const):
    """x·c as hi + lo for a double-double constant c = (hi, lo)."""
    p, e = _two_prod(x, const[0])
    return p, e + x * const[1]


def _sigmoid2(vh, vl=0.0):
    """σ(vh + vl) via exp(-|v|), first order in the small correction vl (no overflow, no cancel)."""
    e = np.exp(-np.abs(vh)) * (1.0 - np.where(vh >= 0, vl, -vl))
    return np.where(vh >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# --- relu family ------------------------------------------------------------------------------


@_reference
def relu(x):
    """max(x, 0)."""
    return np.maximum(x, 0.0)


@_reference
def relu_derivative(x):
    """1 for x > 0, else 0 (PyTorch: 0 at x = 0)."""
    return np.where(x > 0, 1.0, 0.0)


@_reference
def relu6(x):
    """min(max(x, 0), 6)."""
    return np.minimum(np.maximum(x, 0.0), 6.0)


@_reference
def relu6_derivative(x):
    """1 on 0 < x < 6, else 0 (PyTorch hardtanh backward: 0 at both kinks)."""
    return np.where((x > 0) & (x < 6), 1.0, 0.0)


@_reference
def leaky_relu(x, negative_slope=0.01):
    """x for x >= 0, negative_slope·x otherwise."""
    y = np.where(x >= 0, x, negative_slope * x)
    return _at_neg_inf(x, y, _linear_limit(negative_slope))


@_reference
def leaky_relu_derivative(x, negative_slope=0.01):
    """1 for x > 0, negative_slope otherwise (PyTorch: negative_slope at x = 0)."""
    return np.where(x > 0, 1.0, float(negative_slope))


@_reference
def prelu(x, weight=0.25):
    """leaky_relu with a learned (here scalar) slope ``weight``."""
    return leaky_relu(x, negative_slope=weight)


@_reference
def prelu_derivative(x, weight=0.25):
    """1 for x > 0, weight otherwise (PyTorch: weight at x = 0)."""
    return leaky_relu_derivative(x, negative_slope=weight)


# --- exponential family -----------------------------------------------------------------------


@_reference
def elu(x, alpha=1.0):
    """x for x > 0, alpha·expm1(x) otherwise (expm1 keeps small negative x exact)."""
    return np.where(x > 0, x, alpha * np.expm1(x))


@_reference
def elu_derivative(x, alpha=1.0):
    """1 for x > 0, alpha·exp(x) otherwise (PyTorch: alpha at x = 0)."""
    return np.where(x > 0, 1.0, alpha * np.exp(x))


@_reference
def selu(x):
    """scale·(x if x > 0 else alpha·expm1(x)), with the fixed constants of Klambauer et al."""
    return np.where(x > 0, SELU_SCALE * x, _SELU_ALPHA_SCALE * np.expm1(x))


@_reference
def selu_derivative(x):
    """scale for x > 0, scale·alpha·exp(x) otherwise (PyTorch: scale·alpha at x = 0)."""
    return np.where(x > 0, SELU_SCALE, _SELU_ALPHA_SCALE * np.exp(x))


@_reference
def celu(x, alpha=1.0):
    """max(0, x) + min(0, alpha·expm1(x/alpha)): ELU made C1 for every alpha."""
    return np.maximum(x, 0.0) + np.minimum(0.0, alpha * np.expm1(x / alpha))


@_reference
def celu_derivative(x, alpha=1.0):
    """1 for x > 0, exp(x/alpha) otherwise (PyTorch: 1 at x = 0)."""
    return np.where(x > 0, 1.0, np.exp(x / alpha))


# --- gelu family ------------------------------------------------------------------------------


@_reference
def gelu(x):
    """x·Φ(x) = 0.5·x·erfc(-x/√2); erfc's argument is corrected to first order in its rounding
    error, which the Gaussian tail would otherwise amplify ~x² times."""
    xc = np.clip(x, -40.0, 40.0)  # erfc is 0 or 2 in float64 beyond
    zh, zl = _mul_const(-xc, _INV_SQRT2)
    e = _erfc(zh) - _TWO_OVER_SQRT_PI * np.exp(-zh * zh) * zl
    return _at_neg_inf(x, 0.5 * x * e, 0.0)


@_reference
def gelu_derivative(x):
    """Φ(x) + x·φ(x)."""
    xc = np.clip(x, -50.0, 50.0)  # the derivative is exactly 0 or 1 in float64 beyond
    return 0.5 * _erfc(-xc * _INV_SQRT2[0]) + xc * _INV_SQRT_2PI * np.exp(-0.5 * xc * xc)


def _gelu_tanh_arg(x):
    """2·√(2/π)·(x + 0.044715·x³) as hi + lo (double-double, for |x| <= 30)."""
    x2, x2e = _two_prod(x, x)
    x3, x3e = _two_prod(x2, x)
    x3e = x3e + x2e * x
    t, te = _two_prod(x3, _GELU_TANH_CUBIC[0])
    te = te + x3e * _GELU_TANH_CUBIC[0] + x3 * _GELU_TANH_CUBIC[1]
    s, se = _two_sum(x, t)
    se = se + te
    u, ue = _two_prod(s, _SQRT_2_OVER_PI[0])
    ue = ue + se * _SQRT_2_OVER_PI[0] + s * _SQRT_2_OVER_PI[1]
    return 2.0 * u, 2.0 * ue


@_reference
def gelu_tanh(x):
    """0.5·x·(1 + tanh(u)) computed as x·σ(2u): no cancellation for negative x."""
    xc = np.clip(x, -30.0, 30.0)  # σ(2u) is 0 or 1 in float64 beyond
    return _at_neg_inf(x, x * _sigmoid2(*_gelu_tanh_arg(xc)), 0.0)


@_reference
def gelu_tanh_derivative(x):
    """σ(2u) + x·2u'·σ(2u)·σ(-2u), u' = √(2/π)·(1 + 3·0.044715·x²)."""
    xc = np.clip(x, -30.0, 30.0)
    v = _gelu_tanh_arg(xc)[0]
    dv = 2.0 * _SQRT_2_OVER_PI[0] * (1.0 + 3.0 * _GELU_TANH_CUBIC[0] * xc * xc)
    return _sigmoid2(v) + xc * dv * _sigmoid2(v) * _sigmoid2(-v)


@_reference
def gelu_quick(x):
    """x·σ(1.702·x), the sigmoid GELU approximation (Hendrycks & Gimpel)."""
    xc = np.clip(x, -500.0, 500.0)
    return _at_neg_inf(x, x * _sigmoid2(*_mul_const(xc, _GELU_QUICK_SCALE)), 0.0)


@_reference
def gelu_quick_derivative(x):
    """σ(kx) + kx·σ(kx)·σ(-kx), k = 1.702."""
    xc = np.clip(x, -500.0, 500.0)
    v = _GELU_QUICK_SCALE[0] * xc
    return _sigmoid2(v) + v * _sigmoid2(v) * _sigmoid2(-v)


def _ibert_parts(x):
    """(1 + L(x/√2), d) for I-BERT's L; d = min(|z|, -b) + b <= 0, computed without cancellation.

    1 + L is -a·d² for x < 0 and 2 + a·d² for x >= 0 (at x = 0 only x·(1 + L) = 0 matters).
    """
    xc = np.clip(x, -10.0, 10.0)  # L is constant (±1) for |x| > 2.51
    zh, zl = _mul_const(np.abs(xc), _INV_SQRT2)
    d = np.minimum((zh + _IBERT_B[0]) + (zl + _IBERT_B[1]), 0.0)  # zh + b exact near the clamp
    ad2 = _IBERT_A * d * d
    return np.where(x < 0, -ad2, 2.0 + ad2), d


@_reference
def gelu_poly(x):
    """I-BERT's integer GELU 0.5·x·(1 + L(x/√2)), L(z) = sign(z)·(a·(min(|z|, -b) + b)² + 1).

    L jumps at 0 (L(0±) = ±0.0962), so gelu_poly has a kink at 0; for x <= -2.5017 it is 0.
    """
    one_plus_l, _ = _ibert_parts(x)
    return _at_neg_inf(x, 0.5 * x * one_plus_l, 0.0)


@_reference
def gelu_poly_derivative(x):
    """0.5·(1 + L(z)) + 0.5·x·L'(z)/√2, L'(z) = 2a·(min(|z|, -b) + b); right-hand at x = 0."""
    one_plus_l, d = _ibert_parts(x)
    xc = np.clip(x, -10.0, 10.0)
    return 0.5 * one_plus_l + 0.5 * xc * (2.0 * _IBERT_A * d) * _INV_SQRT2[0]


# --- silu family ------------------------------------------------------------------------------


@_reference
def silu(x):
    """x·σ(x) (also called swish)."""
    xc = np.clip(x, -800.0, 800.0)
    return _at_neg_inf(x, x * _sigmoid2(xc), 0.0)


@_reference
def silu_derivative(x):
    """σ(x) + x·σ(x)·σ(-x)."""
    xc = np.clip(x, -800.0, 800.0)
    s = _sigmoid2(xc)
    return s + xc * s * _sigmoid2(-xc)


def _silu_poly_q(x):
    """q = c - min(|x|, c) for c = 4.4, so t = 1 - min(|x|, c)/c = q/c; c - |x| is exact near c."""
    return np.maximum((_SILU_POLY_C[0] - np.abs(x)) + _SILU_POLY_C[1], 0.0)


@_reference
def silu_poly(x):
    """x·s(x), s = 0.5 + 0.5·sign(x)·(1 - t²), t = 1 - min(|x|, 4.4)/4.4: a multiply-add-clamp
    SiLU. s is 0.5·t² for x < 0 and 1 - 0.5·t² for x >= 0 (no cancelling tails); 0.5·t² is
    evaluated as k·q² with k = 0.5/4.4², and 1 - 0.5·t² as 0.5 + r·(1 - 0.5·r), r = 1 - t."""
    q = _silu_poly_q(x)
    r = np.minimum(np.abs(x), _SILU_POLY_C[0]) / _SILU_POLY_C[0]
    y = np.where(x < 0, _SILU_POLY_K * (x * q) * q, x * (0.5 + r * (1.0 - 0.5 * r)))
    return _at_neg_inf(x, y, 0.0)


@_reference
def silu_poly_derivative(x):
    """s(x) + x·s'(x), s'(x) = t/4.4 on |x| < 4.4 and 0 beyond (C1: no kink to choose a side)."""
    q = _silu_poly_q(x)
    half_t2 = _SILU_POLY_K * q * q
    s = np.where(x < 0, half_t2, 1.0 - half_t2)
    xc = np.clip(x, -10.0, 10.0)
    return s + xc * q / (_SILU_POLY_C[0] * _SILU_POLY_C[0])


def _mish_parts(x):
    """(t, 1 - t) for t = tanh(softplus(x)), as rational functions of exp(-|x|) (no cancellation).

    x <= 0: e = exp(x), n = e·(e + 2), t = n/(n + 2), 1 - t = 2/(n + 2).
    x > 0:  e = exp(-x), d = 1 + 2e + 2e², t = (1 + 2e)/d, 1 - t = 2e²/d.
    """
    e = np.exp(-np.abs(x))
    n = e * (e + 2.0)
    d = 1.0 + 2.0 * e + 2.0 * e * e
    t = np.where(x <= 0, n / (n + 2.0), (1.0 + 2.0 * e) / d)
    return t, np.where(x <= 0, 2.0 / (n + 2.0), 2.0 * e * e / d)


@_reference
def mish(x):
    """x·tanh(softplus(x))."""
    t, _ = _mish_parts(x)
    return _at_neg_inf(x, x * t, 0.0)


@_reference
def mish_derivative(x):
    """tanh(sp) + x·(1 - tanh²(sp))·σ(x), sp = softplus(x)."""
    xc = np.clip(x, -800.0, 800.0)
    t, one_minus_t = _mish_parts(xc)
    return t + xc * one_minus_t * (1.0 + t) * _sigmoid2(xc)


@_reference
def hardswish(x):
    """x·relu6(x + 3)/6 (MobileNetV3)."""
    return _at_neg_inf(x, x * np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0, 0.0)


@_reference
def hardswish_derivative(x):
    """0 for x < -3, x/3 + 0.5 for -3 <= x <= 3, 1 above (PyTorch: -0.5 at -3, 1.5 at 3)."""
    return np.where(x < -3, 0.0, np.where(x <= 3, x / 3.0 + 0.5, 1.0))


# --- softplus, sigmoid family -----------------------------------------------------------------


@_reference
def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta·x))/beta, and x itself where beta·x > threshold (PyTorch)."""
    bx = beta * x
    smooth = (np.maximum(bx, 0.0) + np.log1p(np.exp(-np.abs(bx)))) / beta
    return np.where(bx > threshold, x, smooth)


@_reference
def softplus_derivative(x, beta=1.0, threshold=20.0):
    """σ(beta·x), and 1 where beta·x > threshold (PyTorch)."""
    bx = beta * x
    return np.where(bx > threshold, 1.0, _sigmoid2(bx))


@_reference
def sigmoid(x):
    """1/(1 + exp(-x)), evaluated through exp(-|x|) so nothing overflows or cancels."""
    return _sigmoid2(x)


@_reference
def sigmoid_derivative(x):
    """σ(x)·σ(-x) (not σ·(1 - σ), which cancels for large x)."""
    return _sigmoid2(x) * _sigmoid2(-x)


@_reference
def tanh(x):
    """tanh(x)."""
    return np.tanh(x)


@_reference
def tanh_derivative(x):
    """sech²(x) = 4e/(1 + e)², e = exp(-2|x|) (not 1 - tanh², which cancels for large |x|)."""
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


@_reference
def hardsigmoid(x):
    """relu6(x + 3)/6 (PyTorch/TFLite; ONNX HardSigmoid with alpha = 1/6, beta = 0.5)."""
    return np.minimum(np.maximum(x + 3.0, 0.0), 6.0) / 6.0


@_reference
def hardsigmoid_derivative(x):
    """1/6 on -3 < x < 3, else 0 (PyTorch: 0 at both kinks)."""
    return np.where((x > -3) & (x < 3), 1.0 / 6.0, 0.0)


@_reference
def hardtanh(x, min_val=-1.0, max_val=1.0):
    """x clipped to [min_val, max_val]."""
    return np.minimum(np.maximum(x, min_val), max_val)


@_reference
def hardtanh_derivative(x, min_val=-1.0, max_val=1.0):
    """1 on min_val < x < max_val, else 0 (PyTorch: 0 at both kinks)."""
    return np.where((x > min_val) & (x < max_val), 1.0, 0.0)


# --- shrink family ----------------------------------------------------------------------------


@_reference
def hardshrink(x, lambd=0.5):
    """x where |x| > lambd, else 0 (discontinuous at ±lambd)."""
    return np.where(np.abs(x) > lambd, x, 0.0)


@_reference
def hardshrink_derivative(x, lambd=0.5):
    """1 where |x| > lambd, else 0 (PyTorch: 0 at ±lambd)."""
    return np.where(np.abs(x) > lambd, 1.0, 0.0)


@_reference
def softshrink(x, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0.0))


@_reference
def softshrink_derivative(x, lambd=0.5):
    """1 where |x| > lambd, else 0 (PyTorch: 0 at ±lambd)."""
    return np.where(np.abs(x) > lambd, 1.0, 0.0)


# --- softmax ----------------------------------------------------------------------------------


def softmax(x, axis=-1):
    """exp(x - max)/Σ exp(x - max) along ``axis``; a 0-d input is a one-element vector.

    Limits: +inf entries share the mass equally; a slice with a NaN, or all -inf, is all NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        return softmax(x.reshape(1)).reshape(())
    if x.size == 0:
        return x.copy()
    with np.errstate(all="ignore"):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        y = e / np.sum(e, axis=axis, keepdims=True)
        top = x == np.inf
        n_top = np.sum(top, axis=axis, keepdims=True)
        has_nan = np.any(np.isnan(x), axis=axis, keepdims=True)
        y = np.where((n_top > 0) & ~has_nan, top / np.maximum(n_top, 1), y)
    return np.where(has_nan, np.nan, y)


# --- adaptive log-softmax ---------------------------------------------------------------------
#
# Grave, Joulin, Cissé, Grangier, Jégou 2017, "Efficient softmax approximation for GPUs"
# (arXiv:1609.04309), with the layout and semantics of PyTorch's nn.AdaptiveLogSoftmaxWithLoss:
# a head scores the shortlist plus one logit per tail cluster, and tail cluster i scores its
# classes from a projection of the hidden state to in_features // div_value**(i+1) dimensions.


class AdaptiveLogSoftmaxWeights(NamedTuple):
    """An adaptive log-softmax's weights in PyTorch's ``nn.Linear`` layout, (out, in).

    ``head``: (shortlist + n_clusters, in_features); ``head_bias``: (shortlist + n_clusters,) or
    None; ``tail[i]``: cluster i's projection (in_features // div_value**(i+1), in_features) and
    output layer (cluster size, projection size). From a PyTorch module ``m``: ``m.head.weight``,
    ``m.head.bias``, ``(m.tail[i][0].weight, m.tail[i][1].weight)`` as NumPy arrays.
    """

    head: np.ndarray
    head_bias: np.ndarray | None
    tail: tuple[tuple[np.ndarray, np.ndarray], ...]


def _positive_int(value, name: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def _adaptive_layout(in_features, n_classes, cutoffs, div_value, head_bias):
    """Validated (in_features, n_classes, cutoffs, div_value, head_bias, projection sizes).

    The cutoffs rule is PyTorch's: unique, increasing integers in [1, n_classes - 1].
    """
    in_features = _positive_int(in_features, "in_features", 1)
    n_classes = _positive_int(n_classes, "n_classes", 2)
    try:
        cuts = tuple(cutoffs)
        ok = len(cuts) > 0 and all(
            not isinstance(c, bool) and isinstance(c, numbers.Real) and int(c) == c for c in cuts
        )
    except (TypeError, ValueError, OverflowError):
        ok = False
    if ok:
        cuts = tuple(int(c) for c in cuts)
        ok = list(cuts) == sorted(set(cuts)) and cuts[0] >= 1 and cuts[-1] <= n_classes - 1
    if not ok:
        raise ValueError(
            f"cutoffs must be unique, increasing integers between 1 and n_classes - 1 = "
            f"{n_classes - 1}, got {cutoffs!r}"
        )
    if isinstance(div_value, bool) or not isinstance(div_value, numbers.Real):
        raise ValueError(f"div_value must be a positive number, got {div_value!r}")
    if not (math.isfinite(div_value) and div_value > 0):
        raise ValueError(f"div_value must be a positive number, got {div_value!r}")
    if not isinstance(head_bias, bool):
        raise ValueError(f"head_bias must be True or False, got {head_bias!r}")
    sizes = tuple(int(in_features // div_value ** (i + 1)) for i in range(len(cuts)))
    return in_features, n_classes, cuts, float(div_value), head_bias, sizes


@functools.lru_cache(maxsize=8)
def _seeded_weights(in_features, n_classes, cutoffs, div_value, head_bias, seed):
    _, _, _, _, _, sizes = _adaptive_layout(in_features, n_classes, cutoffs, div_value, head_bias)
    rng = np.random.default_rng(seed)

    def uniform(shape, fan_in):
        bound = 1.0 / math.sqrt(fan_in) if fan_in else 0.0
        w = rng.uniform(-bound, bound, shape)
        w.flags.writeable = False
        return w

    n_head = cutoffs[0] + len(cutoffs)
    head = uniform((n_head, in_features), in_features)
    bias = uniform((n_head,), in_features) if head_bias else None
    bounds = (*cutoffs, n_classes)
    tail = tuple(
        (uniform((size, in_features), in_features), uniform((hi - lo, size), size))
        for size, lo, hi in zip(sizes, bounds[:-1], bounds[1:], strict=True)
    )
    return AdaptiveLogSoftmaxWeights(head, bias, tail)


def adaptive_log_softmax_weights(
    *, in_features, n_classes, cutoffs, div_value, head_bias, seed
) -> AdaptiveLogSoftmaxWeights:
    """The deterministic weights ``adaptive_log_softmax`` uses when it is given none (read-only).

    Drawn from ``np.random.default_rng(seed)`` with the bounds of PyTorch's default ``nn.Linear``
    init, U(-1/√fan_in, 1/√fan_in) (not PyTorch's numbers): head, head bias if any, then per
    cluster its projection and output layer.
    """
    layout = _adaptive_layout(in_features, n_classes, cutoffs, div_value, head_bias)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return _seeded_weights(*layout[:5], int(seed))


def _check_weights(w, in_features, n_classes, cutoffs, head_bias, sizes):
    """w as float64 AdaptiveLogSoftmaxWeights; ValueError naming the first wrong shape."""
    n_head = cutoffs[0] + len(cutoffs)
    bounds = (*cutoffs, n_classes)
    try:
        head, bias, tail = w
        tail = tuple(tail)
    except (TypeError, ValueError):
        raise ValueError(
            "weights must be AdaptiveLogSoftmaxWeights(head, head_bias, tail)"
        ) from None
    want = [("head", head, (n_head, in_features))]
    if head_bias:
        want.append(("head_bias", bias, (n_head,)))
    elif bias is not None:
        raise ValueError("weights.head_bias must be None when head_bias is False")
    if len(tail) != len(cutoffs):
        raise ValueError(f"weights.tail has {len(tail)} clusters, the cutoffs give {len(cutoffs)}")
    for i, (pair, size, lo, hi) in enumerate(
        zip(tail, sizes, bounds[:-1], bounds[1:], strict=True)
    ):
        try:
            proj, out = pair
        except (TypeError, ValueError):
            raise ValueError(f"weights.tail[{i}] must be (projection, output)") from None
        want += [
            (f"tail[{i}][0]", proj, (size, in_features)),
            (f"tail[{i}][1]", out, (hi - lo, size)),
        ]
    arrays = {}
    for name, a, shape in want:
        a = np.asarray(a, dtype=np.float64)
        if a.shape != shape:
            raise ValueError(f"weights.{name} has shape {a.shape}, expected {shape}")
        arrays[name] = a
    return (
        arrays["head"],
        arrays.get("head_bias"),
        [(arrays[f"tail[{i}][0]"], arrays[f"tail[{i}][1]"]) for i in range(len(cutoffs))],
    )


def _log_softmax_last(z):
    m = np.max(z, axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def adaptive_log_softmax(
    x,
    in_features=64,
    n_classes=32000,
    cutoffs=(2000, 10000),
    div_value=4.0,
    head_bias=False,
    seed=0,
    weights=None,
):
    """log p(class | h) for every class, for hidden states h of shape (..., in_features).

    PyTorch's ``nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value,
    head_bias).log_prob(h)`` (Grave et al. 2017, arXiv:1609.04309). Shortlist classes
    [0, cutoffs[0]) take the head log-softmax over W_h·h (+ bias), whose last entries are one logit
    per tail cluster; a class of cluster i, [cutoffs[i], cutoffs[i+1]) (the last one ends at
    n_classes), takes cluster i's head log-probability plus log-softmax(W_i·(P_i·h)), P_i
    projecting h to in_features // div_value**(i+1) dimensions. So exp of the output sums to 1
    over the n_classes classes, and the last axis of the output has n_classes entries.

    ``weights`` (``AdaptiveLogSoftmaxWeights``, PyTorch's layout) are a trained model's; without
    them the weights are ``adaptive_log_softmax_weights`` for ``seed``, so the catalogue's record
    is one fixed function. A hidden state with a NaN or ±inf gives NaN for every class (as do
    logits that overflow float64). ValueError for a 0-d x, a last axis other than in_features,
    cutoffs PyTorch rejects, or weights of the wrong shapes.
    """
    in_features, n_classes, cuts, div, bias_on, sizes = _adaptive_layout(
        in_features, n_classes, cutoffs, div_value, head_bias
    )
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(
            f"x must hold hidden states of shape (..., in_features={in_features}), got shape "
            f"{x.shape}"
        )
    if weights is None:
        weights = adaptive_log_softmax_weights(
            in_features=in_features,
            n_classes=n_classes,
            cutoffs=cuts,
            div_value=div,
            head_bias=bias_on,
            seed=seed,
        )
    head, bias, tail = _check_weights(weights, in_features, n_classes, cuts, bias_on, sizes)
    out = np.empty((*x.shape[:-1], n_classes))
    with np.errstate(all="ignore"):
        logits = x @ head.T
        if bias is not None:
            logits = logits + bias
        head_lp = _log_softmax_last(logits)
        shortlist = cuts[0]
        out[..., :shortlist] = head_lp[..., :shortlist]
        bounds = (*cuts, n_classes)
        for i, (proj, w_out) in enumerate(tail):
            cluster_lp = _log_softmax_last((x @ proj.T) @ w_out.T)
            out[..., bounds[i] : bounds[i + 1]] = cluster_lp + head_lp[..., shortlist + i, None]
    bad = ~np.all(np.isfinite(x), axis=-1)
    out[bad] = np.nan
    return out
