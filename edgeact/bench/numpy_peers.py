"""NumPy peers: the expression a NumPy user would write for each activation, in x's own dtype."""

import math
from collections.abc import Callable

import numpy as np

from edgeact.catalogue import (
    GELU_QUICK_ALPHA,
    GELU_TANH_CUBIC,
    IBERT_A,
    IBERT_B,
    SELU_ALPHA,
    SELU_SCALE,
    SILU_POLY_KNEE,
)

__all__ = ["ERF_BLOCK", "EXPRESSIONS", "numpy_equivalent"]

ERF_BLOCK = 1 << 20  # elements per np.vectorize(math.erf) call in the NumPy GELU


def numpy_equivalent(name: str, **params) -> Callable[[np.ndarray], np.ndarray]:
    """The expression a NumPy user would write for ``name``, computed in x's own dtype.

    Constants are cast to x.dtype so NumPy does not promote float16/float32 to float64. Parameters
    default to the catalogue's. Exact GELU uses ``np.vectorize(math.erf)``: NumPy has no erf.
    """
    if name not in EXPRESSIONS:
        raise ValueError(f"no NumPy equivalent for {name!r}; known: {', '.join(EXPRESSIONS)}")
    values = {**_catalogue_params(name), **params}
    expression = EXPRESSIONS[name]

    def peer(x: np.ndarray) -> np.ndarray:
        return expression(x, x.dtype.type, **values)

    peer.__name__ = f"numpy_{name}"
    peer.__doc__ = f"NumPy {name} in x's dtype, parameters {values}."
    return peer


def _catalogue_params(name: str) -> dict:
    from edgeact.catalogue import ACTIVATIONS

    return dict(ACTIVATIONS[name].params) if name in ACTIVATIONS else {}


def _silu_poly(x, c):
    t = c(1) - np.minimum(np.abs(x), c(SILU_POLY_KNEE)) / c(SILU_POLY_KNEE)
    return x * (c(0.5) + c(0.5) * np.sign(x) * (c(1) - t * t))


def _gelu(x, c):
    return c(0.5) * x * (c(1) + _vectorized_erf(x / c(math.sqrt(2.0))))


def _vectorized_erf(z):
    """``np.vectorize(math.erf)`` a block at a time: on a whole array it holds ~70 bytes of Python
    objects per element (22 GB for 300 Mi elements). Per element it costs the same either way."""
    erf = np.vectorize(math.erf, otypes=[z.dtype])
    if z.size <= ERF_BLOCK:
        return erf(z)
    flat, result = z.reshape(-1), np.empty(z.size, dtype=z.dtype)
    for start in range(0, z.size, ERF_BLOCK):
        result[start : start + ERF_BLOCK] = erf(flat[start : start + ERF_BLOCK])
    return result.reshape(z.shape)


def _gelu_tanh(x, c):
    inner = c(math.sqrt(2.0 / math.pi)) * (x + c(GELU_TANH_CUBIC) * x * x * x)
    return c(0.5) * x * (c(1) + np.tanh(inner))


def _gelu_poly(x, c, a=IBERT_A, b=IBERT_B):
    z = x / c(math.sqrt(2.0))
    clipped = np.minimum(np.abs(z), c(-b)) + c(b)
    return c(0.5) * x * (c(1) + np.sign(z) * (c(a) * clipped * clipped + c(1)))


def _celu(x, c, alpha=1.0):
    return np.maximum(x, c(0)) + np.minimum(c(0), c(alpha) * np.expm1(x / c(alpha)))


def _softplus(x, c, beta=1.0, threshold=20.0):
    bx = c(beta) * x
    return np.where(bx > c(threshold), x, np.logaddexp(c(0), bx) / c(beta))


def _softshrink(x, c, lambd=0.5):
    return np.where(x > c(lambd), x - c(lambd), np.where(x < c(-lambd), x + c(lambd), c(0)))


EXPRESSIONS = {
    "relu": lambda x, c: np.maximum(x, c(0)),
    "relu6": lambda x, c: np.clip(x, c(0), c(6)),
    "leaky_relu": lambda x, c, negative_slope=0.01: np.where(x < c(0), c(negative_slope) * x, x),
    "prelu": lambda x, c, weight=0.25: np.where(x >= c(0), x, c(weight) * x),
    "elu": lambda x, c, alpha=1.0: np.where(x > c(0), x, c(alpha) * np.expm1(x)),
    "selu": lambda x, c: c(SELU_SCALE) * np.where(x > c(0), x, c(SELU_ALPHA) * np.expm1(x)),
    "celu": _celu,
    "mish": lambda x, c: x * np.tanh(np.logaddexp(c(0), x)),
    "softplus": _softplus,
    "tanh": lambda x, c: np.tanh(x),
    "hardshrink": lambda x, c, lambd=0.5: np.where(np.abs(x) > c(lambd), x, c(0)),
    "softshrink": _softshrink,
    "hardtanh": lambda x, c, min_val=-1.0, max_val=1.0: np.clip(x, c(min_val), c(max_val)),
    "hardswish": lambda x, c: x * np.clip(x + c(3), c(0), c(6)) / c(6),
    "hardsigmoid": lambda x, c: np.clip(x + c(3), c(0), c(6)) / c(6),
    "sigmoid": lambda x, c: c(1) / (c(1) + np.exp(-x)),
    "silu": lambda x, c: x / (c(1) + np.exp(-x)),
    "silu_poly": _silu_poly,
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "gelu_quick": lambda x, c: x / (c(1) + np.exp(c(-GELU_QUICK_ALPHA) * x)),
    "gelu_poly": _gelu_poly,
}
