"""TFLite converter: ``inspect`` a .tflite model's activations (swap/verify/write: issue 5).

``inspect(path)`` returns a JSON-serialisable report; ``format_report(report)`` renders it for
people. Unreadable or malformed files raise ``ModelError`` (a ``ValueError``).
"""

from edgeact.converters._errors import ModelError
from edgeact.converters.tflite._inspect import inspect
from edgeact.converters.tflite._report import format_report

__all__ = ["ModelError", "format_report", "inspect"]
