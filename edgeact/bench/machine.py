"""The machine block of every report: CPU, SIMD features, cores, caches, versions, int8 path.

Read portably and defensively: Linux ``/proc/cpuinfo`` and sysfs (roots injectable, so tests can
point them at a directory with entries missing), macOS ``sysctl`` (only on Darwin), and LLVM's
view of the host CPU through llvmlite. A probe that fails gives None ("unknown" when printed);
nothing here raises. Runtime versions come from package metadata, so ONNX Runtime and LiteRT are
never imported (they crash under the emulated aarch64 interpreter).
"""

import os
import platform
import re
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import numpy as np

__all__ = ["default_sizes", "describe_machine", "machine_info", "parse_size"]

FALLBACK_L1 = 32 << 10  # bytes, when the L1d size is unknown
FALLBACK_L2 = 1 << 20  # bytes, when the L2 size is unknown
FALLBACK_DRAM_ELEMENTS = 64 << 20

_X86_FEATURES = ("sse4_2", "avx2", "avx512f", "avx512bw", "avx512vbmi", "f16c", "avx512_fp16")
_ARM_FEATURES = ("neon", "fp16", "dotprod", "sve")
# Linux /proc/cpuinfo and LLVM spellings -> ours (ARM: asimd is NEON, asimdhp/fphp fp16 ...).
_ALIASES = {
    "sse4.2": "sse4_2", "avx512fp16": "avx512_fp16",
    "asimd": "neon", "asimdhp": "fp16", "fphp": "fp16", "fullfp16": "fp16", "asimddp": "dotprod",
}  # fmt: skip
_ARM_IMPLEMENTERS = {"0x41": "ARM", "0x51": "Qualcomm", "0x61": "Apple", "0x48": "HiSilicon",
                     "0x4e": "NVIDIA", "0xc0": "Ampere"}  # fmt: skip
# The packages whose versions decide the numbers (distribution names; metadata only, no import).
_PACKAGES = ("numpy", "numba", "llvmlite", "onnxruntime", "ai-edge-litert")


def machine_info(
    proc_root: str | os.PathLike = "/proc", sys_root: str | os.PathLike = "/sys"
) -> dict:
    """What the numbers depend on. Unknown fields are None; never raises.

    ``proc_root`` and ``sys_root`` are the roots of procfs and sysfs (tests point them elsewhere).
    ``int8_lookup`` is the byte-table loop the int8/uint8 kernels use ("avx512vbmi", "avx512bw",
    "avx2", "neon" or "portable"; ``EDGEACT_BYTE_LUT`` may force one, ``EDGEACT_PORTABLE=1`` the
    last), ``float16_lookup`` the 65 536-entry table loop of the float16 kernels ("avx512f",
    "avx2" or "portable"; ``EDGEACT_HALF_LUT``).
    """
    cpuinfo = _safe(_read_cpuinfo, Path(proc_root)) or {}
    caches = _safe(_cache_sizes, Path(sys_root)) or {}
    arch = _safe(platform.machine) or None
    return {
        "cpu_model": cpuinfo.get("model") or _darwin_sysctl("machdep.cpu.brand_string"),
        "cpu_vendor": cpuinfo.get("vendor") or _darwin_sysctl("machdep.cpu.vendor"),
        "architecture": arch,
        "system": _safe(platform.system) or None,
        "logical_cores": _safe(os.cpu_count),
        "physical_cores": cpuinfo.get("cores") or _int(_darwin_sysctl("hw.physicalcpu")),
        "memory_bytes": _safe(_memory_bytes),
        "l1d_bytes": caches.get("l1d"),
        "l2_bytes": caches.get("l2"),
        "l3_bytes": caches.get("l3"),
        "simd": _safe(_simd_features, arch, cpuinfo.get("flags")),
        "llvm_cpu": _safe(_llvm_cpu_name),
        "int8_lookup": _safe(_lookup, "int8"),
        "float16_lookup": _safe(_lookup, "float16"),
        "edgeact_portable": os.environ.get("EDGEACT_PORTABLE") or None,
        "versions": _versions(),
    }


def describe_machine(machine: Mapping | None = None) -> str:
    """One line about the machine (``machine_info()`` by default), for the top of a report."""
    m = machine_info() if machine is None else machine
    caches = ", ".join(
        f"{level} {_binary_size(m.get(f'{level.lower()}_bytes'))}" for level in ("L1d", "L2", "L3")
    )
    versions = ", ".join(f"{k} {v or 'unknown'}" for k, v in (m.get("versions") or {}).items())
    simd = " ".join(m.get("simd") or []) or "unknown"
    cpu = m.get("cpu_model") or "unknown CPU"
    vendor, arch = m.get("cpu_vendor") or "unknown vendor", m.get("architecture") or "unknown arch"
    cores = m.get("logical_cores") or "?"
    lookups = ", ".join(
        f"{dtype} lookup {m.get(f'{dtype}_lookup') or 'unknown'}" for dtype in ("int8", "float16")
    )
    return (
        f"{cpu} ({vendor}, {arch}), {cores} logical cores; {caches}; SIMD {simd}; "
        f"{lookups}; {versions}"
    )


