"""Which activations of a TFLite model a set of swap rules rewrites, and into which ops.

A rule ``FROM=TO`` (catalogue names) applies to every finding of ``_detect`` whose activation is
FROM and whose form can be rewritten. Each such place is a ``Site``: the operators to replace,
the tensor they read (x) and the tensor they write (y). Targets are what TFLite can run:

    hardswish -> HARD_SWISH            gelu_tanh / gelu -> GELU (approximate on / off)
    relu6 -> RELU6                     relu -> RELU         hardtanh -> RELU_N1_TO_1
    tanh -> TANH                       sigmoid -> LOGISTIC  elu -> ELU
    leaky_relu -> LEAKY_RELU (the source's scalar slope, else the catalogue's default)
    hardsigmoid -> ADD(x, 3; fused RELU6) -> MUL(1/6)   (TFLite has no HARD_SIGMOID op)

RELU, RELU6, RELU_N1_TO_1 and TANH targets of activations fused into CONV_2D/FC/ADD/... stay
fused (the option changes); other targets of fused activations are not rewritten (unfusing an
int8 op would need the pre-activation's quantization range, which the model does not record).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgeact.catalogue import ACTIVATIONS
from edgeact.converters._errors import ModelError
from edgeact.converters._forms import Form
from edgeact.converters._swaps import canonical_name
from edgeact.converters.tflite._detect import find_activations
from edgeact.converters.tflite._graph import SubgraphView, text
from edgeact.converters.tflite._schema import ACTIVATION_FUNCTIONS

__all__ = ["FUSABLE", "TARGET_FORMS", "TARGET_OPS", "Site", "check_targets", "find_sites"]

# catalogue target -> its TFLite form: the op that computes it, its options, versions, fusion
TARGET_FORMS = {n: a.tflite_form() for n, a in ACTIVATIONS.items() if a.tflite_form() is not None}
# catalogue target -> the ops that compute it (one op, or hardsigmoid's two: a decomposed pattern)
TARGET_OPS: dict[str, tuple[str, ...]] = {
    **{name: (form.op,) for name, form in TARGET_FORMS.items()},
    "hardsigmoid": ("ADD", "MUL"),
}
# catalogue target -> ActivationFunctionType name, for targets a fused activation can become
FUSABLE = {name: form.fused for name, form in TARGET_FORMS.items() if form.fused}

# activation types whose op versions and quantized arithmetic edgeact writes
_DTYPES = ("FLOAT32", "FLOAT16", "INT8", "UINT8")
# finding form -> how many trailing operators belong to the consumer, not to the activation
_GATE_FORMS = {Form.SIGMOID_GATE: 1, Form.HARDSIGMOID_GATE: 1}
_CHAIN_FORMS = (
    Form.OP, Form.SIGMOID_MUL, Form.SCALED_SIGMOID_MUL, Form.HARD_CHAIN, Form.MISH_CHAIN,
    Form.SOFTPLUS_LOG_EXP,
)  # fmt: skip


@dataclass
class Site:
    """One place a rule rewrites: ``operators`` (or the fused option of ``operators[0]``)."""

    rule: str
    source: str
    target: str
    subgraph: int
    form: Form
    operators: tuple[int, ...]
    x: int | None
    y: int
    fused: bool
    dtype: str
    quantized: bool
    nodes: list[str]
    ops_before: list[str]
    ops_after: list[str]
    params: dict = field(default_factory=dict)  # e.g. {"alpha": 0.1} for LEAKY_RELU


def check_targets(rules: dict[str, str], explicit: dict[str, str]) -> tuple[dict, list[str]]:
    """The rules TFLite can carry out, and notes on the preset rules it cannot.

    An explicit rule whose target has no TFLite expression is a ValueError naming it; a preset
    rule's is dropped with a note (the mobile preset is written for every runtime). A preset
    rule whose target takes several TFLite ops (hardsigmoid: ADD + MUL) is dropped too: it made
    LiteRT slower than the one op it replaces (LOGISTIC, +20 % on the SE-block fixture).
    """
    usable, notes = {}, []
    for source, target in rules.items():
        explicit_rule = explicit.get(source) == target
        if target in TARGET_OPS and (len(TARGET_OPS[target]) == 1 or explicit_rule):
            usable[source] = target
            continue
        if target in TARGET_OPS:
            ops = " + ".join(TARGET_OPS[target])
            notes.append(
                f"swap {source}={target}: TFLite has no single op for it ({ops}), which is "
                f"slower than the op it replaces; preset rule not applied (ask with --swap)"
            )
            continue
        message = (
            f"swap {source}={target}: TFLite has no op for {target} "
            f"(targets TFLite can run: {', '.join(sorted(TARGET_OPS))})"
        )
        if explicit_rule:
            raise ValueError(message)
        notes.append(message + "; preset rule not applied")
    return usable, notes


def find_sites(
    views: list[SubgraphView], codes, rules: dict[str, str], explicit: dict[str, str], name: str
) -> tuple[list[Site], list[str], dict[str, list[str]]]:
    """(sites in model order, notes on findings a rule names but cannot rewrite, activations seen).

    ModelError if an explicit rule's source is computed by a custom op (its semantics and
    options are unknown, so it cannot be replaced safely).
    """
    sites, notes, seen = [], [], {}
    for view in views:
        _custom_sources(view, codes, rules, explicit, name, notes)
        for finding in find_activations(view):
            seen.setdefault(finding["activation"], []).append(finding["pattern"])
            source = finding["activation"]
            if source not in rules:
                continue
            site, reason = _site(view, finding, source, rules[source])
            if site is not None:
                sites.append(site)
            else:
                where = f"subgraph {view.index} operators {finding['operators']}"
                notes.append(f"swap {source}={rules[source]} not applied at {where}: {reason}")
    return _without_overlaps(sites, notes), notes, seen


def _without_overlaps(sites: list[Site], notes: list[str]) -> list[Site]:
    """Drop fused-option sites on an operator that a pattern site removes (e.g. a SiLU's MUL)."""
    removed = {(s.subgraph, o) for s in sites if not s.fused for o in s.operators}
    kept = []
    for site in sites:
        if site.fused and (site.subgraph, site.operators[0]) in removed:
            notes.append(f"swap {site.rule} not applied to {site.nodes[0]!r}: the op is replaced")
            continue
        kept.append(site)
    return kept


def _custom_sources(view, codes, rules, explicit, name, notes) -> None:
    for o in range(len(view.ops)):
        custom = codes[view.operator(o).opcodeIndex][1]
        if custom is None:
            continue
        try:
            source = canonical_name(custom.split(".")[-1])
        except ValueError:
            continue
        if source not in rules:
            continue
        message = (
            f"swap {source}={rules[source]} would replace custom op {custom!r} (subgraph "
            f"{view.index} operator {o}), whose semantics edgeact does not know"
        )
        if explicit.get(source) == rules[source]:
            raise ModelError(f"{name}: {message}")
        notes.append(message + "; left as it is")


def _site(view: SubgraphView, finding: dict, source: str, target: str):
    """A Site for the finding, or (None, the reason it cannot be rewritten)."""
    form = finding["form"]
    rule = f"{source}={target}"
    ops = list(finding["operators"])
    y = finding["output"]["index"] if finding["output"] else None
    x = finding["input"]["index"] if finding["input"] else None
    dtype = finding["dtype"] or "?"
    quantized = any(t and t["quantization"] for t in (finding["input"], finding["output"]))
    params: dict = {}
    if dtype not in _DTYPES:
        return None, f"{dtype} activations are not rewritten (only {', '.join(_DTYPES)})"
    if form is Form.FUSED:
        if target not in FUSABLE:
            return None, f"{target} cannot be fused into {view.ops[ops[0]]}"
        return _make(view, rule, source, target, form, ops, x, y, True, dtype, quantized), None
    if form in _GATE_FORMS:
        ops = ops[: -_GATE_FORMS[form]]
    elif form not in _CHAIN_FORMS:
        return None, f"the form {finding['pattern']!r} is not rewritten"
    if "folded" in finding["params"]:
        return None, "the +3 is folded into the bias of the producing op"
    if x is None or y is None:
        return None, "the activation has no input or output tensor"
    if source == "prelu" and target == "leaky_relu":
        alpha = finding["params"]
        if not alpha.get("alpha_constant") or alpha.get("alpha_size") != 1:
            return None, (
                f"PReLU slope has {alpha.get('alpha_size', '?')} values "
                f"(shape {alpha.get('alpha_shape')}); leaky_relu takes one scalar slope"
            )
        params["alpha"] = float(view.constant(view.inputs(ops[0])[1])[0])
    elif source == "leaky_relu" and "alpha" in finding["params"]:
        params["alpha"] = finding["params"]["alpha"]
    if target == "leaky_relu" and "alpha" not in params:
        params["alpha"] = float(ACTIVATIONS["leaky_relu"].params["negative_slope"])
    leak = _leaking_intermediate(view, ops, y)
    if leak is not None:
        return None, f"intermediate tensor {leak!r} is used outside the pattern"
    extra = _extra_fused(view, ops)
    if extra is not None:
        return None, extra
    site = _make(view, rule, source, target, form, ops, x, y, False, dtype, quantized)
    site.params = params
    return site, None


def _make(view, rule, source, target, form, ops, x, y, fused, dtype, quantized) -> Site:
    before = [view.ops[o] for o in ops]
    if fused:
        after = [f"{view.ops[ops[0]]}+{FUSABLE[target]}"]
        before = [f"{before[0]}+{_fused_name(view, ops[0])}"]
    else:
        after = list(TARGET_OPS[target])
    nodes = view.output_names(ops)
    return Site(
        rule, source, target, view.index, form, tuple(ops), x, y, fused, dtype, quantized,
        nodes, before, after,
    )  # fmt: skip


def _fused_name(view: SubgraphView, o: int) -> str:
    return ACTIVATION_FUNCTIONS[int(view.operator(o).builtinOptions.fusedActivationFunction)]


def _extra_fused(view: SubgraphView, ops: list[int]) -> str | None:
    """Why the chain's ops compute more than the activation: a fused activation on one of them
    (other than the RELU6 of a hard-swish chain's ADD(x, 3), which is part of the pattern)."""
    for o in ops:
        fused = int(getattr(view.operator(o).builtinOptions, "fusedActivationFunction", 0) or 0)
        if fused and not (view.ops[o] == "ADD" and ACTIVATION_FUNCTIONS[fused] == "RELU6"):
            kind = ACTIVATION_FUNCTIONS[fused]
            return f"{view.ops[o]} (operator {o}) also applies a fused {kind}"
    return None


def _leaking_intermediate(view: SubgraphView, ops: list[int], y: int) -> str | None:
    """The name of a tensor the chain writes (other than y) that something else reads."""
    outputs = (
        {int(t) for t in view.subgraph.outputs if t is not None}
        if view.subgraph.outputs is not None
        else set()
    )
    inside = set(ops)
    for o in ops:
        for t in view.outputs(o):
            if t == y:
                continue
            if t in outputs or any(c not in inside for c in view.consumers.get(t, [])):
                return text(view.tensor(t).name)
    return None
