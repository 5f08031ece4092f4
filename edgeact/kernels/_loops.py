"""Array loops around the scalar element functions.

One loop template serves every activation: ``map_loop(element)`` gives it the element function as
a *global* (through ``specialise``, which the integer kernels use too), so Numba inlines the
element function into the loop and vectorises the pair. (Passing the element function as an
argument or a closure variable would work too, but Numba then cannot cache the compiled loop, and
every process would pay the JIT again.) Each specialisation gets its own qualified name, which is
what Numba's on-disk cache is keyed by. Numba only checks the loop's own file for changes, so the
name also carries a hash of the kernel sources and the JIT flags: editing an element function can
never load a stale loop from the cache.

Loops take 1-D arrays of any stride; ``apply_1d`` cuts N-d arrays into such views.

Every loop template runs its elements in the two ranges ``line_parts`` gives: those before
out's first 64-byte line, then the rest, so that the vector stores of the second land on whole
lines. NumPy places an array of more than a few KiB 16 bytes past a page (glibc's mmap'd
blocks), and there every 64-byte store straddled two cache lines, and half of the 32-byte ones.
On AMD Zen 5, at 64 Ki float32 values placed so, relu6 and hardswish ran 10-15 % faster split,
float16 relu6 6-10 % (``bench/bench_alignment.py``, in a checkout before and after). The elements
and the code are the same either way, so are the bits (tests/test_line_aligned.py).

The NaN rule of every loop template (here, in ``_half`` and in ``_float32``, where some
activations' arithmetic gives it by itself): a NaN input gives that NaN back, quieted, sign and
payload kept. Left to the element function, a NaN result's sign and payload
would follow the instructions LLVM picks for the target (``x·σ(x)`` computes ``-x`` on the way,
and which operand's NaN a multiply propagates differs between vector widths), so the kernels would
give different bits under different ``NUMBA_CPU_NAME``s. ``v + v`` is the quieted NaN on every
ISA, and LLVM cannot fold it away as it folds ``v · 1``. No element function gives NaN for any
other input (tests/test_kernels.py).
"""

import functools
import hashlib
import pathlib
import types

import numba
import numpy as np
from llvmlite import ir
from numba import types as nb_types
from numba.extending import intrinsic

from edgeact._jit import c_function, jit, prefer_wide_vectors
from edgeact.kernels._fastmath import FOR_FLOAT32

__all__ = [
    "LINE_BYTES",
    "apply_1d",
    "line_parts",
    "lut_loop",
    "map_loop",
    "overlaps_partly",
    "specialise",
    "unaliased",
]


def _map_template(x, out, params):
    prefer_wide_vectors()
    for lo, hi in line_parts(x, out):
        for i in range(lo, hi):
            v = np.float64(x[i])
            y = _element(v, *params)  # noqa: F821 - bound by map_loop
            out[i] = y if v == v else v + v  # the NaN rule (module docstring)


_KERNEL_SOURCES = [
    *sorted(pathlib.Path(__file__).parent.glob("*.py")),
    pathlib.Path(__file__).parent.parent / "_jit.py",  # the flags change the code too
]
_SOURCES_HASH = hashlib.sha1(b"".join(p.read_bytes() for p in _KERNEL_SOURCES)).hexdigest()[:10]


@functools.cache
def specialise(template, name: str, *, signature=None, **bindings):
    """Compile ``template`` with ``bindings`` as extra globals, cached on disk as ``name``: a
    Numba function, or with ``signature`` a C function (``_jit.c_function``)."""
    namespace = dict(template.__globals__, **bindings)
    qualname = f"{template.__name__}_{name}_{_SOURCES_HASH}"
    fn = types.FunctionType(template.__code__, namespace, qualname)
    fn.__qualname__ = qualname
    return jit(fn) if signature is None else c_function(signature, fn)


