"""The SIMD table loops against NumPy indexing, how a path is chosen, and the portable switch.

Every path this process can run is tested; under the emulated aarch64 run that is the NEON one.
"""

import os
import platform

import numpy as np
import pytest

from edgeact.kernels import _cpu, _simd, apply_lut
from edgeact.kernels._loops import lut_loop

HALF_SIZES = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 1000, 65536 + 17]
LENGTHS = range(258)  # around every vector width (16, 32, 64) and past the 256 codes
OFFSETS = [0, 1, 31]  # misaligned starts of the codes; the output starts one byte further on
PATHS = {np.uint8: _simd.BYTE_LOOPS, np.uint16: _simd.HALF_LOOPS}
VARIABLES = {np.uint8: "EDGEACT_BYTE_LUT", np.uint16: "EDGEACT_HALF_LUT"}


def _runnable(loops: dict) -> dict:
    """The paths this process can run, portable included (a name each, for test ids)."""
    return {**{name: loop for name, loop in loops.items() if _cpu.has(name)}, "portable": lut_loop}


BYTE_HERE = _runnable(_simd.BYTE_LOOPS)
HALF_HERE = _runnable(_simd.HALF_LOOPS)


@pytest.mark.parametrize("path", BYTE_HERE)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_every_byte_path_matches_numpy_on_every_length_and_offset(monkeypatch, path, dtype):
    """Through the public apply_lut, so int8 and uint8 views and the remainder loop are covered;
    each length from 0 to 257 at each offset, codes a shuffled run of all 256 twice over."""
    monkeypatch.setattr(_simd, "fast_byte_loop", BYTE_HERE[path])
    rng = np.random.default_rng(sorted(BYTE_HERE).index(path))
    table = rng.integers(0, 256, 256, dtype=np.uint8).view(dtype)
    codes = np.concatenate([rng.permutation(256), rng.permutation(256)]).astype(np.uint8)
    codes = codes.view(dtype)
    outputs = np.zeros(codes.size + 1, dtype)
    for offset in OFFSETS:
        for length in LENGTHS:
            x = codes[offset : offset + length]
            out = outputs[offset + 1 : offset + 1 + length]
            apply_lut(x, table, out=out)
            expected = table[x.view(np.uint8)]
            assert np.array_equal(out, expected), f"{path}: length {length}, offset {offset}"


@pytest.mark.parametrize("path", HALF_HERE)
@pytest.mark.parametrize("size", HALF_SIZES)
def test_every_half_path_matches_numpy_indexing(path, size):
    rng = np.random.default_rng(size)
    table = rng.integers(0, 1 << 16, 1 << 16, dtype=np.uint16)
    codes = rng.integers(0, 1 << 16, size, dtype=np.uint16)
    every = min(size, 1 << 16)
    codes[:every] = np.arange((1 << 16) - every, 1 << 16)  # every code where there is room,
    out = np.zeros(size, np.uint16)  # and always the last one (the gathers' edge case)
    HALF_HERE[path](codes, table, out)
    np.testing.assert_array_equal(out, table[codes], err_msg=path)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_the_best_runnable_path_is_chosen(dtype):
    """The first of the paths (best first) that this process can run, unless one is forced;
    the float16 gathers on Intel CPUs only (slower than the portable loop on AMD's Zen 5)."""
    chosen = {np.uint8: _simd.BYTE_LUT_IMPLEMENTATION, np.uint16: _simd.HALF_LUT_IMPLEMENTATION}
    best = next(iter(_runnable(PATHS[dtype])))
    if dtype == np.uint16 and not _cpu.is_intel():
        best = "portable"
    assert chosen[dtype] == (os.environ.get(VARIABLES[dtype]) or best)


def test_the_float16_gather_is_chosen_by_vendor(monkeypatch):
    monkeypatch.delenv("EDGEACT_HALF_LUT", raising=False)
    gathers = _runnable(_simd.HALF_LOOPS)
    assert _simd._choose("EDGEACT_HALF_LUT", _simd.HALF_LOOPS, False)[0] == "portable"
    assert _simd._choose("EDGEACT_HALF_LUT", _simd.HALF_LOOPS, True)[0] == next(iter(gathers))


@pytest.mark.skipif(
    platform.machine().lower() not in ("aarch64", "arm64"), reason="the AArch64 choice"
)
def test_aarch64_looks_bytes_up_with_neon():
    """NEON is base AArch64: the tbl loop runs there however short the host's feature list."""
    assert _cpu.has("neon") != _cpu.portable()
    assert _simd.BYTE_LUT_IMPLEMENTATION == ("portable" if _cpu.portable() else "neon")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_a_variable_forces_each_runnable_path(monkeypatch, dtype):
    for name in _runnable(PATHS[dtype]):
        monkeypatch.setenv(VARIABLES[dtype], name)
        assert _simd._choose(VARIABLES[dtype], PATHS[dtype])[0] == name


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("avx3", "is not a path (avx512vbmi, avx512bw, avx2, neon, portable)"),
        ("avx2", "needs avx2"),
    ],
)
def test_a_path_that_cannot_run_is_a_one_line_error(monkeypatch, value, reason):
    monkeypatch.setenv("EDGEACT_PORTABLE", "1")  # so that no SIMD path can run, on any CPU
    monkeypatch.setenv("EDGEACT_BYTE_LUT", value)
    with pytest.raises(ValueError) as raised:
        _simd._choose("EDGEACT_BYTE_LUT", _simd.BYTE_LOOPS)
    message = str(raised.value)
    assert message.startswith(f"EDGEACT_BYTE_LUT={value!r} {reason}") and "\n" not in message
    assert message.endswith("available here: portable")


def test_edgeact_portable_forces_the_fallback(monkeypatch):
    monkeypatch.delenv("EDGEACT_BYTE_LUT", raising=False)
    monkeypatch.delenv("EDGEACT_HALF_LUT", raising=False)
    monkeypatch.setenv("EDGEACT_PORTABLE", "1")
    for dtype, loops in PATHS.items():
        assert _simd._choose(VARIABLES[dtype], loops) == ("portable", lut_loop)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_the_short_paths_compiled_name_follows_the_loop_it_binds(monkeypatch, dtype):
    """Numba caches the short path's compiled table call on disk by name: a name taken from the
    path's label let a relabelled path cache one loop under another's name for later runs."""
    from edgeact.kernels import _plan

    _, loop = _simd.fast_table_loop(dtype)
    name = _plan.table_c_loop(dtype).__wrapped__.__qualname__
    assert loop.py_func.__name__ in name
    monkeypatch.setattr(_simd, "BYTE_LUT_IMPLEMENTATION", "relabelled")
    monkeypatch.setattr(_simd, "HALF_LUT_IMPLEMENTATION", "relabelled")
    assert _plan.table_c_loop(dtype).__wrapped__.__qualname__ == name
