"""Conversions and verifications in a child process: a runtime crash is a one-line error.

The crash is real: the child reads address 0 (SIGSEGV), as LiteRT or ONNX Runtime would on a
model that slips past every check. What the parent sees must be what an in-process call gives,
apart from that: the same result, the same errors, the same progress.
"""

import signal
import subprocess
import sys

import onnx
import pytest

from edgeact import converters
from edgeact.cli import main
from edgeact.converters import ModelError, _isolated
from tests import onnx_models as om
from tests import tflite_models as tm

pytestmark = pytest.mark.subprocess


def test_a_crash_in_the_child_is_a_one_line_error_and_its_temp_files_go(tmp_path):
    output = tmp_path / "out.onnx"
    with pytest.raises(ModelError) as caught:
        _isolated.call(
            "tests._crash:write_then_crash",
            str(output),
            runtime="ONNX Runtime",
            subject="m.onnx",
            output=output,
        )
    assert str(caught.value) == "ONNX Runtime crashed (SIGSEGV) on m.onnx; nothing was written"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_an_isolated_conversion_gives_the_in_process_report_and_progress(tmp_path, fmt):
    source = tmp_path / f"in.{fmt}"
    if fmt == "onnx":
        onnx.save(om.single(om.silu, 17), source)
    else:
        source.write_bytes(tm.silu_only_model(int8=False))
    reports, steps = {}, {}
    for isolate in (False, True):
        out = tmp_path / f"out-{isolate}.{fmt}"
        seen = steps[isolate] = []
        report = converters.convert(
            source,
            out,
            ["silu=hardswish"],
            isolate=isolate,
            progress=lambda *s, seen=seen: seen.append(s),
        )
        reports[isolate] = {k: v for k, v in report.items() if k != "output"}
        assert out.read_bytes() == (tmp_path / f"out-False.{fmt}").read_bytes()
    assert reports[True] == reports[False]
    assert [s[:2] for s in steps[True]] == [s[:2] for s in steps[False]]


def test_errors_in_the_child_are_raised_as_in_process(tmp_path):
    with pytest.raises(ModelError, match=r"^\S+missing.onnx: no such file$"):
        converters.convert(tmp_path / "missing.onnx", tmp_path / "o.onnx", isolate=True)
    with pytest.raises(ValueError, match=r"^tolerance -1 must be a number >= 0$"):
        converters.verify(tmp_path / "a.onnx", tmp_path / "b.onnx", isolate=True, tolerance=-1)


def test_sigterm_to_the_command_stops_its_child_and_leaves_nothing(tmp_path):
    source = tmp_path / "in.tflite"
    source.write_bytes(tm.silu_only_model(int8=False))
    before = source.read_bytes()
    command = [sys.executable, "-m", "edgeact.cli", "convert", str(source), "-o"]
    child = subprocess.Popen(
        [*command, str(tmp_path / "out.tflite"), "--swap", "silu=hardswish"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    first = child.stderr.readline()  # the first progress step: the child process is at work
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert first.startswith("[1/"), first
    assert child.returncode in (0, 143), err  # 0: it had finished before the signal came
    assert "Traceback" not in err
    assert source.read_bytes() == before
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left in (["in.tflite"], ["in.tflite", "out.tflite"])


def test_the_command_isolates_by_default(monkeypatch, tmp_path, capsys):
    calls = []

    def isolated(function, *args, **kwargs):
        calls.append(function)
        raise ValueError("stop here")

    monkeypatch.setattr(_isolated, "call", isolated)
    assert main(["verify", str(tmp_path / "a.onnx"), str(tmp_path / "b.onnx")]) == 2
    assert main(["convert", str(tmp_path / "a.onnx"), "-o", str(tmp_path / "b.onnx")]) == 2
    assert main(["convert", str(tmp_path / "a.onnx"), "-o", "b.onnx", "--no-isolate"]) == 2
    assert calls == ["edgeact.converters:verify", "edgeact.converters:convert"]


def test_where_no_child_can_start_the_work_runs_here_with_a_warning(monkeypatch, tmp_path):
    """As under the emulated aarch64 interpreter, which cannot exec itself (ENOEXEC)."""

    def no_exec(*args, **kwargs):
        raise OSError(8, "Exec format error")

    source = tmp_path / "in.tflite"
    source.write_bytes(tm.silu_only_model(int8=False))
    monkeypatch.setattr(_isolated.subprocess, "Popen", no_exec)
    with pytest.warns(RuntimeWarning, match="cannot start a child process"):
        report = converters.convert(
            source, tmp_path / "out.tflite", ["silu=hardswish"], isolate=True
        )
    assert report["written"]


def test_sigterm_inside_an_extension_that_wraps_the_exit_still_exits_143():
    """Measured: SIGTERM during LiteRT's import ended in "ImportError: initialization failed"
    (caused by the exit) and a traceback, not status 143."""
    import os

    from edgeact._signals import terminate_as_exit

    def wrapping_extension():
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before the next bytecode
        except SystemExit as exit_:
            raise ImportError("initialization failed") from exit_

    with pytest.raises(SystemExit) as stop, terminate_as_exit():
        wrapping_extension()
    assert stop.value.code == 143 and stop.value.__cause__ is None
    with pytest.raises(ImportError), terminate_as_exit():  # other errors pass unchanged
        raise ImportError("no module named x")
