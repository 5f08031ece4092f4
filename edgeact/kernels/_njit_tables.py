"""Byte tables for the int8/uint8 kernels in users' ``@njit`` code, without object mode.

A quantized kernel's table depends on values known only at run time: the scale and zero point of
x_q and y_q, the kernel's parameters and compat. Those values make the table's key
(``KEY_WORDS`` int64 words). Compiled code first searches a process-wide memo for the key (a hash
and a compare, ~0.2 µs a call on 16 codes); where the key is not there, it calls back into Python
(``build_table``), which builds the table into a buffer the compiled code passed and records it
in the memo. Object mode would have cost ~3 µs every call, and a Numba function that contains it
cannot be loaded from Numba's cache in another process ("missing Environment").

The memo and the callback are reached through LLVM symbols (``MEMO_SYMBOL``, ``BUILD_SYMBOL``),
which each process binds to its own when it imports this module: a user's function that Numba
cached in one process finds the memo and the callback of the process that loads it. The names
carry the layout's version.

The memo is an int64 array of ``SLOTS`` rows: a table's address, then its key. A key goes in the
first empty row of its window (``PROBES`` rows from its hash). Rows are never emptied or
rewritten, so a search ends at the first empty row. Recording runs under a lock and writes the
address last, with release ordering; a search reads it first, with acquire ordering, so a search
on another thread sees a row either empty or whole. The recorded tables stay alive for the
process. A key whose window is full is not recorded: its calls build the table each time.
"""

import ctypes
import threading
import zlib
from collections.abc import Callable

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from edgeact._jit import bit_cast, jit, pointer_at
from edgeact.kernels._checks import COMPATS

__all__ = [
    "KEY_WORDS",
    "PARAM_WORDS",
    "build_table",
    "compat_index",
    "find",
    "float_bits",
    "float_of",
    "memo",
    "record",
    "register_builder",
    "table_at",
    "tag",
]

PARAM_WORDS = 2  # the most parameters a kernel has (softplus, hardtanh)
KEY_WORDS = 6 + PARAM_WORDS  # tag, compat, x scale and zero point, y scale and zero point, params
SLOTS, PROBES = 1024, 8
MEMO_SYMBOL = "edgeact_njit_byte_tables_v1"
BUILD_SYMBOL = "edgeact_njit_build_byte_table_v1"

_MEMO = np.zeros((SLOTS, 1 + KEY_WORDS), np.int64)
_KEPT: list[np.ndarray] = []
_RECORD_LOCK = threading.Lock()
_BUILDERS: dict[int, tuple[str, Callable[[tuple[int, ...]], np.ndarray]]] = {}

float_bits = bit_cast(types.float64, types.int64)
_WORD = ir.IntType(64)
_BYTE_POINTER = ir.IntType(8).as_pointer()
_KEY = types.UniTuple(types.int64, KEY_WORDS)
_TABLE = types.Array(types.uint8, 1, "C")


def _described(name: str, x_dtype, y_dtype) -> str:
    return f"{name} {x_dtype} {y_dtype}"


def tag(name: str, x_dtype, y_dtype) -> int:
    """The key's first word: the kernel and the dtypes of x and y, stable across processes."""
    return zlib.crc32(_described(name, x_dtype, y_dtype).encode())


def float_of(word: int) -> float:
    """The float64 whose bits ``float_bits`` gave as ``word``."""
    return float(np.int64(word).view(np.float64))


def register_builder(name: str, x_dtype, y_dtype, build: Callable[[tuple[int, ...]], np.ndarray]):
    """``build(key)`` gives the 256-byte table of the keys tagged ``tag(name, x_dtype, y_dtype)``
    (a kernel made again replaces its builder)."""
    described, key_tag = _described(name, x_dtype, y_dtype), tag(name, x_dtype, y_dtype)
    if _BUILDERS.get(key_tag, (described,))[0] != described:
        raise RuntimeError(f"{described} and {_BUILDERS[key_tag][0]} share the tag {key_tag}")
    _BUILDERS[key_tag] = described, build


@ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p)
def _build_into(key_words, out) -> int:
    """The callback: the key's table built, copied to ``out`` (256 bytes) and recorded; 1, or 0
    where building failed (the exception cannot cross into compiled code, which raises its own;
    the same call outside Numba raises the reason)."""
    key = tuple(key_words[:KEY_WORDS])
    try:
        table = _BUILDERS[key[0]][1](key)
    except Exception:
        return 0
    ctypes.memmove(out, table.ctypes.data, 256)
    with _RECORD_LOCK:
        if record(_MEMO, key, table.ctypes.data) == 1:
            _KEPT.append(table)
    return 1


