"""What a public kernel runs for one input dtype and parameter set, and the short way to run it.

A call to ``edgeact.kernels.hardswish`` on a small array costs more in Python than in its loop:
checking every argument, building the table's cache key (hashing QuantParams), viewing codes as
bytes, cutting the array into 1-D parts, and Numba's argument typing, through ``apply_threads``
and ``apply_1d``, took 1.6-2.2 µs for 16 float32 values and 2.7 µs for 16 int8 codes, where
NumPy's ``np.take(table, codes, out=out)`` takes 1.1 µs. So a kernel resolves its arguments once
into a ``Plan`` and remembers it by the identity of the arguments that chose it (``Plans``).
A later call with the same dtype, the same QuantParams objects and no parameters goes straight to
``Plans.call``: one compiled call on the whole array, which checks its layout, flattens it and
views codes as bytes inside Numba, where each of those is cheaper than a Python attribute test
(16 values: ~0.5 µs float32 or int8, two NumPy ufunc calls; LiteRT's ``invoke`` of a one-op
model takes ~0.35 µs). Everything else (other layouts, arrays large enough for
threads, an ``out`` that is not a plain match, parameters) takes ``Plan.run``, the general path,
with the same loops and so the same bits.

"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from edgeact._jit import jit
from edgeact.kernels import _threads
from edgeact.kernels._loops import overlaps_partly, specialise
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
        """Numba's compiled ``whole`` for arrays of x's and out's dtype and rank in any layout
        (compiled now if need be), called as ``entry(x, constant, out, threaded_bytes)`` without
        Numba's argument typing, which took a third of a small call. The entry reads the arrays
        as its types say, unchecked: ``Plans.call`` lets through only x of the plan's dtype, and
        out of the result's dtype, x's rank and writeable; the entry tests the layout itself."""
        entry = self.entries.get(x.ndim)
        if entry is None:
            x_type, out_type = (
                types.Array(numba.from_dtype(a.dtype), a.ndim, "A") for a in (x, out)
            )
            signature = (x_type, numba.typeof(self.constant), out_type, types.intp)
            entry = self.entries[x.ndim] = self.whole.compile(signature)
        return entry


class Plans:
    """One kernel's remembered plans, found by the identity of the arguments that chose them:
    the last one used (five ``is`` tests: hashing a key took 0.15 µs of a 1 µs call) and up to
    ``_REMEMBERED`` more by key. A key holds the ids of the plan's QuantParams, which the plan
    holds: no other object can take their ids while the entry lives."""

    def __init__(self):
        # (x.dtype, x_q, y_q, compat, accuracy, out dtype, constant, entries, plan) of the last
        # plan used, flat: each attribute lookup on a Plan cost ~20 ns of a 0.4 µs call
        self.last: tuple = (None,) * 9
        self.by_key: dict[tuple, Plan] = {}

    def call(self, x: np.ndarray, out, x_q, y_q, compat, accuracy, threads):
        """The kernel's result through a remembered plan's compiled entry, or None where the
        general path must run: no plan for these arguments, ``threads`` not valid, an ``out``
        not of the result's dtype, x's rank and writeable, or (the entry's own checks, compiled
        because each Python attribute test cost 25-45 ns) x and out not C-contiguous, of other
        shapes, or x of ``THREADED_BYTES`` or more. Errors are left to the general
        path too. (One function, as a method call costs 5 % here.)"""
        (
            dtype,
            last_x_q,
            last_y_q,
            last_compat,
            last_accuracy,
            out_dtype,
            constant,
            entries,
            plan,
        ) = self.last
        if not (
            x.dtype is dtype
            and x_q is last_x_q
            and y_q is last_y_q
            and compat is last_compat
            and accuracy is last_accuracy
        ):
            try:
                plan = self.by_key.get((x.dtype, id(x_q), id(y_q), compat, accuracy))
            except TypeError:  # an unhashable compat or accuracy, which the kernel's checks name
                return None
            if plan is None:
                return None
            self.last = _flat(plan)
            out_dtype, constant, entries = plan.out_dtype, plan.constant, plan.entries
        if threads is not None and (type(threads) is not int or threads < 1):
            return None
        if out is None:
            out = np.empty(x.shape, out_dtype)
        elif not (
            type(out) is np.ndarray
            and out.dtype is out_dtype
            and out.ndim == x.ndim
            and out.flags.writeable
        ):
            return None
        try:
            entry = entries[x.ndim]
        except KeyError:
            entry = plan.compiled_entry(x, out)
        return out if entry(x, constant, out, _threads.THREADED_BYTES) else None

    def find(self, chosen_by: tuple) -> Plan | None:
        """The remembered plan for (x.dtype, x_q, y_q, compat, accuracy), checked arguments.
        The general path takes it rather than a new plan: a new one would come without the old
        one's compiled entries, and every call too large for the short path paid ~0.5 ms
        fetching its entry again (12-14 % of relu6 on 8 Mi float32 values)."""
        return self.by_key.get(_key(chosen_by))

    def remember(self, plan: Plan) -> None:
        """Keep ``plan`` if it has a short path."""
        if plan.whole is None:
            return
        if len(self.by_key) >= _REMEMBERED:
            self.by_key.clear()
        self.by_key[_key(plan.chosen_by)] = plan
        self.last = _flat(plan)


def _key(chosen_by: tuple) -> tuple:
    """``by_key``'s key for (x.dtype, x_q, y_q, compat, accuracy): the QuantParams by identity.
    (``Plans.call`` builds the same key inline: a function call cost ~5 % of a short call.)"""
    dtype, x_q, y_q, compat, accuracy = chosen_by
    return dtype, id(x_q), id(y_q), compat, accuracy


def _flat(plan: Plan) -> tuple:
    return (*plan.chosen_by, plan.out_dtype, plan.constant, plan.entries, plan)


@intrinsic
def _flat_view(typingctx, a):
    """The elements of C-contiguous ``a`` (any layout type: the caller checked the strides) as a
    1-D C-contiguous array on the same memory, which Numba's reshape gives only for arrays
    typed C-contiguous."""
    if not isinstance(a, types.Array):
        return None
    flat = types.Array(a.dtype, 1, "C", readonly=not a.mutable)

    def codegen(context, builder, signature, args):
        source = context.make_array(a)(context, builder, args[0])
        view = context.make_array(flat)(context, builder)
        size = context.get_constant(types.intp, 1)
        for extent in cgutils.unpack_tuple(builder, source.shape, a.ndim):
            size = builder.mul(size, extent)
        context.populate_array(
            view,
            data=source.data,
            shape=cgutils.pack_array(builder, [size]),
            strides=cgutils.pack_array(builder, [source.itemsize]),
            itemsize=source.itemsize,
            meminfo=source.meminfo,
            parent=source.parent,
        )
        value = view._getvalue()
        context.nrt.incref(builder, flat, value)
        return value

    return flat(a), codegen


@jit
def _fits(x, out, threaded_bytes) -> bool:
    """Whether the short path may run: x and out C-contiguous, of one shape, x below the size
    from which threads run (passed in, not compiled in, so that it stays one module setting)."""
    return (
        x.flags.c_contiguous
        and out.flags.c_contiguous
        and x.shape == out.shape
        and x.nbytes < threaded_bytes
    )


# Numba's nogil wrapper releases the GIL around every call: ~40 ns, a tenth of a small call. The
# short path's entries keep it (``nogil=False``) and release it themselves from this size of
# input on, where holding it would stop other Python threads for longer than ~3 µs.
_GIL_RELEASED_BYTES = 64 << 10


@intrinsic
def _release_gil_if(typingctx, release):
    """PyEval_SaveThread() if ``release`` (the state to hand back), else NULL. Only for the
    short path's entries: they are called from Python only, with the GIL held."""
    if release != types.boolean:
        return None

    def codegen(context, builder, signature, args):
        nothing = ir.Constant(cgutils.voidptr_t, None)
        entry_block = builder.block
        with builder.if_then(args[0]):
            saved = context.get_python_api(builder).save_thread()
            released_block = builder.block
        state = builder.phi(cgutils.voidptr_t)
        state.add_incoming(nothing, entry_block)
        state.add_incoming(saved, released_block)
        return state

    return types.voidptr(types.boolean), codegen


