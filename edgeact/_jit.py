"""Numba compilation flags, set in one place so every kernel is built the same way.

- ``cache=True``: compiled code is written next to the sources, so only the first run pays for JIT.
- ``nogil=True``: kernels release the GIL; callers may run them from threads.
- ``error_model="numpy"``: a division by zero gives inf/NaN instead of raising; without it Numba
  inserts a zero check that stops LLVM from vectorising every loop that divides.
- ``fastmath={"contract"}``: only fused multiply-add contraction. The full fastmath set would let
  LLVM assume there are no NaNs or infinities, which breaks the IEEE behaviour the tests check.
"""

from numba import njit

__all__ = ["JIT_OPTIONS", "jit"]

JIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract"}}


def jit(fn):
    """``numba.njit`` with edgeact's flags."""
    return njit(**JIT_OPTIONS)(fn)
