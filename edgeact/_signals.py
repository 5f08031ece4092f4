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
        raise _Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, exit_143)
    try:
        yield
    except Exception as error:  # the exit raised inside an extension's import or callback
        stop = _terminated_in(error)
        if stop is None:
            raise
        raise stop from None
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Terminated(SystemExit):
    """The exit ``terminate_as_exit`` raises for SIGTERM."""


def _terminated_in(error: BaseException) -> _Terminated | None:
    """The SIGTERM exit behind ``error``: a C extension turns an exception raised while it runs
    into its own (LiteRT's import: "ImportError: initialization failed", caused by it), which
    would end the command in a traceback instead of status 143."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, _Terminated):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None
