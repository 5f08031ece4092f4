"""Byte tables for the int8/uint8 kernels in users' ``@njit`` code, found without object mode.

A quantized kernel's table depends on values known only at run time: the scale and zero point of
x_q and y_q, the kernel's parameters and compat. A Numba function can build it only in object mode,
~2.5 µs a call. So each table built there is recorded in a process-wide memo that compiled code
searches directly: a call whose key is recorded costs a hash and a compare, and each key enters
object mode once.

The memo is an int64 array of ``SLOTS`` rows: a table's address, then its key (``KEY_WORDS``).
Its address is registered with LLVM as the symbol ``MEMO_SYMBOL``, so compiled code refers to it by
name and a function that Numba cached in another process finds this process's memo (the name
carries the layout's version). A key goes in the first empty row of its window (``PROBES`` rows
from its hash); rows are never emptied or rewritten, so a search ends at the first empty row.
Recording runs under a lock and writes the address last, with release ordering; a search reads it
first, with acquire ordering, so a search on another thread sees a row either empty or whole. The
recorded tables stay alive for the process. A key whose window is full is not recorded, and its
calls keep fetching in object mode.
"""

import threading

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from edgeact._jit import bit_cast, jit
from edgeact.kernels._checks import COMPATS

__all__ = [
    "KEY_WORDS",
    "MEMO_SYMBOL",
    "PARAM_WORDS",
    "find",
    "memo",
    "record",
    "remember",
    "table_at",
]

PARAM_WORDS = 2  # the most parameters a kernel has (softplus, hardtanh)
KEY_WORDS = 6 + PARAM_WORDS  # tag, compat, x scale and zero point, y scale and zero point, params
SLOTS, PROBES = 1024, 8
MEMO_SYMBOL = "edgeact_njit_byte_tables_v1"

_MEMO = np.zeros((SLOTS, 1 + KEY_WORDS), np.int64)
_KEPT: list[np.ndarray] = []
_RECORD_LOCK = threading.Lock()
llvm.add_symbol(MEMO_SYMBOL, _MEMO.ctypes.data)

float_bits = bit_cast(types.float64, types.int64)
_WORD = ir.IntType(64)


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


@intrinsic
def _bytes_at(typingctx, address):
    if address != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.CPointer(types.uint8)(types.int64), codegen


@jit
def memo():
    """The process's memo as an array (what ``find`` searches in the kernels)."""
    return numba.carray(_memo_pointer(), (SLOTS, 1 + KEY_WORDS))


@jit
def compat_index(compat) -> int:
    """compat's place in ``COMPATS``, -1 for an unknown one (never recorded: object mode, where
    the kernel's check names it)."""
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
def table_at(address):
    """The 256 bytes at ``address`` (one ``find`` gave) as an array."""
    return numba.carray(_bytes_at(address), 256)


@jit
def find(memo, key) -> int:
    """The address of ``key``'s recorded table, 0 where there is none (``memo``: ``memo()``)."""
    first = _first_row(key, memo.shape[0])
    for probe in range(PROBES):
        row = memo[(first + probe) % memo.shape[0]]
        address = _load_acquire(row.ctypes.data)
        if address == 0 or _holds(row, key):
            return address
    return 0


@jit
def record(memo, key, address) -> int:
    """Put ``key`` and ``address`` in the first empty row of key's window: 1, or 0 where key is
    there already, -1 where the window is full. Only ``remember`` calls it, under its lock: one
    writer at a time."""
    first = _first_row(key, memo.shape[0])
    for probe in range(PROBES):
        row = memo[(first + probe) % memo.shape[0]]
        if row[0] == 0:
            for i in range(KEY_WORDS):
                row[1 + i] = key[i]
            _store_release(row.ctypes.data, address)
            return 1
        if _holds(row, key):
            return 0
    return -1


def remember(key: tuple[int, ...], table: np.ndarray, memo: np.ndarray = _MEMO) -> None:
    """Record the 256-byte ``table`` of ``key`` for ``find``, keeping it alive for the process."""
    if table.dtype != np.uint8 or table.shape != (256,) or not table.flags.c_contiguous:
        raise ValueError(
            f"remember: a table is 256 contiguous uint8, got {table.dtype}{table.shape}"
        )
    with _RECORD_LOCK:
        if record(memo, key, table.ctypes.data) == 1:
            _KEPT.append(table)
