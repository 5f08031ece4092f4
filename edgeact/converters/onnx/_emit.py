"""ONNX nodes computing a catalogue activation at a given opset: what a swap or a fuse writes.

Where the model's opset has the target's op (its catalogue ONNX form: HardSwish from 14, Gelu
from 20, Mish from 18) a single node is written; below it, or for targets without an op, a
hand-written decomposed pattern: the same maths in older ops
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

from edgeact.catalogue import (
    ACTIVATIONS,
    GELU_QUICK_ALPHA,
    GELU_TANH_CUBIC,
    IBERT_A,
    IBERT_B,
    SILU_POLY_KNEE,
)
from edgeact.forms import OnnxForm

__all__ = ["EMITTABLE", "Emitter", "emit", "emitted_ops"]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


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


def _hardsigmoid(e: Emitter, x: str) -> str:
    return _single_op(e, x, ACTIVATIONS["hardsigmoid"].onnx_form(), {})


def _hardswish(e: Emitter, x: str, **_) -> str:
    """Below opset 14: PyTorch's own export, HardSigmoid(1/6, 0.5)·x."""
    return e.op("Mul", x, _hardsigmoid(e, x))


def _gelu(e: Emitter, x: str, **_) -> str:
    """Below opset 20: the erf form PyTorch exports, 0.5·(x·(1 + erf(x/√2)))."""
    erf = e.op("Erf", e.scaled("Mul", x, 1.0 / math.sqrt(2.0)))
    return e.scaled("Mul", e.op("Mul", x, e.scaled("Add", erf, 1.0)), 0.5)


def _gelu_tanh(e: Emitter, x: str, **_) -> str:
    """Below opset 20: x·σ(2u), the tanh form without the cancellation of 1 + tanh(u)."""
    c1 = 2.0 * _SQRT_2_OVER_PI
    x2 = e.op("Mul", x, x)
    u2 = e.op("Mul", x, e.scaled("Add", e.scaled("Mul", x2, GELU_TANH_CUBIC * c1), c1))
    return e.op("Mul", x, e.op("Sigmoid", u2))


def _gelu_quick(e: Emitter, x: str, **_) -> str:
    return e.op("Mul", x, e.op("Sigmoid", e.scaled("Mul", x, GELU_QUICK_ALPHA)))


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
    """Below opset 18: x·tanh(softplus(x))."""
    return e.op("Mul", x, e.op("Tanh", e.op("Softplus", x)))


def _single_op(e: Emitter, x: str, form: OnnxForm, params: dict) -> str:
    """The form's op; attributes become constant inputs from its ``inputs_since`` opset on."""
    attributes = form.attributes_for(params)
    if form.inputs_since is not None and e.opset >= form.inputs_since:
        return e.op(form.op, x, *(e.const(v) for v in attributes.values()))
    return e.op(form.op, x, **attributes)


# Decomposed patterns (hand-written maths): for targets without a single op, and for targets
# whose op is newer than the model (used below the form's opset).
_PATTERNS: dict[str, Callable[..., str]] = {
    "hardswish": _hardswish,
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "gelu_quick": _gelu_quick,
    "gelu_poly": _gelu_poly,
    "silu": _silu,
    "silu_poly": _silu_poly,
    "mish": _mish,
}
_PATTERN_OPSET = {"gelu": 9, "gelu_poly": 9, "silu_poly": 9, "hardswish": 6}  # Erf, Sign: 9
# target -> the ONNX form a single op writes (the catalogue's written default-domain form)
_FORMS = {
    name: form
    for name, act in ACTIVATIONS.items()
    if act.elementwise and (form := act.onnx_form()) is not None
}
EMITTABLE = frozenset(_FORMS) | frozenset(_PATTERNS)


def emit(
    target: str,
    x: str,
    y: str,
    emitter: Emitter,
    input_scale: float = 1.0,
    gate: tuple[float, float] | None = None,
    **params,
) -> list[onnx.NodeProto]:
    """Nodes computing ``target(x)`` into ``y``; ValueError if ONNX cannot express it here.

    ``input_scale`` s: ``target(s·x)/s``, the swap of a swish(β) = silu(βx)/β. ``gate`` (α, β)
    for a hardsigmoid or hardswish target: HardSigmoid(x; α, β), times x for hardswish (fitted
    constants, ``_fit``)."""
    if target not in EMITTABLE:
        known = ", ".join(sorted(EMITTABLE))
        raise ValueError(f"no ONNX form for swap target {target!r}; ONNX targets: {known}")
    if target == "hardswish" and input_scale != 1.0 and gate is None:
        gate = (input_scale / 6, 0.5)  # hardswish(sx)/s = x·HardSigmoid(x; s/6, 0.5): two ops
    if gate is not None and target in ("hardsigmoid", "hardswish"):
        alpha, beta = gate
        hard = emitter.op("HardSigmoid", x, alpha=float(alpha), beta=float(beta))
        if target == "hardswish":
            emitter.op("Mul", x, hard)
    elif input_scale == 1.0:
        _compute(target, x, emitter, params)
    else:
        out = _compute(target, emitter.scaled("Mul", x, input_scale), emitter, params)
        emitter.scaled("Mul", out, 1.0 / input_scale)
    last = emitter.nodes[-1]
    last.output[0] = y
    return emitter.nodes


def _compute(target: str, x: str, emitter: Emitter, params: dict) -> str:
    """Append the nodes of ``target(x)``; the name of their output."""
    form = _FORMS.get(target)
    if form is not None and emitter.opset >= form.since:
        values = {**ACTIVATIONS[target].params, **params}
        return _single_op(emitter, x, form, values)
    needs = _PATTERN_OPSET.get(target, 1) if target in _PATTERNS else form.since
    if emitter.opset < needs:
        raise ValueError(
            f"{target} needs opset {needs} or later; the model has "
            f"{emitter.opset} (convert with --opset)"
        )
    return _PATTERNS[target](emitter, x, **params)


def single_op(target: str) -> tuple[str, int] | None:
    """(op type, first opset) of the single default-domain op computing ``target``, if any."""
    form = _FORMS.get(target)
    return None if form is None or form.domain else (form.op, form.since)


def emitted_ops(
    target: str, opset: int, constants: bool = False, input_scale: float = 1.0, gate=None
) -> list[str]:
    """The op types that ``emit`` writes for ``target`` at ``opset`` (Constants if asked)."""
    counter = iter(range(1 << 30))
    e = Emitter(opset, TensorProto.FLOAT, lambda hint: f"{hint}{next(counter)}")
    nodes = emit(target, "x", "y", e, input_scale, gate)
    return [n.op_type for n in nodes if constants or n.op_type != "Constant"]
