"""Find the activations of one subgraph: builtin ops, fused options and decomposed patterns.

Patterns (each LOGISTIC is reported once; decomposed hard-swish chains: ``_hardswish``):
    LOGISTIC(x) -> MUL(s, x) or MUL(x, s)      -> "silu", form "pattern: LOGISTIC·x"
    MUL(x, 1.702) -> LOGISTIC -> MUL(s, x)     -> "gelu_quick", form "pattern: LOGISTIC(1.702·x)·x"
    LOGISTIC(x) -> MUL(s, y), y is not x       -> "sigmoid", form "pattern: sigmoid gate" (SE)
    LOGISTIC(x) otherwise                      -> "sigmoid", form "op"
    EXP -> ADD(1) -> LOG [-> TANH -> MUL(x)]   -> "softplus" ["mish"] (``_softplus``)
"""

from __future__ import annotations

import numpy as np

from edgeact.catalogue import ACTIVATIONS, GELU_QUICK_ALPHA, TFLITE_FORMS
from edgeact.converters._forms import Form
from edgeact.converters.tflite._graph import SubgraphView, text
from edgeact.converters.tflite._hardswish import match_hard_activations, scalar_operand
from edgeact.converters.tflite._schema import ACTIVATION_FUNCTIONS, schema
from edgeact.converters.tflite._softplus import match_softplus_chains
from edgeact.forms import Param

__all__ = ["FUSED_ACTIVATIONS", "find_activations", "find_near_misses"]


# TFLite activation ops outside the catalogue: reported under these names, without a replacement
_UNCATALOGUED = {"RELU_0_TO_1": "relu_0_to_1"}
# ActivationFunctionType name -> catalogue name (others are reported as their lower-case name)
FUSED_ACTIVATIONS = {
    form.fused: name for name, a in ACTIVATIONS.items() for form in a.tflite if form.fused
}


def find_activations(view: SubgraphView) -> list[dict]:
    """Every activation of the subgraph, ordered by its first operator index."""
    found, claimed = [], set()
    for m in match_hard_activations(view):
        found.append(
            _finding(view, m.name, (m.form, m.pattern), m.operators, m.x, m.y, m.params, m.x)
        )
        claimed.update(m.operators)
    for m in match_softplus_chains(view):
        found.append(_finding(view, m.name, (m.form, m.pattern), m.operators, m.x, m.y, {}, m.x))
        claimed.update(m.operators)
    for o, op in enumerate(view.ops):
        if o in claimed:  # its RELU6 (op or fused) or TANH belongs to a matched chain
            continue
        if op == "LOGISTIC":
            found.append(_logistic(view, o))
        elif op in TFLITE_FORMS or op in _UNCATALOGUED:
            found.append(_builtin(view, o, op))
        fused = getattr(view.operator(o).builtinOptions, "fusedActivationFunction", None)
        if fused:  # NONE is 0
            kind = ACTIVATION_FUNCTIONS.get(int(fused), f"ACTIVATION_{int(fused)}")
            name = FUSED_ACTIVATIONS.get(kind, kind.lower())
            out = view.outputs(o)[0] if view.outputs(o) else None
            found.append(
                _finding(
                    view,
                    name,
                    (Form.FUSED, f"fused into {op}"),
                    [o],
                    None,
                    out,
                    {"fused": kind},
                    out,
                )
            )
    return sorted(found, key=lambda f: f["operators"][0])


def _builtin(view: SubgraphView, o: int, op: str) -> dict:
    """A single builtin op: the catalogue form whose constant options it has, with the rest."""
    given = view.operator(o).builtinOptions
    name, params = _UNCATALOGUED.get(op), {}
    for candidate, form in TFLITE_FORMS.get(op, ()):
        options = given
        if form.options and type(given).__name__ != form.options + "T":
            # absent, or a table of another op's type: LiteRT reads neither (its
            # builtin_options_as_<Type>() is null), so the schema's defaults hold
            options = getattr(schema, form.options + "T")()
        values = {f: _option(options, f) for f in form.values}
        constants = {f: v for f, v in form.values.items() if not isinstance(v, Param)}
        if all(values[f] == v for f, v in constants.items()):
            name, params = candidate, values
            break
    if op == "PRELU":
        ins = view.inputs(o)
        if len(ins) > 1 and ins[1] >= 0:
            alpha = ins[1]
            params["alpha_shape"] = view.shape(alpha)
            params["alpha_size"] = int(np.prod(view.shape(alpha), dtype=np.int64))
            params["alpha_constant"] = view.is_constant(alpha)
    x, y = _first(view.inputs(o)), _first(view.outputs(o))
    return _finding(view, name, _OP, [o], x, y, params, x)


def _option(options, field: str):
    """An option's value as the report shows it (float32 fields at their 7 significant digits)."""
    value = getattr(options, field)
    return float(f"{value:.7g}") if isinstance(value, float) else value


