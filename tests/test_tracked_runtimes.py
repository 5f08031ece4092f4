"""Each int8 compat names the runtime release it reproduces, and warns once when another is
installed (the version is read from package metadata; the runtime is never imported for it)."""

import warnings

import numpy as np
import pytest

import edgeact.kernels as K
from edgeact.kernels import _onnxruntime, _quantized, _tflite
from edgeact.quant import QuantParams


def test_every_compat_names_its_runtime_release():
    assert set(K.TRACKED_RUNTIMES) == set(K.COMPATS) == set(_quantized._BUILDERS)
    for tracked in K.TRACKED_RUNTIMES.values():
        assert tracked.version.count(".") == 1 and tracked.version.replace(".", "").isdigit()


def test_the_emulations_document_the_tracked_release():
    # The emulation modules cite the release whose sources and binaries they were checked against.
    assert f"ONNX Runtime {K.TRACKED_RUNTIMES['onnxruntime'].version}" in _onnxruntime.__doc__
    for compat in ("tflite", "xnnpack"):
        assert f"LiteRT {K.TRACKED_RUNTIMES[compat].version}" in _tflite.__doc__


@pytest.mark.parametrize("installed", ["1.32.0", "1.32.7", "1.32.0rc1", "1.32", None])
def test_same_major_minor_or_not_installed_is_no_mismatch(installed):
    assert _quantized.runtime_version_mismatch("onnxruntime", installed) is None


@pytest.mark.parametrize("installed", ["1.24.1", "1.3.2", "2.32.0", "1.320.0"])
def test_other_major_minor_is_a_mismatch(installed):
    message = _quantized.runtime_version_mismatch("onnxruntime", installed)
    assert message is not None and f"onnxruntime {installed} is installed" in message
    assert "compat='onnxruntime'" in message and "onnxruntime 1.32" in message


@pytest.fixture
def fresh_version_check():
    """Forget earlier checks and tables, before and after (the check runs once per process)."""
    _quantized._warn_if_untracked.cache_clear()
    _quantized.quantized_table.cache_clear()
    yield
    _quantized._warn_if_untracked.cache_clear()
    _quantized.quantized_table.cache_clear()


def _codes():
    return np.arange(256, dtype=np.uint8).view(np.int8)


def test_an_untracked_runtime_warns_once_at_the_callers_line(monkeypatch, fresh_version_check):
    versions = {"ai-edge-litert": "2.0.3", "onnxruntime": "1.32.0"}
    monkeypatch.setattr(_quantized.importlib.metadata, "version", versions.__getitem__)
    x_q, y_q = QuantParams(0.05, 3, np.int8), QuantParams(0.04, -2, np.int8)
    with pytest.warns(K.RuntimeVersionWarning, match=r"ai-edge-litert 2\.0\.3 is installed") as w:
        K.hardswish(_codes(), x_q=x_q, y_q=y_q, compat="xnnpack")
    assert len(w) == 1 and w[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K.sigmoid(_codes(), x_q=x_q, y_q=y_q, compat="xnnpack")  # checked once per compat
        K.make_lut("relu", x_q, y_q, compat="onnxruntime")  # the tracked release: no warning
    with pytest.warns(K.RuntimeVersionWarning) as w:
        K.make_lut("relu", x_q, y_q, compat="tflite")  # tflite is checked on its own
    assert len(w) == 1 and w[0].filename == __file__


def test_a_missing_runtime_does_not_warn(monkeypatch, fresh_version_check):
    def missing(name):
        raise _quantized.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_quantized.importlib.metadata, "version", missing)
    x_q = QuantParams(0.05, 3, np.int8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        K.relu(_codes(), x_q=x_q, y_q=x_q, compat="onnxruntime")
