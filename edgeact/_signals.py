"""SIGTERM handled like Ctrl-C: for the ``edgeact`` command and its child processes."""

import contextlib
import signal
import threading

__all__ = ["terminate_as_exit"]


@contextlib.contextmanager
def terminate_as_exit():
    """Turn SIGTERM (``kill``, ``docker stop``, a CI timeout) into ``SystemExit(143)``, the
    shell's status for it, so that cleanup runs as for Ctrl-C: SIGTERM's default action ends the
    process on the spot and would leave a conversion's temporary file behind. Only the main thread
    can set handlers; the caller's handler comes back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_143(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_143)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
