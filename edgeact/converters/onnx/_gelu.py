"""GELU as exporters decompose it (PyTorch below opset 20, HF "NewGELU", ...).

Shapes (operands of Add/Mul in either order; the 0.5 multiply before or after the x multiply):

    erf form   Div(x, √2) | Mul(x, 1/√2) → Erf → Add(1) → Mul(x) → Mul(0.5)        -> Gelu
    tanh form  Pow(x, 3) | x·x·x → Mul(0.044715) → Add(x) → Mul(√(2/π)) → Tanh
               → Add(1) → Mul(x) → Mul(0.5)                                          -> Gelu(tanh)

Near misses: the chain is there but a constant is wrong, or the product is not with x.
"""

import math

import onnx

from edgeact.converters._forms import Form
from edgeact.converters.onnx._graph import Fail, GraphView, Match, NearMiss, PatternRule, close

__all__ = ["RULES", "match_gelu_erf", "match_gelu_tanh"]

SQRT2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _only(g: GraphView, value: str, op: str, what: str) -> onnx.NodeProto:
    """The consumer of ``value`` with op type ``op``; Fail if there is none."""
    for c in g.consumers(value):
        if c.op_type == op:
            return c
    raise Fail(f"{what} is not followed by {op}")


def _plus_one(g: GraphView, value: str, what: str) -> onnx.NodeProto:
    add = _only(g, value, "Add", what)
    c, _ = g.const_operand(add)
    if not close(c, 1.0):
        raise Fail(f"{what} + {_fmt(c)}; GELU needs + 1")
    return add


def _fmt(c: float | None) -> str:
    return "a non-constant" if c is None else f"{c:.6g}"


def half_x_times(g: GraphView, inner: str, x: str, what: str) -> list[onnx.NodeProto]:
    """The Mul nodes computing 0.5·x·inner in any of the exporters' orders; Fail otherwise."""
    muls = [c for c in g.consumers(inner) if c.op_type == "Mul"]
    if not muls:
        raise Fail(f"{what} is not multiplied by anything")
    m1 = muls[0]
    other = g.other_operand(m1, inner)
    if other is not None and g.same(other, x):  # (inner·x)·0.5
        m2 = _only(g, m1.output[0], "Mul", f"x·{what}")
        c, _ = g.const_operand(m2)
        if not close(c, 0.5):
            raise Fail(f"x·{what} is multiplied by {_fmt(c)}; GELU needs 0.5")
        return [m1, m2]
    c = g.scalar(other) if other is not None else None
    if c is not None:  # (inner·0.5)·x
        if not close(c, 0.5):
            raise Fail(f"{what} is multiplied by {_fmt(c)}; GELU needs 0.5")
        for m2 in g.consumers(m1.output[0]):
            if m2.op_type == "Mul" and g.other_operand(m2, m1.output[0]) is not None:
                if g.same(g.other_operand(m2, m1.output[0]), x):
                    return [m1, m2]
        raise Fail(f"0.5·{what} is not multiplied by the same x")
    p = g.producer(other) if other is not None else None
    if p is not None and p.op_type == "Mul":  # (x·0.5)·inner
        half = g.other_operand(p, x)
        if half is not None:
            c = g.scalar(half)
            if not close(c, 0.5):
                raise Fail(f"x is multiplied by {_fmt(c)}; GELU needs 0.5")
            return [p, m1]
    raise Fail(f"{what} is multiplied by a tensor other than x")


