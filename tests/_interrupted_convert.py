"""Run ``edgeact convert SOURCE -o OUTPUT --swap silu=hardswish`` and send this very process the
signal SIGNAL (INT or TERM) when the conversion reaches POINT; tests/test_interruptions.py then
checks what is left on disk. The signal is real (``os.kill``): it lands where a user's Ctrl-C or a
container's ``docker stop`` would.

POINT is a progress step, "read", "verify" or "write" (the first step whose label has that word
among its first three), or a moment of the write itself: "fsync" (the temporary file is complete),
"rename" (just before the first rename into OUTPUT's folder) or "after-rename" (just after it:
for a model with external data, the data file is in place and the model not yet).

usage: python tests/_interrupted_convert.py SIGNAL POINT SOURCE OUTPUT
"""

import functools
import os
import signal
import sys
from pathlib import Path

from edgeact.cli import main
from edgeact.converters import _progress

STEPS = ("read", "verify", "write")


def _once(send):
    """``send`` the first time it is called, never again."""
    sent = []

    def maybe_send():
        if not sent:
            sent.append(True)
            send()

    return maybe_send


def _arm(point: str, send, folder: Path) -> None:
    send = _once(send)
    if point in STEPS:
        step = _progress.Steps.step

        @functools.wraps(step)
        def stepping(self, label):
            if point in label.split()[:3]:
                send()
            step(self, label)

        _progress.Steps.step = stepping
    elif point == "fsync":
        fsync = os.fsync
        os.fsync = lambda fd: (send(), fsync(fd))[1]
    elif point in ("rename", "after-rename"):
        replace = os.replace

        def replacing(src, dst, **kwargs):
            into_output = Path(dst).resolve().parent == folder
            if into_output and point == "rename":
                send()
            replace(src, dst, **kwargs)
            if into_output and point == "after-rename":
                send()

        os.replace = replacing
    else:
        raise SystemExit(f"unknown point {point!r}")


if __name__ == "__main__":
    signal_name, point, source, output = sys.argv[1:]
    signum = getattr(signal, f"SIG{signal_name}")
    _arm(point, lambda: os.kill(os.getpid(), signum), Path(output).resolve().parent)
    sys.exit(main(["convert", source, "-o", output, "--swap", "silu=hardswish", "--no-isolate"]))
