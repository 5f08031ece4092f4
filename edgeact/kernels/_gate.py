"""The short path's C-level entry: a builtin function, compiled by Numba, that checks a repeated
call against the remembered plan and runs the plan's loop, all without Python.

A short call cost ~0.6 µs through Python and Numba's compiled entry: the checks in Python, and
Numba unboxing two arrays. LiteRT's ``invoke`` of a one-op model takes ~0.35 µs and a NumPy
ufunc ~0.3 µs, so at 3 Ki float32 values edgeact trailed XNNPACK 0.56×. This entry is a
``METH_FASTCALL`` builtin (made with ``PyCFunction_NewEx`` from a Numba ``cfunc``); it reads the
arrays' ``PyArrayObject`` fields directly and takes ~30 ns for 16 values.

    gate(x, out, x_q, y_q, compat, accuracy, threads, threaded_bytes) -> out, or None

It answers only where the plan in its state (``State``, the builtin's ``self``) applies: x and out
exactly ``np.ndarray``, of the plan's dtypes (by descriptor identity, as ``x.dtype is dtype``),
C-contiguous, of one shape, out writeable, not overlapping x partly, x below ``threaded_bytes``,
x_q, y_q, compat and accuracy the plan's objects, ``threads`` None or an int >= 1; an ``out`` of
None it makes itself. Everything else returns None, and the caller takes the general path, which
checks and names what is wrong.

The field offsets are NumPy's ``PyArrayObject_fields`` on a 64-bit CPython: the object header,
then data, nd, dimensions, strides, base, descr, flags. ``LAYOUT_MATCHES`` checks them on probe
arrays at import, and NumPy's C API table by the type it holds; where either differs (another
ABI) no plan is ever installed and every call takes the general path.
"""

import ctypes
import functools
import typing

import numpy as np
from llvmlite import ir
from numba import carray, types
from numba.core import cgutils
from numba.extending import intrinsic

from edgeact._jit import c_function, jit, pointer_at

__all__ = ["LAYOUT_MATCHES", "State", "new_gate"]

_WORD = 8
_TYPE, _DATA, _ND, _DIMENSIONS, _DESCR, _FLAGS = 8, 16, 24, 32, 56, 64
_C_CONTIGUOUS, _WRITEABLE = 0x0001, 0x0400  # NPY_ARRAY_C_CONTIGUOUS, NPY_ARRAY_WRITEABLE
_NPY_CORDER = 0
# NumPy's C API is a table of pointers, its indices fixed by its ABI (numpy/__multiarray_api.h):
# PyArray_Type at 2, PyArray_NewLikeArray at 277.
_ARRAY_TYPE, _NEW_LIKE_ARRAY = 2, 277
_ARGUMENTS = 8
# Input bytes from which the loop runs with the GIL released: below, holding it costs other
# Python threads under ~3 µs, and releasing it costs ~40 ns.
GIL_RELEASED_BYTES = 64 << 10


class _Words(typing.NamedTuple):
    """Word indices of a gate's state, an int64 array (``new_gate``): the plan it answers for
    (``LOOP`` zero: none; ``CONSTANT``: its table, or 0) and this process's object addresses,
    which compiled code cannot hold. ``TAKEN`` counts the calls answered. (A named tuple, not an
    IntEnum: Numba 0.60 cannot index arrays with IntEnum members.)"""

    X_DTYPE: int
    X_Q: int
    Y_Q: int
    COMPAT: int
    ACCURACY: int
    OUT_DTYPE: int
    ITEMSIZE: int
    LOOP: int
    CONSTANT: int
    CONSTANT_DATA: int
    NDARRAY: int
    INT: int
    NONE: int
    NEW_LIKE: int
    TAKEN: int


State = _Words(*range(len(_Words._fields)))
_STATE_WORDS = len(State)


def _layout_matches() -> bool:
    """Whether ndarrays here have the fields where the gate reads them."""
    if ctypes.sizeof(ctypes.c_void_p) != _WORD:
        return False
    for a in (np.zeros((3, 5), np.float32), np.zeros(7, np.int8), np.zeros((), np.float16)):
        address = id(a)

        def word(offset, kind=ctypes.c_int64):
            return kind.from_address(address + offset).value  # noqa: B023 - used at once

        dims = word(_DIMENSIONS)
        shape = tuple(ctypes.c_int64.from_address(dims + _WORD * i).value for i in range(a.ndim))
        if not (
            word(_TYPE) == id(np.ndarray)
            and word(_DATA) == a.ctypes.data
            and word(_ND, ctypes.c_int32) == a.ndim
            and shape == a.shape
            and word(_DESCR) == id(a.dtype)
            and word(_FLAGS, ctypes.c_int32) == a.flags.num
        ):
            return False
    return True


