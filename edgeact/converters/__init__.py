"""Model converters: find a model's activations and make them edge-friendly.

``inspect(path)`` reads an ONNX or TFLite model (told apart by TFLite's file identifier) and
reports its activations, as single ops and as the decomposed patterns exporters emit, with the
catalogue's edge replacement for each. ``convert(source, destination, ...)`` fuses and swaps
them, verifies the result against the original in the model's runtime, and writes it atomically.
Files that cannot be read raise ``ModelError`` (a ``ValueError``) naming the problem.
"""

import os
from pathlib import Path

from edgeact.converters._convert_report import format_conversion
from edgeact.converters._errors import ModelError
from edgeact.converters._inputs import load_npz, parse_input_shapes
from edgeact.converters._swaps import resolve_swaps

__all__ = [
    "ModelError",
    "convert",
    "detect_format",
    "format_conversion",
    "format_report",
    "inspect",
]

_TFLITE_IDENTIFIER = b"TFL3"  # bytes 4..8 of every TFLite flatbuffer
_COMMON = {"verify", "tolerance", "inputs", "progress"}
_OPTIONS = {
    "onnx": _COMMON | {"fuse", "input_shapes", "opset"},
    "tflite": _COMMON | {"calibration", "input_shapes"},
}


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


def convert(
    source,
    destination,
    swaps=(),
    preset: str | None = None,
    **options,
) -> dict:
    """Convert the model at ``source`` and write it to ``destination``; the report as a dict.

    ``swaps`` are ``"FROM=TO"`` strings (or a {from: to} dict) over catalogue names; ``preset``
    ("mobile") adds the selection guide's choices, which explicit swaps override. ``options``
    are the format's own (both: verify, tolerance, inputs (.npz path or {name: array}),
    input_shapes (["x=1x3x224x224"] or {name: shape}), progress; ONNX: fuse, opset; TFLite:
    calibration). The report's fields
    are documented in ``edgeact.converters._convert_report``. The source is never written.
    """
    specs = [f"{a}={b}" for a, b in swaps.items()] if isinstance(swaps, dict) else list(swaps)
    rules = resolve_swaps(specs, preset)
    explicit = resolve_swaps(specs)
    fmt = detect_format(source)
    options = {k: v for k, v in options.items() if v is not None}
    tolerance = options.get("tolerance")
    if tolerance is not None and not tolerance >= 0:  # NaN included
        raise ValueError(f"tolerance {tolerance} must be a number >= 0")
    if isinstance(options.get("input_shapes"), list | tuple):  # ["x=1x3x224x224", ...]
        options["input_shapes"] = parse_input_shapes(options["input_shapes"])
    if isinstance(options.get("inputs"), str | os.PathLike):  # a .npz file
        options["inputs"] = load_npz(options["inputs"])
    for name in options.keys() - _OPTIONS[fmt]:
        raise ValueError(f"option {name!r} does not apply to {fmt} models")
    return _module(fmt).convert(source, destination, rules, explicit=explicit, **options)


def format_report(report: dict) -> str:
    """The report of ``inspect`` or ``convert`` as text for a terminal."""
    if "changes" in report:
        return format_conversion(report)
    return _module(report["format"]).format_report(report)


def _module(fmt: str):
    if fmt == "tflite":
        from edgeact.converters import tflite

        return tflite
    from edgeact.converters import onnx

    return onnx
