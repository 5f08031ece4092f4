"""ONNX converter: ``inspect`` finds every activation in a model, as ops and as the decomposed
patterns exporters emit, with near misses and the catalogue's edge replacement; ``convert``
fuses and swaps them (``_rewrite``, ``_emit``), verifies in ONNX Runtime and writes atomically.

The matcher is a small one over the ONNX protobuf (``_graph.GraphView``), one module per rule
family, each listing its ``PatternRule`` records in ``RULES``: ``_gelu`` (erf/tanh GELU),
``_silu`` (SiLU, QuickGELU, Mish, sigmoid gates), ``_hard`` (Hardswish, Hardsigmoid, ReLU6);
``_ops`` matches single ops from the catalogue's ONNX forms.
"""

from edgeact.converters._errors import ModelError
from edgeact.converters.onnx._convert import convert
from edgeact.converters.onnx._inspect import inspect
from edgeact.converters.onnx._report import format_report
from edgeact.converters.onnx._verify import (
    compare_models,
    compare_per_op,
    input_specs,
    runtime_name,
)

__all__ = [
    "ModelError",
    "compare_models",
    "compare_per_op",
    "convert",
    "format_report",
    "input_specs",
    "inspect",
    "runtime_name",
]
