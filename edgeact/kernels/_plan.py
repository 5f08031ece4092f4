"""What a public kernel runs for one input dtype and parameter set, and the short way to run it.

A call to ``edgeact.kernels.hardswish`` on a small array costs more in Python than in its loop:
checking every argument, building the table's cache key (hashing QuantParams), viewing codes as
bytes, cutting the array into 1-D parts, and Numba's argument typing, through ``apply_threads``
and ``apply_1d``, took 1.6-2.2 µs for 16 float32 values and 2.7 µs for 16 int8 codes, where
NumPy's ``np.take(table, codes, out=out)`` takes 1.1 µs. So a kernel resolves its arguments once
into a ``Plan`` and remembers it by the identity of the arguments that chose it (``remember``).
A later call with the same dtype, the same QuantParams objects and no parameters goes straight to
``Plan.entry``: one compiled call on the whole C-contiguous array, which flattens it and views
codes as bytes inside Numba, where that is free (16 values: ~1.0 µs float32, ~1.0-1.1 µs int8).
Everything else (other layouts, arrays large enough for threads, an ``out`` that is not a plain
match, parameters) takes ``Plan.run``, the general path, with the same loops and so the same bits.

float16 has no short path: Numba cannot type float16 arrays, so its loops take uint16 views made
in Python.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numba
import numpy as np

from edgeact._jit import jit
from edgeact.kernels import _threads
from edgeact.kernels._loops import specialise
from edgeact.kernels._simd import BYTE_LUT_IMPLEMENTATION, fast_byte_loop

__all__ = ["Plan", "remember", "table_whole", "unary_whole", "with_params_whole"]

_REMEMBERED = 64  # plans per kernel: more distinct QuantParams than this start the cache afresh


@dataclass(frozen=True)
class Plan:
    """How one kernel computes for one input dtype, QuantParams pair, compat, accuracy and
    parameter set.

    run(x, out, threads): any layout and size (``out`` checked, not partly overlapping x).
    whole(x, constant, out): the compiled loop over whole C-contiguous arrays of any rank, or None
    where there is none (float16; ``remember`` keeps only plans that have one).
    """

    run: Callable[[np.ndarray, np.ndarray, int | None], None]
    whole: Callable | None
    constant: object
    out_dtype: np.dtype
    quantization: tuple = (None, None)  # the (x_q, y_q) it was made for
    entries: dict = field(default_factory=dict)  # x.ndim -> the compiled entry (see ``entry``)

    def entry(self, x: np.ndarray, out, threads):
        """The compiled ``entry(x, constant, out)`` that runs this call as ``run`` would, or
        None where the general path must: x and out (if given) C-contiguous, aligned and
        writeable, out of the result's dtype and x's shape, below the threads' size, ``threads``
        valid (below that size it changes nothing). Errors are left to the general path too.

        The entry is Numba's compiled function for exactly these argument types (x's dtype is
        the plan's, its rank picks the entry), called without Numba's argument typing, which
        took a third of a small call. ``whole`` copies x where out overlaps it partly, as
        ``run``'s caller does."""
        if x.nbytes >= _threads.THREADED_BYTES or not x.flags.carray:
            return None
        if threads is not None and (type(threads) is not int or threads < 1):
            return None
        if out is not None and not (
            type(out) is np.ndarray
            and out.dtype is self.out_dtype
            and out.shape == x.shape
            and out.flags.carray
        ):
            return None
        entry = self.entries.get(x.ndim)
        if entry is None:
            example = np.empty(x.shape, self.out_dtype) if out is None else out
            signature = tuple(numba.typeof(a) for a in (x, self.constant, example))
            entry = self.entries[x.ndim] = self.whole.compile(signature)
        return entry


def remember(plans: dict, key: tuple, plan: Plan) -> None:
    """plans[key] = plan, if it has a short path. key holds the ids of the plan's QuantParams,
    which the plan holds: no other object can take their ids while the entry lives."""
    if plan.whole is None:
        return
    if len(plans) >= _REMEMBERED:
        plans.clear()
    plans[key] = plan


@jit
def _overlaps_partly(x, out) -> bool:
    """Whether C-contiguous x and out share memory without being the same elements (where a
    loop would overwrite values of x it has not read yet; ``_loops.unaliased`` in Python)."""
    start, other = x.ctypes.data, out.ctypes.data
    return start != other and start < other + out.nbytes and other < start + x.nbytes


def _unary_template(x, constant, out):
    if _overlaps_partly(x, out):
        x = x.copy()
    _loop(x.reshape(x.size), out.reshape(out.size))  # noqa: F821 - bound by specialise


def _with_params_template(x, params, out):
    if _overlaps_partly(x, out):
        x = x.copy()
    _loop(x.reshape(x.size), out.reshape(out.size), params)  # noqa: F821


def _table_template(x, table, out):
    if _overlaps_partly(x, out):
        x = x.copy()
    codes, results = x.reshape(x.size).view(np.uint8), out.reshape(out.size).view(np.uint8)
    _loop(codes, table, results)  # noqa: F821


def unary_whole(name: str, loop):
    """``whole(x, (), out)`` around ``loop(x_1d, out_1d)`` (the float32 loops)."""
    return specialise(_unary_template, name, _loop=loop)


def with_params_whole(name: str, loop):
    """``whole(x, params, out)`` around ``loop(x_1d, out_1d, params)`` (``map_loop``'s)."""
    return specialise(_with_params_template, name, _loop=loop)


def table_whole():
    """``whole(x, table, out)`` over int8/uint8 codes, with this CPU's byte-table loop."""
    return specialise(_table_template, BYTE_LUT_IMPLEMENTATION, _loop=fast_byte_loop)
