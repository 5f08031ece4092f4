"""The kernels give the same bits whatever CPU target Numba compiles for (issue 13, item 3).

Each configuration runs in a fresh process with a fresh cache directory, so nothing compiled for
one target is reused by another. ``NUMBA_CPU_NAME=generic`` used to segfault in the float16
kernels: edgeact chose F16C and AVX-512 paths from the host while Numba compiled for a target
without them (see ``edgeact.kernels._cpu``). The "avx2-lookups" process forces the AVX2 table
paths that this CPU would not choose by itself (``EDGEACT_BYTE_LUT``/``EDGEACT_HALF_LUT``).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeact.kernels import _cpu

pytestmark = pytest.mark.subprocess

CONFIGURATIONS = {
    "default": {},
    "generic": {"NUMBA_CPU_NAME": "generic"},
    "haswell": {"NUMBA_CPU_NAME": "haswell"},
    "portable": {"EDGEACT_PORTABLE": "1"},
    "avx2-lookups": {"EDGEACT_BYTE_LUT": "avx2", "EDGEACT_HALF_LUT": "avx2"},
}
_SCRIPT = Path(__file__).with_name("_kernel_bits.py")


def _run(tmp_path: Path, label: str) -> dict[str, np.ndarray]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CPU", "EDGEACT_"))}
    env.update(CONFIGURATIONS[label], NUMBA_CACHE_DIR=str(tmp_path / f"cache-{label}"))
    env["PYTHONPATH"] = os.pathsep.join([str(_SCRIPT.parent.parent), env.get("PYTHONPATH", "")])
    saved = tmp_path / f"{label}.npz"
    done = subprocess.run(
        [sys.executable, str(_SCRIPT), str(saved)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{label}: exit {done.returncode}\n{done.stderr[-2000:]}"
    with np.load(saved) as arrays:
        return {k: arrays[k] for k in arrays.files}


def _same_bits(expected: np.ndarray, got: np.ndarray) -> bool:
    """Equal bits, NaN payloads and signed zeros included (the float views would hide both)."""
    bits = f"u{expected.itemsize}"
    return expected.dtype == got.dtype and np.array_equal(expected.view(bits), got.view(bits))


@pytest.fixture(scope="module")
def default_bits(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("bits"), "default")


@pytest.mark.parametrize(
    "label", ["generic", "haswell", "portable", *(["avx2-lookups"] if _cpu.has("avx2") else [])]
)
def test_every_target_gives_the_default_targets_bits(tmp_path, default_bits, label):
    got = _run(tmp_path, label)
    assert got.keys() == default_bits.keys()
    differ = [k for k in default_bits if not _same_bits(default_bits[k], got[k])]
    assert not differ, f"{label} differs from the default target in: {', '.join(differ)}"


def test_generic_target_turns_the_simd_paths_off(monkeypatch):
    monkeypatch.setattr(_cpu.config, "CPU_FEATURES", "")
    assert not _cpu.has("avx512vbmi") and not _cpu.has("avx2") and not _cpu.has_half_conversion()


def test_a_feature_needs_both_the_target_and_the_host(monkeypatch):
    monkeypatch.setattr(_cpu.config, "CPU_FEATURES", "+edgeact-no-such-feature")
    assert not _cpu.has("edgeact-no-such-feature")
