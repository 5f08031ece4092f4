"""Scalar element functions for use inside your own Numba code, and from Python.

Each returns its value in x's float type: a float64 for a float64 (or an integer, or a Python
float), a float32 for a float32 and a float16 for a float16, computed in float64 and rounded once
to nearest even, so a scalar's result is the array kernel's with ``accuracy="exact"``. The
activation's parameters are optional arguments::

    from numba import njit
    from edgeact.kernels import scalar

    @njit
    def gated(x, gate, out):
        for i in range(x.size):  # x, gate, out: float16 arrays, say
            out[i] = scalar.hardswish(x[i]) * scalar.hardsigmoid(gate[i])

Numba has no float16 arithmetic on CPUs (edgeact teaches it float16 arrays only), so a float16
result can be stored into an array, returned, or passed to another scalar function. A float16 or
float32 NaN comes back quieted, sign and payload kept, as from the array kernels.
``ELEMENTS`` holds the float64 element functions themselves (Numba functions; the kernels'
loops are built from them).
"""

import inspect

import numpy as np
from numba import types
from numba.extending import overload

from edgeact.kernels._half_scalar import float64_from_half, half_from_float64, half_nan_rule
from edgeact.kernels._njit import generated_function
from edgeact.kernels.exponential import celu, elu, mish, selu, softplus, tanh
from edgeact.kernels.gelu import gelu, gelu_poly, gelu_quick, gelu_tanh
from edgeact.kernels.relu import hardshrink, hardtanh, leaky_relu, prelu, relu, relu6, softshrink
from edgeact.kernels.sigmoid import hardsigmoid, hardswish, sigmoid, silu, silu_poly

_NAMES = [
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
__all__ = ["ELEMENTS", *_NAMES]

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
_NARROW = (np.float16, np.float32)  # the scalar types computed in float64 and rounded back


def _in_python(x, y):
    """y (a float64) in the type of x, for calls from Python."""
    return type(x)(y) if isinstance(x, _NARROW) else y


def _keeping_type(element):
    """The scalar function for ``element``: its signature, its value in x's float type. From
    Python a plain function; in Numba code an overload picking the body by x's type."""
    parameters = inspect.signature(element.py_func).parameters
    name = element.py_func.__name__
    signature = ", ".join(str(p) for p in parameters.values())
    rest = "".join(f", {p}" for p in list(parameters)[1:])
    function = generated_function(
        f"def {name}({signature}):\n"
        f"    return in_python(x, element(float(x) if isinstance(x, narrow) else x{rest}))\n",
        in_python=_in_python, element=element, narrow=_NARROW,
    )  # fmt: skip
    function.__doc__ = element.py_func.__doc__
    bodies = {
        types.float16: "nan_rule(x, to_half(element(to_float64(x){rest})))",
        types.float32: "np.float32(element(np.float64(x){rest}) if x == x else x + x)",
    }

    def implementation(x):
        body = bodies.get(x, "element(x{rest})").format(rest=rest)
        return generated_function(
            f"def impl({signature}):\n    return {body}\n",
            np=np, element=element, nan_rule=half_nan_rule, to_half=half_from_float64,
            to_float64=float64_from_half,
        )  # fmt: skip

    typer = generated_function(
        f"def typer({signature}):\n    return implementation(x)\n", implementation=implementation
    )
    overload(function)(typer)
    return function


globals().update({name: _keeping_type(ELEMENTS[name]) for name in _NAMES})
