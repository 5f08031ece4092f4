"""Write a converted model so that a crash or a full disk can never leave half a file.

The bytes go to a temporary file in the destination's directory, are flushed to disk, and only
then renamed over the destination (``os.replace`` is atomic on POSIX and Windows). The input
model is never opened for writing.
"""

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "check_destination", "give_normal_mode"]


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
        with tmp_path.open("rb+") as f:
            os.fsync(f.fileno())
        give_normal_mode(tmp_path, dst)
        os.replace(tmp_path, dst)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


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
