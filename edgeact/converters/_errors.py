"""The one error type the converters raise for a model they cannot read or process."""

__all__ = ["ModelError", "first_line"]


class ModelError(ValueError):
    """A model file that cannot be used; the message is one line naming the file and the problem."""


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (runtimes add pages of context), or its type name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
