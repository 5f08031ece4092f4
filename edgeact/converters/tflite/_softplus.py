"""Match softplus and Mish where the TFLite converter decomposes them (TFLite has neither op).

TF 2.21 writes ``tf.math.softplus(x)`` as EXP -> ADD(1) -> LOG, float and int8 alike, and so
keras' "mish" activation and ``x * tanh(softplus(x))`` become

    EXP(x) -> ADD(·, 1) -> LOG -> TANH -> MUL(x, ·) | MUL(·, x)   -> mish, form "mish_chain"
    EXP(x) -> ADD(·, 1) -> LOG  otherwise                          -> softplus

The ADD's constant is compared after dequantization (relative tolerance 1e-3); the ops inside
the chain must have no fused activation and each intermediate one reader.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgeact.converters._forms import Form
from edgeact.converters.tflite._graph import SubgraphView
from edgeact.converters.tflite._hardswish import only_consumer, scalar_operand

__all__ = ["SoftplusMatch", "match_softplus_chains"]


@dataclass(frozen=True)
class SoftplusMatch:
    name: str  # "mish" or "softplus"
    form: Form
    pattern: str
    operators: tuple[int, ...]
    x: int
    y: int


def match_softplus_chains(view: SubgraphView) -> list[SoftplusMatch]:
    """Every EXP -> ADD(1) -> LOG of the subgraph, as the Mish it belongs to or a softplus."""
    found = []
    for e, op in enumerate(view.ops):
        if op != "EXP" or not view.inputs(e) or not view.outputs(e):
            continue
        x = view.inputs(e)[0]
        add = _next(view, view.outputs(e)[0], "ADD")
        if add is None or scalar_operand(view, add, 1.0, view.outputs(e)[0]) is None:
            continue
        log = _next(view, view.outputs(add)[0], "LOG")
        if log is None:
            continue
        softplus = (e, add, log)
        tanh = _next(view, view.outputs(log)[0], "TANH")
        mul = _next(view, view.outputs(tanh)[0], "MUL") if tanh is not None else None
        if mul is not None and sorted(view.inputs(mul)) == sorted([x, view.outputs(tanh)[0]]):
            ops = (*softplus, tanh, mul)
            found.append(SoftplusMatch("mish", Form.MISH_CHAIN, _MISH, ops, x, _out(view, mul)))
        else:
            y, ops = _out(view, log), softplus
            found.append(SoftplusMatch("softplus", Form.SOFTPLUS_LOG_EXP, _SOFTPLUS, ops, x, y))
    return found


_SOFTPLUS = "pattern: LOG(EXP(x) + 1)"
_MISH = "pattern: x·TANH(LOG(EXP(x) + 1))"


def _next(view: SubgraphView, t: int, op: str) -> int | None:
    """The one reader of ``t`` when it is a plain ``op`` (no fused activation) and ``t`` is no
    subgraph output."""
    o = only_consumer(view, t)
    if o is None:
        return None
    fused = getattr(view.operator(o).builtinOptions, "fusedActivationFunction", 0)
    return o if view.ops[o] == op and not fused and view.outputs(o) else None


def _out(view: SubgraphView, o: int) -> int:
    return view.outputs(o)[0]
