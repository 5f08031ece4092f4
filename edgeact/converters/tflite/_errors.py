"""The one exception the TFLite converter raises for a model it cannot read."""

__all__ = ["ModelError"]


class ModelError(ValueError):
    """A TFLite file that cannot be read; the message is one line naming the file and problem."""
