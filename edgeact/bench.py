"""The one timing harness: validate a kernel, then time it against NumPy and a memory copy.

Every case is checked before it is timed (a wrong kernel is never timed, and the check also warms
the JIT), and every peer is timed on the same array in the same run, so ratios compare like with
like. Times are best-of-N per call; each measurement lasts at least ``min_time`` seconds.
Bytes are counted as read + written (2 × the array's bytes), the traffic of a streaming kernel.
"""

import gc
import importlib
import math
import os
import platform
import re
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

__all__ = [
    "DTYPES",
    "MAX_ULPS",
    "SIZE_LABELS",
    "ValidationError",
    "bench_kernels",
    "default_sizes",
    "describe_machine",
    "format_table",
    "machine_info",
    "numpy_equivalent",
    "time_call",
]

DTYPES = ("float32", "float16")
SIZE_LABELS = ("L2", "DRAM")
MAX_ULPS = 1  # edgeact vs the float64 reference rounded to the dtype
SEED = 20_240_601
SCALE = 3.0  # inputs ~ N(0, SCALE²): every branch of every activation is exercised
FALLBACK_L2 = 1 << 20  # bytes, when the L2 size is unknown
FALLBACK_DRAM_ELEMENTS = 64 << 20
ERF_BLOCK = 1 << 20  # elements per np.vectorize(math.erf) call in the NumPy GELU
VALIDATE_ALL = 1 << 20  # arrays up to this many elements are checked everywhere, larger at a sample


class ValidationError(RuntimeError):
    """A kernel (or its NumPy peer) gave a wrong result, so the case was not timed."""


# --------------------------------------------------------------------------------------- timing


def time_call(
    fn: Callable[[], object],
    *,
    min_time: float = 0.1,
    repeats: int = 5,
    max_time: float | None = None,
) -> float:
    """Best seconds per call of ``fn()``.

    Calibrates an inner count n so one measurement of n calls lasts ≥ ``min_time``, then keeps the
    minimum of ``repeats`` measurements (the calibrating one counts: it is a valid measurement).
    The minimum is the least disturbed run. ``max_time`` stops repeating once that much time was
    spent measuring, so a peer that takes seconds per call is measured once, not five times.
    """
    if not min_time > 0 or repeats < 1:
        raise ValueError(f"need min_time > 0 and repeats >= 1, got {min_time!r}, {repeats!r}")
    n, elapsed = 1, _measure(fn, 1)
    while elapsed < min_time:
        grow = 1.2 * min_time / max(elapsed, 1e-9)
        n = max(2 * n, math.ceil(n * min(grow, 1000.0)))
        elapsed = _measure(fn, n)
    best, spent = elapsed / n, elapsed
    for _ in range(repeats - 1):
        if max_time is not None and spent >= max_time:
            break
        elapsed = _measure(fn, n)
        best, spent = min(best, elapsed / n), spent + elapsed
    return best