def _logistic(view: SubgraphView, o: int) -> dict:
    x, s = _first(view.inputs(o)), _first(view.outputs(o))
    gate = None
    for c in view.consumers.get(s, []) if s is not None else []:
        if view.ops[c] != "MUL":
            continue
        ins = view.inputs(c)
        others = [t for t in ins if t != s]
        if len(ins) == 2 and others == [x]:
            return _finding(
                view,
                "silu",
                (Form.SIGMOID_MUL, "pattern: LOGISTIC·x"),
                [o, c],
                x,
                _first(view.outputs(c)),
                {},
                x,
            )
        quick = _quick_gelu(view, x, others)
        if quick is not None:
            ops = [quick, o, c]
            y = _first(view.outputs(c))
            return _finding(view, "gelu_quick", _FORM_QUICK, ops, others[0], y, {}, others[0])
        if len(others) == 1 and gate is None:
            gate = (c, others[0])
    if gate is not None:
        c, other = gate
        params = {"gated_tensor": text(view.tensor(other).name)}
        return _finding(
            view, "sigmoid", (Form.SIGMOID_GATE, "pattern: sigmoid gate"), [o, c], x, s, params, x
        )
    return _finding(view, "sigmoid", _OP, [o], x, s, {}, x)


def find_near_misses(view: SubgraphView) -> list[dict]:
    """Patterns that almost are an activation: MUL(t, a) -> LOGISTIC -> MUL(t, ·) with a scale a
    that is neither GELU-quick's 1.702 nor SiLU's 1 (reported as a sigmoid gate as well)."""
    misses = []
    for o, op in enumerate(view.ops):
        x, s = _first(view.inputs(o)), _first(view.outputs(o))
        if op != "LOGISTIC" or x is None or s is None or x not in view.producer:
            continue
        m = view.producer[x]
        scale = _scalar_and_operand(view, m)
        if scale is None or any(np.isclose(scale[0], (GELU_QUICK_ALPHA, 1.0), rtol=1e-3)):
            continue
        a, t = scale
        for c in view.consumers.get(s, []):
            if view.ops[c] == "MUL" and sorted(view.inputs(c)) == sorted([s, t]):
                misses.append(
                    {
                        "looks_like": "silu",  # the ONNX matcher's wording for the same shape
                        "form": Form.SCALED_SIGMOID_MUL,
                        "pattern": "pattern: LOGISTIC(a·x)·x",
                        "reason": f"a = {a:.6g}; silu needs a = 1, gelu_quick a = 1.702",
                        "operators": [m, o, c],
                    }
                )
    return misses


def _scalar_and_operand(view: SubgraphView, m: int) -> tuple[float, int] | None:
    """(a, t) when operator ``m`` is MUL(t, a) with a scalar constant a and no fused activation."""
    if not _plain_mul(view, m):
        return None
    ins = view.inputs(m)
    if len(ins) != 2:
        return None
    for k in (0, 1):
        c = view.constant(ins[k])
        if c is not None and c.size == 1 and view.constant(ins[1 - k]) is None:
            return float(c.reshape(-1)[0]), ins[1 - k]
    return None


_FORM_QUICK = (Form.SCALED_SIGMOID_MUL, "pattern: LOGISTIC(1.702·x)·x")
_OP = (Form.OP, "op")


def _quick_gelu(view: SubgraphView, x: int | None, others: list[int]) -> int | None:
    """The MUL(t, 1.702) producing the LOGISTIC's input ``x`` when the gated tensor is that t.

    TF 2.21's converter writes ``t * tf.sigmoid(1.702 * t)`` as MUL(t, 1.702) -> LOGISTIC ->
    MUL(t, s); without this rule it looked like a sigmoid gate over t.
    """
    if x is None or len(others) != 1 or x not in view.producer:
        return None
    m = view.producer[x]
    if not _plain_mul(view, m):
        return None
    return m if scalar_operand(view, m, GELU_QUICK_ALPHA, others[0]) is not None else None


def _plain_mul(view: SubgraphView, m: int) -> bool:
    """Operator ``m`` is a MUL without a fused activation."""
    options = view.operator(m).builtinOptions
    return view.ops[m] == "MUL" and not getattr(options, "fusedActivationFunction", 0)


def _finding(view, name, form_and_pattern, operators, x, y, params, dtype_tensor) -> dict:
    form, pattern = form_and_pattern
    return {
        "activation": name,
        "form": form,
        "pattern": pattern,
        "subgraph": view.index,
        "operators": list(operators),
        "ops": [view.ops[o] for o in operators],
        "dtype": view.dtype(dtype_tensor) if dtype_tensor is not None else None,
        "input": _tensor(view, x),
        "output": _tensor(view, y),
        "params": params,
    }


def _tensor(view: SubgraphView, t: int | None) -> dict | None:
    if t is None or t < 0:
        return None
    return {"index": t, "name": text(view.tensor(t).name), "quantization": view.quant(t)}


def _first(indices: list[int]) -> int | None:
    return indices[0] if indices else None
