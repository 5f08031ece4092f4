"""Model converters: find a model's activations and make them edge-friendly.

``inspect(path)`` reads an ONNX or TFLite model (told apart by TFLite's file identifier) and
reports its activations, as single ops and as the decomposed patterns exporters emit, with the
catalogue's edge replacement for each. ``convert(source, destination, ...)`` fuses and swaps
them, verifies the result against the original in the model's runtime, and writes it atomically;
``verify(original, converted)`` compares two models on the same inputs. Files that cannot be
read raise ``ModelError`` (a ``ValueError``) naming the problem.
"""

import os
from pathlib import Path

from edgeact import schema
from edgeact.converters import _isolated
from edgeact.converters._compare import thresholds, verification
from edgeact.converters._convert_report import (
    format_conversion,
    format_per_op,
    format_verification,
)
from edgeact.converters._errors import ModelError
from edgeact.converters._findings import Finding, NearMiss, Tensor
from edgeact.converters._forms import Form
from edgeact.converters._inputs import DEFAULT_SAMPLES, load_npz, parse_input_shapes
from edgeact.converters._swaps import not_approximations, resolve_swaps
from edgeact.converters._targets import check_target

__all__ = [
    "Finding",
    "Form",
    "ModelError",
    "NearMiss",
    "Tensor",
    "convert",
    "detect_format",
    "format_conversion",
    "format_report",
    "inspect",
    "verify",
]

