"""The SIMD table loops against NumPy indexing, and the portable fallback switch."""

import numpy as np
import pytest

from edgeact.kernels import _cpu, _simd
from edgeact.kernels._loops import lut_loop

BYTE_SIZES = [0, 1, 63, 64, 65, 127, 128, 1000, 4096 + 17]
HALF_SIZES = [0, 1, 15, 16, 17, 31, 32, 1000, 65536 + 17]
FAST_LOOPS = {
    np.uint8: ("avx512vbmi", _simd._vbmi_lut_loop),
    np.uint16: ("avx512f", _simd._avx512_half_lut_loop),
}


def _loops(dtype):
    yield "portable", lut_loop
    feature, loop = FAST_LOOPS[dtype]
    if _cpu.has(feature):
        yield feature, loop


@pytest.mark.parametrize(
    ("dtype", "size"),
    [(np.uint8, s) for s in BYTE_SIZES] + [(np.uint16, s) for s in HALF_SIZES],
)
def test_every_available_loop_matches_numpy_indexing(dtype, size):
    rng = np.random.default_rng(size)
    entries = np.iinfo(dtype).max + 1
    table = rng.integers(0, entries, entries).astype(dtype)
    codes = rng.integers(0, entries, size).astype(dtype)
    every = min(size, entries)
    codes[:every] = np.arange(entries - every, entries)  # every index where there is room,
    for name, loop in _loops(dtype):  # and always the last one (the float16 gather's edge)
        out = np.zeros(size, dtype)
        loop(codes, table, out)
        np.testing.assert_array_equal(out, table[codes], err_msg=name)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_the_fast_loop_is_used_where_the_cpu_has_it(dtype):
    feature = FAST_LOOPS[dtype][0]
    expected = feature if _cpu.has(feature) else "portable"  # has() is False under PORTABLE
    chosen = {np.uint8: _simd.BYTE_LUT_IMPLEMENTATION, np.uint16: _simd.HALF_LUT_IMPLEMENTATION}
    assert chosen[dtype] == expected


def test_edgeact_portable_forces_the_fallback(monkeypatch):
    monkeypatch.setenv("EDGEACT_PORTABLE", "1")
    assert _simd._choose("avx512f", _simd._avx512_half_lut_loop) == ("portable", lut_loop)
    monkeypatch.setenv("EDGEACT_PORTABLE", "0")
    for feature, loop in FAST_LOOPS.values():
        assert _simd._choose(feature, loop)[0] == (feature if _cpu.has(feature) else "portable")
