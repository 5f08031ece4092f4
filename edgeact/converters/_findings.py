"""What ``inspect`` reports, typed once for ONNX and TFLite (``edgeact.schema`` documents the JSON).

Each format's scanner produces ``Finding`` and ``NearMiss`` records with the same fields, so a
program reading ``edgeact inspect --json`` handles both formats with one code path; what only one
format has (TFLite's per-tensor index, ONNX's graph labels) lives in the values, not in the keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from edgeact.catalogue import ACTIVATIONS
from edgeact.converters._forms import Form

__all__ = ["Change", "Finding", "NearMiss", "Tensor", "group", "replacement_of"]


@dataclass(frozen=True)
class Tensor:
    """An activation's input or output: its name and per-tensor quantization, if any.

    ``quantization`` is ``{"scale", "zero_point"}`` (lists and ``axis`` when per channel): the
    TFLite tensor's own, or the ONNX DequantizeLinear / QuantizeLinear parameters around it.
    """

    name: str
    quantization: Mapping | None = None


@dataclass(frozen=True)
class Finding:
    """One place a model computes an activation."""

    activation: str
    form: Form
    pattern: str  # display text of the form
    graph: str  # ONNX graph label ("main", "main:/If.then_branch", ...) or "subgraph N"
    operators: tuple[int, ...]  # indices of its nodes/operators in that graph
    nodes: tuple[str, ...]  # ONNX node names; TFLite operators' output tensor names
    ops: tuple[str, ...]  # op types (ONNX vendor ops as domain.op)
    dtype: str | None  # element type of the input, as a NumPy name ("float32", "int8")
    opset: int | None  # the model's default-domain ONNX opset; None for TFLite
    qdq: bool  # computed on quantized tensors (between DQ and Q, or on int8/uint8 tensors)
    input: Tensor | None
    output: Tensor | None
    params: Mapping = field(default_factory=dict)  # what the op or pattern says (alpha, ...)
    replacement: str | None = None  # the catalogue's edge replacement
    max_abs_error: float | None = None  # the replacement's error bound, if it approximates

    def to_json(self) -> dict:
        return _plain(asdict(self))


@dataclass(frozen=True)
class NearMiss:
    """A pattern that almost is an activation, and why it is not."""

    looks_like: str
    form: Form
    pattern: str
    reason: str
    graph: str
    operators: tuple[int, ...]
    nodes: tuple[str, ...]

    def to_json(self) -> dict:
        return _plain(asdict(self))


@dataclass(frozen=True)
class Change:
    """One site a conversion rewrites (or would have: ``skipped`` says why not).

    ``max_abs_error`` is this change's own error, measured by verification (None until then).
    """

    kind: str  # "swap" or "fuse"
    rule: str  # "gelu=gelu_tanh" or "fuse hardswish"
    activation: str
    target: str
    form: Form
    graph: str
    nodes: tuple[str, ...]
    ops_before: tuple[str, ...]
    ops_after: tuple[str, ...]
    dtype: str | None  # NumPy name of the activation's input type
    quantized: bool
    notes: tuple[str, ...] = ()
    max_abs_error: float | None = None
    time_ratio: float | None = None  # time with this change alone / without, on --target
    exercised: bool | None = None  # False: inside an If branch no verification sample takes
    recovery: dict | None = None  # with --recover: this swap's error without/with correction
    fit: dict | None = None  # with --recover fit: the fitted constants (``_fit``)
    skipped: str | None = None

    def to_json(self) -> dict:
        """The report's record; ``applied`` is ``skipped is None`` (the report updates both)."""
        return _plain(asdict(self)) | {"applied": self.skipped is None}


def replacement_of(name: str) -> tuple[str | None, float | None]:
    """The catalogue's edge replacement for ``name`` and its max |error| when it approximates."""
    act = ACTIVATIONS.get(name)  # fused SIGN_BIT, RELU_0_TO_1: not catalogue activations
    if act is None:
        return None, None
    return act.edge_replacement, act.replacement_error


def group(items: list[dict], key_fields: tuple[str, ...]) -> list[dict]:
    """JSON findings (or near misses) equal on ``key_fields`` as one row, in first-seen order: the
    first item plus ``count``, ``node_lists`` (each item's nodes) and ``graphs`` (distinct)."""
    groups: dict[tuple, dict] = {}
    for item in items:
        key = tuple(tuple(item[k]) if isinstance(item[k], list) else item[k] for k in key_fields)
        row = groups.setdefault(key, {**item, "count": 0, "node_lists": [], "graphs": []})
        row["count"] += 1
        row["node_lists"].append(item["nodes"])
        if item["graph"] not in row["graphs"]:
            row["graphs"].append(item["graph"])
    return list(groups.values())


def _plain(value):
    """JSON types: tuples become lists, mappings dicts, Form its id."""
    if isinstance(value, Form):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
