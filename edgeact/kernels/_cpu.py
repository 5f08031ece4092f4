"""Which CPU features the compiled loops may use: those Numba compiles for that the host also has.

A loop that uses an instruction is only safe where both hold. Numba compiles for
``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` when they are set (``NUMBA_CPU_NAME=generic`` alone
means no optional features: how portable caches and container images are built), and for the host
otherwise. Asking only the host, as edgeact once did, handed AVX-512 intrinsics and float16
conversions to a generic target: LLVM turned the conversions into calls to ``__extendhfsf2``,
which Numba's JIT cannot resolve, and the first float16 call segfaulted. A feature the target
names but the host lacks would fault with an illegal instruction instead.

Where a CPU model is named with an explicit feature list, only the listed features count: the
model's own defaults are not visible from Python, and leaving a feature out only costs speed.
``EDGEACT_PORTABLE=1`` turns every feature off, so the portable loops can be tested anywhere.

AArch64's base features (NEON, floating point with float16 conversions) are in every AArch64
target LLVM compiles for ("generic" included), whatever the host's feature list says: it is nearly
empty under qemu and on some systems. They count as present there.
"""

import functools
import os
import platform
import sys

from llvmlite import binding as llvm
from numba.core import config
from numba.core.codegen import get_host_cpu_features

__all__ = ["has", "has_half_conversion", "is_intel", "portable"]

_AARCH64_BASE = frozenset({"neon", "fp-armv8"})


def portable() -> bool:
    """Whether ``EDGEACT_PORTABLE`` asks for the portable loops (any value but "" and "0")."""
    return os.environ.get("EDGEACT_PORTABLE", "") not in ("", "0")


def _enabled(features: str) -> set[str]:
    return {f[1:] for f in features.split(",") if f.startswith("+")}


def _compiled_features() -> set[str]:
    """The features Numba's JIT targets, exactly as Numba chooses them (``ENABLE_AVX`` too)."""
    chosen = config.CPU_FEATURES
    return _enabled(get_host_cpu_features() if chosen is None else chosen)


def has(feature: str) -> bool:
    """Whether loops may use LLVM feature ``feature`` (e.g. "avx512vbmi") in this process."""
    if portable():
        return False
    if feature in _AARCH64_BASE and _aarch64():
        return True
    return feature in _compiled_features() and feature in _enabled(
        llvm.get_host_cpu_features().flatten()
    )


def has_half_conversion() -> bool:
    """Whether float16 <-> float32 conversions compile to instructions rather than library calls:
    F16C on x86; on AArch64 they are base floating point."""
    return has("fp-armv8" if _aarch64() else "f16c")


@functools.cache
def is_intel() -> bool:
    """Whether the CPU is Intel's (from /proc/cpuinfo on Linux, the processor string elsewhere;
    x86 Macs are all Intel): some instructions' speed differs by vendor (``_simd``)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip() == "GenuineIntel"
    except OSError:
        pass
    if sys.platform == "darwin":
        return platform.machine() == "x86_64"
    return "GenuineIntel" in platform.processor()


def _aarch64() -> bool:
    return platform.machine().lower() in ("aarch64", "arm64")
