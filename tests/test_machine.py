"""The machine block: read on this machine, and from fake /proc and /sys roots with entries missing.

No subprocess is started (the tests also run under the emulated aarch64 interpreter).
"""

import numpy as np
import pytest

from edgeact.bench import machine
from edgeact.kernels import _simd

KEYS = {
    "cpu_model", "cpu_vendor", "architecture", "system", "logical_cores", "physical_cores",
    "memory_bytes", "l1d_bytes", "l2_bytes", "l3_bytes", "simd", "llvm_cpu", "int8_lookup",
    "float16_lookup", "edgeact_portable", "versions",
}  # fmt: skip
X86_CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Test CPU 9000
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse4_1 sse4_2 avx2 f16c avx512f avx512bw

processor\t: 1
vendor_id\t: GenuineIntel
physical id\t: 0
core id\t\t: 1
"""
ARM_CPUINFO = """processor\t: 0
Features\t: fp asimd evtstrm asimdhp asimddp sve
CPU implementer\t: 0x41
CPU part\t: 0xd0c
"""


def _cache(root, index, level, kind, size):
    directory = root / "devices/system/cpu/cpu0/cache" / f"index{index}"
    directory.mkdir(parents=True)
    for name, text in (("level", str(level)), ("type", kind), ("size", size)):
        (directory / name).write_text(text + "\n")


def test_this_machine_has_every_key_and_its_versions():
    info = machine.machine_info()
    assert KEYS <= set(info)
    versions = info["versions"]
    assert {"python", "numpy", "numba", "llvmlite", "onnxruntime", "ai-edge-litert"} <= set(
        versions
    )
    assert versions["numpy"] == np.__version__
    for key in ("l1d_bytes", "l2_bytes", "l3_bytes", "logical_cores", "physical_cores"):
        assert info[key] is None or (isinstance(info[key], int) and info[key] > 0)
    assert info["int8_lookup"] in (*_simd.BYTE_LOOPS, "portable")  # "neon" on AArch64
    assert info["float16_lookup"] in (*_simd.HALF_LOOPS, "portable")
    assert isinstance(info["simd"], list)


def test_missing_proc_and_sys_give_unknowns_not_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "_llvm_features", lambda: {})
    info = machine.machine_info(proc_root=tmp_path / "proc", sys_root=tmp_path / "sys")
    assert KEYS <= set(info)
    for key in ("cpu_model", "cpu_vendor", "physical_cores", "l1d_bytes", "l2_bytes", "l3_bytes"):
        assert info[key] is None, key
    assert info["simd"] == [] or info["architecture"] in ("aarch64", "arm64")
    line = machine.describe_machine(info)
    assert "\n" not in line and "unknown CPU" in line and "L2 unknown" in line


def test_partial_proc_and_sys_are_read_where_present(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "_llvm_features", lambda: {})
    monkeypatch.setattr(machine.platform, "machine", lambda: "x86_64")
    proc, sys_root = tmp_path / "proc", tmp_path / "sys"
    proc.mkdir()
    (proc / "cpuinfo").write_text(X86_CPUINFO)
    _cache(sys_root, 0, 1, "Data", "48K")
    _cache(sys_root, 1, 1, "Instruction", "32K")
    _cache(sys_root, 2, 2, "Unified", "garbage")  # unreadable: unknown, not an error
    info = machine.machine_info(proc_root=proc, sys_root=sys_root)
    assert (info["cpu_model"], info["cpu_vendor"]) == ("Test CPU 9000", "GenuineIntel")
    assert info["physical_cores"] == 2
    assert info["simd"] == ["sse4_2", "avx2", "avx512f", "avx512bw", "f16c"]
    assert (info["l1d_bytes"], info["l2_bytes"], info["l3_bytes"]) == (48 << 10, None, None)


def test_arm_features_use_our_names(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "_llvm_features", lambda: {})
    monkeypatch.setattr(machine.platform, "machine", lambda: "aarch64")
    (tmp_path / "cpuinfo").write_text(ARM_CPUINFO)
    info = machine.machine_info(proc_root=tmp_path, sys_root=tmp_path)
    assert info["cpu_vendor"] == "ARM"
    assert info["simd"] == ["neon", "fp16", "dotprod", "sve"]


def test_llvm_features_fill_in_without_cpuinfo(tmp_path, monkeypatch):
    """macOS and sandboxes have no /proc/cpuinfo: LLVM's host features still name the SIMD."""
    monkeypatch.setattr(machine.platform, "machine", lambda: "arm64")
    monkeypatch.setattr(machine, "_llvm_features", lambda: {"neon": True, "fullfp16": True})
    info = machine.machine_info(proc_root=tmp_path, sys_root=tmp_path)
    assert info["simd"] == ["neon", "fp16"]


def test_probes_that_raise_are_unknown(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no such thing here")

    monkeypatch.setattr(machine.os, "cpu_count", broken)
    monkeypatch.setattr(machine.platform, "machine", broken)
    monkeypatch.setattr(machine, "_llvm_features", broken)
    monkeypatch.setattr(machine.metadata, "version", broken)
    info = machine.machine_info(proc_root=tmp_path, sys_root=tmp_path)
    assert info["logical_cores"] is None and info["architecture"] is None
    assert info["versions"]["numba"] is None and info["versions"]["numpy"] == np.__version__


@pytest.mark.parametrize("value", ["1", "0"])
def test_portable_switch_is_reported(monkeypatch, value):
    """The lookups are chosen at import; with EDGEACT_PORTABLE=1 (as a process started with it)
    the machine block and the kernel records name the portable loops."""
    from edgeact import bench

    monkeypatch.setenv("EDGEACT_PORTABLE", value)
    byte = _simd._choose("EDGEACT_BYTE_LUT", _simd.BYTE_LOOPS)[0]
    half = _simd._choose("EDGEACT_HALF_LUT", _simd.HALF_LOOPS)[0]
    monkeypatch.setattr(_simd, "BYTE_LUT_IMPLEMENTATION", byte)
    monkeypatch.setattr(_simd, "HALF_LUT_IMPLEMENTATION", half)
    info = machine.machine_info()
    assert info["edgeact_portable"] == value
    assert (info["int8_lookup"], info["float16_lookup"]) == (byte, half)
    if value == "1":
        assert byte == half == "portable"
    line = machine.describe_machine(info)
    assert f"int8 lookup {byte}, float16 lookup {half};" in line
    records = bench.measure_kernels(["silu"], ["int8", "float16"], [100], min_time=1e-4, repeats=1)
    implementations = {r["implementation"] for r in records if r["peer"] == "edgeact"}
    assert implementations == {f"byte lookup ({byte})", f"float16 table ({half})"}


def test_parse_size_binary_suffixes():
    assert machine.parse_size("48K\n") == 48 << 10
    assert machine.parse_size("1M") == 1 << 20
    with pytest.raises(ValueError, match="lots"):
        machine.parse_size("lots")
