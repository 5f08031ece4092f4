"""Scalar element functions, ``@njit``-compiled, for use inside your own Numba code.

Each takes and returns a float64 (float32 arguments are widened), with the activation's parameters
as optional arguments::

    from numba import njit
    from edgeact.kernels import scalar

    @njit
    def gated(x, gate):
        return scalar.hardswish(x) * scalar.hardsigmoid(gate)

Numba inlines them into the calling loop, so they vectorise with it.
"""

from edgeact.kernels.exponential import celu, elu, mish, selu, softplus, tanh
from edgeact.kernels.gelu import gelu, gelu_poly, gelu_quick, gelu_tanh
from edgeact.kernels.relu import hardshrink, hardtanh, leaky_relu, prelu, relu, relu6, softshrink
from edgeact.kernels.sigmoid import hardsigmoid, hardswish, sigmoid, silu, silu_poly

__all__ = [
    "ELEMENTS",
    "celu",
    "elu",
    "gelu",
    "gelu_poly",
    "gelu_quick",
    "gelu_tanh",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "silu_poly",
    "softplus",
    "softshrink",
    "tanh",
]

ELEMENTS = {
    fn.py_func.__name__: fn
    for fn in (
        relu,
        relu6,
        leaky_relu,
        prelu,
        elu,
        selu,
        celu,
        gelu,
        gelu_tanh,
        gelu_quick,
        gelu_poly,
        silu,
        silu_poly,
        mish,
        softplus,
        sigmoid,
        tanh,
        hardswish,
        hardsigmoid,
        hardtanh,
        hardshrink,
        softshrink,
    )
}
