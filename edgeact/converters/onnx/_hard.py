"""Piecewise-linear activations decomposed: Hardswish, Hardsigmoid, ReLU6.

    HardSigmoid(x, alpha=1/6, beta=0.5) · x                    -> hardswish  (PyTorch < opset 14)
    Add(x, 3) → clamp(0, 6) → Mul(x) → Div(6) | Mul(1/6)       -> hardswish
    Add(x, 3) → clamp(0, 6) → Div(6) | Mul(1/6) → Mul(x)       -> hardswish
    Add(x, 3) → clamp(0, 6) → Div(6) | Mul(1/6)                -> hardsigmoid
    Min(Max(x, 0), 6) | Max(Min(x, 6), 0)                      -> relu6

"clamp" is Clip (bounds as attributes before opset 11, inputs from 11) or Min/Max.
Near misses: a wrong constant (Add(2), Clip(0, 5), Div(5), alpha=0.2) or a missing step.
"""

import onnx
from onnx import helper

from edgeact.converters._forms import Form
from edgeact.converters.onnx._graph import Fail, GraphView, Match, NearMiss, PatternRule, close

__all__ = ["RULES", "clip_bounds", "match_hard_chain", "match_hardsigmoid_mul"]

_DYNAMIC = object()


def clip_bounds(g: GraphView, clip: onnx.NodeProto):
    """(min, max) of a Clip as floats or None when absent; _DYNAMIC if one is not constant."""
    attrs = {a.name: helper.get_attribute_value(a) for a in clip.attribute}
    if "min" in attrs or "max" in attrs:
        return attrs.get("min"), attrs.get("max")
    bounds = []
    for i in (1, 2):
        name = clip.input[i] if len(clip.input) > i else ""
        if not name:
            bounds.append(None)
            continue
        v = g.scalar(name)
        if v is None:
            return _DYNAMIC
        bounds.append(v)
    return tuple(bounds)


def _clamp(g: GraphView, node: onnx.NodeProto):
    """(input, nodes, lo, hi, kind) if ``node`` is the outer node of a constant clamp."""
    if node.op_type == "Clip":
        b = clip_bounds(g, node)
        if b is _DYNAMIC:
            return None
        return node.input[0], [node], b[0], b[1], "Clip"
    if node.op_type in ("Min", "Max") and len(node.input) == 2:
        inner_op = "Max" if node.op_type == "Min" else "Min"
        c, other = g.const_operand(node)
        inner = g.producer(other) if other is not None else None
        if c is None or inner is None or inner.op_type != inner_op:
            return None
        c2, x = g.const_operand(inner)
        if c2 is None:
            return None
        lo, hi = (c2, c) if node.op_type == "Min" else (c, c2)
        return x, [inner, node], lo, hi, f"{inner_op}/{node.op_type}"
    return None


def _is_relu6(lo, hi) -> bool:
    return lo is not None and hi is not None and lo == 0.0 and close(hi, 6.0)


def _by_six(g: GraphView, value: str) -> onnx.NodeProto | None:
    """A reader of ``value`` dividing by a constant or multiplying by one (checked by caller)."""
    for c in g.consumers(value):
        if c.op_type == "Div" and g.same(c.input[0], value) and g.scalar(c.input[1]) is not None:
            return c
        if c.op_type == "Mul" and g.const_operand(c)[0] is not None:
            return c
    return None


def _check_six(g: GraphView, node: onnx.NodeProto) -> None:
    if node.op_type == "Div":
        c = g.scalar(node.input[1])
        if not close(c, 6.0):
            raise Fail(f"divided by {c:.6g}; needs Div(6)")
    else:
        c = g.const_operand(node)[0]
        if not close(c, 1 / 6):
            raise Fail(f"multiplied by {c:.6g}; needs Mul(1/6)")


def _times_x(g: GraphView, value: str, x: str) -> onnx.NodeProto | None:
    for c in g.consumers(value):
        if c.op_type == "Mul":
            other = g.other_operand(c, value)
            if other is not None and g.same(other, x):
                return c
    return None