def match_gelu_erf(g: GraphView, erf: onnx.NodeProto) -> Match | NearMiss | None:
    """Anchor: Erf. Commits once the Erf's input is x divided or multiplied by a constant."""
    scale = g.producer(erf.input[0])
    if scale is None or scale.op_type not in ("Div", "Mul"):
        return None
    if scale.op_type == "Div":
        x, c = scale.input[0], g.scalar(scale.input[1])
        if c is None:
            return None
        form, ok = "pattern: erf form, Div(√2)", close(c, SQRT2)
        why = f"Div by {c:.6g}; GELU needs √2 ≈ 1.41421"
    else:
        c, x = g.const_operand(scale)
        if c is None:
            return None
        form, ok = "pattern: erf form, Mul(1/√2)", close(c, 1 / SQRT2)
        why = f"Mul by {c:.6g}; GELU needs 1/√2 ≈ 0.707107"
    nodes = [scale, erf]
    try:
        if not ok:
            raise Fail(why)
        add = _plus_one(g, erf.output[0], "erf(x/√2)")
        nodes.append(add)
        nodes += half_x_times(g, add.output[0], x, "(1 + erf(x/√2))")
    except Fail as f:
        return NearMiss("gelu", Form.GELU_ERF, form, nodes, str(f))
    return Match("gelu", Form.GELU_ERF, form, nodes, x, nodes[-1].output[0])


def _cube(g: GraphView, value: str) -> tuple[str, list[onnx.NodeProto], str] | None:
    """(x, nodes, form) if ``value`` is Pow(x, 3) or x·x·x; raises Fail for Pow(x, k≠3)."""
    p = g.producer(value)
    if p is None:
        return None
    if p.op_type == "Pow":
        k = g.scalar(p.input[1])
        if k is None:
            return None
        if not close(k, 3.0):
            raise Fail(f"Pow(x, {k:.6g}); GELU needs Pow(x, 3)")
        return p.input[0], [p], "Pow(x,3)"
    if p.op_type == "Mul" and len(p.input) == 2:
        for sq_in, lone in ((p.input[0], p.input[1]), (p.input[1], p.input[0])):
            sq = g.producer(sq_in)
            if (
                sq is not None
                and sq.op_type == "Mul"
                and g.same(sq.input[0], sq.input[1])
                and g.same(sq.input[0], lone)
            ):
                return lone, [sq, p], "x·x·x"
    return None


def match_gelu_tanh(g: GraphView, tanh: onnx.NodeProto) -> Match | NearMiss | None:
    """Anchor: Tanh. Commits once the Tanh's input is constant·(a + b)."""
    scale = g.producer(tanh.input[0])
    if scale is None or scale.op_type != "Mul":
        return None
    c, inner = g.const_operand(scale)
    add = g.producer(inner) if inner is not None else None
    if c is None or add is None or add.op_type != "Add":
        return None
    nodes = [scale, tanh]
    form = "pattern: tanh form"
    try:
        found = None
        for x, k in ((add.input[0], add.input[1]), (add.input[1], add.input[0])):
            km = g.producer(k)
            if km is None or km.op_type != "Mul":
                continue
            c2, cube_out = g.const_operand(km)
            cube = _cube(g, cube_out) if cube_out is not None else None
            if cube is not None and g.same(cube[0], x):
                found = x, c2, cube, km
                break
        if found is None:
            raise Fail("Tanh input is not c·(x + c'·x³)")
        x, c2, (_, cube_nodes, cube_form), km = found
        form = f"pattern: tanh form, {cube_form}"
        nodes = [*cube_nodes, km, add, *nodes]
        if not close(c2, 0.044715):
            raise Fail(f"x³ multiplied by {c2:.6g}; GELU needs 0.044715")
        if not close(c, SQRT_2_OVER_PI):
            raise Fail(f"Tanh input scaled by {c:.6g}; GELU needs √(2/π) ≈ 0.797885")
        add1 = _plus_one(g, tanh.output[0], "tanh(…)")
        nodes.append(add1)
        nodes += half_x_times(g, add1.output[0], x, "(1 + tanh(…))")
    except Fail as f:
        return NearMiss("gelu_tanh", Form.GELU_TANH, form, nodes, str(f))
    return Match("gelu_tanh", Form.GELU_TANH, form, nodes, x, nodes[-1].output[0])


# Erf and Tanh anchors; the tanh form runs before Mish, which also has a Tanh.
RULES = (
    PatternRule(10, frozenset({"Erf"}), match_gelu_erf, "gelu"),
    PatternRule(20, frozenset({"Tanh"}), match_gelu_tanh, "gelu"),
)
