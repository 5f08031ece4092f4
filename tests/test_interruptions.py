"""Ctrl-C, a closed stdout and file permissions: what a user sees in a shell.

- Ctrl-C (SIGINT) ends a command with status 130 and no traceback.
- A reader that stops early (``edgeact inspect m.onnx --json | head -1``) ends it with status
  141, as SIGPIPE ends other tools, and nothing on stderr.
- Converted models get the permissions a plain file write would: 0o666 less the umask, or the
  mode of the file they replace (``mkstemp`` alone would make them 0o600).
"""

import os
import signal
import subprocess
import sys

import pytest

from edgeact import converters, guide
from edgeact.cli import main
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
