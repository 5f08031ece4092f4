"""ONNX nodes computing a catalogue activation at a given opset: what a swap or a fuse writes.

One builder per target activation. Where the model's opset has the op (HardSwish from 14, Gelu
from 20, Mish from 18) a single node is written; below it, the same maths in older ops
(Hardswish as HardSigmoid(1/6)·x, GELU as erf or sigmoid form). tanh-GELU below opset 20 is
written as x·σ(2u), u = √(2/π)(x + 0.044715x³): algebraically the tanh form, in six ops instead
of nine and without the cancellation of 1 + tanh(u) for negative x. Constants are Constant nodes
of the input's element type, so the same code works in graphs, subgraphs and functions.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import onnx
from onnx import TensorProto, helper

from edgeact.kernels.gelu import IBERT_A, IBERT_B
from edgeact.kernels.sigmoid import SILU_POLY_KNEE

__all__ = ["EMITTABLE", "Emitter", "emit", "emitted_ops"]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_QUICK_GELU = 1.702


@dataclass
class Emitter:
    """Collects the nodes of one replacement; ``unique(hint)`` names every new value."""

    opset: int
    elem_type: int
    unique: Callable[[str], str]
    nodes: list[onnx.NodeProto] = field(default_factory=list)

    def const(self, value: float) -> str:
        out = self.unique("const")
        tensor = helper.make_tensor(out + "_value", self.elem_type, [], [float(value)])
        self.nodes.append(
            helper.make_node("Constant", [], [out], self.unique("Constant"), value=tensor)
        )
        return out

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        out = self.unique(op_type.lower())
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [out], self.unique(op_type), **attrs)
        )
        return out

    def scaled(self, op_type: str, x: str, c: float) -> str:
        return self.op(op_type, x, self.const(c))


def _clip(e: Emitter, x: str, lo: float, hi: float) -> str:
    if e.opset < 11:  # bounds were attributes before opset 11
        return e.op("Clip", x, min=float(lo), max=float(hi))
    return e.op("Clip", x, e.const(lo), e.const(hi))


def _hardsigmoid(e: Emitter, x: str) -> str:
    return e.op("HardSigmoid", x, alpha=1.0 / 6.0, beta=0.5)


def _hardswish(e: Emitter, x: str, **_) -> str:
    if e.opset >= 14:
        return e.op("HardSwish", x)
    return e.op("Mul", x, _hardsigmoid(e, x))


def _gelu(e: Emitter, x: str, **_) -> str:
    if e.opset >= 20:
        return e.op("Gelu", x)
    erf = e.op("Erf", e.scaled("Mul", x, 1.0 / math.sqrt(2.0)))
    return e.scaled("Mul", e.op("Mul", x, e.scaled("Add", erf, 1.0)), 0.5)


def _gelu_tanh(e: Emitter, x: str, **_) -> str:
    if e.opset >= 20:
        return e.op("Gelu", x, approximate="tanh")
    c1 = 2.0 * _SQRT_2_OVER_PI
    x2 = e.op("Mul", x, x)
    u2 = e.op("Mul", x, e.scaled("Add", e.scaled("Mul", x2, 0.044715 * c1), c1))
    return e.op("Mul", x, e.op("Sigmoid", u2))


def _gelu_quick(e: Emitter, x: str, **_) -> str:
    return e.op("Mul", x, e.op("Sigmoid", e.scaled("Mul", x, _QUICK_GELU)))


def _gelu_poly(e: Emitter, x: str, **_) -> str:
    """0.5·x·(1 + L(x/√2)), L(z) = sign(z)·(a·(min(|z|, −b) + b)² + 1) (I-BERT, Kim et al. 2021)."""
    z = e.scaled("Mul", x, 1.0 / math.sqrt(2.0))
    d = e.scaled("Add", e.scaled("Min", e.op("Abs", z), -IBERT_B), IBERT_B)
    poly = e.scaled("Add", e.scaled("Mul", e.op("Mul", d, d), IBERT_A), 1.0)
    one_plus_l = e.scaled("Add", e.op("Mul", e.op("Sign", z), poly), 1.0)
    return e.scaled("Mul", e.op("Mul", x, one_plus_l), 0.5)


def _silu(e: Emitter, x: str, **_) -> str:
    return e.op("Mul", x, e.op("Sigmoid", x))


def _silu_poly(e: Emitter, x: str, **_) -> str:
    """x·(0.5 + 0.5·sign(x)·r·(2 − r)), r = min(|x|, k)/k: the multiply-add-clamp SiLU."""
    r = e.scaled("Mul", e.scaled("Min", e.op("Abs", x), SILU_POLY_KNEE), 1.0 / SILU_POLY_KNEE)
    bump = e.op("Mul", r, e.op("Sub", e.const(2.0), r))
    s = e.scaled("Add", e.scaled("Mul", e.op("Mul", e.op("Sign", x), bump), 0.5), 0.5)
    return e.op("Mul", x, s)


def _mish(e: Emitter, x: str, **_) -> str:
    if e.opset >= 18:
        return e.op("Mish", x)
    return e.op("Mul", x, e.op("Tanh", e.op("Softplus", x)))


def _leaky_relu(e: Emitter, x: str, negative_slope: float = 0.01, **_) -> str:
    return e.op("LeakyRelu", x, alpha=float(negative_slope))


def _single(op_type: str) -> Callable[..., str]:
    return lambda e, x, **_: e.op(op_type, x)


_BUILDERS: dict[str, Callable[..., str]] = {
    "relu": _single("Relu"),
    "relu6": lambda e, x, **_: _clip(e, x, 0.0, 6.0),
    "hardtanh": lambda e, x, **_: _clip(e, x, -1.0, 1.0),
    "hardsigmoid": lambda e, x, **_: _hardsigmoid(e, x),
    "hardswish": _hardswish,
    "leaky_relu": _leaky_relu,
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "gelu_quick": _gelu_quick,
    "gelu_poly": _gelu_poly,
    "silu": _silu,
    "silu_poly": _silu_poly,
    "sigmoid": _single("Sigmoid"),
    "tanh": _single("Tanh"),
    "elu": _single("Elu"),
    "selu": _single("Selu"),
    "softplus": _single("Softplus"),
    "mish": _mish,
}
EMITTABLE = frozenset(_BUILDERS)
_MIN_OPSET = {"gelu": 9, "gelu_poly": 9, "silu_poly": 9, "hardsigmoid": 6, "relu6": 6}


def emit(target: str, x: str, y: str, emitter: Emitter, **params) -> list[onnx.NodeProto]:
    """Nodes computing ``target(x)`` into ``y``; ValueError if ONNX cannot express it here."""
    if target not in _BUILDERS:
        known = ", ".join(sorted(_BUILDERS))
        raise ValueError(f"no ONNX form for swap target {target!r}; ONNX targets: {known}")
    if emitter.opset < _MIN_OPSET.get(target, 1):
        raise ValueError(
            f"{target} needs opset {_MIN_OPSET[target]} or later; the model has "
            f"{emitter.opset} (convert with --opset)"
        )
    _BUILDERS[target](emitter, x, **params)
    last = emitter.nodes[-1]
    last.output[0] = y
    return emitter.nodes


def emitted_ops(target: str, opset: int, constants: bool = False) -> list[str]:
    """The op types that ``emit`` writes for ``target`` at ``opset`` (Constants if asked)."""
    counter = iter(range(1 << 30))
    e = Emitter(opset, TensorProto.FLOAT, lambda hint: f"{hint}{next(counter)}")
    nodes = emit(target, "x", "y", e)
    return [n.op_type for n in nodes if constants or n.op_type != "Constant"]
