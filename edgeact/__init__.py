"""edgeact: edge-friendly activations for quantized inference on phones, boards and small CPUs.

- ``edgeact.ACTIVATIONS``: the activation catalogue (references, properties, approximations).
- ``edgeact.kernels``: Numba kernels on NumPy arrays, and scalar functions for your own ``@njit``.
- ``edgeact.guide``: which activation to use where, computed from the catalogue.
"""

from edgeact.catalogue import ACTIVATIONS, Activation, Approximation

__all__ = ["ACTIVATIONS", "Activation", "Approximation", "__version__"]
__version__ = "0.1.0"
