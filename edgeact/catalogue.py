"""The activation catalogue: the single place an activation is defined.

One frozen record per activation: float64 reference and derivative (``edgeact.references``),
properties, the cheaper activations that approximate it with their measured error bound, the
edge-friendly replacement for mobile/int8, and the ONNX/TFLite op that computes it. Kernels, tests,
converters, benchmarks and the selection guide all iterate over ``ACTIVATIONS``.
"""

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from edgeact import references as ref

__all__ = ["ACTIVATIONS", "Activation", "Approximation", "get"]

_INF = math.inf


@dataclass(frozen=True)
class Approximation:
    """A catalogue activation that can stand in for another one, and how far off it is.

    ``max_abs_error`` is sup |f(x) - approx(x)| over ℝ in float64, measured on a dense grid and
    rounded up to 2 significant digits (3 where 2 would overstate it by more than 5 %).
    """

    name: str
    max_abs_error: float


@dataclass(frozen=True)
class Activation:
    """Everything edgeact knows about one activation; ``params`` are the default keywords."""

    name: str
    family: str
    formula: str
    reference: Callable[..., np.ndarray]
    derivative: Callable[..., np.ndarray] | None
    params: Mapping[str, float] = field(hash=False)
    output_range: tuple[float, float]
    smoothness: str  # "C0" (kinks), "C1", "C∞", or "discontinuous"
    monotonic: bool
    zero_centred: bool  # f(0) = 0 and outputs of both signs
    elementwise: bool = True
    approximations: tuple[Approximation, ...] = ()
    edge_replacement: str | None = None
    onnx_op: str | None = None
    tflite_op: str | None = None


def _defaults(fn: Callable) -> Mapping[str, float]:
    """The reference's keyword defaults, so a parameter's name and default live in one place."""
    sig = inspect.signature(fn)
    return MappingProxyType(
        {p.name: p.default for p in sig.parameters.values() if p.default is not p.empty}
    )


def _record(name: str, *, approximations: tuple[tuple[str, float], ...] = (), **fields):
    """An Activation wired to ``references.<name>`` and ``references.<name>_derivative``."""
    reference = getattr(ref, name)
    return Activation(
        name=name,
        reference=reference,
        derivative=getattr(ref, f"{name}_derivative", None),
        params=_defaults(reference),
        approximations=tuple(Approximation(n, e) for n, e in approximations),
        **fields,
    )


