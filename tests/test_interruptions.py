"""Ctrl-C, a closed stdout and file permissions: what a user sees in a shell.

- Ctrl-C (SIGINT) ends a command with status 130 and no traceback.
- A reader that stops early (``edgeact inspect m.onnx --json | head -1``) ends it with status
  141, as SIGPIPE ends other tools, and nothing on stderr.
- Converted models get the permissions a plain file write would: 0o666 less the umask, or the
  mode of the file they replace (``mkstemp`` alone would make them 0o600).
- SIGINT or SIGTERM anywhere in a conversion leaves the input byte for byte as it was, and the
  output folder either as it was or holding the complete converted model; never a temporary file
  or half a model (tests/_interrupted_convert.py sends the real signal at each point).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from edgeact import converters, guide
from edgeact.cli import main
from tests import onnx_models as om
from tests import tflite_models as tm

COMMAND = [sys.executable, "-m", "edgeact.cli"]


def test_keyboard_interrupt_exits_130_without_output(monkeypatch, capsys):
    def interrupted(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(guide, "format_advice", interrupted)
    assert main(["guide"]) == 130
    assert capsys.readouterr().err == ""


@pytest.mark.subprocess
def test_sigint_mid_benchmark_exits_130_without_a_traceback():
    child = subprocess.Popen(
        [
            *COMMAND,
            "bench",
            "kernels",
            "--activations",
            "gelu",
            "--dtypes",
            "f32",
            "--sizes",
            "DRAM",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = child.stderr.readline()  # the first progress line: inside the benchmark
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert first.startswith("[1/"), first
    assert child.returncode == 130, err
    assert "Traceback" not in err


@pytest.mark.subprocess
def test_a_closed_stdout_exits_quietly():
    child = subprocess.Popen(
        [*COMMAND, "guide", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    child.stdout.close()  # the reader is gone before the first write
    _, err = child.communicate(timeout=120)
    assert child.returncode == 141
    assert err.decode() == ""


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    before = os.umask(0o022)
    os.umask(before)
    yield set_mask
    os.umask(before)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_outputs_get_the_umask_permissions(tmp_path, umask, mask, mode):
    source = tmp_path / "silu.tflite"
    source.write_bytes(tm.silu_only_model(int8=False))
    umask(mask)
    converters.convert(source, tmp_path / "out.tflite", swaps=["silu=hardswish"])
    assert (tmp_path / "out.tflite").stat().st_mode & 0o777 == mode


def test_a_replaced_output_keeps_its_mode(tmp_path, umask):
    source = tmp_path / "silu.tflite"
    source.write_bytes(tm.silu_only_model(int8=False))
    out = tmp_path / "out.tflite"
    out.write_bytes(b"old")
    out.chmod(0o640)
    umask(0o022)
    converters.convert(source, out, swaps=["silu=hardswish"])
    assert out.stat().st_mode & 0o777 == 0o640 and out.read_bytes() != b"old"


_INTERRUPTED = [sys.executable, str(Path(__file__).with_name("_interrupted_convert.py"))]
POINTS = ["read", "verify", "write", "fsync", "rename", "after-rename"]
EXIT_STATUS = {"INT": 130, "TERM": 143}  # the shell's 128 + signal number


def _write_source(folder: Path, fmt: str) -> Path:
    """A SiLU model in ``folder``; "onnx-external" keeps its Conv weights in a data file."""
    if fmt == "tflite":
        source = folder / "in.tflite"
        source.write_bytes(tm.silu_only_model(int8=False))
        return source
    b = om.Builder()
    weights = np.random.default_rng(0).normal(size=(8, 8, 3, 3)).astype(np.float32)
    model = b.model(om.silu(b, b.op("Conv", "x", b.const(weights), pads=[1, 1, 1, 1])), 17)
    source = folder / "in.onnx"
    external = {"save_as_external_data": True, "location": "in.weights", "size_threshold": 0}
    onnx.save(model, source, **(external if fmt == "onnx-external" else {}))
    return source


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Per format: the input folder's files and those of an uninterrupted conversion."""
    made = {}
    for fmt in ("onnx", "onnx-external", "tflite"):
        folder, done = tmp_path_factory.mktemp(fmt), tmp_path_factory.mktemp(f"{fmt}-done")
        source = _write_source(folder, fmt)
        converters.convert(source, done / f"out{source.suffix}", swaps=["silu=hardswish"])
        made[fmt] = (source, _files(done))
    return made


def _interrupt(tmp_path, sources, fmt, signal_name, point, old_output=None):
    """Convert a copy of the ``fmt`` model, signalled at ``point``; check the invariants and return
    the output folder's files, which are those of before, or the complete conversion."""
    source, converted = sources[fmt]
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name, data in _files(source.parent).items():
        (inputs / name).write_bytes(data)
    before, out = _files(inputs), tmp_path / "out"
    out.mkdir()
    if old_output is not None:
        (out / f"out{source.suffix}").write_bytes(old_output)
    old = _files(out)
    child = subprocess.run(
        [
            *_INTERRUPTED,
            signal_name,
            point,
            str(inputs / source.name),
            str(out / f"out{source.suffix}"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == EXIT_STATUS[signal_name], child.stderr
    assert "Traceback" not in child.stderr, child.stderr
    assert _files(inputs) == before, "the input changed"
    left = _files(out)
    assert left in (old, converted), f"{point}: the output folder holds {sorted(left)}"
    return left, old, converted


@pytest.mark.subprocess
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("fmt", ["onnx", "onnx-external", "tflite"])
def test_sigint_anywhere_in_a_conversion_loses_nothing(tmp_path, sources, fmt, point):
    left, old, converted = _interrupt(tmp_path, sources, fmt, "INT", point)
    assert left == (converted if _finished(fmt, point) else old)


def _finished(fmt: str, point: str) -> bool:
    """Past the rename; a model and its data file are renamed with signals held, so a signal at
    the first rename lands after the second."""
    return point == "after-rename" or (fmt == "onnx-external" and point == "rename")


@pytest.mark.subprocess
@pytest.mark.parametrize("point", ["verify", "rename", "after-rename"])
@pytest.mark.parametrize("fmt", ["onnx-external", "tflite"])
def test_sigterm_mid_conversion_cleans_up_too(tmp_path, sources, fmt, point):
    left, old, converted = _interrupt(tmp_path, sources, fmt, "TERM", point)
    assert left == (converted if _finished(fmt, point) else old)


@pytest.mark.subprocess
@pytest.mark.parametrize("fmt", ["onnx-external", "tflite"])
def test_an_interrupted_conversion_keeps_the_model_it_would_replace(tmp_path, sources, fmt):
    left, old, _ = _interrupt(tmp_path, sources, fmt, "INT", "fsync", old_output=b"old model")
    assert left == old
