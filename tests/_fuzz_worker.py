"""Run fuzz cases in a child interpreter and check each outcome against the error contract.

Mutated models reach native code (onnx's C++ checker and shape inference, ONNX Runtime and LiteRT,
which ``convert`` loads the result in even without verification), so a crash there must not take
pytest down: ``Worker`` sends each ``Case`` to a child process and reports a signal or a case that
takes over ``TIMEOUT`` seconds as a failure. The contract, for every case: success, or a
``ValueError`` (``ModelError`` included) or ``OSError`` with a one-line message; through the CLI,
exit 2 and one stderr line ``edgeact <command>: error: ...``; the input files keep their bytes and
the output folder holds the complete output or nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

__all__ = ["TIMEOUT", "Case", "Outcome", "Worker", "check_cli", "run_case"]

TIMEOUT = 10.0  # seconds per case; longer is a hang
_ROOT = Path(__file__).resolve().parent.parent
_PROGRESS = re.compile(r"^\[\d+/\d+\] ")  # convert's progress lines on stderr (text mode)


@dataclass(frozen=True)
class Case:
    """One model (its files, the model's first) and what to run on it; shown by its ``label``.

    ``argv``: the CLI command, with "{model}", "{reference}" (the unmutated seed) and "{out}"
    standing for paths; ``api``: also run the API's ``inspect`` and ``convert`` (``swaps``,
    ``preset``, verification off) first; ``usage_ok``: argparse may refuse the arguments.
    """

    label: str
    files: dict[str, bytes]
    reference: dict[str, bytes]
    argv: tuple[str, ...]
    swaps: tuple[str, ...] = ()
    preset: str | None = "mobile"
    api: bool = True
    usage_ok: bool = False

    def __repr__(self) -> str:
        return self.label

    def _repr_pretty_(self, printer, cycle) -> None:  # what Hypothesis prints for an example
        printer.text(self.label)


@dataclass(frozen=True)
class Outcome:
    """``kind`` "ok" (success), "error" (the documented one-line error) or "bug"."""

    operation: str
    kind: str
    detail: str = ""


def _write_files(folder: Path, files: dict[str, bytes]) -> Path:
    """``files`` written into ``folder``; the path of the first (``folder`` if none)."""
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder / next(iter(files), "")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _one_line(operation: str, error: BaseException) -> Outcome:
    text = str(error)
    if not text.strip() or "\n" in text.strip():
        return Outcome(operation, "bug", f"{type(error).__name__} not one line: {text!r}")
    return Outcome(operation, "error", f"{type(error).__name__}: {text}")


def _output_left(out: Path, written: bool) -> str | None:
    """What is wrong with the output folder: files besides the output (and its data file)."""
    left = sorted(p.name for p in out.parent.iterdir())
    wanted = {out.name, f"{out.name}.data"} if written else set()
    if written and out.name not in left:
        return f"reported written but {out.name} is missing"
    extra = [n for n in left if n not in wanted]
    return f"left in the output folder: {extra}" if extra else None


def _api(operation: str, call, out: Path | None) -> Outcome:
    try:
        report = call()
        json.dumps(report)
    except (ValueError, OSError) as error:  # ModelError is a ValueError
        outcome, written = _one_line(operation, error), False
    except Exception:
        return Outcome(operation, "bug", traceback.format_exc())
    else:
        written = bool(report.get("written"))
        outcome = Outcome(operation, "ok", "written" if written else "")
    problem = _output_left(out, written) if out is not None else None
    return Outcome(operation, "bug", problem) if problem else outcome


def _captured(call) -> tuple[int | str, str, str]:
    """(exit status, stdout, stderr) of ``call()``, native output of the runtimes included."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush(), sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1), os.dup2(err.fileno(), 2)
        try:
            status = call()
        except SystemExit as exit_:  # argparse
            status = exit_.code
        except Exception:
            status = "traceback:\n" + traceback.format_exc()
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])
        out.seek(0), err.seek(0)
        return status, out.read().decode(errors="replace"), err.read().decode(errors="replace")


