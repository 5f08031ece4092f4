"""Test helper: run a converter's inspect and prove it left the file exactly as it was."""

import json
import os


def inspected_untouched(inspect, path) -> dict:
    """inspect(path), asserting the file's bytes and mtime are unchanged and the report is JSON."""
    before = (open(path, "rb").read(), os.stat(path).st_mtime_ns)
    report = inspect(path)
    assert (open(path, "rb").read(), os.stat(path).st_mtime_ns) == before, f"{path} was modified"
    assert json.loads(json.dumps(report)) == report
    return report


class Unchanged:
    """Context manager asserting that the files at ``paths`` keep their bytes and mtime."""

    def __init__(self, *paths):
        self.paths = paths

    def _state(self):
        return [(open(p, "rb").read(), os.stat(p).st_mtime_ns) for p in self.paths]

    def __enter__(self):
        self.before = self._state()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            assert self._state() == self.before, f"{self.paths} modified"
