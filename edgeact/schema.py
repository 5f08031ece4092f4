"""The JSON that edgeact's commands print with ``--json``: one versioned schema.

Every document has ``schema`` (this module's ``VERSION``; bench documents share it) and
``command``. ``edgeact inspect --json`` has the same keys for ONNX and TFLite models:

- ``format`` ("onnx" | "tflite"), ``file`` (the path given);
- ``model``: facts of the file whose keys depend on the format (ONNX: ir_version, producer,
  opset, opset_imports, graphs, nodes; TFLite: size_bytes, schema_version, description,
  subgraphs, operator_counts, custom_ops, signatures, float16_weights, float16_dequantize_ops,
  quantized, weight_types);
- ``findings``: one object per place an activation is computed, with ``activation``, ``form``
  (structured id, ``edgeact.converters.Form``), ``pattern`` (its display text), ``graph``,
  ``operators`` (indices in that graph), ``nodes`` (names), ``ops``, ``dtype`` (NumPy name),
  ``opset`` (ONNX; null for TFLite), ``qdq`` (computed on quantized tensors), ``input`` and
  ``output`` (``{"name", "quantization": {"scale", "zero_point"} | null}`` or null), ``params``,
  ``replacement`` and ``max_abs_error`` (the catalogue's edge replacement and its bound);
- ``near_misses``: ``looks_like``, ``form``, ``pattern``, ``reason``, ``graph``, ``operators``,
  ``nodes``;
- ``activation_counts``: activation -> number of findings.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable

__all__ = ["VERSION", "document", "inspect_document"]

VERSION = 1


def document(command: str, body: dict) -> dict:
    """``body`` stamped with the schema version and the command that made it."""
    return {"schema": VERSION, "command": command, **body}


def inspect_document(
    model_format: str, path: str | os.PathLike, model: dict, findings: Iterable, near_misses
) -> dict:
    """The ``inspect`` document for typed findings and near misses (``to_json`` each)."""
    found = [f.to_json() for f in findings]
    return document(
        "inspect",
        {
            "format": model_format,
            "file": os.fspath(path),
            "model": model,
            "findings": found,
            "near_misses": [m.to_json() for m in near_misses],
            "activation_counts": dict(sorted(Counter(f["activation"] for f in found).items())),
        },
    )
