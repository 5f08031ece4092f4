"""SiLU family decomposed: SiLU, its QuickGELU cousin, Mish, and the sigmoid gate that is neither.

Sigmoid(x) · x                  -> silu        (also inside QDQ: DQ → Sigmoid → Q/DQ → Mul)
Sigmoid(β·x) · x, β = 1         -> silu        (swish with an explicit Mul(β); any operand order,
                                                β an initializer or a Constant node)
Sigmoid(1.702·x) · x            -> gelu_quick
Sigmoid(β·x) · x, any other β   -> silu of βx, divided by β (swish(β)): a swap writes its target
                                   at βx, so the error bound is the target's over |β|
x · Tanh(Softplus(x))           -> mish        (Softplus an op or Log(Exp(x) + 1))
Log(Exp(x) + 1)                 -> softplus
Sigmoid(y) · x, y ≠ x           -> "sigmoid gate" (squeeze-and-excitation, GLU): a sigmoid
                                   finding plus a silu near miss saying why it is not SiLU
s = Sigmoid(y); s · f(s)        -> s is the gated tensor, not a gate: a plain sigmoid op
"""

import math

import onnx

from edgeact.catalogue import GELU_QUICK_ALPHA
from edgeact.converters._forms import Form
from edgeact.converters.onnx._graph import GraphView, Match, NearMiss, PatternRule, close

__all__ = ["RULES", "match_mish", "match_silu", "match_softplus"]

# swish x·σ(β·x) with an explicit Mul(β) (Paddle, Keras exports) at the β the catalogue has
_SWISH_BETAS = {"silu": 1.0, "gelu_quick": GELU_QUICK_ALPHA}


def match_silu(g: GraphView, sig: onnx.NodeProto) -> list[Match | NearMiss] | None:
    """Anchor: Sigmoid with a Mul reader."""
    x = sig.input[0]
    muls = [m for m in g.consumers(sig.output[0]) if m.op_type == "Mul"]
    for mul in muls:
        other = g.other_operand(mul, sig.output[0])
        if other is not None and g.same(other, x):
            return [
                Match(
                    "silu", Form.SIGMOID_MUL, "pattern: Sigmoid(x)·x", [sig, mul], x, mul.output[0]
                )
            ]
    # A Sigmoid whose output is the gated tensor, not the gate: PyTorch's SE block after a
    # Sigmoid exports as s = Sigmoid(conv); Mul(s, Sigmoid(Conv(Relu(Conv(GlobalAveragePool(s))))))
    # and the first Sigmoid is a plain sigmoid (the op rule reports it).
    muls = [
        m
        for m in muls
        if not (o := g.other_operand(m, sig.output[0])) or not g.depends_on(o, sig.output[0])
    ]
    if not muls:
        return None
    mul = muls[0]
    other = g.other_operand(mul, sig.output[0])
    scale = g.producer(x)
    if other is not None and scale is not None and scale.op_type == "Mul":
        c, inner = g.const_operand(scale)
        if c is not None and inner is not None and g.same(inner, other):
            form, nodes = "pattern: Sigmoid(β·x)·x", [scale, sig, mul]
            for activation, beta in _SWISH_BETAS.items():
                if close(c, beta):  # within RTOL; the report keeps how far off it is
                    y, params = mul.output[0], {"beta": c, "deviation": c - beta}
                    match = Match(
                        activation, Form.SCALED_SIGMOID_MUL, form, nodes, inner, y, params
                    )
                    return [match]
            if c == 0 or not math.isfinite(c):
                why = f"swish with β = {c:g}: x·σ(βx) = silu(βx)/β needs a finite β ≠ 0"
                return [NearMiss("silu", Form.SCALED_SIGMOID_MUL, form, nodes, why)]
            y, params = mul.output[0], {"beta": c}
            return [Match("silu", Form.SCALED_SIGMOID_MUL, form, nodes, inner, y, params, c)]
    gate = Match(
        "sigmoid", Form.SIGMOID_GATE, "pattern: sigmoid gate σ(y)·x", [sig], x, sig.output[0]
    )
    why = "the Mul's other operand is not the Sigmoid's input: a gate (e.g. squeeze-excitation)"
    return [gate, NearMiss("silu", Form.SIGMOID_MUL, "pattern: Sigmoid(y)·x", [sig, mul], why)]


def _log_exp_softplus(g: GraphView, log: onnx.NodeProto) -> tuple[list, str] | None:
    """(nodes [Exp, Add, Log], x) when ``log`` computes log(exp(x) + 1), the decomposed
    softplus (OpenVINO's SoftPlus fusion matches the same), else None."""
    add = g.producer(log.input[0]) if log.op_type == "Log" and log.input else None
    if add is None or add.op_type != "Add":
        return None
    one, e = g.const_operand(add)
    exp = g.producer(e) if e is not None else None
    if not close(one, 1.0) or exp is None or exp.op_type != "Exp" or not exp.input:
        return None
    return [exp, add, log], exp.input[0]


def match_softplus(g: GraphView, log: onnx.NodeProto) -> Match | None:
    """Anchor: Log of Add(Exp(x), 1)."""
    found = _log_exp_softplus(g, log)
    if found is None:
        return None
    nodes, x = found
    pattern = "pattern: Log(Exp(x) + 1)"
    return Match("softplus", Form.SOFTPLUS_LOG_EXP, pattern, nodes, x, log.output[0])


def match_mish(g: GraphView, tanh: onnx.NodeProto) -> Match | NearMiss | None:
    """Anchor: Tanh whose input is a Softplus (an op, or Log(Exp(x) + 1))."""
    sp = g.producer(tanh.input[0])
    if sp is None:
        return None
    if sp.op_type == "Softplus":
        inner, x = [sp], sp.input[0]
    elif (decomposed := _log_exp_softplus(g, sp)) is not None:
        inner, x = decomposed
    else:
        return None
    form = "pattern: x·Tanh(Softplus(x))"
    muls = [m for m in g.consumers(tanh.output[0]) if m.op_type == "Mul"]
    for mul in muls:
        other = g.other_operand(mul, tanh.output[0])
        if other is not None and g.same(other, x):
            return Match("mish", Form.MISH_CHAIN, form, [*inner, tanh, mul], x, mul.output[0])
    if not muls:
        return NearMiss(
            "mish",
            Form.MISH_CHAIN,
            form,
            [*inner, tanh],
            "Tanh(Softplus(x)) is not multiplied by x",
        )
    why = "Tanh(Softplus(x)) is multiplied by a tensor other than x"
    return NearMiss("mish", Form.MISH_CHAIN, form, [*inner, tanh, muls[0]], why)


# SiLU last: a Sigmoid inside another pattern must be claimed by that pattern first.
RULES = (
    PatternRule(30, frozenset({"Tanh"}), match_mish, "silu"),
    PatternRule(35, frozenset({"Log"}), match_softplus, "silu"),  # after Mish: it may hold one
    PatternRule(60, frozenset({"Sigmoid"}), match_silu, "silu"),
)
