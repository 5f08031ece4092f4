"""Element functions built on exp/log/tanh: elu, selu, celu, softplus, tanh, mish.

Their exponentials and logarithms are ``_fastmath``'s, plain arithmetic accurate to float64, so
the float32 loops vectorise (libm's ``expm1``, ``log1p`` and ``tanh`` are scalar calls: elu ran
at 0.13 G elements/s, mish at 0.02). Each calls ``always_inline``: a loop whose element function
is a call cannot vectorise, and these outgrow LLVM's inlining budget. float32 tanh and selu have
faster float32 kernels (``_float32``), used unless ``accuracy="exact"``.
"""

import math

from edgeact._jit import always_inline, jit
from edgeact.catalogue import SELU_ALPHA, SELU_SCALE
from edgeact.kernels._fastmath import exp, expm1, log1p_unit

__all__ = ["celu", "elu", "mish", "selu", "softplus", "tanh"]


@jit
def elu(x, alpha=1.0):
    """x for x > 0, alpha·(e**x - 1) otherwise."""
    always_inline()
    return x if x > 0.0 else alpha * expm1(x)


@jit
def selu(x):
    """scale·elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    always_inline()
    return SELU_SCALE * x if x > 0.0 else (SELU_SCALE * SELU_ALPHA) * expm1(x)


@jit
def celu(x, alpha=1.0):
    """max(0, x) + min(0, alpha·(e**(x/alpha) - 1))."""
    always_inline()
    return x if x > 0.0 else alpha * expm1(x / alpha)


@jit
def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e**(beta·x))/beta, and x itself where beta·x > threshold (PyTorch)."""
    always_inline()
    bx = beta * x
    if bx > threshold:
        return x
    return ((bx if bx > 0.0 else 0.0) + log1p_unit(exp(-abs(bx)))) / beta


_TANH_FLAT = 19.1  # tanh(x) rounds to ±1 in float64 from |x| = 19.06
_MISH_FLAT = 20.0  # mish(x) rounds to x in float64 above it: 2/e**40 < 2**-53


@jit
def tanh(x):
    """tanh(x) = m/(m + 2), m = e**2|x| - 1, with x's sign; ±1 from |x| = 19.1."""
    always_inline()
    a = abs(x)
    m = expm1(2.0 * (_TANH_FLAT if a > _TANH_FLAT else a))
    return math.copysign(m / (m + 2.0), x)


@jit
def mish(x):
    """x·tanh(softplus(x)) = x·g/(g + 2), g = n·(n + 2), n = e**x (tanh(log(1 + n)) is
    ((1 + n)² - 1)/((1 + n)² + 1)): one exponential and no cancellation. x itself above 20;
    0 at x = -inf (where the formula is -inf·0)."""
    always_inline()
    n = exp(_MISH_FLAT if x > _MISH_FLAT else x)
    g = n * (n + 2.0)
    return 0.0 if x == -math.inf else (x if x > _MISH_FLAT else x * g / (g + 2.0))