def match_hard_chain(g: GraphView, node: onnx.NodeProto) -> Match | NearMiss | None:
    """Anchor: Clip, Min or Max. Add(x, c) → clamp → ... or a bare Min/Max relu6."""
    clamp = _clamp(g, node)
    if clamp is None:
        return None
    v, core, lo, hi, kind = clamp
    out = core[-1].output[0]
    add = g.producer(v)
    c_add, x = g.const_operand(add) if add is not None and add.op_type == "Add" else (None, None)
    if c_add is None:
        if kind == "Clip":
            return None  # a bare Clip is the op rule's business
        form = f"pattern: {kind}(x, 0, 6)"
        if _is_relu6(lo, hi):
            return Match("relu6", Form.MIN_MAX_CLAMP, form, core, v, out)
        if lo == 0.0:
            return NearMiss(
                "relu6",
                Form.MIN_MAX_CLAMP,
                form,
                core,
                f"clamps to [0, {hi:.6g}]; relu6 needs [0, 6]",
            )
        return None
    nodes = [add, *core]
    div = _by_six(g, out)
    mulx = _times_x(g, out, x) or (_times_x(g, div.output[0], x) if div is not None else None)
    looks = "hardswish" if mulx is not None else "hardsigmoid"
    steps = [f"Add({c_add:.6g})", f"{kind}({_fmt(lo)},{_fmt(hi, 'inf')})"]
    try:
        if not close(c_add, 3.0):
            raise Fail(f"Add({c_add:.6g}) before the clamp; needs Add(3)")
        if not _is_relu6(lo, hi):
            raise Fail(f"clamps to [{_fmt(lo)}, {_fmt(hi, 'inf')}]; needs [0, 6]")
        first = div if div is not None else mulx
        if first is None:
            raise Fail("relu6(x + 3) is neither divided by 6 nor multiplied by x")
        if first is mulx:
            nodes.append(mulx)
            steps.append("Mul(x)")
            div = _by_six(g, mulx.output[0])
            if div is None:
                raise Fail("x·relu6(x + 3) is not divided by 6")
            steps.append("Div(6)" if div.op_type == "Div" else "Mul(1/6)")
            _check_six(g, div)
            nodes.append(div)
        else:
            steps.append("Div(6)" if div.op_type == "Div" else "Mul(1/6)")
            _check_six(g, div)
            nodes.append(div)
            if mulx is not None:
                nodes.append(mulx)
                steps.append("Mul(x)")
    except Fail as f:
        return NearMiss(looks, Form.HARD_CHAIN, "pattern: " + "→".join(steps), nodes, str(f))
    name = "hardswish" if mulx is not None else "hardsigmoid"
    return Match(
        name, Form.HARD_CHAIN, "pattern: " + "→".join(steps), nodes, x, nodes[-1].output[0]
    )


def _fmt(v, missing: str = "-inf") -> str:
    return missing if v is None else f"{v:.6g}"


def hardsigmoid_params(node: onnx.NodeProto) -> tuple[float, float]:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))


def match_hardsigmoid_mul(g: GraphView, hs: onnx.NodeProto) -> Match | NearMiss | None:
    """Anchor: HardSigmoid whose output is multiplied by its own input."""
    x = hs.input[0]
    mul = _times_x(g, hs.output[0], x)
    if mul is None:
        return None
    alpha, beta = hardsigmoid_params(hs)
    form = "pattern: HardSigmoid(x)·x"
    if close(alpha, 1 / 6) and close(beta, 0.5):
        return Match(
            "hardswish",
            Form.HARDSIGMOID_MUL,
            "pattern: HardSigmoid(1/6)·x",
            [hs, mul],
            x,
            mul.output[0],
        )
    why = f"HardSigmoid alpha={alpha:.6g}, beta={beta:.6g}; hardswish needs alpha=1/6, beta=0.5"
    return NearMiss("hardswish", Form.HARDSIGMOID_MUL, form, [hs, mul], why)


RULES = (
    PatternRule(40, frozenset({"HardSigmoid"}), match_hardsigmoid_mul, "hard"),
    PatternRule(50, frozenset({"Clip", "Min", "Max"}), match_hard_chain, "hard"),
)