llvm.add_symbol(MEMO_SYMBOL, _MEMO.ctypes.data)
llvm.add_symbol(BUILD_SYMBOL, ctypes.cast(_build_into, ctypes.c_void_p).value)


@intrinsic
def _memo_pointer(typingctx):
    def codegen(context, builder, signature, args):
        symbol = builder.module.globals.get(MEMO_SYMBOL)
        if symbol is None:
            symbol = ir.GlobalVariable(builder.module, _WORD, MEMO_SYMBOL)
            symbol.linkage = "external"
        return symbol

    return types.CPointer(types.int64)(), codegen


@intrinsic
def build_table(typingctx, key, table):
    """Call back into Python for ``key``'s table, written into ``table`` (256 uint8): 1, or 0
    where it could not be built."""
    if key != _KEY or table != _TABLE:
        return None

    def codegen(context, builder, signature, args):
        words = cgutils.alloca_once(builder, _WORD, size=KEY_WORDS)
        for i in range(KEY_WORDS):
            builder.store(builder.extract_value(args[0], i), cgutils.gep(builder, words, i))
        out = context.make_array(signature.args[1])(context, builder, args[1])
        callback = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_WORD, [_WORD.as_pointer(), _BYTE_POINTER]),
            BUILD_SYMBOL,
        )  # fmt: skip
        return builder.call(callback, [words, builder.bitcast(out.data, _BYTE_POINTER)])

    return types.int64(_KEY, _TABLE), codegen


@intrinsic
def _load_acquire(typingctx, address):
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        pointer = builder.inttoptr(args[0], _WORD.as_pointer())
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(address), codegen


@intrinsic
def _store_release(typingctx, address, value):
    if not isinstance(address, types.Integer) or value != types.int64:
        return None

    def codegen(context, builder, signature, args):
        pointer = builder.inttoptr(args[0], _WORD.as_pointer())
        builder.store_atomic(args[1], pointer, "release", 8)
        return context.get_dummy_value()

    return types.none(address, types.int64), codegen


@jit
def memo():
    """The process's memo as an array (what ``find`` searches in the kernels)."""
    return numba.carray(_memo_pointer(), (SLOTS, 1 + KEY_WORDS))


@jit
def table_at(address):
    """The 256 bytes at ``address`` (one ``find`` gave) as an array."""
    return numba.carray(pointer_at(address), 256, np.uint8)


@jit
def compat_index(compat) -> int:
    """compat's place in ``COMPATS``, -1 for an unknown one."""
    for i in range(len(COMPATS)):
        if compat == COMPATS[i]:
            return i
    return -1


@jit
def _first_row(key, rows) -> int:
    mixed = np.uint64(0x9E3779B97F4A7C15)
    for word in key:
        mixed = (mixed ^ np.uint64(word)) * np.uint64(0xFF51AFD7ED558CCD)
    return int((mixed >> np.uint64(32)) % np.uint64(rows))


@jit
def _holds(row, key) -> bool:
    for i in range(KEY_WORDS):
        if row[1 + i] != key[i]:
            return False
    return True


@jit
def _row_of(memo, key):
    """(row, its address) for the row of key's window that holds key, or else the window's first
    empty row (address 0); (-1, 0) where the window is full of other keys. The address is read
    before the key, with acquire ordering (module docstring)."""
    first = _first_row(key, memo.shape[0])
    for probe in range(PROBES):
        at = (first + probe) % memo.shape[0]
        address = _load_acquire(memo[at].ctypes.data)
        if address == 0 or _holds(memo[at], key):
            return at, address
    return -1, 0


@jit
def find(memo, key) -> int:
    """The address of ``key``'s recorded table, 0 where there is none (``memo``: ``memo()``)."""
    return _row_of(memo, key)[1]


@jit
def record(memo, key, address) -> int:
    """Put ``key`` and ``address`` in the first empty row of key's window: 1, or 0 where key is
    there already, -1 where the window is full. Only the callback calls it, under its lock: one
    writer at a time."""
    at, recorded = _row_of(memo, key)
    if at < 0:
        return -1
    if recorded != 0:
        return 0
    for i in range(KEY_WORDS):
        memo[at, 1 + i] = key[i]
    _store_release(memo[at].ctypes.data, address)
    return 1
