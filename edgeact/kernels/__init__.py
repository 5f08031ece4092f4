"""Numba kernels for edge activations, on float32, float16 and int8/uint8 NumPy arrays.

One public kernel per element-wise catalogue activation, e.g. ``edgeact.kernels.hardswish(x)``,
``edgeact.kernels.leaky_relu(x, negative_slope=0.1)``, or on quantized codes
``edgeact.kernels.hardswish(q, x_q=QuantParams(...), y_q=QuantParams(...), compat="tflite")``.
``make_lut``/``apply_lut`` expose the tables, ``gelu_poly_int``/``silu_poly_int`` run GELU and
SiLU approximations in integer arithmetic only, and ``edgeact.kernels.scalar`` holds the element
functions for your own ``@njit`` code.
"""

from edgeact.catalogue import ACTIVATIONS
from edgeact.kernels import scalar
from edgeact.kernels._lut import apply_lut, make_lut
from edgeact.kernels._public import make_kernel
from edgeact.kernels.integer import gelu_poly_int, silu_poly_int

KERNELS = {
    name: make_kernel(name, scalar.ELEMENTS[name], act.params, act.formula)
    for name, act in ACTIVATIONS.items()
    if name in scalar.ELEMENTS
}
globals().update(KERNELS)

__all__ = [
    "KERNELS",
    "apply_lut",
    "gelu_poly_int",
    "get",
    "make_lut",
    "scalar",
    "silu_poly_int",
    *KERNELS,
]


def get(name: str):
    """The public kernel for a catalogue name; ValueError naming what is wrong otherwise."""
    if name in KERNELS:
        return KERNELS[name]
    if name in ACTIVATIONS:
        raise ValueError(
            f"activation {name!r} has no float kernel yet; kernels: {', '.join(KERNELS)}"
        )
    raise ValueError(f"unknown activation {name!r}; kernels: {', '.join(KERNELS)}")