def check_cli(argv: list[str], out: Path | None = None, usage_ok: bool = False) -> Outcome:
    """Run ``edgeact.cli.main(argv)`` and check its exit status and stderr against the contract.

    ``usage_ok``: an argparse usage error (exit 2, usage text) is expected for these arguments.
    """
    from edgeact.cli import main

    operation = "cli " + argv[0]
    status, stdout, stderr = _captured(lambda: main(argv))
    lines = [line for line in stderr.splitlines() if not _PROGRESS.match(line)]
    written = status == 0 and argv[0] == "convert"
    problem = _output_left(out, written) if out is not None else None
    if isinstance(status, str) or "Traceback" in stderr:
        return Outcome(operation, "bug", status if isinstance(status, str) else stderr)
    if problem:
        return Outcome(operation, "bug", problem)
    if status == 2 and usage_ok and stderr.startswith("usage: "):
        return Outcome(operation, "error", lines[-1])
    if status == 2:
        prefix = f"edgeact {argv[0]}: error: "
        if (
            len(lines) == 1
            and lines[0].startswith(prefix)
            and stderr.rstrip("\n").endswith(lines[0])
        ):
            return Outcome(operation, "error", lines[0])
        return Outcome(operation, "bug", f"exit 2, stderr not one error line: {stderr!r}")
    if status in (0, 1) and not lines:
        if "--json" in argv and not _is_json(stdout):
            return Outcome(operation, "bug", f"--json printed no JSON: {stdout[:200]!r}")
        return Outcome(operation, "ok", f"exit {status}")
    return Outcome(operation, "bug", f"exit {status!r}, stderr {stderr!r}")


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def run_case(case: Case, started=lambda operation: None) -> list[Outcome]:
    """Every operation of ``case`` in a fresh folder; ``started(operation)`` before each."""
    from edgeact import converters

    with tempfile.TemporaryDirectory(prefix="edgeact-fuzz-") as tmp:
        root = Path(tmp)
        for name in ("in", "ref", "api", "cli"):
            (root / name).mkdir()
        model = _write_files(root / "in", case.files)
        reference = _write_files(root / "ref", case.reference)
        inputs = {name: _snapshot(root / name) for name in ("in", "ref")}
        out_name = "converted" + model.suffix
        api_out, cli_out = root / "api" / out_name, root / "cli" / out_name
        paths = {
            "{model}": model,
            "{reference}": reference,
            "{out}": cli_out,
            "{dir}": model.parent,
        }
        argv = [_substituted(a, paths) for a in case.argv]
        steps = [(f"cli {argv[0]}", lambda: check_cli(argv, cli_out, case.usage_ok))]
        if case.api:
            steps[:0] = [
                ("inspect", lambda: _api("inspect", lambda: converters.inspect(model), None)),
                (
                    "convert",
                    lambda: _api(
                        "convert",
                        lambda: converters.convert(
                            model, api_out, case.swaps, case.preset, verify=False
                        ),
                        api_out,
                    ),
                ),
            ]
        outcomes, cwd = [], os.getcwd()
        os.chdir(root)  # relative paths in the arguments stay in the case's folder
        try:
            for operation, step in steps:
                started(operation)
                outcomes.append(step())
                changed = [n for n, files in inputs.items() if _snapshot(root / n) != files]
                if changed:
                    outcomes.append(
                        Outcome(operation, "bug", f"changed the input folder {changed}")
                    )
        finally:
            os.chdir(cwd)
        return outcomes


def _substituted(arg: str, paths: dict[str, Path]) -> str:
    for token, path in paths.items():
        arg = arg.replace(token, str(path))
    return arg


# --- the child process ------------------------------------------------------------------------
def _serve(read_fd: int, write_fd: int) -> None:
    """The child's loop: receive a Case, answer ("started", op) messages then ("done", outcomes)."""
    import edgeact.converters.onnx._verify
    import edgeact.converters.tflite._verify  # noqa: F401  (imported before any case's clock runs)

    requests, answers = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    answers.send(("ready", None))
    while True:
        try:
            case = requests.recv()
        except EOFError:
            return
        try:
            outcomes = run_case(case, lambda op: answers.send(("started", op)))
        except Exception:  # the harness's own failure: report it, keep serving
            outcomes = [Outcome("harness", "bug", traceback.format_exc())]
        answers.send(("done", outcomes))


# --- the parent's side ------------------------------------------------------------------------
class Worker:
    """A child interpreter running cases; restarted after a crash or a hang."""

    def __init__(self):
        self._proc: subprocess.Popen | None = None

    def _start(self) -> None:
        from_parent, to_child = os.pipe()
        from_child, to_parent = os.pipe()
        self._log = tempfile.TemporaryFile()
        code = "import sys; from tests._fuzz_worker import _serve; _serve(*map(int, sys.argv[1:]))"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code, str(from_parent), str(to_parent)],
            cwd=_ROOT,
            pass_fds=(from_parent, to_parent),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        os.close(from_parent), os.close(to_parent)
        self._requests = Connection(to_child, readable=False)
        self._answers = Connection(from_child, writable=False)
        if not self._answers.poll(120) or self._answers.recv()[0] != "ready":
            raise RuntimeError(f"the fuzz worker did not start: {self._log_tail()}")

    def _log_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def run(self, case: Case, timeout: float = TIMEOUT) -> list[Outcome]:
        """The case's outcomes; a "bug" outcome naming the operation for a crash or a hang."""
        if self._proc is None:
            self._start()
        self._requests.send(case)
        deadline, operation, outcomes = time.monotonic() + timeout, "start", []
        while True:
            try:
                if not self._answers.poll(max(deadline - time.monotonic(), 0)):
                    self.close()
                    return [*outcomes, Outcome(operation, "bug", f"hang: over {timeout:g} s")]
                kind, value = self._answers.recv()
            except (EOFError, OSError):
                status = self._proc.wait()
                tail = self._log_tail()
                self.close()
                return [Outcome(operation, "bug", f"crash: exit status {status}\n{tail}")]
            if kind == "done":
                return value
            operation = value

    def close(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._requests.close(), self._answers.close(), self._log.close()
        self._proc = None
