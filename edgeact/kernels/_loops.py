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

import numpy as np

from edgeact._jit import jit, prefer_wide_vectors
from edgeact.kernels._fastmath import FOR_FLOAT32

__all__ = ["apply_1d", "lut_loop", "map_loop", "overlaps_partly", "specialise", "unaliased"]


def _map_template(x, out, params):
    prefer_wide_vectors()
    for i in range(x.size):
        v = np.float64(x[i])
        y = _element(v, *params)  # noqa: F821 - bound by map_loop
        out[i] = y if v == v else v + v  # the NaN rule (module docstring)


_KERNEL_SOURCES = [
    *sorted(pathlib.Path(__file__).parent.glob("*.py")),
    pathlib.Path(__file__).parent.parent / "_jit.py",  # the flags change the code too
]
_SOURCES_HASH = hashlib.sha1(b"".join(p.read_bytes() for p in _KERNEL_SOURCES)).hexdigest()[:10]


@functools.cache
def specialise(template, name: str, *, nogil: bool = True, **bindings):
    """Compile ``template`` with ``bindings`` as extra globals, cached on disk as ``name``
    (``nogil``: as ``_jit.jit``'s)."""
    namespace = dict(template.__globals__, **bindings)
    qualname = f"{template.__name__}_{name}_{_SOURCES_HASH}"
    fn = types.FunctionType(template.__code__, namespace, qualname)
    fn.__qualname__ = qualname
    return jit(fn, nogil=nogil)


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
    start, other = x.ctypes.data, out.ctypes.data
    return start != other and start < other + out.nbytes and other < start + x.nbytes
