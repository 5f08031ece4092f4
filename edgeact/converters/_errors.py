"""The one error type the converters raise for a model they cannot read or process."""

__all__ = ["ModelError"]


class ModelError(ValueError):
    """A model file that cannot be used; the message is one line naming the file and the problem."""
