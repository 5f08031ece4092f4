"""The one error type the ONNX converter raises for a model it cannot read."""

__all__ = ["ModelError"]


class ModelError(ValueError):
    """A model file that cannot be inspected; the message names the file and the problem."""