_RECORDS = (
    _record(
        "relu",
        family="relu",
        formula="max(x, 0)",
        output_range=(0.0, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=False,
        edge_replacement="relu6",
        onnx_op="Relu",
        tflite_op="RELU",
    ),
    _record(
        "relu6",
        family="relu",
        formula="min(max(x, 0), 6)",
        output_range=(0.0, 6.0),
        smoothness="C0",
        monotonic=True,
        zero_centred=False,
        onnx_op="Clip",
        tflite_op="RELU6",
    ),
    _record(
        "leaky_relu",
        family="relu",
        formula="x if x >= 0 else negative_slope·x",
        output_range=(-_INF, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        edge_replacement="relu6",
        onnx_op="LeakyRelu",
        tflite_op="LEAKY_RELU",
    ),
    _record(
        "prelu",
        family="relu",
        formula="x if x >= 0 else weight·x  (learned weight)",
        output_range=(-_INF, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        edge_replacement="leaky_relu",
        onnx_op="PRelu",
        tflite_op="PRELU",
    ),
    _record(
        "elu",
        family="exponential",
        formula="x if x > 0 else alpha·(exp(x) − 1)",
        output_range=(-1.0, _INF),
        smoothness="C1",
        monotonic=True,
        zero_centred=True,
        edge_replacement="relu6",
        onnx_op="Elu",
        tflite_op="ELU",
    ),
    _record(
        "selu",
        family="exponential",
        formula="1.0507·(x if x > 0 else 1.6733·(exp(x) − 1))",
        output_range=(-1.7581, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        edge_replacement="relu6",
        onnx_op="Selu",
    ),
    _record(
        "celu",
        family="exponential",
        formula="max(0, x) + min(0, alpha·(exp(x/alpha) − 1))",
        output_range=(-1.0, _INF),
        smoothness="C1",
        monotonic=True,
        zero_centred=True,
        edge_replacement="relu6",
        onnx_op="Celu",
    ),
    _record(
        "gelu",
        family="gelu",
        formula="x·Φ(x) = 0.5·x·(1 + erf(x/√2))",
        output_range=(-0.1700, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        approximations=(
            ("gelu_tanh", 4.8e-4),
            ("gelu_poly", 1.9e-2),
            ("gelu_quick", 2.1e-2),
            ("hardswish", 0.30),
        ),
        edge_replacement="gelu_tanh",
        onnx_op="Gelu",
        tflite_op="GELU",
    ),
    _record(
        "gelu_tanh",
        family="gelu",
        formula="0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))",
        output_range=(-0.1701, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        onnx_op="Gelu",
        tflite_op="GELU",
    ),
    _record(
        "gelu_quick",
        family="gelu",
        formula="x·σ(1.702·x)",
        output_range=(-0.1637, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        onnx_op="Swish",
    ),
    _record(
        "gelu_poly",
        family="gelu",
        formula="0.5·x·(1 + L(x/√2)), L(z) = sign(z)·(1 − 0.2888·(min(|z|, 1.769) − 1.769)²)",
        output_range=(-0.1675, _INF),
        smoothness="C0",
        monotonic=False,
        zero_centred=True,
    ),
    _record(
        "silu",
        family="silu",
        formula="x·σ(x)",
        output_range=(-0.2785, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        approximations=(("silu_poly", 6.0e-2), ("hardswish", 0.143)),
        edge_replacement="hardswish",
        onnx_op="Swish",
    ),
    _record(
        "silu_poly",
        family="silu",
        formula="x·(0.5 + 0.5·sign(x)·(1 − (1 − min(|x|, 4.4)/4.4)²))",
        output_range=(-0.3260, _INF),
        smoothness="C1",
        monotonic=False,
        zero_centred=True,
    ),
    _record(
        "mish",
        family="silu",
        formula="x·tanh(softplus(x))",
        output_range=(-0.3089, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        approximations=(("hardswish", 0.29),),
        edge_replacement="hardswish",
        onnx_op="Mish",
    ),
    _record(
        "softplus",
        family="relu",
        formula="log(1 + exp(beta·x))/beta  (x where beta·x > threshold)",
        output_range=(0.0, _INF),
        smoothness="C∞",
        monotonic=True,
        zero_centred=False,
        approximations=(("relu", 0.70),),
        edge_replacement="relu",
        onnx_op="Softplus",
    ),
    _record(
        "sigmoid",
        family="sigmoid",
        formula="σ(x) = 1/(1 + exp(−x))",
        output_range=(0.0, 1.0),
        smoothness="C∞",
        monotonic=True,
        zero_centred=False,
        approximations=(("hardsigmoid", 7.0e-2),),
        edge_replacement="hardsigmoid",
        onnx_op="Sigmoid",
        tflite_op="LOGISTIC",
    ),
    _record(
        "tanh",
        family="sigmoid",
        formula="tanh(x)",
        output_range=(-1.0, 1.0),
        smoothness="C∞",
        monotonic=True,
        zero_centred=True,
        approximations=(("hardtanh", 0.24),),
        edge_replacement="hardtanh",
        onnx_op="Tanh",
        tflite_op="TANH",
    ),
    _record(
        "hardswish",
        family="silu",
        formula="x·min(max(x + 3, 0), 6)/6",
        output_range=(-0.375, _INF),
        smoothness="C0",
        monotonic=False,
        zero_centred=True,
        onnx_op="HardSwish",
        tflite_op="HARD_SWISH",
    ),
    _record(
        "hardsigmoid",
        family="sigmoid",
        formula="min(max(x + 3, 0), 6)/6",
        output_range=(0.0, 1.0),
        smoothness="C0",
        monotonic=True,
        zero_centred=False,
        onnx_op="HardSigmoid",
    ),
    _record(
        "hardtanh",
        family="sigmoid",
        formula="min(max(x, min_val), max_val)",
        output_range=(-1.0, 1.0),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        onnx_op="Clip",
        tflite_op="RELU_N1_TO_1",
    ),
    _record(
        "hardshrink",
        family="shrink",
        formula="x if |x| > lambd else 0",
        output_range=(-_INF, _INF),
        smoothness="discontinuous",
        monotonic=True,
        zero_centred=True,
        onnx_op="Shrink",
    ),
    _record(
        "softshrink",
        family="shrink",
        formula="x − lambd if x > lambd, x + lambd if x < −lambd, else 0",
        output_range=(-_INF, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        onnx_op="Shrink",
    ),
    _record(
        "softmax",
        family="softmax",
        formula="exp(x_i − max(x))/Σ_j exp(x_j − max(x))  along axis",
        output_range=(0.0, 1.0),
        smoothness="C∞",
        monotonic=True,
        zero_centred=False,
        elementwise=False,
        onnx_op="Softmax",
        tflite_op="SOFTMAX",
    ),
)

ACTIVATIONS: Mapping[str, Activation] = MappingProxyType({a.name: a for a in _RECORDS})


def get(name: str) -> Activation:
    """The record for ``name``; ValueError listing the known names otherwise."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        known = ", ".join(ACTIVATIONS)
        raise ValueError(f"unknown activation {name!r}; known: {known}") from None
