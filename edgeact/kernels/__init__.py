"""Numba kernels for edge activations, on float32 and float16 NumPy arrays.

One public kernel per catalogue activation that has an element function, e.g.
``edgeact.kernels.hardswish(x, out=None)`` or ``edgeact.kernels.leaky_relu(x, negative_slope=0.1)``.
``edgeact.kernels.scalar`` holds the element functions for your own ``@njit`` code.
"""

from edgeact.catalogue import ACTIVATIONS
from edgeact.kernels import scalar
from edgeact.kernels._public import make_kernel

KERNELS = {
    name: make_kernel(name, scalar.ELEMENTS[name], act.params, act.formula)
    for name, act in ACTIVATIONS.items()
    if name in scalar.ELEMENTS
}
globals().update(KERNELS)

__all__ = ["KERNELS", "get", "scalar", *KERNELS]


def get(name: str):
    """The public kernel for a catalogue name; ValueError naming what is wrong otherwise."""
    if name in KERNELS:
        return KERNELS[name]
    if name in ACTIVATIONS:
        raise ValueError(
            f"activation {name!r} has no float kernel yet; kernels: {', '.join(KERNELS)}"
        )
    raise ValueError(f"unknown activation {name!r}; kernels: {', '.join(KERNELS)}")
