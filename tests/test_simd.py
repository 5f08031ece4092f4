"""The SIMD byte-table loop against NumPy indexing, and the portable fallback switch."""

import os

import numpy as np
import pytest

from edgeact.kernels import _simd
from edgeact.kernels._loops import lut_loop

SIZES = [0, 1, 63, 64, 65, 127, 128, 1000, 4096 + 17]


def _loops():
    yield "portable", lut_loop
    if _simd._has_vbmi():
        yield "avx512vbmi", _simd._vbmi_lut_loop


@pytest.mark.parametrize("size", SIZES)
def test_every_available_loop_matches_numpy_indexing(size):
    rng = np.random.default_rng(size)
    table = rng.integers(0, 256, 256).astype(np.uint8)
    codes = rng.integers(0, 256, size).astype(np.uint8)
    codes[: min(size, 256)] = np.arange(min(size, 256))  # every index, where there is room
    for name, loop in _loops():
        out = np.zeros(size, np.uint8)
        loop(codes, table, out)
        np.testing.assert_array_equal(out, table[codes], err_msg=name)


def test_the_fast_loop_is_used_where_the_cpu_has_it():
    expected = "avx512vbmi" if _simd._has_vbmi() else "portable"
    if os.environ.get("EDGEACT_PORTABLE", "") not in ("", "0"):
        expected = "portable"
    assert expected == _simd.BYTE_LUT_IMPLEMENTATION


def test_edgeact_portable_forces_the_fallback(monkeypatch):
    monkeypatch.setenv("EDGEACT_PORTABLE", "1")
    assert _simd._choose() == ("portable", lut_loop)
    monkeypatch.setenv("EDGEACT_PORTABLE", "0")
    assert _simd._choose()[0] == ("avx512vbmi" if _simd._has_vbmi() else "portable")
