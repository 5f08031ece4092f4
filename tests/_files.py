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
