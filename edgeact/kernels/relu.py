"""Piecewise-linear element functions: the relu family, hardtanh and the shrinks.

Written as comparisons and selects (not ``min``/``max``) so that NaN propagates and LLVM turns each
into vector min/max/blend instructions.
"""

from edgeact._jit import jit

__all__ = ["hardshrink", "hardtanh", "leaky_relu", "prelu", "relu", "relu6", "softshrink"]


@jit
def hardtanh(x, min_val=-1.0, max_val=1.0):
    """clip(x, min_val, max_val); NaN -> NaN."""
    y = min_val if x < min_val else x
    return max_val if y > max_val else y


@jit
def relu(x):
    """max(x, 0)."""
    return 0.0 if x < 0.0 else x


@jit
def relu6(x):
    """min(max(x, 0), 6)."""
    return hardtanh(x, 0.0, 6.0)


@jit
def leaky_relu(x, negative_slope=0.01):
    """x for x >= 0, negative_slope * x otherwise."""
    return negative_slope * x if x < 0.0 else x


@jit
def prelu(x, weight=0.25):
    """leaky_relu with a learned slope (one scalar here)."""
    return leaky_relu(x, weight)


@jit
def hardshrink(x, lambd=0.5):
    """x where |x| > lambd, else 0; NaN -> NaN."""
    return 0.0 if abs(x) <= lambd else x


@jit
def softshrink(x, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, else 0; NaN -> NaN."""
    if x > lambd:
        return x - lambd
    return x + lambd if x < -lambd else x * 0.0
