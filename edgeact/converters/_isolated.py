"""Run a conversion or a verification in a child process, so that a runtime crash is an error.

LiteRT and ONNX Runtime are native code: a model that passes every check edgeact and the
runtime make can still crash them (a segfault ends the whole process, with no Python exception
to catch). ``call`` runs the work in a fresh interpreter (``serve`` is its main) and returns its
result. A crash of the child becomes a one-line ``ModelError`` naming the runtime and the
signal, and the temporary files the child left in the output folder are removed. Errors raised
in the child are raised again here, progress is relayed, and Ctrl-C or SIGTERM stops the child,
which cleans up as it would in-process.

The parent only imports this module; the child does the heavy imports, which the work needs
anyway. Messages go over a pipe as pickles (child and parent are the same installation); the
child's own stdout is pointed at its stderr, so nothing a runtime prints can garble them.
"""

import importlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from edgeact.converters._errors import ModelError

__all__ = ["call"]

_ERRORS = (ValueError, TypeError, OSError)  # the documented ones; anything else is a bug


def call(
    function: str,
    *args,
    runtime: str,
    subject: str,
    progress: Callable[[int, int, str], object] | None = None,
    output: Path | None = None,
    **kwargs,
):
    """``function`` ("module:function") called with ``args``/``kwargs`` in a child process.

    ``runtime`` and ``subject`` name what crashed on what in the error; ``output`` is the file
    the work writes, whose folder is cleaned of the child's temporary files after a crash.
    """
    before = _scratch(output)
    request = pickle.dumps((function, args, kwargs, progress is not None))
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", "from edgeact.converters._isolated import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
    except OSError as error:  # e.g. an emulated interpreter that cannot exec itself
        warnings.warn(
            f"cannot start a child process ({error}); running {subject} in this process",
            RuntimeWarning,
            stacklevel=3,
        )
        if progress is not None:
            kwargs["progress"] = progress
        return _resolve(function)(*args, **kwargs)
    try:
        child.stdin.write(request)
        child.stdin.close()
        outcome = _relay(child.stdout, progress)
        status = child.wait()
    finally:
        _stop(child)
    if outcome is not None:
        kind, value = outcome
        if kind == "error":
            raise value
        return value
    for leftover in _scratch(output) - before:
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink(missing_ok=True)
    if status < 0:
        name = signal.Signals(-status).name
        raise ModelError(f"{runtime} crashed ({name}) on {subject}; nothing was written")
    if status == 130:  # Ctrl-C reached the child first
        raise KeyboardInterrupt
    raise ChildProcessError(f"edgeact's child process for {subject} ended with status {status}")


def _relay(stream, progress) -> tuple[str, object] | None:
    """Forward progress messages; the final ("result" | "error", value), or None if the child
    ended without one (it crashed)."""
    while True:
        try:
            message = pickle.load(stream)
        except EOFError:
            return None
        if message[0] == "progress":
            progress(*message[1:])
        else:
            return message


def _stop(child: subprocess.Popen) -> None:
    """End a child still running (the parent was interrupted): SIGTERM, which it cleans up on."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    child.stdout.close()


def _scratch(output: Path | None) -> set[Path]:
    """The temporary files and folders of a write to ``output`` (``_write`` names them
    ``.<name>.*``)."""
    if output is None:
        return set()
    folder = output.resolve().parent
    return set(folder.glob(f".{output.name}.*")) if folder.is_dir() else set()


def _resolve(function: str) -> Callable:
    module, name = function.split(":")
    return getattr(importlib.import_module(module), name)


def _picklable(error: BaseException) -> BaseException:
    """``error``, or a ValueError with its message where its type cannot be pickled."""
    try:
        pickle.dumps(error)
    except Exception:
        return ValueError(str(error))
    return error


def serve() -> None:
    """The child: read one request from stdin, answer on the original stdout."""
    from edgeact._signals import terminate_as_exit

    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def send(*message) -> None:
        pickle.dump(message, channel)
        channel.flush()

    function, args, kwargs, wants_progress = pickle.load(sys.stdin.buffer)
    if wants_progress:
        kwargs["progress"] = lambda done, total, label: send("progress", done, total, label)
    with terminate_as_exit():
        try:
            result = _resolve(function)(*args, **kwargs)
        except KeyboardInterrupt:
            sys.exit(130)
        except _ERRORS as error:
            send("error", _picklable(error))
        else:
            send("result", result)
