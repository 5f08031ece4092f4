"""Match decomposed hard-swish / hard-sigmoid chains (what some exporters emit instead of ops).

    ADD(x, 3) -> RELU6 (op or fused into the ADD) -> MUL(x) -> MUL(1/6) | DIV(6)  -> hardswish
    ADD(x, 3) -> RELU6 -> MUL(1/6) | DIV(6) -> MUL(x)                              -> hardswish
    ADD(x, 3) -> RELU6 -> MUL(1/6) | DIV(6) [-> MUL(y), y is not x: a gate]        -> hardsigmoid
    CONV_2D | DEPTHWISE_CONV_2D | FULLY_CONNECTED (bias, fused RELU6) -> MUL(1/6) | DIV(6)
        [-> MUL(y): a gate]                                                         -> hardsigmoid
        (the TFLite converter folds the ADD(3) into the bias: keras hard_sigmoid after Dense)

Constants are compared after dequantization (relative tolerance 1e-3), either operand order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeact.catalogue import ACTIVATIONS
from edgeact.converters._forms import Form
from edgeact.converters.tflite._graph import SubgraphView, text
from edgeact.converters.tflite._schema import schema

__all__ = ["HardMatch", "match_hard_activations", "only_consumer", "scalar_operand"]

_RELU6 = schema.ActivationFunctionType.RELU6


@dataclass(frozen=True)
class HardMatch:
    name: str  # "hardswish" or "hardsigmoid"
    form: Form
    pattern: str  # the report's text for the form
    operators: tuple[int, ...]
    x: int
    y: int
    params: dict


def match_hard_activations(view: SubgraphView) -> list[HardMatch]:
    """Every decomposed hard-swish / hard-sigmoid chain of the subgraph."""
    found = []
    for a, op in enumerate(view.ops):
        if op == "ADD":
            match = _from_add(view, a)
            if match is not None:
                found.append(match)
        elif op in _BIASED:
            match = _from_folded(view, a)
            if match is not None:
                found.append(match)
    return found


# TF 2.21's converter writes keras hard_sigmoid(Dense(x)) = relu6(Wx + b + 3) / 6 as
# FULLY_CONNECTED(x, W, b + 3; fused RELU6) -> MUL(1/6): the +3 lives in the bias, so the
# hard-sigmoid's input is never a tensor and the chain starts at the fused op.
_BIASED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def _from_folded(view: SubgraphView, a: int) -> HardMatch | None:
    ins = view.inputs(a)
    fused = getattr(view.operator(a).builtinOptions, "fusedActivationFunction", 0)
    if fused != _RELU6 or len(ins) < 3 or ins[2] < 0 or not view.outputs(a):
        return None
    r = view.outputs(a)[0]
    nxt = only_consumer(view, r)
    if nxt is None or not _is_sixth(view, nxt, r):
        return None
    g = view.outputs(nxt)[0]
    params = {"folded": f"+3 in the {view.ops[a]} bias"}
    mul = only_consumer(view, g)
    if mul is not None and view.ops[mul] == "MUL" and _other_input(view, mul, g) is not None:
        params["gated_tensor"] = text(view.tensor(_other_input(view, mul, g)).name)
        return HardMatch(
            "hardsigmoid",
            Form.HARDSIGMOID_GATE,
            "pattern: hard-sigmoid gate",
            (a, nxt, mul),
            r,
            g,
            params,
        )
    return HardMatch(
        "hardsigmoid", Form.HARD_CHAIN, "pattern: relu6(x+3)/6", (a, nxt), r, g, params
    )


def _from_add(view: SubgraphView, a: int) -> HardMatch | None:
    x = scalar_operand(view, a, 3.0)
    if x is None:
        return None
    chain = [a]
    r = view.outputs(a)[0]
    fused = getattr(view.operator(a).builtinOptions, "fusedActivationFunction", 0)
    if fused != _RELU6:
        if fused:
            return None
        nxt = only_consumer(view, r)
        if nxt is None or view.ops[nxt] != "RELU6":
            return None
        chain.append(nxt)
        r = view.outputs(nxt)[0]
    nxt = only_consumer(view, r)
    if nxt is None:
        return None
    if _is_sixth(view, nxt, r):  # relu6(x+3)/6 first: hard-sigmoid, maybe times x
        chain.append(nxt)
        g = view.outputs(nxt)[0]
        mul = only_consumer(view, g)
        if mul is not None and view.ops[mul] == "MUL" and _other_input(view, mul, g) == x:
            y = view.outputs(mul)[0]
            return HardMatch(
                "hardswish", Form.HARD_CHAIN, _FORM_SWISH, (*chain, mul), x, y, _BUILTIN
            )
        if mul is not None and view.ops[mul] == "MUL" and _other_input(view, mul, g) is not None:
            gated = text(view.tensor(_other_input(view, mul, g)).name)
            params = {"gated_tensor": gated}
            ops = (*chain, mul)
            return HardMatch(
                "hardsigmoid",
                Form.HARDSIGMOID_GATE,
                "pattern: hard-sigmoid gate",
                ops,
                x,
                g,
                params,
            )
        return HardMatch(
            "hardsigmoid", Form.HARD_CHAIN, "pattern: relu6(x+3)/6", tuple(chain), x, g, {}
        )
    if view.ops[nxt] == "MUL" and _other_input(view, nxt, r) == x:  # x·relu6(x+3) first
        p = view.outputs(nxt)[0]
        last = only_consumer(view, p)
        if last is not None and _is_sixth(view, last, p):
            y = view.outputs(last)[0]
            return HardMatch(
                "hardswish", Form.HARD_CHAIN, _FORM_SWISH, (*chain, nxt, last), x, y, _BUILTIN
            )
    return None


_FORM_SWISH = "pattern: x·relu6(x+3)/6"
# the one op LiteRT has for the whole chain
_BUILTIN = {"builtin_op": ACTIVATIONS["hardswish"].tflite_op}


def _is_sixth(view: SubgraphView, o: int, t: int) -> bool:
    """Operator ``o`` computes t/6: MUL(t, 1/6) or DIV(t, 6), without a fused activation."""
    if getattr(view.operator(o).builtinOptions, "fusedActivationFunction", 0):
        return False
    if view.ops[o] == "MUL":
        return scalar_operand(view, o, 1 / 6, t) is not None
    if view.ops[o] == "DIV":
        ins = view.inputs(o)
        return len(ins) == 2 and ins[0] == t and _is_scalar(view, ins[1], 6.0)
    return False


def scalar_operand(view: SubgraphView, o: int, value: float, t: int | None = None) -> int | None:
    """The non-constant operand of a binary op whose other operand is the scalar ``value``."""
    ins = view.inputs(o)
    if len(ins) != 2:
        return None
    for k in (0, 1):
        const, other = ins[k], ins[1 - k]
        if _is_scalar(view, const, value) and (t is None or other == t):
            return other
    return None


def _is_scalar(view: SubgraphView, t: int, value: float) -> bool:
    c = view.constant(t)
    return c is not None and c.size >= 1 and bool(np.allclose(c, value, rtol=1e-3, atol=0))


def _other_input(view: SubgraphView, o: int, t: int) -> int | None:
    ins = view.inputs(o)
    others = [i for i in ins if i != t]
    return others[0] if len(ins) == 2 and len(others) == 1 else None


def only_consumer(view: SubgraphView, t: int) -> int | None:
    """The one op reading ``t``, or None when several read it or it is a subgraph output: only
    then may a pattern fold ``t`` away."""
    consumers = view.consumers.get(t, [])
    if len(consumers) != 1 or view.is_output(t):
        return None
    return consumers[0]