def _measure(fn, n: int) -> float:
    """Seconds for n calls, with the garbage collector paused (as timeit does)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()


# --------------------------------------------------------------------------------------- machine

_X86_FEATURES = ("sse4_2", "avx2", "avx512f", "avx512bw", "avx512vbmi", "f16c", "avx512_fp16")
_ARM_FEATURES = ("asimd", "neon", "fphp", "asimdhp", "asimddp", "sve")
# LLVM's names for the same features (llvmlite fallback).
_LLVM_NAMES = {
    "sse4.2": "sse4_2", "avx2": "avx2", "avx512f": "avx512f", "avx512bw": "avx512bw",
    "avx512vbmi": "avx512vbmi", "f16c": "f16c", "avx512fp16": "avx512_fp16",
    "neon": "asimd", "fullfp16": "asimdhp", "dotprod": "asimddp", "sve": "sve",
}  # fmt: skip
_ARM_IMPLEMENTERS = {"0x41": "ARM", "0x51": "Qualcomm", "0x61": "Apple", "0x48": "HiSilicon",
                     "0x4e": "NVIDIA", "0xc0": "Ampere"}  # fmt: skip


def machine_info() -> dict:
    """What the numbers depend on: CPU, caches, SIMD features, versions. Unknown fields are None.

    Never raises: every probe is optional, so a benchmark runs (and records what it could) anywhere.
    """
    cpuinfo = _safe(_read_cpuinfo) or {}
    caches = _safe(_cache_sizes) or {}
    return {
        "cpu_model": cpuinfo.get("model") or _safe(_sysctl, "machdep.cpu.brand_string"),
        "cpu_vendor": cpuinfo.get("vendor") or _safe(_sysctl, "machdep.cpu.vendor"),
        "architecture": _safe(platform.machine) or None,
        "system": _safe(platform.system) or None,
        "logical_cores": _safe(os.cpu_count),
        "memory_bytes": _safe(_memory_bytes),
        "l1d_bytes": caches.get("l1d"),
        "l2_bytes": caches.get("l2"),
        "l3_bytes": caches.get("l3"),
        "simd": _safe(_simd_features, cpuinfo.get("flags")),
        "versions": _versions(),
    }


def describe_machine(machine: Mapping | None = None) -> str:
    """One line about the machine (``machine_info()`` by default), for the top of a report."""
    m = machine_info() if machine is None else machine
    caches = ", ".join(
        f"{level} {_binary_size(m.get(f'{level.lower()}_bytes'))}" for level in ("L1d", "L2", "L3")
    )
    versions = ", ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())
    simd = " ".join(m.get("simd") or []) or "unknown"
    cpu = m.get("cpu_model") or "unknown CPU"
    vendor, arch = m.get("cpu_vendor") or "unknown vendor", m.get("architecture") or "unknown arch"
    cores = m.get("logical_cores") or "?"
    return f"{cpu} ({vendor}, {arch}), {cores} logical cores; {caches}; SIMD {simd}; {versions}"


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


def _read_cpuinfo() -> dict:
    """Model, vendor and feature flags of the first CPU in /proc/cpuinfo (Linux, x86 or ARM)."""
    fields = {}
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    implementer = fields.get("CPU implementer")
    flags = fields.get("flags") or fields.get("Features")
    return {
        "model": fields.get("model name") or fields.get("Model") or fields.get("Hardware"),
        "vendor": fields.get("vendor_id") or _ARM_IMPLEMENTERS.get(implementer, implementer),
        "flags": set(flags.split()) if flags else None,
    }


def _cache_sizes() -> dict:
    """L1d, L2 and L3 sizes in bytes: Linux sysfs, else macOS sysctl."""
    sizes = {}
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(root.glob("index*")):
        entry = _safe(_sysfs_cache, index)
        if entry is not None:
            sizes.setdefault(*entry)
    if not sizes:
        for key in ("l1d", "l2", "l3"):
            value = _safe(_sysctl, f"hw.{key}cachesize")
            if value and int(value) > 0:
                sizes[key] = int(value)
    return sizes


def _sysfs_cache(index: Path) -> tuple[str, int] | None:
    """("l1d" | "l2" | "l3", bytes) for one /sys/.../cache/indexN directory; None for L1i."""
    level = int((index / "level").read_text())
    if (index / "type").read_text().strip() == "Instruction":
        return None
    return ("l1d" if level == 1 else f"l{level}"), _parse_size((index / "size").read_text())


def _parse_size(text: str) -> int:
    """'48K' -> 49152; sysfs uses K, M, G suffixes for binary units."""
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]?)i?B?\s*", text, flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"unrecognised cache size {text!r}")
    return int(match[1]) << {"": 0, "K": 10, "M": 20, "G": 30}[match[2].upper()]


def _sysctl(name: str) -> str | None:
    """``sysctl -n name`` (macOS, BSD); None where there is no sysctl or no such key."""
    result = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _simd_features(flags: set[str] | None) -> list[str]:
    """The SIMD features the kernels can use, from the CPU's flags or else LLVM's host features."""
    wanted = _ARM_FEATURES if _is_arm() else _X86_FEATURES
    if flags is None:
        from llvmlite import binding

        host = binding.get_host_cpu_features()
        flags = {ours for llvm, ours in _LLVM_NAMES.items() if host.get(llvm)}
        if _is_arm() and "asimd" in flags:
            flags.add("neon")
    return [name for name in wanted if name in flags]


def _is_arm() -> bool:
    return platform.machine().lower() in {"arm64", "aarch64", "armv7l", "armv8l"}


def _versions() -> dict:
    """Versions of the interpreter and the libraries that produce the numbers."""
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for module in ("numba", "llvmlite"):
        versions[module] = _safe(_module_version, module)
    return versions


def _module_version(module: str) -> str:
    return importlib.import_module(module).__version__


def default_sizes(itemsize: int, info: Mapping | None = None) -> dict[str, int]:
    """Element counts for the two regimes a streaming kernel lives in.

    "L2": input + output fill half the L2 of one core (compute-bound, cache-resident).
    "DRAM": input + output are ≥ 4× the last-level cache (bandwidth-bound); 64 Mi elements when the
    cache sizes are unknown.
    """
    if itemsize < 1:
        raise ValueError(f"itemsize must be >= 1, got {itemsize!r}")
    info = machine_info() if info is None else info
    l2 = info.get("l2_bytes") or FALLBACK_L2
    last = info.get("l3_bytes") or info.get("l2_bytes")
    dram = -(-4 * last // (2 * itemsize)) if last else FALLBACK_DRAM_ELEMENTS
    return {"L2": max(1, l2 // (4 * itemsize)), "DRAM": dram}


# ------------------------------------------------------------------------------------ NumPy peers


def numpy_equivalent(name: str, **params) -> Callable[[np.ndarray], np.ndarray]:
    """The expression a NumPy user would write for ``name``, computed in x's own dtype.

    Constants are cast to x.dtype so NumPy does not promote float16/float32 to float64. Parameters
    default to the catalogue's. Exact GELU uses ``np.vectorize(math.erf)``: NumPy has no erf.
    """
    if name not in _NUMPY:
        raise ValueError(f"no NumPy equivalent for {name!r}; known: {', '.join(_NUMPY)}")
    values = {**_catalogue_params(name), **params}
    expression = _NUMPY[name]

    def peer(x: np.ndarray) -> np.ndarray:
        return expression(x, x.dtype.type, **values)

    peer.__name__ = f"numpy_{name}"
    peer.__doc__ = f"NumPy {name} in x's dtype, parameters {values}."
    return peer


def _catalogue_params(name: str) -> dict:
    from edgeact.catalogue import ACTIVATIONS

    return dict(ACTIVATIONS[name].params) if name in ACTIVATIONS else {}


def _silu_poly(x, c):
    t = c(1) - np.minimum(np.abs(x), c(4.4)) / c(4.4)
    return x * (c(0.5) + c(0.5) * np.sign(x) * (c(1) - t * t))


def _gelu(x, c):
    return c(0.5) * x * (c(1) + _vectorized_erf(x / c(math.sqrt(2.0))))


def _vectorized_erf(z):
    """``np.vectorize(math.erf)`` a block at a time: on a whole array it holds ~70 bytes of Python
    objects per element (22 GB for 300 Mi elements). Per element it costs the same either way."""
    erf = np.vectorize(math.erf, otypes=[z.dtype])
    if z.size <= ERF_BLOCK:
        return erf(z)
    flat, result = z.reshape(-1), np.empty(z.size, dtype=z.dtype)
    for start in range(0, z.size, ERF_BLOCK):
        result[start : start + ERF_BLOCK] = erf(flat[start : start + ERF_BLOCK])
    return result.reshape(z.shape)


def _gelu_tanh(x, c):
    inner = c(math.sqrt(2.0 / math.pi)) * (x + c(0.044715) * x * x * x)
    return c(0.5) * x * (c(1) + np.tanh(inner))


def _gelu_poly(x, c, a=-0.2888, b=-1.769):
    z = x / c(math.sqrt(2.0))
    clipped = np.minimum(np.abs(z), c(-b)) + c(b)
    return c(0.5) * x * (c(1) + np.sign(z) * (c(a) * clipped * clipped + c(1)))


def _celu(x, c, alpha=1.0):
    return np.maximum(x, c(0)) + np.minimum(c(0), c(alpha) * np.expm1(x / c(alpha)))


def _softplus(x, c, beta=1.0, threshold=20.0):
    bx = c(beta) * x
    return np.where(bx > c(threshold), x, np.logaddexp(c(0), bx) / c(beta))


def _softshrink(x, c, lambd=0.5):
    return np.where(x > c(lambd), x - c(lambd), np.where(x < c(-lambd), x + c(lambd), c(0)))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805  # Klambauer et al. 2017

_NUMPY = {
    "relu": lambda x, c: np.maximum(x, c(0)),
    "relu6": lambda x, c: np.clip(x, c(0), c(6)),
    "leaky_relu": lambda x, c, negative_slope=0.01: np.where(x < c(0), c(negative_slope) * x, x),
    "prelu": lambda x, c, weight=0.25: np.where(x >= c(0), x, c(weight) * x),
    "elu": lambda x, c, alpha=1.0: np.where(x > c(0), x, c(alpha) * np.expm1(x)),
    "selu": lambda x, c: c(_SELU_SCALE) * np.where(x > c(0), x, c(_SELU_ALPHA) * np.expm1(x)),
    "celu": _celu,
    "mish": lambda x, c: x * np.tanh(np.logaddexp(c(0), x)),
    "softplus": _softplus,
    "tanh": lambda x, c: np.tanh(x),
    "hardshrink": lambda x, c, lambd=0.5: np.where(np.abs(x) > c(lambd), x, c(0)),
    "softshrink": _softshrink,
    "hardtanh": lambda x, c, min_val=-1.0, max_val=1.0: np.clip(x, c(min_val), c(max_val)),
    "hardswish": lambda x, c: x * np.clip(x + c(3), c(0), c(6)) / c(6),
    "hardsigmoid": lambda x, c: np.clip(x + c(3), c(0), c(6)) / c(6),
    "sigmoid": lambda x, c: c(1) / (c(1) + np.exp(-x)),
    "silu": lambda x, c: x / (c(1) + np.exp(-x)),
    "silu_poly": _silu_poly,
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "gelu_quick": lambda x, c: x / (c(1) + np.exp(c(-1.702) * x)),
    "gelu_poly": _gelu_poly,
}


# --------------------------------------------------------------------------------------- bench


def bench_kernels(
    names: Iterable[str] | None = None,
    dtypes: Iterable[str] | None = None,
    sizes: Iterable[int | str] | None = None,
    *,
    min_time: float = 0.1,
    repeats: int = 5,
    max_time: float | None = None,
    seed: int = SEED,
    errors: str = "raise",
    progress: Callable[[int, int, str], object] | None = None,
) -> list[dict]:
    """Validate, then time edgeact's kernels, NumPy's expressions and a copy, case by case.

    names/dtypes default to every kernel and DTYPES; sizes are element counts or labels "L2"/"DRAM"
    (resolved per dtype by ``default_sizes``), default both labels. Each measurement repeats up to
    ``repeats`` times or until ``max_time`` (default 10 × min_time) was spent on it. One input per
    dtype × size is shared by all kernels. Returns one record per name × dtype × size.

    A case that fails validation raises ValidationError (a RuntimeError naming the kernel), or with
    ``errors="record"`` becomes a record with an "error" message and no timings, so one wrong
    kernel does not cost a long run the other results.
    """
    if errors not in ("raise", "record"):
        raise ValueError(f"errors must be 'raise' or 'record', got {errors!r}")
    if not min_time > 0 or repeats < 1:
        raise ValueError(f"need min_time > 0 and repeats >= 1, got {min_time!r}, {repeats!r}")
    kernels = _kernels()
    names, dtypes, sizes = _checked_cases(kernels, names, dtypes, sizes)
    max_time = 10 * min_time if max_time is None else max_time
    timing = {"min_time": min_time, "repeats": repeats, "max_time": max_time}
    total = len(names) * len(dtypes) * len(sizes)
    records = []
    for dtype in dtypes:
        resolved = _resolve_sizes(sizes, dtype)
        for label, n in resolved:
            x = _random_input(n, dtype, seed)
            out = np.empty_like(x)
            for name in names:
                tag = f"{name} {dtype} {label or ''} ({n} elements)".replace("  ", " ")
                if progress is not None:
                    progress(len(records), total, tag)
                try:
                    records.append(_bench_case(name, kernels[name], x, out, label, timing))
                except ValidationError as error:
                    if errors == "raise":
                        raise
                    records.append(_failed_case(name, x, label, str(error)))
            del x, out
    return records


def _kernels() -> dict:
    """The kernels as they are now (looked up per call, so tests can substitute one)."""
    from edgeact.kernels import KERNELS

    return KERNELS


def _checked_cases(kernels, names, dtypes, sizes):
    names = _as_list(names, list(kernels))
    dtypes = _as_list(dtypes, list(DTYPES))
    sizes = _as_list(sizes, list(SIZE_LABELS))
    for name in names:
        if name not in kernels:
            raise ValueError(f"unknown kernel {name!r}; known: {', '.join(kernels)}")
        if name not in _NUMPY:
            raise ValueError(f"kernel {name!r} has no NumPy peer: add it to edgeact.bench._NUMPY")
    dtypes = [_dtype_name(d) for d in dtypes]
    for size in sizes:
        if isinstance(size, str):
            if size not in SIZE_LABELS:
                raise ValueError(f"unknown size label {size!r}; use {' or '.join(SIZE_LABELS)}")
        elif isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"sizes must be element counts >= 1 or labels, got {size!r}")
    return names, dtypes, sizes


def _as_list(values, default: list) -> list:
    """None -> default; a single string -> [it]; any other iterable -> its list."""
    if values is None:
        return default
    return [values] if isinstance(values, str) else list(values)


def _dtype_name(dtype) -> str:
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}; supported: {', '.join(DTYPES)}")
    return name


def _resolve_sizes(sizes, dtype: str) -> list[tuple[str | None, int]]:
    """(label, element count) pairs: labels become this dtype's default sizes."""
    defaults = None
    resolved = []
    for size in sizes:
        if isinstance(size, str):
            defaults = defaults or default_sizes(np.dtype(dtype).itemsize)
            resolved.append((size, defaults[size]))
        else:
            resolved.append((None, int(size)))
    return resolved