_TFLITE_IDENTIFIER = b"TFL3"  # bytes 4..8 of every TFLite flatbuffer
_RUNTIMES = {"onnx": "ONNX Runtime", "tflite": "LiteRT"}
_VERIFY = {"tolerance", "rtol", "min_cosine", "samples", "seed", "inputs", "input_shapes", "target"}
MAX_SAMPLES = 1000  # random samples: more only cost time; a .npz sets its own count
_COMMON = _VERIFY | {"verify", "progress", "budget", "target"}
_OPTIONS = {
    "onnx": _COMMON | {"fuse", "opset", "recover", "calibration"},
    "tflite": _COMMON | {"calibration", "recover"},
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
    return _module(fmt).inspect(path)


def convert(
    source,
    destination,
    swaps=(),
    preset: str | None = None,
    *,
    isolate: bool = False,
    **options,
) -> dict:
    """Convert the model at ``source`` and write it to ``destination``; the report as a dict.

    ``swaps`` are ``"FROM=TO"`` strings (or a {from: to} dict) over catalogue names; ``preset``
    ("mobile") adds the selection guide's choices, which explicit swaps override; of those, the
    ones that are no approximation (elu=relu6) are listed but applied only when named. ``options``
    are the format's own (both: verify, the thresholds tolerance, rtol and min_cosine
    (``_compare.Thresholds``; defaults without any), budget (a tolerance met by rolling changes
    back, ``_budget``), samples, seed, inputs (.npz path or
    {name: array}), input_shapes (["x=1x3x224x224"] or {name: shape}), progress; ONNX: fuse,
    opset, recover with calibration (bias correction after the swaps); TFLite: calibration
    (re-calibration of swapped int8 outputs)). The report's fields
    are documented in ``edgeact.converters._convert_report``. The source is never written.
    ``isolate`` runs the work in a child process, so that a runtime crashing on the model raises
    ``ModelError`` instead of ending this process; each call then pays a fresh interpreter and
    runtime import (bench/bench_isolation.py).
    """
    if isolate:
        progress = options.pop("progress", None)
        return _isolated.call(
            "edgeact.converters:convert",
            source,
            destination,
            swaps,
            preset,
            runtime=_RUNTIMES[detect_format(source)],
            subject=str(source),
            progress=progress,
            output=Path(destination),
            **options,
        )
    specs = [f"{a}={b}" for a, b in swaps.items()] if isinstance(swaps, dict) else list(swaps)
    rules, explicit = resolve_swaps(specs, preset)
    fmt = detect_format(source)
    options = _checked_options(fmt, options)
    held = not_approximations(rules, explicit)
    return _module(fmt).convert(source, destination, rules, explicit=explicit, held=held, **options)


def verify(original, converted, *, per_op: bool = False, isolate: bool = False, **options) -> dict:
    """Run ``original`` and ``converted`` on the same inputs in their runtime; compare outputs.

    ``options``: the thresholds tolerance, rtol and min_cosine (``_compare.Thresholds``; the
    defaults without any: ``passed`` can be false with no options), target (the runtime:
    ``_targets.TARGETS``; default builtin kernels for TFLite), samples (random ones,
    default ``DEFAULT_SAMPLES``), seed, inputs (.npz path or {name: array}), input_shapes
    (["x=1x3x224x224"] or {name: shape}). Both models must be of one format. The result holds
    the ``verification`` block the conversion report has (see _convert_report), and
    ``per_op``: None, or with ``per_op`` every intermediate tensor both models compute,
    compared in graph order, with the first that breaks the thresholds (``_compare.per_tensor``:
    where the two start to disagree). ``isolate``: as for ``convert``.
    """
    if isolate:
        return _isolated.call(
            "edgeact.converters:verify",
            original,
            converted,
            runtime=_RUNTIMES[detect_format(original)],
            subject=f"{original} or {converted}",
            per_op=per_op,
            **options,
        )
    fmt = detect_format(original)
    if detect_format(converted) != fmt:
        raise ValueError(f"{original} is {fmt}, {converted} is not: compare models of one format")
    options = _checked_options(fmt, options, allowed=_VERIFY)
    module = _module(fmt)
    shapes, provided = options.get("input_shapes"), options.get("inputs")
    samples, seed = options.get("samples", DEFAULT_SAMPLES), options.get("seed", 0)
    target = options.get("target")
    outputs, notes, n = module.compare_models(
        original, converted, shapes, provided, samples, seed, target
    )
    block = verification(module.runtime_name(target), notes, n, outputs, options["limits"])
    tensors = None
    if per_op:
        args = (options["limits"], shapes, provided, samples, seed)
        tensors = module.compare_per_op(original, converted, *args)
    return schema.document(
        "verify",
        {
            "format": fmt,
            "original": str(original),
            "converted": str(converted),
            "verification": block,
            "per_op": tensors,
        },
    )


def _checked_options(fmt: str, options: dict, allowed: set | None = None) -> dict:
    """``options`` without the unset ones, checked, with shapes parsed and .npz inputs loaded."""
    options = {k: v for k, v in options.items() if v is not None and not (k == "recover" and not v)}
    for name in options.keys() - (allowed or _OPTIONS[fmt]):
        raise ValueError(f"option {name!r} does not apply to {fmt} models")
    limits = [options.pop(k, None) for k in ("tolerance", "rtol", "min_cosine")]
    budget = options.get("budget")
    if budget is not None:
        if not 0 < budget < float("inf"):
            raise ValueError(f"budget {budget} must be a number > 0")
        if limits[0] is not None:
            raise ValueError(
                "give --budget or --tolerance, not both: a budget is a tolerance "
                "that rolls changes back until the model meets it"
            )
        if options.get("verify") is False:
            raise ValueError("a budget needs verification: drop --no-verify")
        limits[0] = budget
    options["limits"] = thresholds(*limits)
    if options.get("target") is not None:
        check_target(fmt, options["target"])
        if options.get("verify") is False:  # convert's
            raise ValueError("a target needs verification (its changes are timed there)")
    if options.get("recover"):  # the mode itself is the format's to check
        if options.get("calibration") is None:
            raise ValueError("--recover needs --calibration FILE.npz: real inputs to measure on")
        if options.get("verify") is False:
            raise ValueError("--recover is measured by verification; drop --no-verify")
    for name, low, high in (("samples", 1, MAX_SAMPLES), ("seed", 0, 2**63 - 1)):
        value = options.get(name)
        if value is not None and (not isinstance(value, int) or not low <= value <= high):
            raise ValueError(f"{name} {value} must be an integer in [{low}, {high}]")
    if isinstance(options.get("input_shapes"), list | tuple):  # ["x=1x3x224x224", ...]
        options["input_shapes"] = parse_input_shapes(options["input_shapes"])
    if isinstance(options.get("inputs"), str | os.PathLike):  # a .npz file
        options["inputs"] = load_npz(options["inputs"])
    return options


def format_report(report: dict) -> str:
    """The report of ``inspect``, ``convert`` or ``verify`` as text for a terminal."""
    if "changes" in report:
        return format_conversion(report)
    if "converted" in report:
        head = f"{report['original']} vs {report['converted']} ({report['format']})"
        lines = [head, "", *format_verification(report["verification"])]
        if report.get("per_op") is not None:
            lines += ["", *format_per_op(report["per_op"])]
        return "\n".join(lines)
    return _module(report["format"]).format_report(report)


def _module(fmt: str):
    if fmt == "tflite":
        from edgeact.converters import tflite

        return tflite
    from edgeact.converters import onnx

    return onnx