def _numpy_api():
    """NumPy's C API table (what ``import_array()`` gives C extensions)."""
    pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
        ("PyCapsule_GetPointer", ctypes.pythonapi)
    )
    table = pointer(np._core._multiarray_umath._ARRAY_API, None)
    return (ctypes.c_void_p * (_NEW_LIKE_ARRAY + 1)).from_address(table)


_NUMPY_API = _numpy_api()
LAYOUT_MATCHES = _layout_matches() and _NUMPY_API[_ARRAY_TYPE] == id(np.ndarray)


def _read(kind: ir.IntType):
    def read(typingctx, address, offset):
        def codegen(context, builder, signature, args):
            pointer = builder.inttoptr(builder.add(args[0], args[1]), kind.as_pointer())
            value = builder.load(pointer)
            return value if kind.width == 64 else builder.sext(value, ir.IntType(64))

        return types.int64(types.int64, types.int64), codegen

    return intrinsic(read)


_word = _read(ir.IntType(64))  # the 8 bytes at address + offset
_int32 = _read(ir.IntType(32))


def _on_object(call):
    """An intrinsic ``f(address)`` running ``call(pyapi, object)`` on the object at ``address``."""

    def on_object(typingctx, address):
        def codegen(context, builder, signature, args):
            pyapi = context.get_python_api(builder)
            call(pyapi, builder.inttoptr(args[0], pyapi.pyobj))
            return ir.Constant(ir.IntType(64), 0)

        return types.int64(types.int64), codegen

    return intrinsic(on_object)


_incref = _on_object(lambda pyapi, o: pyapi.incref(o))
_decref = _on_object(lambda pyapi, o: pyapi.decref(o))


@intrinsic
def _index(typingctx, address):
    """The int object at ``address`` as an int64, -1 where it does not fit (error cleared)."""

    def codegen(context, builder, signature, args):
        pyapi = context.get_python_api(builder)
        value = pyapi.long_as_longlong(builder.inttoptr(args[0], pyapi.pyobj))
        with builder.if_then(builder.icmp_signed("==", value, value.type(-1))):
            pyapi.err_clear()
        return value

    return types.int64(types.int64), codegen


@intrinsic
def _new_like(typingctx, function, x, dtype):
    """A new C-ordered array of x's shape and ``dtype`` (a reference to it is given away) through
    NumPy's ``PyArray_NewLikeArray`` at address ``function``: its address, or 0 where it raised
    (the error cleared)."""

    def codegen(context, builder, signature, args):
        pyapi = context.get_python_api(builder)
        i32 = ir.IntType(32)
        kind = ir.FunctionType(pyapi.pyobj, [pyapi.pyobj, i32, pyapi.pyobj, i32])
        x, dtype = (builder.inttoptr(a, pyapi.pyobj) for a in args[1:])
        pyapi.incref(dtype)
        new_like = builder.inttoptr(args[0], kind.as_pointer())
        result = builder.call(new_like, [x, i32(_NPY_CORDER), dtype, i32(0)])  # subok 0
        with builder.if_then(cgutils.is_null(builder, result)):
            pyapi.err_clear()
        return builder.ptrtoint(result, ir.IntType(64))

    return types.int64(types.int64, types.int64, types.int64), codegen


@intrinsic
def _release_gil(typingctx):
    def codegen(context, builder, signature, args):
        return builder.ptrtoint(context.get_python_api(builder).save_thread(), ir.IntType(64))

    return types.int64(), codegen


@intrinsic
def _take_back_gil(typingctx, saved):
    def codegen(context, builder, signature, args):
        pyapi = context.get_python_api(builder)
        pyapi.restore_thread(builder.inttoptr(args[0], cgutils.voidptr_t))
        return ir.Constant(ir.IntType(64), 0)

    return types.int64(types.int64), codegen


@intrinsic
def _run_loop(typingctx, loop, x, constant, out, count):
    """Call the function at address ``loop`` as ``loop(x, constant, out, count)``
    (``LOOP_SIGNATURE``)."""

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        kind = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t] * 3 + [i64])
        pointers = [builder.inttoptr(a, cgutils.voidptr_t) for a in args[1:4]]
        builder.call(builder.inttoptr(args[0], kind.as_pointer()), [*pointers, args[4]])
        return ir.Constant(i64, 0)

    return types.int64(types.int64, types.int64, types.int64, types.int64, types.int64), codegen


# What a plan's loop is compiled as: loop(x data, constant data, out data, element count).
LOOP_SIGNATURE = types.void(types.voidptr, types.voidptr, types.voidptr, types.intp)


@jit
def _elements(x):
    rank = _int32(x, _ND)
    dims = carray(pointer_at(_word(x, _DIMENSIONS)), rank, np.int64)
    count = 1
    for extent in dims:
        count *= extent
    return count


@jit
def _same_shape(x, out) -> bool:
    rank = _int32(x, _ND)
    if _int32(out, _ND) != rank:
        return False
    x_dims = carray(pointer_at(_word(x, _DIMENSIONS)), rank, np.int64)
    out_dims = carray(pointer_at(_word(out, _DIMENSIONS)), rank, np.int64)
    for i in range(rank):
        if x_dims[i] != out_dims[i]:
            return False
    return True


