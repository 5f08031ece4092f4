"""Model converters: find a model's activations and make them edge-friendly.

``inspect(path)`` reads an ONNX or TFLite model (told apart by TFLite's file identifier) and
reports its activations, as single ops and as the decomposed patterns exporters emit, with the
catalogue's edge replacement for each. Swap, verify and write are the converter issues' next
steps. Files that cannot be read raise ``ModelError`` (a ``ValueError``) naming the problem.
"""

from pathlib import Path

from edgeact.converters._errors import ModelError

__all__ = ["ModelError", "detect_format", "format_report", "inspect"]

_TFLITE_IDENTIFIER = b"TFL3"  # bytes 4..8 of every TFLite flatbuffer


def detect_format(path) -> str:
    """ "tflite" for a file with TFLite's identifier or a .tflite name, "onnx" otherwise."""
    path = Path(path)
    if path.suffix.lower() == ".tflite":
        return "tflite"
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError:
        return "onnx"  # the format's own loader reports the problem with the file
    return "tflite" if head[4:8] == _TFLITE_IDENTIFIER else "onnx"


def inspect(path) -> dict:
    """The activations in an ONNX or TFLite model, as a JSON-serialisable report."""
    fmt = detect_format(path)
    return {"format": fmt, **_module(fmt).inspect(path)}


def format_report(report: dict) -> str:
    """The report of ``inspect`` as text for a terminal."""
    return _module(report["format"]).format_report(report)


def _module(fmt: str):
    if fmt == "tflite":
        from edgeact.converters import tflite

        return tflite
    from edgeact.converters import onnx

    return onnx
