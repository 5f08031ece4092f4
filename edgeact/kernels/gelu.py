"""GELU and its approximations as element functions.

- gelu: x·Φ(x) = 0.5·x·erfc(-x/√2); erfc keeps the negative tail accurate (1 + erf cancels).
  libm's erfc here (scalar: the float64 function and the float16 table); float32 loops compile it
  with ``_fastmath.erfc_for_float32``, which vectorises.
- gelu_tanh: 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), evaluated as x·σ(2u) (no cancellation).
- gelu_quick: x·σ(1.702x).
- gelu_poly: I-BERT's second-order polynomial GELU (Kim et al. 2021, arXiv:2101.01321): erf(z) is
  replaced by sign(z)·(a·(min(|z|, -b) + b)² + 1), a = -0.2888, b = -1.769; multiply/add/clamp only.
"""

from math import erfc

from edgeact._jit import always_inline, jit
from edgeact.catalogue import GELU_QUICK_ALPHA, GELU_TANH_CUBIC, IBERT_A, IBERT_B
from edgeact.kernels._fastmath import exp

__all__ = ["gelu", "gelu_poly", "gelu_quick", "gelu_tanh"]

_SQRT_2_OVER_PI = 0.7978845608028654
_INV_SQRT2 = 0.7071067811865476
_GATE_CLOSED = -750.0  # below this every gate here is 0 in float64


@jit
def gelu(x):
    """x·Φ(x), exact (libm erfc)."""
    always_inline()  # compiled with erfc_for_float32, too large for LLVM to inline by itself
    return 0.0 if x < _GATE_CLOSED else 0.5 * x * erfc(-x * _INV_SQRT2)


@jit
def gelu_tanh(x):
    """The tanh approximation of GELU (max error vs GELU ~4.7e-4)."""
    u2 = (2.0 * _SQRT_2_OVER_PI) * (x + GELU_TANH_CUBIC * x * x * x)
    return 0.0 if x < _GATE_CLOSED else x / (1.0 + exp(-u2))


@jit
def gelu_quick(x):
    """x·σ(1.702x) (max error vs GELU ~2.0e-2)."""
    return 0.0 if x < _GATE_CLOSED else x / (1.0 + exp(-GELU_QUICK_ALPHA * x))


@jit
def gelu_poly(x):
    """I-BERT's polynomial GELU (max error vs GELU ~1.8e-2)."""
    z = abs(x) * _INV_SQRT2
    z = -IBERT_B if z > -IBERT_B else z
    tail = -IBERT_A * (z + IBERT_B) * (z + IBERT_B)  # 1 - |erf|, without cancelling near the knee
    one_plus_erf = tail if x < 0.0 else 2.0 - tail
    return 0.0 if x < -4.0 else 0.5 * x * one_plus_erf
