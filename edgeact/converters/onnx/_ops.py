"""Activations that are a single ONNX op, read from the catalogue's ONNX forms.

A node is the activation of the first form with its (domain, op) whose constant attributes it has
(``approximate="tanh"``, Swish's ``alpha=1.702``, HardSigmoid's 1/6 and 0.5); attributes bound to
a parameter must agree where a parameter appears twice (Shrink's ``bias = lambd`` is softshrink).
Omitted attributes take the op's default from ``onnx.defs`` (or the form's, for vendor ops).
Clip's bounds may be constant inputs, so it is decided by a small function; a Clip(0, 5) or a
Keras-style HardSigmoid(0.2, 0.5) is a near miss with the reason.
"""

import functools

import onnx
from onnx import helper

from edgeact.catalogue import ONNX_FORMS
from edgeact.converters._forms import Form
from edgeact.converters.onnx._graph import GraphView, NearMiss, close
from edgeact.converters.onnx._hard import _DYNAMIC, clip_bounds, hardsigmoid_params
from edgeact.forms import OnnxForm, Param

__all__ = ["match_op"]


def _decoded(value):
    return value.decode() if isinstance(value, bytes) else value


@functools.cache
def _schema_default(op: str, attribute: str):
    """The default of a default-domain op's attribute (None if it has none)."""
    try:
        attr = onnx.defs.get_schema(op).attributes[attribute]
    except (onnx.defs.SchemaError, KeyError):
        return None
    if not attr.default_value.name:  # required, or no default
        return None
    return _decoded(helper.get_attribute_value(attr.default_value))


def _value(node_attrs: dict, form: OnnxForm, attribute: str):
    if attribute in node_attrs:
        return _decoded(node_attrs[attribute])
    if attribute in form.defaults:
        return form.defaults[attribute]
    return _schema_default(form.op, attribute) if not form.domain else None


def _same(got, want) -> bool:
    if isinstance(want, str) or isinstance(got, str):
        return got == want
    if not isinstance(got, int | float):  # a graph or type where a number belongs: no match
        return False
    return close(float(got), float(want))


def _fits(node_attrs: dict, form: OnnxForm) -> bool:
    """Whether the node has the form's constant attributes and consistent parameter ones."""
    bound: dict[str, object] = {}
    for attribute, want in form.attributes.items():
        got = _value(node_attrs, form, attribute)
        if isinstance(want, Param):
            if got is None or (want.name in bound and not _same(got, bound[want.name])):
                return False
            bound[want.name] = got
        elif not _same(got, want):
            return False
    return True


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
    return NearMiss("relu6", Form.OP, "op", [node], f"Clip(0, {hi:.6g}); relu6 needs Clip(0, 6)")


def match_op(g: GraphView, node: onnx.NodeProto) -> str | NearMiss | None:
    """The catalogue name computed by ``node`` alone, a NearMiss, or None."""
    domain = "" if node.domain == "ai.onnx" else node.domain
    candidates = ONNX_FORMS.get((domain, node.op_type), ())
    if not candidates:
        return None
    if node.op_type == "Clip" and not domain:
        return _clip(g, node)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    for name, form in candidates:
        if _fits(attrs, form):
            return name
    if node.op_type == "HardSigmoid" and not domain:
        alpha, beta = hardsigmoid_params(node)
        why = f"HardSigmoid alpha={alpha:.6g}, beta={beta:.6g}; hardsigmoid is alpha=1/6, beta=0.5"
        return NearMiss("hardsigmoid", Form.OP, "op", [node], why)
    return None
