"""Element functions built on exp/log/tanh: elu, selu, celu, softplus, tanh, mish.

These call libm (``math.expm1``, ``math.log1p``, ``math.tanh``) for their accuracy near zero, so
their loops do not vectorise: they are here so that every element-wise catalogue activation has a
float and quantized kernel, not as the fast path (that is what the edge replacements are for).
float32 tanh and selu have vectorised float32 kernels (``_float32``), used unless
``accuracy="exact"``.
"""

import math

from edgeact._jit import jit
from edgeact.catalogue import SELU_ALPHA, SELU_SCALE
from edgeact.kernels._fastmath import exp

__all__ = ["celu", "elu", "mish", "selu", "softplus", "tanh"]


@jit
def elu(x, alpha=1.0):
    """x for x > 0, alpha·(e**x - 1) otherwise."""
    return x if x > 0.0 else alpha * math.expm1(x)


@jit
def selu(x):
    """scale·elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    return SELU_SCALE * x if x > 0.0 else (SELU_SCALE * SELU_ALPHA) * math.expm1(x)


@jit
def celu(x, alpha=1.0):
    """max(0, x) + min(0, alpha·(e**(x/alpha) - 1))."""
    return x if x > 0.0 else alpha * math.expm1(x / alpha)


@jit
def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e**(beta·x))/beta, and x itself where beta·x > threshold (PyTorch)."""
    bx = beta * x
    if bx > threshold:
        return x
    return ((bx if bx > 0.0 else 0.0) + math.log1p(exp(-abs(bx)))) / beta


@jit
def tanh(x):
    """tanh(x)."""
    return math.tanh(x)


@jit
def mish(x):
    """x·tanh(softplus(x)); 0 at x = -inf (where the formula is -inf·0)."""
    return 0.0 if x == -math.inf else x * math.tanh(softplus(x))