@intrinsic
def _take_back_gil(typingctx, state):
    """PyEval_RestoreThread(state) unless ``_release_gil_if`` released nothing (NULL)."""
    if state != types.voidptr:
        return None

    def codegen(context, builder, signature, args):
        with builder.if_then(cgutils.is_not_null(builder, args[0])):
            context.get_python_api(builder).restore_thread(args[0])
        return context.get_dummy_value()

    return types.none(types.voidptr), codegen


def _whole_template(x, constant, out, threaded_bytes):
    if not _fits(x, out, threaded_bytes):
        return False
    x, out = _flat_view(x), _flat_view(out)
    if overlaps_partly(x, out):
        x = x.copy()
    gil = _release_gil_if(x.nbytes >= _GIL_RELEASED_BYTES)
    _apply(x, constant, out)  # noqa: F821 - bound by _whole, one of the three below
    _take_back_gil(gil)
    return True


def _unary_apply(x, constant, out):
    _loop(x.view(_code), out.view(_code))  # noqa: F821 - bound by specialise


def _with_params_apply(x, params, out):
    _loop(x, out, params)  # noqa: F821


def _table_apply(x, table, out):
    _loop(x.view(_code), table, out.view(_code))  # noqa: F821


def _whole(apply_template, name: str, **bindings):
    """The short path's compiled ``whole(x, constant, out, threaded_bytes)``: ``apply_template``
    with ``bindings`` runs the loop on the flat views, ``_whole_template`` does the rest."""
    apply = specialise(apply_template, name, **bindings)
    return specialise(_whole_template, name, nogil=False, _apply=apply)


def unary_whole(name: str, loop, code=np.float32):
    """``whole(x, (), out, ...)`` around ``loop(x_1d, out_1d)``, on x and out viewed as
    ``code``: the float32 loops, and float16's (``_half``, on uint16 codes)."""
    return _whole(_unary_apply, name, _loop=loop, _code=code)


def with_params_whole(name: str, loop):
    """``whole(x, params, out, ...)`` around ``loop(x_1d, out_1d, params)`` (``map_loop``'s)."""
    return _whole(_with_params_apply, name, _loop=loop)


def table_whole(code):
    """``whole(x, table, out, ...)`` with this CPU's table loop: over int8/uint8 codes (``code``
    np.uint8) or float16 ones (np.uint16).

    Named on disk after the loop it binds, not the path's label: a test that relabelled the
    path (``_simd.BYTE_LUT_IMPLEMENTATION = "portable"``) once cached the VBMI loop as
    "portable", and every later forced-portable run loaded that."""
    _, loop = fast_table_loop(code)
    return _whole(_table_apply, f"{code.__name__}_{loop.py_func.__name__}", _loop=loop, _code=code)
