"""Numba kernels for edge activations, on float32, float16 and int8/uint8 NumPy arrays.

One public kernel per element-wise catalogue activation, e.g. ``edgeact.kernels.hardswish(x)``,
``edgeact.kernels.leaky_relu(x, negative_slope=0.1)``, or on quantized codes
``edgeact.kernels.hardswish(q, x_q=QuantParams(...), y_q=QuantParams(...), compat="tflite")``.
``make_lut``/``apply_lut`` expose the tables, ``gelu_poly_int``/``silu_poly_int`` run GELU and
SiLU approximations in integer arithmetic only. All of them run large arrays on several threads
(``threads=``, see ``_threads``). The kernels and ``apply_lut`` can be called inside
your own ``@njit`` functions too (``_njit``), and ``edgeact.kernels.scalar`` holds the element
functions for fusing into your own loops.

Every kernel has the type ``Kernel``. ``TRACKED_RUNTIMES`` names the runtime release each
``compat`` reproduces; building a table for a compat warns once (``RuntimeVersionWarning``) if the
installed runtime's major.minor differs from it.
"""

from edgeact.catalogue import ACTIVATIONS
from edgeact.kernels import scalar
from edgeact.kernels._checks import ACCURACIES, COMPATS, Accuracy, Compat
from edgeact.kernels._lut import apply_lut, make_lut
from edgeact.kernels._njit import overload_apply_lut, overload_kernel
from edgeact.kernels._public import Kernel, float16_table, make_kernel
from edgeact.kernels._quantized import TRACKED_RUNTIMES, RuntimeVersionWarning, TrackedRuntime
from edgeact.kernels.integer import gelu_poly_int, silu_poly_int


def _kernel(name: str) -> Kernel:
    """The public kernel for ``name``, callable from Python and from ``@njit`` code."""
    act = ACTIVATIONS[name]
    kernel = make_kernel(name, scalar.ELEMENTS[name], act.params, act.formula)
    overload_kernel(kernel, name, scalar.ELEMENTS[name], act.params, float16_table)
    return kernel


KERNELS: dict[str, Kernel] = {
    name: _kernel(name) for name in ACTIVATIONS if name in scalar.ELEMENTS
}
globals().update(KERNELS)
overload_apply_lut(apply_lut)
# Kernels named like a family module of this package: declared, so that type checkers take
# ``edgeact.kernels.relu`` for the kernel it is at run time, not for the module.
relu: Kernel
sigmoid: Kernel
gelu: Kernel

__all__ = [
    "ACCURACIES",
    "COMPATS",
    "KERNELS",
    "TRACKED_RUNTIMES",
    "Accuracy",
    "Compat",
    "Kernel",
    "RuntimeVersionWarning",
    "TrackedRuntime",
    "apply_lut",
    "emulates",
    "gelu_poly_int",
    "get",
    "implementation_of",
    "lookup_paths",
    "make_lut",
    "scalar",
    "silu_poly_int",
    *KERNELS,
]


def get(name: str) -> Kernel:
    """The public kernel for a catalogue name; ValueError naming what is wrong otherwise.

    A record added after import (``catalogue.registered``) gets a kernel built from its element
    function in ``scalar.ELEMENTS``.
    """
    if name in KERNELS:
        return KERNELS[name]
    act = ACTIVATIONS.get(name)
    if act is not None and act.elementwise and name in scalar.ELEMENTS:
        return _kernel(name)
    if name in ACTIVATIONS:
        raise ValueError(
            f"activation {name!r} has no float kernel yet; kernels: {', '.join(KERNELS)}"
        )
    raise ValueError(f"unknown activation {name!r}; kernels: {', '.join(KERNELS)}")


def implementation_of(name: str, dtype, accuracy: str = "fast") -> str:
    """Which code path ``name`` runs on ``dtype`` arrays, as benchmark records name it.

    float32 in float32 or in float64 (see ``accuracy`` in the kernels' docstrings); float16
    through float32 (where the CPU converts float16 in hardware) or a 65 536-entry table (AVX-512F
    or AVX2 gather, or portable); int8/uint8 the byte lookup (AVX-512 VBMI, AVX-512BW, AVX2, NEON
    or portable).
    """
    import numpy as np

    from edgeact.kernels import _float32, _half

    dtype = np.dtype(dtype)
    if dtype == np.float32:
        in_float32 = _float32.computes_in_float32(name, accuracy)
        return "float32 in float32" if in_float32 else "float32 in float64"
    if dtype == np.float16:
        if name in _half.HALF_CODE_ELEMENTS:
            return "float16 bits compared"
        if name in _half.HALF_ARITHMETIC:
            return "float16 in float32"
        return f"float16 table ({lookup_paths()['float16']})"
    return f"byte lookup ({lookup_paths()['int8']})"


def lookup_paths() -> dict[str, str]:
    """The table-lookup loops chosen for this CPU: {"int8": ..., "float16": ...}.

    The best path the CPU has (``_simd.BYTE_LOOPS``/``HALF_LOOPS``, e.g. "avx512vbmi" /
    "avx512f"), else "portable" (also with ``EDGEACT_PORTABLE=1``); ``EDGEACT_BYTE_LUT`` /
    ``EDGEACT_HALF_LUT`` force one.
    """
    from edgeact.kernels import _simd

    return {"int8": _simd.BYTE_LUT_IMPLEMENTATION, "float16": _simd.HALF_LUT_IMPLEMENTATION}


def emulates(compat: str, name: str) -> bool:
    """Whether ``compat``'s int8 tables reproduce that runtime's own float kernel for ``name``.

    Where they do not, the table is the catalogue reference's, which the runtime may miss by a
    code: benchmarks compare the runtime against edgeact only where this is True.
    """
    if compat == "onnxruntime":
        from edgeact.kernels._onnxruntime import ORT_FLOAT_OPS

        return name in ORT_FLOAT_OPS
    if compat in ("tflite", "xnnpack"):
        return ACTIVATIONS[name].tflite_form() is not None
    raise ValueError(f"unknown compat {compat!r}; known: onnxruntime, tflite, xnnpack")


def __getattr__(name: str) -> Kernel:
    """Only reached for names this module does not define (the kernels are in its globals). It
    exists for type checkers, which cannot see kernels made at import: to them every
    ``edgeact.kernels.<name>`` not defined above is a ``Kernel``."""
    raise AttributeError(f"module 'edgeact.kernels' has no attribute {name!r}")