def _random_input(n: int, dtype: str, seed: int) -> np.ndarray:
    """n values ~ N(0, SCALE²) in dtype, the same for a given (n, seed)."""
    x = np.random.default_rng(seed).standard_normal(n, dtype=np.float32)
    x *= SCALE
    return x if dtype == "float32" else x.astype(dtype)


def _bench_case(name: str, kernel, x: np.ndarray, out: np.ndarray, label, timing: dict) -> dict:
    """One record: validate (raises if edgeact is wrong), then time edgeact, NumPy and a copy."""
    peer = numpy_equivalent(name)
    ulps = _validate(name, kernel, peer, x, out)
    with np.errstate(all="ignore"):  # float16 exp overflows to inf by design; NumPy would warn
        edgeact_s = time_call(lambda: kernel(x, out), **timing)
        numpy_s = time_call(lambda: peer(x), **timing)
        copy_s = time_call(lambda: np.copyto(out, x), **timing)
    n, nbytes = x.size, 2 * x.nbytes
    return {
        "activation": name,
        "dtype": x.dtype.name,
        "size_label": label,
        "elements": n,
        "bytes": nbytes,
        "edgeact_s": edgeact_s,
        "numpy_s": numpy_s,
        "copy_s": copy_s,
        "elements_per_s": n / edgeact_s,
        "gb_per_s": nbytes / edgeact_s / 1e9,
        "numpy_elements_per_s": n / numpy_s,
        "copy_gb_per_s": nbytes / copy_s / 1e9,
        "ratio_vs_numpy": numpy_s / edgeact_s,
        "fraction_of_copy": copy_s / edgeact_s,
        "max_ulps": ulps,
        "error": None,
    }


