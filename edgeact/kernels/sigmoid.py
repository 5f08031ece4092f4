"""Sigmoid-gated element functions: sigmoid and SiLU, and their multiply/add/clamp approximations.

The exact ones use edgeact's vectorisable ``exp``; x·σ(x) is computed as x / (1 + e**-x), one
rounding fewer than x * σ(x). The gate's limit at x = -inf is taken explicitly, because the formula
there is -inf * 0.
"""

from edgeact._jit import jit
from edgeact.catalogue import SILU_POLY_KNEE
from edgeact.kernels._fastmath import exp
from edgeact.kernels.relu import relu6

__all__ = ["hardsigmoid", "hardswish", "sigmoid", "silu", "silu_poly"]

_GATE_CLOSED = -750.0  # below this every gate here is 0 in float64


@jit
def sigmoid(x):
    """1 / (1 + e**-x)."""
    return 1.0 / (1.0 + exp(-x))


@jit
def silu(x):
    """x·σ(x) (also called swish)."""
    return 0.0 if x < _GATE_CLOSED else x / (1.0 + exp(-x))


@jit
def hardsigmoid(x):
    """relu6(x + 3) / 6: the piecewise-linear sigmoid of MobileNetV3 (ONNX: alpha=1/6, beta=0.5)."""
    return relu6(x + 3.0) * (1.0 / 6.0)  # a float64 division would halve the loop's speed


@jit
def hardswish(x):
    """x · relu6(x + 3) / 6: the piecewise-quadratic SiLU of MobileNetV3. x is clamped at -3
    first, so that -inf gives 0, not -inf·0 = NaN; below -3 the result is -3·0 = -0, the sign of
    the formula's x·0 (PyTorch's too), which the float32 kernel shares (``_float32.hardswish``)."""
    a = -3.0 if x < -3.0 else x
    return a * relu6(a + 3.0) * (1.0 / 6.0)


@jit
def _quadratic_sigmoid(x):
    """1 - 0.5·(1 - |x|/k)² for x >= 0, 0.5·(1 - |x|/k)² below, flat beyond |x| = k: k = KNEE.

    (k - |x|) is exact near the knee, so the tail keeps its relative accuracy.
    """
    d = SILU_POLY_KNEE - abs(x)
    d = 0.0 if d < 0.0 else d
    tail = 0.5 * (d / SILU_POLY_KNEE) * (d / SILU_POLY_KNEE)
    return tail if x < 0.0 else 1.0 - tail


@jit
def silu_poly(x):
    """x · a quadratic sigmoid: SiLU with multiply/add/clamp only (max error ~0.058)."""
    return 0.0 if x < -SILU_POLY_KNEE else x * _quadratic_sigmoid(x)
