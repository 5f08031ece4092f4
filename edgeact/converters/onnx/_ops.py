"""Activations that are a single ONNX op: op type (and domain) -> catalogue name.

Ops whose meaning depends on attributes or constant inputs (Clip, HardSigmoid, Gelu, Swish,
Shrink, QuickGelu) are decided by a small function; a Clip(0, 5) or a Keras-style
HardSigmoid(0.2, 0.5) is a near miss with the reason.
"""

import onnx
from onnx import helper

from edgeact.converters.onnx._graph import GraphView, NearMiss, close
from edgeact.converters.onnx._hard import _DYNAMIC, clip_bounds, hardsigmoid_params

__all__ = ["match_op"]

_SIMPLE = {
    "Relu": "relu",
    "HardSwish": "hardswish",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "LeakyRelu": "leaky_relu",
    "PRelu": "prelu",
    "Elu": "elu",
    "Selu": "selu",
    "Celu": "celu",
    "Softplus": "softplus",
    "Mish": "mish",
    "Softmax": "softmax",
}
_MICROSOFT = {"Gelu": "gelu", "BiasGelu": "gelu", "FastGelu": "gelu_tanh"}


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _clip(g: GraphView, node: onnx.NodeProto) -> str | NearMiss | None:
    bounds = clip_bounds(g, node)
    if bounds is _DYNAMIC:
        return None
    lo, hi = bounds
    if lo is None or lo != 0.0:
        if lo is not None and hi is not None and close(lo, -1.0) and close(hi, 1.0):
            return "hardtanh"
        return None
    if hi is None:
        return "relu"
    if close(hi, 6.0):
        return "relu6"
    return NearMiss("relu6", "op", [node], f"Clip(0, {hi:.6g}); relu6 needs Clip(0, 6)")


def match_op(g: GraphView, node: onnx.NodeProto) -> str | NearMiss | None:
    """The catalogue name computed by ``node`` alone, a NearMiss, or None."""
    op, domain = node.op_type, node.domain
    if domain == "com.microsoft":
        if op in _MICROSOFT:
            return _MICROSOFT[op]
        if op == "QuickGelu":
            alpha = float(_attrs(node).get("alpha", 1.702))
            return "gelu_quick" if close(alpha, 1.702) else ("silu" if close(alpha, 1.0) else None)
        return None
    if domain not in ("", "ai.onnx"):
        return None
    if op in _SIMPLE:
        return _SIMPLE[op]
    if op == "Clip":
        return _clip(g, node)
    if op == "Gelu":
        approximate = _attrs(node).get("approximate", b"none")
        approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
        return "gelu_tanh" if approximate == "tanh" else "gelu"
    if op == "HardSigmoid":
        alpha, beta = hardsigmoid_params(node)
        if close(alpha, 1 / 6) and close(beta, 0.5):
            return "hardsigmoid"
        why = f"HardSigmoid alpha={alpha:.6g}, beta={beta:.6g}; hardsigmoid is alpha=1/6, beta=0.5"
        return NearMiss("hardsigmoid", "op", [node], why)
    if op == "Swish":
        alpha = float(_attrs(node).get("alpha", 1.0))
        return "silu" if close(alpha, 1.0) else ("gelu_quick" if close(alpha, 1.702) else None)
    if op == "Shrink":
        a = _attrs(node)
        bias, lambd = float(a.get("bias", 0.0)), float(a.get("lambd", 0.5))
        return "hardshrink" if bias == 0.0 else ("softshrink" if close(bias, lambd) else None)
    return None
