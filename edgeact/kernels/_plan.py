"""What a public kernel runs for one input dtype and parameter set, and the short way to run it.

A call to ``edgeact.kernels.hardswish`` on a small array costs more in Python than in its loop:
checking every argument, building the table's cache key (hashing QuantParams), viewing codes as
bytes, cutting the array into 1-D parts, and Numba's argument typing, through ``apply_threads``
and ``apply_1d``, took 1.6-2.2 µs for 16 float32 values and 2.7 µs for 16 int8 codes, where
NumPy's ``np.take(table, codes, out=out)`` takes 1.1 µs. So a kernel resolves its arguments once
into a ``Plan`` and remembers it by the identity of the arguments that chose it (``Plans``).
A later call with the same dtype, the same QuantParams objects and no parameters goes straight to
``Plans.call``: one compiled call on the whole C-contiguous array, which flattens it and views
codes as bytes inside Numba, where that is free (16 values: ~0.8 µs float32, ~0.9 µs int8).
Everything else (other layouts, arrays large enough for threads, an ``out`` that is not a plain
match, parameters) takes ``Plan.run``, the general path, with the same loops and so the same bits.

"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numba
import numpy as np

from edgeact._jit import jit
from edgeact.kernels import _threads
from edgeact.kernels._loops import specialise
from edgeact.kernels._simd import fast_table_loop

__all__ = ["Plan", "Plans", "table_whole", "unary_whole", "with_params_whole"]

_REMEMBERED = 64  # plans per kernel: more distinct QuantParams than this start the cache afresh


@dataclass(frozen=True)
class Plan:
    """How one kernel computes for one input dtype, QuantParams pair, compat, accuracy and
    parameter set.

    run(x, out, threads): any layout and size (``out`` checked, not partly overlapping x).
    whole(x, constant, out): the compiled loop over whole C-contiguous arrays of any rank (None:
    no short path; ``Plans`` keeps only plans that have one).
    """

    run: Callable[[np.ndarray, np.ndarray, int | None], None]
    whole: Callable | None
    constant: object
    out_dtype: np.dtype
    chosen_by: tuple  # the (x.dtype, x_q, y_q, compat, accuracy) it was made for
    entries: dict = field(default_factory=dict)  # x.ndim -> ``compiled_entry``

    def compiled_entry(self, x: np.ndarray, out: np.ndarray):
        """Numba's compiled ``whole`` for exactly the types of x, ``constant`` and out (compiled
        now if need be), to be called as ``entry(x, constant, out)`` without Numba's argument
        typing, which took a third of a small call. Kept per rank of x (its dtype is the plan's,
        and ``Plans.call`` lets only C-contiguous, aligned, writeable arrays through)."""
        entry = self.entries.get(x.ndim)
        if entry is None:
            signature = tuple(numba.typeof(a) for a in (x, self.constant, out))
            entry = self.entries[x.ndim] = self.whole.compile(signature)
        return entry


class Plans:
    """One kernel's remembered plans, found by the identity of the arguments that chose them:
    the last one used (five ``is`` tests: hashing a key took 0.15 µs of a 1 µs call) and up to
    ``_REMEMBERED`` more by key. A key holds the ids of the plan's QuantParams, which the plan
    holds: no other object can take their ids while the entry lives."""

    def __init__(self):
        self.last: Plan | None = None
        self.by_key: dict[tuple, Plan] = {}

    def call(self, x: np.ndarray, out, x_q, y_q, compat, accuracy, threads):
        """The kernel's result through a remembered plan's compiled entry, or None where the
        general path must run: no plan for these arguments, or not x and out (if given)
        C-contiguous, aligned and writeable, out of the result's dtype and x's shape, x below
        the threads' size and ``threads`` valid (below that size it changes nothing). Errors
        are left to the general path too. (One function, as a method call costs 5 % here.)"""
        plan = self.last
        if plan is None or not (
            x_q is plan.chosen_by[1]
            and y_q is plan.chosen_by[2]
            and compat is plan.chosen_by[3]
            and accuracy is plan.chosen_by[4]
            and x.dtype is plan.chosen_by[0]
        ):
            try:
                plan = self.by_key.get((x.dtype, id(x_q), id(y_q), compat, accuracy))
            except TypeError:  # an unhashable compat or accuracy, which the kernel's checks name
                return None
            if plan is None:
                return None
            self.last = plan
        if x.nbytes >= _threads.THREADED_BYTES or not x.flags.carray:
            return None
        if threads is not None and (type(threads) is not int or threads < 1):
            return None
        if out is None:
            out = np.empty(x.shape, plan.out_dtype)
        elif not (
            type(out) is np.ndarray
            and out.dtype is plan.out_dtype
            and out.shape == x.shape
            and out.flags.carray
        ):
            return None
        entry = plan.entries.get(x.ndim) or plan.compiled_entry(x, out)
        entry(x, plan.constant, out)
        return out

    def remember(self, plan: Plan) -> None:
        """Keep ``plan`` if it has a short path."""
        if plan.whole is None:
            return
        if len(self.by_key) >= _REMEMBERED:
            self.by_key.clear()
        dtype, x_q, y_q, compat, accuracy = plan.chosen_by
        self.by_key[dtype, id(x_q), id(y_q), compat, accuracy] = self.last = plan


@jit
def _overlaps_partly(x, out) -> bool:
    """Whether C-contiguous x and out share memory without being the same elements (where a
    loop would overwrite values of x it has not read yet; ``_loops.unaliased`` in Python)."""
    start, other = x.ctypes.data, out.ctypes.data
    return start != other and start < other + out.nbytes and other < start + x.nbytes


def _unary_template(x, constant, out):
    if _overlaps_partly(x, out):
        x = x.copy()
    _loop(x.reshape(x.size).view(_code), out.reshape(out.size).view(_code))  # noqa: F821


def _with_params_template(x, params, out):
    if _overlaps_partly(x, out):
        x = x.copy()
    _loop(x.reshape(x.size), out.reshape(out.size), params)  # noqa: F821 - bound by specialise


def _table_template(x, table, out):
    if _overlaps_partly(x, out):
        x = x.copy()
    _loop(x.reshape(x.size).view(_code), table, out.reshape(out.size).view(_code))  # noqa: F821


def unary_whole(name: str, loop, code=np.float32):
    """``whole(x, (), out)`` around ``loop(x_1d, out_1d)``, on x and out viewed as ``code``:
    the float32 loops, and float16's (``_half``, on uint16 codes)."""
    return specialise(_unary_template, name, _loop=loop, _code=code)


def with_params_whole(name: str, loop):
    """``whole(x, params, out)`` around ``loop(x_1d, out_1d, params)`` (``map_loop``'s)."""
    return specialise(_with_params_template, name, _loop=loop)


def table_whole(code):
    """``whole(x, table, out)`` with this CPU's table loop: over int8/uint8 codes (``code``
    np.uint8) or float16 ones (np.uint16)."""
    path, loop = fast_table_loop(code)
    return specialise(_table_template, f"{code.__name__}_{path}", _loop=loop, _code=code)
