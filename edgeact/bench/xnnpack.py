"""Which XNNPACK microkernel LiteRT's XNNPACK delegate runs for a benchmarked op on this CPU.

XNNPACK picks one microkernel per operator type once per process, from the CPU's features, in its
config files. Two answers are recorded side by side, because they can differ:

- **derived** (``derived_microkernel``): XNNPACK's choice replayed from the machine record's
  ``simd`` list, as selected by XNNPACK's config for these features. Source: google/XNNPACK
  ``src/configs/unary-elementwise-config.c`` (commit 019cd4489a95: the float32 clamp, hswish,
  sigmoid, tanh, elu, gelu, approxgelu and lrelu configs) and ``src/configs/x8-lut-config.c``
  (commit 0b597eb0825a: the 8-bit table kernel LOGISTIC/TANH/ELU use). It assumes a build with
  every ISA enabled; a wheel may leave some out (ai-edge-litert 2.3 has no AVX512-VBMI kernel).
- **observed** (``observed_microkernels``): after the delegate ran an op, XNNPACK's config
  object for it holds a pointer to the chosen function. Where LiteRT's shared library keeps its
  ELF symbol table (the Linux wheels do), the pointer is read through ``/proc/self/mem`` (a bad
  address is an error there, never a crash) and named by the symbol at that address. None where
  any of this is unavailable (macOS, a stripped build, an op that never ran).
"""

from __future__ import annotations

import os
import platform
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["config_for", "derived_microkernel", "microkernels", "observed_microkernels"]