def _failed_case(name: str, x: np.ndarray, label, error: str) -> dict:
    """The record of a case that failed validation: what it was, why, and no timings."""
    timings = dict.fromkeys(_TIMED_FIELDS)
    base = {"activation": name, "dtype": x.dtype.name, "size_label": label, "elements": x.size}
    return {**base, "bytes": 2 * x.nbytes, **timings, "error": error}


_TIMED_FIELDS = (
    "edgeact_s", "numpy_s", "copy_s", "elements_per_s", "gb_per_s", "numpy_elements_per_s",
    "copy_gb_per_s", "ratio_vs_numpy", "fraction_of_copy", "max_ulps",
)  # fmt: skip


# ----------------------------------------------------------------------------------- validation


def _validate(name: str, kernel, peer, x: np.ndarray, out: np.ndarray) -> int:
    """Max ulps of edgeact vs the float64 reference; ValidationError if > MAX_ULPS or NumPy is
    not finite where the reference is.

    The kernel runs on the whole array (as timed); large arrays are compared at a sample (head,
    tail and random interior elements): the references are slow and the functions element-wise.
    """
    from edgeact.catalogue import ACTIVATIONS
    from edgeact.numerics import ulp_distance

    activation = ACTIVATIONS[name]
    result = kernel(x, out)
    if not isinstance(result, np.ndarray) or result.shape != x.shape or result.dtype != x.dtype:
        kind = type(result).__name__
        raise ValidationError(f"edgeact kernel {name!r} returned a {kind}, not an array like x")
    at = _sample(x.size)
    xs, got = (x, result) if at is None else (x[at], result[at])
    with np.errstate(all="ignore"):
        reference = np.asarray(activation.reference(xs.astype(np.float64), **activation.params))
    want = reference.astype(x.dtype)
    distance = ulp_distance(got, want)
    worst = int(np.argmax(distance))
    if distance[worst] > MAX_ULPS:
        raise ValidationError(
            f"edgeact kernel {name!r} ({x.dtype}) is wrong, not timing it: {distance[worst]} ulps "
            f"> {MAX_ULPS} at x={xs[worst]!s}: got {got[worst]!s}, want {want[worst]!s} "
            f"({int((distance > MAX_ULPS).sum())} of {xs.size} checked elements off)"
        )
    if result is not out:
        raise ValidationError(f"edgeact kernel {name!r} did not return the out array it was given")
    with np.errstate(all="ignore"):
        theirs = peer(xs)
    broken = np.isfinite(reference) & ~np.isfinite(theirs)
    if broken.any():
        raise ValidationError(
            f"NumPy expression for {name!r} ({x.dtype}) is not finite at x={xs[broken][0]!s}"
        )
    return int(distance[worst])


