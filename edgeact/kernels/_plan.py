"""What a public kernel runs for one input dtype and parameter set, and the short way to run it.

A call to ``edgeact.kernels.hardswish`` on a small array costs more in Python than in its loop:
checking every argument, building the table's cache key (hashing QuantParams), viewing codes as
bytes, cutting the array into 1-D parts, and Numba's argument typing, through ``apply_threads``
and ``apply_1d``, took 1.6-2.2 µs for 16 float32 values and 2.7 µs for 16 int8 codes, where
NumPy's ``np.take(table, codes, out=out)`` takes 1.1 µs. So a kernel resolves its arguments once
into a ``Plan`` and remembers it by the identity of the arguments that chose it (``Plans``).
A later call with the same dtype, the same QuantParams objects and no parameters is answered by
the kernel's gate (``_gate``), a builtin function that checks it against the installed plan and
runs the plan's compiled loop without Python. Where the gate declines, ``Plans.call`` installs
another remembered plan or makes the ``out``, and asks again. Everything else (other layouts,
arrays large enough for threads, an ``out`` that is not a plain match, parameters) takes
``Plan.run``, the general path, with the same loops and so the same bits.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import carray

from edgeact.kernels import _gate, _threads
from edgeact.kernels._gate import LOOP_SIGNATURE, State
from edgeact.kernels._loops import specialise
from edgeact.kernels._simd import fast_table_loop

__all__ = ["EVERY_PLANS", "Plan", "Plans", "table_c_loop", "unary_c_loop", "with_params_c_loop"]

_REMEMBERED = 64  # plans per kernel: more distinct QuantParams than this start the cache afresh


@dataclass(frozen=True)
class Plan:
    """How one kernel computes for one input dtype, QuantParams pair, compat, accuracy and
    parameter set.

    run(x, out, threads): any layout and size (``out`` checked, not partly overlapping x).
    c_loop: the compiled C function ``loop(x data, constant data, out data, count)`` over whole
    C-contiguous arrays (``_gate.LOOP_SIGNATURE``), or None: no short path (parameters given;
    ``Plans`` keeps only plans that have one). constant: the array it reads (a table), or None.
    """

    run: Callable[[np.ndarray, np.ndarray, int | None], None]
    c_loop: object | None
    constant: np.ndarray | None
    out_dtype: np.dtype
    chosen_by: tuple  # the (x.dtype, x_q, y_q, compat, accuracy) it was made for


EVERY_PLANS: list["Plans"] = []  # one per kernel, for tests that count or turn off short calls


class Plans:
    """One kernel's remembered plans and its short path, ``gate`` (``_gate``): the gate answers
    for the plan installed in its state, the last one used; up to ``_REMEMBERED`` more are kept
    by key. A key holds the ids of the plan's QuantParams, which the plan holds: no other object
    can take their ids while it is kept."""

    def __init__(self, name: str):
        self.gate, self.state = _gate.new_gate(f"{name}_short_path")
        self.installed: tuple = (None,) * 6  # (*chosen_by, plan) of the plan in the state
        self.by_key: dict[tuple, Plan] = {}
        EVERY_PLANS.append(self)

    def call(self, x: np.ndarray, out, x_q, y_q, compat, accuracy, threads):
        """The short path for a call the gate declined: another remembered plan, installed now.
        None where the general path must run: no other plan (the gate saw the installed one and
        declined), or the gate declines again (module docstring of ``_gate``); errors are left
        to the general path too."""
        dtype, installed_x_q, installed_y_q, installed_compat, installed_accuracy, _ = (
            self.installed
        )
        if (
            x.dtype is dtype
            and x_q is installed_x_q
            and y_q is installed_y_q
            and compat is installed_compat
            and accuracy is installed_accuracy
        ):
            return None
        chosen_by = (x.dtype, x_q, y_q, compat, accuracy)
        try:
            plan = self.by_key.get(_key(chosen_by))
        except TypeError:  # an unhashable compat or accuracy, which the kernel's checks name
            return None
        if plan is None:
            return None
        self._install(plan, chosen_by)
        return self.gate(x, out, x_q, y_q, compat, accuracy, threads, _threads.THREADED_BYTES)

    def find(self, chosen_by: tuple) -> Plan | None:
        """The remembered plan for (x.dtype, x_q, y_q, compat, accuracy), checked arguments.
        The general path takes it rather than a new plan, whose compiled loop would have to be
        fetched again (~0.5 ms through Numba: 12-14 % of relu6 on 8 Mi float32 values)."""
        return self.by_key.get(_key(chosen_by))

    def remember(self, plan: Plan) -> None:
        """Keep ``plan`` and install it, if it has a short path."""
        if plan.c_loop is None:
            return
        if len(self.by_key) >= _REMEMBERED:
            self.by_key.clear()
        self.by_key[_key(plan.chosen_by)] = plan
        self._install(plan, plan.chosen_by)

    @property
    def taken(self) -> int:
        """How many calls the gate has answered."""
        return int(self.state[State.TAKEN])

    def _install(self, plan: Plan, chosen_by: tuple) -> None:
        """Make ``plan`` the one the gate answers for, for the objects of ``chosen_by`` (the
        plan's, or a call's equal ones: a compat string built at run time is another object),
        which ``installed`` keeps alive. Where the arrays' layout is not the one the gate reads,
        the gate stays empty and declines every call. The loop's address goes in last, so the
        gate never sees half a plan."""
        self.installed = (*chosen_by, plan)
        if not _gate.LAYOUT_MATCHES:
            return
        dtype, x_q, y_q, compat, accuracy = chosen_by
        state, constant = self.state, plan.constant
        state[State.LOOP] = 0
        state[State.X_DTYPE], state[State.OUT_DTYPE] = id(dtype), id(plan.out_dtype)
        state[State.X_Q], state[State.Y_Q] = id(x_q), id(y_q)
        state[State.COMPAT], state[State.ACCURACY] = id(compat), id(accuracy)
        state[State.ITEMSIZE] = dtype.itemsize
        state[State.CONSTANT] = 0 if constant is None else id(constant)
        state[State.CONSTANT_DATA] = 0 if constant is None else constant.ctypes.data
        state[State.LOOP] = plan.c_loop.address


def _key(chosen_by: tuple) -> tuple:
    """``by_key``'s key for (x.dtype, x_q, y_q, compat, accuracy): the QuantParams by identity."""
    dtype, x_q, y_q, compat, accuracy = chosen_by
    return dtype, id(x_q), id(y_q), compat, accuracy


