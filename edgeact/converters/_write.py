"""Write a converted model so that a crash or a full disk can never leave half a file.

The bytes go to a temporary file in the destination's directory, are flushed to disk, and only
then renamed over the destination (``os.replace`` is atomic on POSIX and Windows). The input
model is never opened for writing. A model with an external data file is two renames; ``deferred
signals`` keeps Ctrl-C and SIGTERM from landing between them.
"""

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "atomic_write",
    "check_destination",
    "deferred_signals",
    "flush_to_disk",
    "give_normal_mode",
]

_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


_SUFFIXES = {"onnx": ".onnx", "tflite": ".tflite"}


def check_destination(
    source: str | os.PathLike, destination: str | os.PathLike, written_format: str
) -> Path:
    """The destination path; ValueError if it is the input itself, its folder is missing, or its
    name ends in the other format's extension (a .tflite file holding ONNX misleads every tool
    that picks a loader by name)."""
    src, dst = Path(source), Path(destination)
    wrong = [f for f, s in _SUFFIXES.items() if f != written_format and dst.suffix.lower() == s]
    if wrong:
        raise ValueError(
            f"output {dst} is named like a {wrong[0]} model, but a {written_format} model is "
            f"written; name it {dst.with_suffix(_SUFFIXES[written_format]).name}"
        )
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise ValueError(f"output {dst} is the input model; choose another path (-o)")
    if dst.is_dir():
        raise ValueError(f"output {dst} is a directory; give a file name")
    if not dst.resolve().parent.is_dir():
        raise ValueError(f"output folder {dst.resolve().parent} does not exist")
    return dst


def atomic_write(destination: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(temp_path)`` and move the finished file to ``destination`` in one step."""
    dst = Path(destination)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.resolve().parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        flush_to_disk(tmp_path)
        give_normal_mode(tmp_path, dst)
        os.replace(tmp_path, dst)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def flush_to_disk(path: Path) -> None:
    """Make ``path``'s bytes durable before it is renamed into place (else a power cut after the
    rename can leave an empty file under the final name)."""
    with path.open("rb+") as f:
        os.fsync(f.fileno())


def give_normal_mode(path: Path, destination: Path) -> None:
    """Give ``path`` the permissions a plain write to ``destination`` would have: the existing
    file's mode, else 0o666 less the umask (``mkstemp`` makes its files 0o600)."""
    try:
        mode = destination.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(path, mode)


@contextlib.contextmanager
def deferred_signals():
    """Hold SIGINT and SIGTERM back until the block is done, so that steps which only make sense
    together, such as renaming a model and its data file, all happen or none does.

    The handlers only note the signal, which is raised again once the block is done. (Masking it
    with ``pthread_sigmask`` is not enough: that masks the calling thread only, and the kernel
    delivers a process's signal to any thread that does not mask it, such as ONNX Runtime's
    pool; Python then runs the handler in the main thread, between the two renames.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = {
        s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in _INTERRUPTS
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if caught:
            signal.raise_signal(caught[0])
