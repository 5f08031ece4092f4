"""Lookup tables as values: build one for any element-wise activation, apply one to an array.

``make_lut`` returns exactly the table the kernels use, so a table can be inspected, stored, or
shipped to a device; ``apply_lut`` is the kernels' own gather loop.
"""

import numpy as np
import numpy.typing as npt

from edgeact.catalogue import ACTIVATIONS
from edgeact.kernels._checks import Compat, check_array, check_compat, checked_out, param_values
from edgeact.kernels._loops import unaliased
from edgeact.kernels._public import DEFAULT_COMPAT, float16_table, run_table
from edgeact.kernels._quantized import quantized_table
from edgeact.kernels._threads import check_threads
from edgeact.kernels.scalar import ELEMENTS
from edgeact.quant import QuantParams

__all__ = ["apply_lut", "make_lut"]


def make_lut(
    name: str,
    x_q: QuantParams | npt.DTypeLike,
    y_q: QuantParams | None = None,
    compat: Compat = DEFAULT_COMPAT,
    **params: float,
) -> np.ndarray:
    """The table of activation ``name`` (read-only, cached).

    ``make_lut(name, x_q, y_q, compat)`` with two ``QuantParams``: 256 output codes of dtype
    ``y_q.dtype``, entry ``i`` for the input code whose byte is ``i`` (apply as
    ``table[q.view(np.uint8)]``). ``make_lut(name, np.float16)``: 65 536 float16 results,
    entry ``i`` for the float16 whose bits are ``i``, each the float64 result rounded to nearest.
    """
    if name not in ELEMENTS:
        raise ValueError(f"unknown activation {name!r}; element-wise ones: {', '.join(ELEMENTS)}")
    defaults = dict(ACTIVATIONS[name].params)
    values = param_values(name, defaults, params)
    if _is_float16(x_q):
        if y_q is not None:
            raise TypeError("make_lut: a float16 table takes no y_q")
        return float16_table(ELEMENTS[name], values).view(np.float16)
    check_compat("make_lut", compat)
    for label, q in (("x_q", x_q), ("y_q", y_q)):
        if not isinstance(q, QuantParams):
            raise TypeError(
                f"make_lut: {label} must be an edgeact.QuantParams (or x_q=np.float16 for a "
                f"float16 table), got {q!r}"
            )
    table = quantized_table(name, tuple(zip(defaults, values, strict=True)), x_q, y_q, compat)
    return table.view(y_q.dtype)


def apply_lut(
    q: np.ndarray, table: np.ndarray, out: np.ndarray | None = None, *, threads: int | None = None
) -> np.ndarray:
    """out[...] = table[q[...]]: a 256-entry table on int8/uint8 codes (indexed by their byte),
    or a 65 536-entry float16 table on float16 values (indexed by their bits). ``threads`` as
    the kernels take it: the most threads to use on a large array (None: Numba's count)."""
    check_array("apply_lut", q)
    if threads is not None:
        check_threads("apply_lut", threads)
    if not isinstance(table, np.ndarray) or table.ndim != 1:
        raise TypeError("apply_lut: table must be a 1-D NumPy array")
    sizes = {1: 256, 2: 1 << 16}
    wanted = sizes.get(q.dtype.itemsize)
    if q.dtype.kind == "f" and q.dtype != np.float16:
        raise TypeError(f"apply_lut: tables apply to int8, uint8 or float16 arrays, not {q.dtype}")
    if table.size != wanted or table.dtype.itemsize != q.dtype.itemsize:
        raise ValueError(
            f"apply_lut: a {q.dtype} array needs a table of {wanted} {q.dtype.itemsize}-byte "
            f"entries, got {table.size} of dtype {table.dtype}"
        )
    out = checked_out("apply_lut", q, table.dtype, out)
    codes = np.ascontiguousarray(table).view(np.uint8 if wanted == 256 else np.uint16)
    return run_table(unaliased(q, out), codes, out, threads)


def _is_float16(x_q) -> bool:
    try:
        return not isinstance(x_q, QuantParams) and np.dtype(x_q) == np.float16
    except TypeError:
        return False