# XNNPACK config -> (function name prefix, {architecture: ((required flag | None, suffix), ...)}):
# the first entry whose flag the CPU has wins, as in the config's if/else chain (default, not
# "consistent arithmetic", variant).
_X86, _ARM64 = "x86_64", "aarch64"
SELECTION = {
    "f32_clamp": ("xnn_f32_vclamp_ukernel__", {
        _X86: (("avx512f", "avx512f_u32"), ("avx", "avx_u16"), (None, "sse2_u8")),
        _ARM64: ((None, "neon_u16"),)}),
    "f32_hswish": ("xnn_f32_vhswish_ukernel__", {
        _X86: (("avx512f", "avx512f_u32"), ("fma3", "fma3_u16"), ("avx", "avx_u16"),
               (None, "sse2_u8")),
        _ARM64: ((None, "neon_u16"),)}),
    "f32_sigmoid": ("xnn_f32_vsigmoid_ukernel__", {
        _X86: (("avx512f", "avx512f_rr2_lut32_p2_perm2_scalef_div_u64"),
               ("avx2", "avx2_rr1_p5_div_u16"), ("avx", "avx_rr2_p5_div_u16"),
               ("sse4_1", "sse41_rr2_lut64_p2_div_u8"), (None, "sse2_rr2_lut64_p2_div_u8")),
        _ARM64: ((None, "neonfma_rr1_lut64_p2_nr2recps_u16"),)}),
    "f32_tanh": ("xnn_f32_vtanh_ukernel__", {
        _X86: (("avx512f", "avx512f_rational_9_8_div_u32"), ("fma3", "fma3_rational_9_8_div_u16"),
               ("avx", "avx_rational_9_8_div_u16"), (None, "sse2_rational_9_8_div_u8")),
        _ARM64: ((None, "neon_rational_9_8_div_u16"),)}),
    "f32_elu": ("xnn_f32_velu_ukernel__", {
        _X86: (("avx512f", "avx512f_rr1_p6_u64"), ("avx2", "avx2_rr1_lut4_p4_perm_u32"),
               ("avx", "avx_rr2_lut4_p4_perm_u32"), (None, "sse2_rr2_lut16_p3_u12")),
        _ARM64: ((None, "neonfma_rr1_lut16_p3_u16"),)}),
    "f32_gelu": ("xnn_f32_vgelu_ukernel__", {
        _X86: (("avx512f", "avx512f_rational_12_10_div_u32"),
               ("fma3", "fma3_rational_12_10_div_u16"), ("avx", "avx_rational_12_10_div_u16"),
               (None, "sse2_rational_12_10_div_u12")),
        _ARM64: ((None, "neon_rational_12_10_div_u8"),)}),
    "f32_approxgelu": ("xnn_f32_vapproxgelu_ukernel__", {
        _X86: (("avx512f", "avx512f_rational_12_10_div_u32"),
               ("fma3", "fma3_rational_12_10_div_u16"), ("avx", "avx_rational_12_10_div_u16"),
               (None, "sse2_rational_12_10_div_u12")),
        _ARM64: ((None, "neon_rational_12_10_div_u8"),)}),
    "f32_lrelu": ("xnn_f32_vlrelu_ukernel__", {
        _X86: (("avx512f", "avx512f_u16"), ("avx", "avx_u16"), ("sse4_1", "sse41_u8"),
               (None, "sse_u8")),
        _ARM64: ((None, "neon_u8"),)}),
    "x8_lut": ("xnn_x8_lut_ukernel__", {
        _X86: (("avx512vbmi", "avx512vbmi_vpermx2b_u128"), ("avx512skx", "avx512skx_vpshufb_u64"),
               ("avx2", "avx2_u128"), ("avx", "avx_u64"), (None, "scalar_u4")),
        _ARM64: ((None, "aarch64_neon_tbx128x4_u64"),)}),
}  # fmt: skip
# catalogue activation -> the XNNPACK configs of the ops LiteRT's delegate runs it with (by the
# activation, so that op names stay in the catalogue): (float32, 8-bit). LOGISTIC, TANH and ELU
# run on 8-bit codes as a 256-entry table (x8_lut), LEAKY_RELU as its own kernels.
_CONFIGS = {
    "relu": ("f32_clamp", None), "relu6": ("f32_clamp", None), "hardtanh": ("f32_clamp", None),
    "hardswish": ("f32_hswish", None), "sigmoid": ("f32_sigmoid", "x8_lut"),
    "tanh": ("f32_tanh", "x8_lut"), "elu": ("f32_elu", "x8_lut"), "gelu": ("f32_gelu", None),
    "gelu_tanh": ("f32_approxgelu", None), "leaky_relu": ("f32_lrelu", "{q}8_lrelu"),
}  # fmt: skip


def config_for(activation: str, dtype: str) -> str | None:
    """The XNNPACK config LiteRT's delegate uses for ``activation`` in ``dtype`` ("f32_hswish",
    "x8_lut", ...), or None if the delegate does not take it (edgeact's catalogue says which)."""
    from edgeact.catalogue import ACTIVATIONS

    record = ACTIVATIONS.get(activation)
    form = record.tflite_form() if record is not None else None
    if form is None or dtype.upper() not in form.xnnpack or activation not in _CONFIGS:
        return None
    floating, quantized = _CONFIGS[activation]
    if dtype == "float32":
        return floating
    return quantized and quantized.format(q="qs" if dtype == "int8" else "qu")


def derived_microkernel(config: str, simd: Iterable[str], architecture: str | None) -> str | None:
    """The microkernel XNNPACK's ``config`` selects for a CPU with these ``simd`` features (the
    machine record's names), or None for an architecture or config the table does not cover.

    Our feature names stand for XNNPACK's flags: sse4_2 -> sse4_1, avx2 -> avx2 + fma3 + avx,
    avx512bw -> avx512skx (every CPU with BW has the other SKX parts), x86-64 -> sse2.
    """
    arch = {"amd64": _X86, "arm64": _ARM64}.get((architecture or "").lower(), architecture)
    prefix, by_arch = SELECTION.get(config, ("", {}))
    flags = _xnnpack_flags(simd)
    for flag, suffix in by_arch.get(arch, ()):
        if flag is None or flag in flags:
            return prefix + suffix
    return None