def _sample(n: int) -> np.ndarray | None:
    """Indices to check in an n-element array: all (None) up to VALIDATE_ALL, else a sample."""
    if n <= VALIDATE_ALL:
        return None
    quarter = VALIDATE_ALL // 4
    interior = np.random.default_rng(n).integers(quarter, n - quarter, VALIDATE_ALL // 2)
    return np.unique(np.concatenate([np.arange(quarter), interior, np.arange(n - quarter, n)]))


# ------------------------------------------------------------------------------------- table

TABLE_WIDTH = 110
_COLUMNS = (
    ("activation", 12, "<"),
    ("dtype", 8, "<"),
    ("size", 14, "<"),
    ("edgeact Gelem/s", 15, ">"),
    ("GB/s", 7, ">"),
    ("numpy Gelem/s", 13, ">"),
    ("× numpy", 9, ">"),
    ("% of copy", 9, ">"),
)


def format_table(records: Iterable[Mapping]) -> str:
    """An aligned plain-text table of bench records, for people (≤ 110 characters wide).

    Cases that failed validation get a "not timed" row and their error below the table.
    """
    lines = [_row([title for title, _, _ in _COLUMNS])]
    lines.append(_row(["-" * width for _, width, _ in _COLUMNS]))
    notes = []
    for r in records:
        case = [r["activation"], r["dtype"], _size(r)]
        if r.get("error"):
            notes.append(f"[{len(notes) + 1}] {' '.join(case)}: {r['error']}")
            lines.append(_row([*case, f"not timed: wrong result [{len(notes)}]"]))
            continue
        lines.append(
            _row(
                [
                    *case,
                    f"{r['elements_per_s'] / 1e9:.3f}",
                    f"{r['gb_per_s']:.1f}",
                    f"{r['numpy_elements_per_s'] / 1e9:.4f}",
                    _ratio(r["ratio_vs_numpy"]),
                    f"{100 * r['fraction_of_copy']:.0f}%",
                ]
            )
        )
    wrapped = [textwrap.fill(note, TABLE_WIDTH, subsequent_indent="    ") for note in notes]
    return "\n".join(lines + ([""] if notes else []) + wrapped)


def _row(cells) -> str:
    columns = zip(cells, _COLUMNS[: len(cells)], strict=True)
    parts = [f"{cell:{align}{width}}" for cell, (_, width, align) in columns]
    return "  ".join(parts).rstrip()


def _size(record: Mapping) -> str:
    n, count = record["elements"], str(record["elements"])
    for shift, unit in ((10, "Ki"), (20, "Mi")):
        if n >= 1 << shift and n % (1 << shift) == 0:
            count = f"{n >> shift}{unit}"
    return f"{record.get('size_label') or ''} {count}".strip()


def _ratio(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 100 else f"{ratio:.1f}×" if ratio >= 10 else f"{ratio:.2f}×"