def default_sizes(itemsize: int, info: Mapping | None = None) -> dict[str, int]:
    """Element counts for the three regimes a streaming kernel lives in.

    "L1" and "L2": input + output fill half of one core's L1d / L2 (cache-resident: measures the
    arithmetic and the per-call overhead). "DRAM": input and output are each as large as the
    last-level cache, so a streaming pass misses it (bandwidth-bound; 2× and not more, because the
    runtimes' intermediate float tensors of an int8 model would take ~8× that in RAM); 64 Mi
    elements when the cache sizes are unknown.
    """
    if itemsize < 1:
        raise ValueError(f"itemsize must be >= 1, got {itemsize!r}")
    info = machine_info() if info is None else info
    l1 = info.get("l1d_bytes") or FALLBACK_L1
    l2 = info.get("l2_bytes") or FALLBACK_L2
    last = info.get("l3_bytes") or info.get("l2_bytes")
    dram = -(-last // itemsize) if last else FALLBACK_DRAM_ELEMENTS
    return {"L1": max(1, l1 // (4 * itemsize)), "L2": max(1, l2 // (4 * itemsize)), "DRAM": dram}


def parse_size(text: str) -> int:
    """'48K' -> 49152, '1M' -> 1048576, '512' -> 512: binary K, M, G suffixes (as sysfs uses)."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)i?B?\s*", text, flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"unrecognised size {text!r} (use e.g. 4096, 64K, 1M)")
    return int(match[1]) << {"": 0, "K": 10, "M": 20, "G": 30}[match[2].upper()]


def _binary_size(size: int | None) -> str:
    if size is None:
        return "unknown"
    for shift, unit in ((20, "MiB"), (10, "KiB")):
        if size >= 1 << shift:
            return f"{size / (1 << shift):g} {unit}"
    return f"{size} B"


def _safe(fn, *args):
    try:
        return fn(*args)
    except Exception:
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _read_cpuinfo(proc_root: Path) -> dict:
    """Model, vendor, flags and physical core count from cpuinfo (Linux, x86 or ARM)."""
    fields, cores = {}, set()
    for block in (proc_root / "cpuinfo").read_text().split("\n\n"):
        entry = {}
        for line in block.splitlines():
            key, _, value = line.partition(":")
            entry.setdefault(key.strip(), value.strip())
        if "core id" in entry:
            cores.add((entry.get("physical id"), entry["core id"]))
        for key, value in entry.items():
            fields.setdefault(key, value)
    implementer = fields.get("CPU implementer")
    flags = fields.get("flags") or fields.get("Features")
    return {
        "model": fields.get("model name") or fields.get("Model") or fields.get("Hardware"),
        "vendor": fields.get("vendor_id") or _ARM_IMPLEMENTERS.get(implementer, implementer),
        "flags": set(flags.split()) if flags else None,
        "cores": len(cores) or None,
    }


def _cache_sizes(sys_root: Path) -> dict:
    """L1d, L2 and L3 sizes in bytes: Linux sysfs, else macOS sysctl."""
    sizes = {}
    for index in sorted((sys_root / "devices/system/cpu/cpu0/cache").glob("index*")):
        entry = _safe(_sysfs_cache, index)
        if entry is not None:
            sizes.setdefault(*entry)
    if not sizes:
        for key in ("l1d", "l2", "l3"):
            value = _int(_darwin_sysctl(f"hw.{key}cachesize"))
            if value:
                sizes[key] = value
    return sizes


def _sysfs_cache(index: Path) -> tuple[str, int] | None:
    """("l1d" | "l2" | "l3", bytes) for one /sys/.../cache/indexN directory; None for L1i."""
    level = int((index / "level").read_text())
    if (index / "type").read_text().strip() == "Instruction":
        return None
    return ("l1d" if level == 1 else f"l{level}"), parse_size((index / "size").read_text())


def _darwin_sysctl(name: str) -> str | None:
    """``sysctl -n name`` on macOS; None elsewhere (no process is started on Linux)."""
    if _safe(platform.system) != "Darwin":
        return None
    try:
        result = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return (result.stdout.strip() or None) if result.returncode == 0 else None


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _is_arm(arch: str | None) -> bool:
    return (arch or "").lower() in {"arm64", "aarch64", "armv7l", "armv8l"}


def _simd_features(arch: str | None, flags: set[str] | None) -> list[str]:
    """The SIMD features the kernels and runtimes can use: the CPU's flags, plus LLVM's view."""
    have = {_ALIASES.get(f, f) for f in flags or ()}
    host = _safe(_llvm_features) or {}
    have |= {_ALIASES.get(name, name) for name, on in host.items() if on}
    wanted = _ARM_FEATURES if _is_arm(arch) else _X86_FEATURES
    if _is_arm(arch) and "neon" not in have and arch.lower() in {"arm64", "aarch64"}:
        have.add("neon")  # mandatory in AArch64
    return [name for name in wanted if name in have]


def _llvm_features() -> dict:
    from llvmlite import binding

    return dict(binding.get_host_cpu_features())


def _llvm_cpu_name() -> str:
    from llvmlite import binding

    return binding.get_host_cpu_name()


def _lookup(dtype: str) -> str:
    from edgeact.kernels import lookup_paths

    return lookup_paths()[dtype]


def _versions() -> dict:
    """Versions of Python and the packages that produce the numbers (None: not installed)."""
    versions = {"python": platform.python_version()}
    for package in _PACKAGES:
        versions[package] = _safe(metadata.version, package)
    versions["numpy"] = versions["numpy"] or np.__version__
    return versions