def _unary_template(x, constant, out, count):
    _loop(carray(x, count, _code), carray(out, count, _code))  # noqa: F821 - bound by specialise


def _with_params_template(x, constant, out, count):
    _loop(carray(x, count, np.float32), carray(out, count, np.float32), _params)  # noqa: F821


def _table_template(x, table, out, count):
    codes, entries = carray(x, count, _code), carray(table, _entries, _code)  # noqa: F821
    _loop(codes, entries, carray(out, count, _code))  # noqa: F821


def _c_loop(template, name: str, **bindings):
    return specialise(template, name, signature=LOOP_SIGNATURE, **bindings)


def unary_c_loop(name: str, loop, code=np.float32):
    """The short path's C loop around ``loop(x_1d, out_1d)``, on x and out viewed as ``code``:
    the float32 loops, and float16's (``_half``, on uint16 codes)."""
    return _c_loop(_unary_template, name, _loop=loop, _code=code)


def with_params_c_loop(name: str, loop, values: tuple[float, ...]):
    """The C loop around ``loop(x_1d, out_1d, values)`` (``map_loop``'s, on float32), the values
    compiled in (and in its name: the short path only ever runs a kernel's defaults)."""
    digest = hashlib.sha1(repr(values).encode()).hexdigest()[:8]
    return _c_loop(_with_params_template, f"{name}_{digest}", _loop=loop, _params=values)


def table_c_loop(code):
    """The C loop of this CPU's table loop: over int8/uint8 codes (``code`` np.uint8, 256-entry
    tables) or float16 ones (np.uint16, 65 536 entries).

    Named on disk after the loop it binds, not the path's label: a test that relabelled the
    path (``_simd.BYTE_LUT_IMPLEMENTATION = "portable"``) once cached the VBMI loop as
    "portable", and every later forced-portable run loaded that."""
    _, loop = fast_table_loop(code)
    entries = 1 << (8 * np.dtype(code).itemsize)
    name = f"{code.__name__}_{loop.py_func.__name__}"
    return _c_loop(_table_template, name, _loop=loop, _code=code, _entries=entries)
