"""Numba compilation flags, set in one place so every kernel is built the same way.

- ``cache=True``: compiled code is kept on disk, so only the first run pays for JIT. It goes to a
  per-user directory (``cache_dir()``), never next to the sources: in ``site-packages`` the files
  would outlive ``pip uninstall`` and leave an empty ``edgeact`` namespace package behind, which
  breaks a later editable install. ``NUMBA_CACHE_DIR`` (or ``numba.config.CACHE_DIR``), when set,
  is used instead.
- ``nogil=True``: kernels release the GIL; callers may run them from threads.
- ``error_model="numpy"``: a division by zero gives inf/NaN instead of raising; without it Numba
  inserts a zero check that stops LLVM from vectorising every loop that divides.
- ``fastmath={"contract"}``: only fused multiply-add contraction. The full fastmath set would let
  LLVM assume there are no NaNs or infinities, which breaks the IEEE behaviour the tests check.
  ``jit(contract=False)`` leaves it out, for float32 arithmetic whose results must not depend on
  whether the CPU target has FMA (the fused operations are then written out: ``_float32``).

Loops that should use the CPU's widest vectors call ``prefer_wide_vectors()``, and element
functions too large for LLVM's inliner call ``always_inline()`` (see there).
"""

import functools
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from llvmlite import ir
from numba import cfunc, njit, types
from numba.core import cgutils
from numba.core import config as numba_config
from numba.extending import intrinsic

__all__ = [
    "JIT_OPTIONS",
    "always_inline",
    "bit_cast",
    "c_function",
    "cache_dir",
    "jit",
    "pointer_at",
    "prefer_256_bit_vectors",
    "prefer_wide_vectors",
]

JIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract"}}

_F = TypeVar("_F", bound=Callable[..., Any])
_CONFIG_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Where edgeact's compiled kernels are cached.

    ``NUMBA_CACHE_DIR`` (or ``numba.config.CACHE_DIR`` set in code) if given; otherwise
    ``edgeact/numba`` in the per-user cache directory: ``$XDG_CACHE_HOME`` or ``~/.cache`` on
    Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows.
    """
    chosen = os.environ.get("NUMBA_CACHE_DIR") or numba_config.CACHE_DIR
    if chosen:
        return Path(chosen)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):  # the XDG spec says to ignore a relative path
            base = str(Path.home() / ".cache")
    return Path(base) / "edgeact" / "numba"


def jit(fn: _F | None = None, *, contract: bool = True):
    """``numba.njit`` with edgeact's flags, caching into ``cache_dir()``: ``@jit``, or
    ``@jit(contract=False)`` for no fused multiply-add contraction.
    """
    if fn is None:
        return functools.partial(jit, contract=contract)
    options = dict(JIT_OPTIONS)
    if not contract:
        options["fastmath"] = False
    return _cached_in_cache_dir(lambda: njit(**options)(fn))


def c_function(signature, fn: Callable) -> Any:
    """``numba.cfunc(signature)`` of ``fn`` (a C function: its ``address``), with ``jit``'s flags
    and cache directory."""
    options = {k: v for k, v in JIT_OPTIONS.items() if k != "nogil"}
    return _cached_in_cache_dir(lambda: cfunc(signature, **options)(fn))


def _cached_in_cache_dir(decorate: Callable[[], _F]) -> _F:
    """``decorate()`` with ``numba.config.CACHE_DIR`` set to ``cache_dir()``.

    Numba picks a function's cache directory from ``numba.config.CACHE_DIR`` when the function is
    decorated, so it is set for that moment only (and restored): edgeact's choice holds even when
    numba was imported first, and other code's cached functions are not moved.
    """
    with _CONFIG_LOCK:
        previous = numba_config.CACHE_DIR
        numba_config.CACHE_DIR = str(cache_dir())
        try:
            return decorate()
        finally:
            numba_config.CACHE_DIR = previous


def _vector_width_preference(bits: int):
    """An intrinsic marking the calling function "prefer-vector-width"="``bits``", LLVM's
    choice of vector width for the loops it vectorises (no effect where the CPU lacks them).
    llvmlite only accepts LLVM's keyword attributes, so the string attribute is put in its set
    directly (works with llvmlite 0.43 to 0.50; tests check the vectors)."""

    def prefer(typingctx):
        def codegen(context, builder, signature, args):
            set.add(builder.function.attributes, f'"prefer-vector-width"="{bits}"')
            return context.get_dummy_value()

        return types.none(), codegen

    prefer.__name__ = prefer.__qualname__ = f"prefer_{bits}_bit_vectors"
    return intrinsic(prefer)


# The float32 loops: LLVM's tuning for Intel's AVX-512 CPUs (skylake-avx512, icelake-server, ...)
# prefers 256-bit vectors, so there they got 8 lanes (Zen 4/5 get 16 without this). Compiled for
# skylake-avx512 on this Zen 5, hardswish ran at 9.8 G elements/s with 256-bit vectors and 14.2
# with 512-bit ones, at L2 size.
prefer_wide_vectors = _vector_width_preference(512)
# The float16 loops that convert to float32 and back: on Zen 5 a 512-bit vcvtph2ps/vcvtps2ph
# costs two of 256 bits, and LLVM's default (512 there) made float16 hardswish ~8 % slower.
prefer_256_bit_vectors = _vector_width_preference(256)


def bit_cast(source: types.Type, target: types.Type):
    """An intrinsic ``target(value)`` reading the bits of a ``source`` value as a ``target`` of the
    same width (no conversion), typed for ``source`` only: how edgeact builds a power of two from
    its exponent and reads a float16's bits."""
    llvm_type = (
        ir.IntType(target.bitwidth)
        if isinstance(target, types.Integer)
        else {16: ir.HalfType(), 32: ir.FloatType(), 64: ir.DoubleType()}[target.bitwidth]
    )

    def cast(typingctx, value):
        if value != source:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], llvm_type)

        return target(source), codegen

    cast.__name__ = cast.__qualname__ = f"{source}_bits_as_{target}"
    return intrinsic(cast)


@intrinsic
def pointer_at(typingctx, address):
    """The int64 ``address`` as a void pointer, for ``numba.carray`` over memory compiled code
    reaches by address (a NumPy array's fields, a recorded table)."""
    if address != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(types.int64), codegen


@intrinsic
def always_inline(typingctx):
    """Mark the calling function "alwaysinline": LLVM then inlines it into every caller, however
    large. An element function that a loop calls instead of inlining keeps the loop scalar."""

    def codegen(context, builder, signature, args):
        builder.function.attributes.add("alwaysinline")
        return context.get_dummy_value()

    return types.none(), codegen