@functools.cache
def map_loop(element, *, for_float32=False):
    """The compiled loop ``loop(x, out, params)``: ``out[i] = element(float64(x[i]), *params)``.

    ``out`` may be float32 or float64; the float64 result is rounded once, to nearest even. With
    ``for_float32`` (results rounded to float32) the element function is compiled from the same
    source with ``_fastmath.FOR_FLOAT32``'s functions as its ``exp`` and ``erfc``: accurate
    enough for float32, and faster (exp ~1.6×; erfc vectorises, libm's does not).
    """
    called = element.py_func.__code__.co_names
    swaps = {name: fn for name, fn in FOR_FLOAT32.items() if name in called}
    if for_float32 and swaps:
        element = specialise(element.py_func, "for_float32", **swaps)
    return specialise(_map_template, element.py_func.__name__, _element=element)


LINE_BYTES = 64  # a cache line, and the widest vector the loops store
# From this much out on the split pays: below it, the head's up to 15 elements, run one at a
# time, cost more than the lines gain (at 16 Ki float32 values, 64 KiB, the two were even).
_SPLIT_FROM_BYTES = 64 << 10


@intrinsic
def _address(typingctx, a):
    """Where array ``a``'s data starts, as an integer. (``a.ctypes.data`` gives the same, but
    takes and drops a reference to the array's memory on the way: two atomic operations.)"""
    if not isinstance(a, nb_types.Array):
        return None

    def codegen(context, builder, signature, args):
        data = context.make_array(a)(context, builder, args[0]).data
        return builder.ptrtoint(data, ir.IntType(nb_types.intp.bitwidth))

    return nb_types.intp(a), codegen


@jit
def _line_head(x, out):
    """How many elements of out lie before its first 64-byte line (unsigned): 0 where out starts
    on one, is too short for the split to pay, or its items do not tile lines."""
    start = _address(out)
    if x.size * out.itemsize >= _SPLIT_FROM_BYTES and start % out.itemsize == 0:
        return np.uintp((-start & (LINE_BYTES - 1)) // out.itemsize)
    return np.uintp(0)


# Inlined in Numba's IR: compiled as a function of its own, whose tuple LLVM did not see
# through, it added ~30 ns to every call of a loop (16 values: 6 → 36 ns).
@numba.njit(inline="always")
def line_parts(x, out):
    """The loop's two index ranges, (0, head) and (head, x.size), where out's first 64-byte line
    starts at ``head`` (``_line_head``).

    The bounds are unsigned: with a start that LLVM cannot prove >= 0, Numba's indexing keeps
    its negative-index wraparound, and the loop ran 20× slower."""
    head = _line_head(x, out)
    return ((np.uintp(0), head), (head, np.uintp(x.size)))


@jit
def lut_loop(codes, table, out):
    """out[i] = table[codes[i]]: the float16 kernels (16-bit codes) and int8/uint8 kernels."""
    for i in range(codes.size):
        out[i] = table[codes[i]]


def apply_1d(loop, x, out) -> None:
    """Call ``loop(x_1d, out_1d)`` on 1-D views that together cover x and out, in memory order."""
    if x.strides == out.strides and (x.flags.c_contiguous or x.flags.f_contiguous):
        loop(x.ravel(order="K"), out.ravel(order="K"))
        return
    chunks = np.nditer(
        [x, out],
        flags=["external_loop", "zerosize_ok"],
        op_flags=[["readonly"], ["writeonly"]],
        order="K",
    )
    with chunks:
        for x_chunk, out_chunk in chunks:
            loop(x_chunk, out_chunk)


def unaliased(x, out):
    """x, or a copy of it where out overlaps x only partly (the loop would overwrite unread x)."""
    if out is x or not np.may_share_memory(x, out):
        return x
    same_view = (
        x.__array_interface__["data"][0] == out.__array_interface__["data"][0]
        and x.strides == out.strides
        and x.dtype.itemsize == out.dtype.itemsize
    )
    return x if same_view else x.copy()


@jit
def overlaps_partly(x, out) -> bool:
    """``unaliased``'s test inside Numba code, for C-contiguous x and out: whether they share
    memory without being the same elements (where a loop would overwrite values of x it has not
    read yet)."""
    start, other = _address(x), _address(out)
    return start != other and start < other + out.nbytes and other < start + x.nbytes