def _xnnpack_flags(simd: Iterable[str]) -> set[str]:
    have = set(simd)
    implied = {"sse4_2": {"sse4_1"}, "avx2": {"avx", "fma3"}, "avx512bw": {"avx512skx"}}
    return have.union(*(implied.get(name, set()) for name in have))


def microkernels(records: Iterable[Mapping], machine: Mapping) -> dict[str, dict]:
    """For each activation × dtype of ``records`` that XNNPACK takes: its config, the derived and
    (if readable) the observed microkernel. Keys "sigmoid int8"; observed None where unknown."""
    cases = dict.fromkeys((r["activation"], r["dtype"]) for r in records)
    configs = {case: config_for(*case) for case in cases}
    configs = {case: config for case, config in configs.items() if config is not None}
    ran = any(r["peer"] == "xnnpack" and r["status"] == "ok" for r in records)
    observed = (observed_microkernels(set(configs.values())) if ran else None) or {}
    simd, arch = machine.get("simd") or [], machine.get("architecture")
    return {
        f"{name} {dtype}": {
            "config": config,
            "observed": observed.get(config),
            "derived": derived_microkernel(config, simd, arch),
        }
        for (name, dtype), config in configs.items()
    }


def observed_microkernels(configs: Iterable[str]) -> dict[str, str] | None:
    """{config: microkernel} read from the LiteRT library loaded in this process (see the module
    docstring); configs XNNPACK has not filled in yet are left out. None if it cannot be read."""
    try:
        library, base = _loaded_litert_library()
        symbols = _elf_symbols(library)
    except (OSError, ValueError, struct.error):
        return None
    functions = {value: name for name, (value, _) in symbols.items() if "_ukernel__" in name}
    found = {}
    with open("/proc/self/mem", "rb", buffering=0) as memory:
        for config in configs:
            value, size = symbols.get(f"{config}_config", (0, 0))
            if not value or size < 8:
                continue
            try:
                words = struct.unpack(
                    f"<{size // 8}Q", os.pread(memory.fileno(), size, base + value)
                )
            except OSError:
                continue
            # The first function pointer of the object: the ukernel (default variant first).
            chosen = next((functions[w - base] for w in words if w - base in functions), None)
            if chosen is not None:
                found[config] = chosen
    return found


def _loaded_litert_library() -> tuple[Path, int]:
    """The mapped LiteRT library that holds XNNPACK and its load address (Linux only)."""
    if platform.system() != "Linux":
        raise ValueError("reading the loaded library needs Linux's /proc")
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and int(fields[2], 16) == 0:  # the mapping at file offset 0
            path = Path(fields[5])
            if path.name.startswith("libpywrap_litert_common"):  # ai-edge-litert's XNNPACK
                return path, int(fields[0].split("-")[0], 16)
    raise ValueError("LiteRT's library is not loaded")


def _elf_symbols(path: Path) -> dict[str, tuple[int, int]]:
    """{name: (address, size)} of a little-endian ELF64 file's .symtab (the full table, local
    symbols included; a stripped file has none -> ValueError)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a little-endian ELF64 file")
    (section_offset,) = struct.unpack_from("<Q", data, 0x28)
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, section_offset + i * entry_size)
        for i in range(count)
    ]
    symbols = {}
    for _, kind, _, _, offset, size, link, _, _, _ in sections:
        if kind != 2:  # SHT_SYMTAB
            continue
        names = sections[link][4]
        for at in range(offset, offset + size, 24):
            name, _, _, _, value, length = struct.unpack_from("<IBBHQQ", data, at)
            start = names + name
            symbols[data[start : data.index(b"\0", start)].decode(errors="replace")] = (
                value,
                length,
            )
    if not symbols:
        raise ValueError(f"{path}: no symbol table (stripped)")
    return symbols
