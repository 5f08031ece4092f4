"""Functions that crash the process they run in, for tests/test_isolation.py's child processes."""

import ctypes
from pathlib import Path


def write_then_crash(output: str) -> None:
    """Leave a temporary file as a write to ``output`` names it, then segfault (read address 0),
    as a runtime crashing in the middle of a conversion's write check would."""
    path = Path(output)
    (path.parent / f".{path.name}.half.tmp").write_bytes(b"half a model")
    ctypes.string_at(0)