@jit
def _x_applies(state, args) -> bool:
    """Whether the plan in ``state`` may run on x with these arguments (``out`` aside)."""
    x, threads = args[0], args[6]
    threads_valid = threads == state[State.NONE] or (
        _word(threads, _TYPE) == state[State.INT] and _index(threads) >= 1
    )
    return (
        state[State.LOOP] != 0
        and args[2] == state[State.X_Q]
        and args[3] == state[State.Y_Q]
        and args[4] == state[State.COMPAT]
        and args[5] == state[State.ACCURACY]
        and _word(x, _TYPE) == state[State.NDARRAY]
        and _word(x, _DESCR) == state[State.X_DTYPE]
        and _int32(x, _FLAGS) & _C_CONTIGUOUS != 0
        and threads_valid
        and _word(args[7], _TYPE) == state[State.INT]
    )


@jit
def _out_fits(state, x, out, size) -> bool:
    """Whether ``out`` can take the plan's result for x (of ``size`` bytes)."""
    both = _C_CONTIGUOUS | _WRITEABLE
    start, other = _word(x, _DATA), _word(out, _DATA)
    overlaps = start != other and start < other + size and other < start + size
    return (
        _word(out, _TYPE) == state[State.NDARRAY]
        and _word(out, _DESCR) == state[State.OUT_DTYPE]
        and _int32(out, _FLAGS) & both == both
        and _same_shape(x, out)
        and not overlaps
    )


@jit
def _run(state, x, out, elements, size) -> None:
    constant = state[State.CONSTANT]
    if constant != 0:  # kept alive while the GIL is away: another call may drop the plan
        _incref(constant)
    released = _release_gil() if size >= GIL_RELEASED_BYTES else 0
    start, other = _word(x, _DATA), _word(out, _DATA)
    _run_loop(state[State.LOOP], start, state[State.CONSTANT_DATA], other, elements)
    if released != 0:
        _take_back_gil(released)
    if constant != 0:
        _decref(constant)
    state[State.TAKEN] += 1


def _gate(state_object, args, count):
    """The answer (a new reference): out, or None. With out None, the out is made here, C-ordered
    like x (NumPy's ``PyArray_NewLikeArray``, 0.1 µs less than ``np.empty`` from Python)."""
    state = carray(pointer_at(_word(state_object, _DATA)), _STATE_WORDS, np.int64)
    none = state[State.NONE]
    if not (count == _ARGUMENTS and _x_applies(state, args)):
        _incref(none)
        return none
    x, out = args[0], args[1]
    elements = _elements(x)
    size = elements * state[State.ITEMSIZE]
    if size >= _index(args[7]):
        _incref(none)
        return none
    if out == none:
        out = _new_like(state[State.NEW_LIKE], x, state[State.OUT_DTYPE])  # a new reference
        if out == 0:  # no memory: the general path will say so
            _incref(none)
            return none
    else:
        _incref(out)
    if not _out_fits(state, x, out, size):
        _decref(out)
        _incref(none)
        return none
    _run(state, x, out, elements, size)
    return out


class _MethodDef(ctypes.Structure):
    """CPython's PyMethodDef."""

    _fields_: typing.ClassVar = [
        ("name", ctypes.c_char_p),
        ("function", ctypes.c_void_p),
        ("flags", ctypes.c_int),
        ("doc", ctypes.c_char_p),
    ]


_METH_FASTCALL = 0x0080
# Prototypes of their own: setting restype on ctypes.pythonapi's shared function objects would
# change them for every other user in the process.
_new_builtin = ctypes.PYFUNCTYPE(
    ctypes.py_object, ctypes.POINTER(_MethodDef), ctypes.py_object, ctypes.py_object
)(("PyCFunction_NewEx", ctypes.pythonapi))


@functools.cache
def _compiled_gate():
    signature = types.int64(types.int64, types.CPointer(types.int64), types.int64)
    return c_function(signature, _gate)


# Every gate's method definition, for the life of the process: a builtin points at its
# definition without holding it, and a kernel's gate may outlive the kernel's other objects.
_DEFINITIONS: list[_MethodDef] = []


def new_gate(name: str):
    """(gate, state): a new builtin ``name`` and the state array it reads (its ``__self__``),
    with no plan in it (``State``)."""
    state = np.zeros(_STATE_WORDS, np.int64)
    state[[State.NDARRAY, State.INT, State.NONE]] = id(np.ndarray), id(int), id(None)
    state[State.NEW_LIKE] = _NUMPY_API[_NEW_LIKE_ARRAY]
    definition = _MethodDef(name.encode(), _compiled_gate().address, _METH_FASTCALL, None)
    _DEFINITIONS.append(definition)
    return _new_builtin(ctypes.byref(definition), state, None), state
