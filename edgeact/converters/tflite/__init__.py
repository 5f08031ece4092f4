"""TFLite converter: ``inspect`` a .tflite model's activations, ``convert`` them for the edge.

``inspect(path)`` returns a JSON-serialisable report; ``format_report(report)`` renders it for
people. ``convert(source, destination, rules, ...)`` swaps activations, verifies the result in
LiteRT and writes it atomically (report fields: ``edgeact.converters._convert_report``).
Unreadable or malformed files raise ``ModelError`` (a ``ValueError``).
"""

from edgeact.converters._errors import ModelError
from edgeact.converters.tflite._convert import convert
from edgeact.converters.tflite._inspect import inspect
from edgeact.converters.tflite._report import format_report
from edgeact.converters.tflite._verify import compare_models, compare_per_op, runtime_name

__all__ = [
    "ModelError",
    "compare_models",
    "compare_per_op",
    "convert",
    "format_report",
    "inspect",
    "runtime_name",
]
