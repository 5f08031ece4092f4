"""edgeact: edge-friendly activations for quantized inference on phones, boards and small CPUs.

- ``edgeact.ACTIVATIONS``: the activation catalogue (references, properties, approximations).
- ``edgeact.kernels``: Numba kernels on NumPy arrays, and scalar functions for your own ``@njit``.
- ``edgeact.QuantParams``: per-tensor int8/uint8 quantization parameters for the kernels.
- ``edgeact.guide``: which activation to use where, computed from the catalogue.
"""

from edgeact.catalogue import ACTIVATIONS, Activation, Approximation
from edgeact.quant import QuantParams

__all__ = ["ACTIVATIONS", "Activation", "Approximation", "QuantParams", "__version__"]
__version__ = "0.1.0"
