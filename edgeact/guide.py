"""Which activation to use where: a selection guide computed from the catalogue.

A scenario is data: the activations to use and to avoid, and the properties that decide between
them. Each property is a predicate over a catalogue record plus the sentence that explains it, and
every number in a sentence is a catalogue field or is measured here from the float64 references and
derivatives (saturation intervals, dead regions, Gaussian moments, exact-zero fractions...).

The output-layer properties probe the references: ten equal logits (or 32 000 for the int8
check), or, for a reference that takes hidden states (an ``in_features`` parameter, as
adaptive log-softmax), a seeded N(0, 1) hidden state. A non-element-wise entry whose outputs range
over (-inf, 0] gives log-probabilities: "sums to one" then means exp of its outputs does.

The mobile scenario avoids exactly what the ``mobile`` swap preset (``edgeact.presets``) replaces,
and its advice renders that preset.

``advise`` returns JSON-ready dicts; infinities are encoded as the strings ``"inf"`` and
``"-inf"``. ``format_advice`` renders them for a terminal.
"""

import functools
import math
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from edgeact.catalogue import ACTIVATIONS, Activation, get
from edgeact.presets import PRESETS as _PRESETS

__all__ = [
    "PROPERTIES",
    "SATURATION_THRESHOLD",
    "SCENARIOS",
    "Property",
    "Scenario",
    "advise",
    "dead_for_negative",
    "format_advice",
    "saturation",
]

SATURATION_THRESHOLD = 0.01  # |f'(x)| below this counts as a vanishing gradient
_GRID = np.linspace(-20.0, 20.0, 400_001)  # step 1e-4; boundaries are then refined by bisection
_NEGATIVE = _GRID[_GRID < 0]
_VOCABULARY = 32_000  # a typical LLM vocabulary size, for the int8 resolution check
_INT8_STEP = 1.0 / 256.0  # smallest step of an int8 output over [0, 1]
_INT8_CODES = 256
_PROBE_LOGITS = 10
_PROBE_SEED = 0
_WIDTH = 100


# --- quantities computed from the references --------------------------------------------------


def _resolve(act: Activation | str) -> Activation:
    return get(act) if isinstance(act, str) else act


def _boundary(inside: Callable[[float], bool], a: float, b: float) -> float:
    """The point between a (inside) and b (outside) where ``inside`` flips, by bisection."""
    for _ in range(60):
        mid = 0.5 * (a + b)
        if inside(mid):
            a = mid
        else:
            b = mid
    return 0.5 * (a + b)


def _intervals(x: np.ndarray, mask: np.ndarray, inside: Callable[[float], bool], lo_edge, hi_edge):
    """Maximal runs of ``mask`` on the grid ``x`` as (lo, hi), refined and rounded to 2 decimals.

    A run touching the first (last) grid point gets ``lo_edge`` (``hi_edge``) as its end.
    """
    change = np.flatnonzero(np.diff(mask.astype(np.int8)))
    starts = [0] if mask[0] else []
    starts += [i + 1 for i in change if mask[i + 1]]
    ends = [i for i in change if mask[i]] + ([len(x) - 1] if mask[-1] else [])
    out = []
    for i, j in zip(starts, ends, strict=True):
        lo = lo_edge if i == 0 else _boundary(inside, x[i], x[i - 1])
        hi = hi_edge if j == len(x) - 1 else _boundary(inside, x[j], x[j + 1])
        out.append((round(lo, 2) + 0.0, round(hi, 2) + 0.0))  # + 0.0 turns -0.0 into 0.0
    return out


def _derivative(act: Activation) -> Callable[[np.ndarray], np.ndarray]:
    if act.derivative is None:
        raise ValueError(f"activation {act.name!r} is not element-wise: it has no derivative")
    return functools.partial(act.derivative, **act.params)


@functools.cache
def _saturation(act: Activation) -> tuple[tuple[float, float], ...]:
    df = _derivative(act)

    def flat(x):
        return bool(abs(df(x)) < SATURATION_THRESHOLD)

    mask = np.abs(df(_GRID)) < SATURATION_THRESHOLD
    return tuple(_intervals(_GRID, mask, flat, -math.inf, math.inf))


def saturation(act: Activation | str) -> list[tuple[float, float]]:
    """Intervals of x in [-20, 20] where |f'(x)| < 0.01, the vanishing-gradient risk.

    Ends are rounded to 2 decimals; an interval reaching ±20 is extended to ±inf. Measured on a
    1e-4 grid from the derivative, each boundary refined by bisection.
    """
    return list(_saturation(_resolve(act)))


@functools.cache
def _dead(act: Activation) -> tuple[float, float] | None:
    df = _derivative(act)

    def dead(x):
        return bool(df(x) == 0)

    runs = _intervals(_NEGATIVE, df(_NEGATIVE) == 0, dead, -math.inf, 0.0)
    return runs[0] if runs else None


def dead_for_negative(act: Activation | str) -> tuple[float, float] | None:
    """Where f'(x) == 0 exactly for x < 0 (units there stop learning), or None if nowhere.

    The leftmost such interval of [-20, 0), rounded to 2 decimals, -inf if it reaches -20.
    """
    return _dead(_resolve(act))


@functools.cache
def _gaussian_stats(act: Activation) -> tuple[float, float, float]:
    """(mean, variance, P(f = 0)) of f(z) for z ~ N(0, 1), by the trapezoid rule on [-12, 12]."""
    z = np.linspace(-12.0, 12.0, 240_001)
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    y = act.reference(z, **act.params)
    mean = float(np.trapezoid(y * pdf, z))
    var = float(np.trapezoid((y - mean) ** 2 * pdf, z))
    zeros = float(np.trapezoid(np.where(y == 0, pdf, 0.0), z))
    return mean, var, zeros


@functools.cache
def _minimum(act: Activation) -> float:
    """min f(x) over the [-20, 20] grid."""
    return float(np.min(act.reference(_GRID, **act.params)))


def _takes_hidden_states(act: Activation) -> bool:
    return "in_features" in act.params


def _log_domain(act: Activation) -> bool:
    """Outputs are log-probabilities: not element-wise, ranging over (-inf, 0]."""
    return not act.elementwise and tuple(act.output_range) == (-math.inf, 0.0)


def _probe(act: Activation, n_logits: int) -> np.ndarray:
    """n equal logits, or a seeded N(0, 1) hidden state for a reference that takes those."""
    if _takes_hidden_states(act):
        rng = np.random.default_rng(_PROBE_SEED)
        return rng.standard_normal(int(act.params["in_features"]))
    return np.zeros(n_logits)


def _probe_text(act: Activation, n_logits: int = _PROBE_LOGITS) -> str:
    return "a N(0, 1) hidden state" if _takes_hidden_states(act) else f"{n_logits} equal logits"


@functools.cache
def _probe_output(act: Activation, n_logits: int = _PROBE_LOGITS) -> np.ndarray:
    y = act.reference(_probe(act, n_logits), **act.params)
    y.flags.writeable = False
    return y


def _probabilities(act: Activation, n_logits: int = _PROBE_LOGITS) -> np.ndarray:
    """The probe's outputs as probabilities: exp of them for log-probability outputs."""
    y = _probe_output(act, n_logits)
    return np.exp(y) if _log_domain(act) else y


def _probe_sum(act: Activation) -> float:
    return float(np.sum(_probabilities(act)))


# --- properties: a predicate and the sentences that explain it --------------------------------


def _num(v: float) -> str:
    return "inf" if v == math.inf else "-inf" if v == -math.inf else f"{v:g}"


def _span(lo: float, hi: float) -> str:
    return f"{_num(lo)} .. {_num(hi)}"


def _spans(intervals) -> str:
    return ", ".join(_span(lo, hi) for lo, hi in intervals) if intervals else "nowhere"


@dataclass(frozen=True)
class Property:
    """A reason to pick or avoid an activation.

    ``holds`` returns None where the property does not apply (e.g. gradients of softmax); then
    neither sentence is used. ``pro`` may return None when holding is unremarkable.
    """

    key: str
    holds: Callable[[Activation], bool | None]
    pro: Callable[[Activation], str | None]
    con: Callable[[Activation], str]


def _elementwise_only(pred):
    return lambda a: pred(a) if a.elementwise else None


def _positive_side(a: Activation):
    return [(lo, hi) for lo, hi in _saturation(a) if hi > 0]


def _swap_text(a: Activation) -> str:
    err = a.replacement_error
    how = f"max |error| {err:g}" if err is not None else "a different function: retrain or check"
    return f"swap to {a.edge_replacement} for mobile/int8 ({how})"


def _missing_ops(a: Activation) -> str:
    missing = [rt for rt, op in (("ONNX", a.onnx_op), ("TFLite", a.tflite_op)) if op is None]
    return f"no single {' or '.join(missing)} op: exported as several ops"


def _moments_text(a: Activation) -> str:
    mean, var, _ = _gaussian_stats(a)
    return f"maps N(0, 1) inputs to mean {mean:+.3f}, variance {var:.3f}"


def _sums_text(a: Activation) -> str:
    if _log_domain(a):
        n = _probabilities(a).size
        return f"outputs are log-probabilities: their exp sums to 1 over the {n} classes"
    return "outputs are positive and sum to 1 over the classes"


def _dependent_text(a: Activation) -> str:
    if _takes_hidden_states(a):
        return (
            f"one distribution over {_probabilities(a).size} classes (probabilities summing to "
            f"{_probe_sum(a):g}): not independent yes/no outputs"
        )
    one = float(a.reference(np.array([-3.0]), **a.params)[0])
    return f"a single logit always gives {one:g}: needs 2 or more classes"


def _vocabulary_probabilities(a: Activation) -> np.ndarray:
    """Probabilities of a vocabulary-sized probe: ``_VOCABULARY`` equal logits or a hidden state."""
    return _probabilities(a, _VOCABULARY)


def _smallest_probability(a: Activation) -> float:
    return float(np.min(_vocabulary_probabilities(a)))


def _int8_log_grid(a: Activation) -> tuple[float, float]:
    """(lowest log-probability of the probe, the step of int8 codes spread over it .. 0)."""
    lo = float(np.min(_probe_output(a, _VOCABULARY)))
    return lo, -lo / (_INT8_CODES - 1)


def _int8_error(a: Activation) -> float:
    """Worst relative error int8 outputs leave on the probe's probabilities (round to nearest).

    Probabilities on the int8 grid of step 1/256 over [0, 1]: step/2 over the smallest one (> 0.5
    means it can round to 0). Log-probabilities on 256 codes over [lowest, 0]: e^(step/2) - 1.
    """
    if _log_domain(a):
        return math.expm1(0.5 * _int8_log_grid(a)[1])
    return 0.5 * _INT8_STEP / _smallest_probability(a)


def _int8_log_text(a: Activation) -> str:
    lo, step = _int8_log_grid(a)
    n = _vocabulary_probabilities(a).size
    return (
        f"int8 log-probabilities over {lo:.1f} .. 0 (step {step:.3f}) keep each of the {n} "
        f"probabilities, down to {math.exp(lo):.1e}, within {_int8_error(a):.1%}"
    )


_PROPERTY_LIST = (
    Property(
        "alive_positive",
        _elementwise_only(lambda a: not _positive_side(a)),
        lambda a: f"|f'(x)| >= {SATURATION_THRESHOLD} for every x > 0: no vanishing gradient",
        lambda a: (
            f"|f'(x)| < {SATURATION_THRESHOLD} on {_spans(_positive_side(a))}: "
            "vanishing gradients there"
        ),
    ),
    Property(
        "no_dead_units",
        _elementwise_only(lambda a: _dead(a) is None),
        lambda a: "f'(x) != 0 for every x < 0: the gradient never dies",
        lambda a: f"f'(x) = 0 on {_span(*_dead(a))}: inputs there get no gradient (dying units)",
    ),
    Property(
        "smooth",
        lambda a: a.smoothness in ("C1", "C∞"),
        lambda a: f"smooth ({a.smoothness}): the gradient changes continuously",
        lambda a: (
            f"{a.smoothness}: the output jumps"
            if a.smoothness == "discontinuous"
            else f"{a.smoothness}: the derivative jumps at kinks"
        ),
    ),
    Property(
        "unbounded_above",
        lambda a: a.output_range[1] == math.inf,
        lambda a: "unbounded above: large (outlier) activations pass through",
        lambda a: f"outputs capped at {_num(a.output_range[1])}: large activations are clipped",
    ),
    Property(
        "zero_centred",
        lambda a: a.zero_centred,
        lambda a: "f(0) = 0 and outputs of both signs",
        lambda a: f"outputs in {_span(*a.output_range)}: not zero-centred",
    ),
    Property(
        "edge_native",
        lambda a: a.edge_replacement is None,
        lambda a: "edge-friendly as it is: no mobile/int8 replacement needed",
        _swap_text,
    ),
    Property(
        "single_op",
        lambda a: a.onnx_op is not None and a.tflite_op is not None,
        lambda a: f"one op in ONNX ({a.onnx_op}) and TFLite ({a.tflite_op})",
        _missing_ops,
    ),
    Property(
        "probability",
        lambda a: a.output_range[0] >= 0.0 and a.output_range[1] <= 1.0,
        lambda a: f"outputs in {_span(*a.output_range)}: readable as a probability",
        lambda a: f"outputs in {_span(*a.output_range)}: not a probability",
    ),
    Property(
        "sums_to_one",
        lambda a: abs(_probe_sum(a) - 1.0) < 1e-12,
        _sums_text,
        lambda a: (
            f"{_probe_text(a)} give{'s' if _takes_hidden_states(a) else ''} outputs"
            f"{' whose exp sums' if _log_domain(a) else ' summing'} to {_probe_sum(a):g}, not 1"
        ),
    ),
    Property(
        "independent_outputs",
        lambda a: a.elementwise,
        lambda a: "element-wise: one independent probability per output (multi-label too)",
        _dependent_text,
    ),
    Property(
        "strictly_positive",
        _elementwise_only(lambda a: _minimum(a) > 0),
        lambda a: f"f(x) > 0 for every x (f(-20) = {float(a.reference(-20.0, **a.params)):.1e})",
        lambda a: f"reaches {_minimum(a):g} on [-20, 20]: a zero or negative value is invalid",
    ),
    Property(
        "self_normalising",
        _elementwise_only(
            lambda a: abs(_gaussian_stats(a)[0]) < 0.01 and abs(_gaussian_stats(a)[1] - 1) < 0.01
        ),
        lambda a: _moments_text(a) + ": a fixed point, deep stacks stay normalised",
        lambda a: _moments_text(a) + ": statistics drift from layer to layer",
    ),
    Property(
        "sparse",
        _elementwise_only(lambda a: _gaussian_stats(a)[2] >= 0.25),
        lambda a: f"maps {_gaussian_stats(a)[2]:.0%} of N(0, 1) inputs to exactly 0",
        lambda a: f"maps only {_gaussian_stats(a)[2]:.1%} of N(0, 1) inputs to exactly 0",
    ),
    Property(
        "order_preserving",
        lambda a: a.monotonic,
        lambda a: "monotonic: the top output is the top logit, greedy decoding can skip it",
        lambda a: (
            "not monotonic in its inputs: the top output is not the top input, greedy decoding "
            "must compute the outputs"
        ),
    ),
    Property(
        "int8_resolution",
        lambda a: None if a.elementwise else _int8_error(a) <= 0.5,
        lambda a: _int8_log_text(a) if _log_domain(a) else None,
        lambda a: (
            _int8_log_text(a) + ": keep it in float"
            if _log_domain(a)
            else f"over {_vocabulary_probabilities(a).size} tokens "
            f"{'a uniform' if not _takes_hidden_states(a) else 'the smallest'} probability is "
            f"{_smallest_probability(a):.1e} < the int8 step {_INT8_STEP:.1e}: keep it in float"
        ),
    ),
)

PROPERTIES: Mapping[str, Property] = MappingProxyType({p.key: p for p in _PROPERTY_LIST})


# --- scenarios --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A use case: what to pick, what to avoid, and the properties that decide.

    ``preset`` names the swap preset (``edgeact.presets``) that carries the scenario out.
    """

    id: str
    title: str
    recommended: tuple[str, ...]
    avoid: tuple[str, ...]
    properties: tuple[str, ...]
    preset: str | None = None


_SCENARIO_LIST = (
    Scenario(
        "hidden-default",
        "Hidden layers of MLPs and CNNs (a safe default)",
        recommended=("relu", "gelu", "silu"),
        avoid=("sigmoid", "tanh"),
        properties=("alive_positive", "no_dead_units", "single_op"),
    ),
    Scenario(
        "transformer",
        "Transformer feed-forward blocks",
        recommended=("gelu", "gelu_tanh", "silu"),
        avoid=("relu6", "tanh"),
        properties=("smooth", "no_dead_units", "unbounded_above", "alive_positive"),
    ),
    Scenario(
        "mobile",
        "Mobile and int8 edge inference (TFLite, ONNX Runtime mobile)",
        recommended=("relu6", "hardswish", "hardsigmoid", "gelu_tanh"),
        avoid=_PRESETS["mobile"].replaces,
        properties=("edge_native", "single_op"),
        preset="mobile",
    ),
    Scenario(
        "multiclass-output",
        "Output layer: one class out of K (mutually exclusive)",
        recommended=("softmax",),
        avoid=("sigmoid", "tanh"),
        properties=("sums_to_one", "probability"),
    ),
    Scenario(
        "binary-output",
        "Output layer: binary or multi-label (independent yes/no)",
        recommended=("sigmoid",),
        avoid=("softmax", "hardsigmoid", "tanh"),
        properties=("independent_outputs", "probability", "no_dead_units"),
    ),
    Scenario(
        "large-vocabulary",
        "Output over a very large vocabulary (language models)",
        recommended=("adaptive_log_softmax", "softmax"),
        avoid=("sigmoid",),
        properties=("sums_to_one", "order_preserving", "int8_resolution"),
    ),
    Scenario(
        "positive-output",
        "Positive parameters: variances, rates, scales",
        recommended=("softplus",),
        avoid=("relu", "elu"),
        properties=("strictly_positive", "no_dead_units", "smooth"),
    ),
    Scenario(
        "self-normalising",
        "Self-normalising deep MLPs (no batch or layer norm)",
        recommended=("selu",),
        avoid=("relu", "elu", "tanh"),
        properties=("self_normalising", "zero_centred"),
    ),
    Scenario(
        "sparse",
        "Sparse activations: exact zeros for feature selection",
        recommended=("relu", "softshrink", "hardshrink"),
        avoid=("leaky_relu", "gelu", "silu", "softplus"),
        properties=("sparse", "zero_centred"),
    ),
)

SCENARIOS: Mapping[str, Scenario] = MappingProxyType({s.id: s for s in _SCENARIO_LIST})


# --- advice -----------------------------------------------------------------------------------


def _json_num(v: float) -> float | str:
    return "inf" if v == math.inf else "-inf" if v == -math.inf else v


def _json_span(span) -> list | None:
    return None if span is None else [_json_num(v) for v in span]


def _reasons(act: Activation, keys: tuple[str, ...], recommended: bool) -> list[str]:
    """Recommended: what holds, then failed properties as caveats. Avoided: what fails."""
    pros, cons = [], []
    for key in keys:
        prop = PROPERTIES[key]
        holds = prop.holds(act)
        if holds is None:
            continue
        if holds:
            text = prop.pro(act)
            if text is not None:
                pros.append(text)
        else:
            cons.append(prop.con(act))
    if recommended:
        return pros + [f"caveat: {c}" for c in cons]
    return cons


def _entry(name: str, keys: tuple[str, ...], recommended: bool) -> dict:
    act = get(name)
    return {
        "name": act.name,
        "formula": act.formula,
        "output_range": _json_span(act.output_range),
        "smoothness": act.smoothness,
        "monotonic": act.monotonic,
        "zero_centred": act.zero_centred,
        "saturates": [_json_span(s) for s in _saturation(act)] if act.elementwise else None,
        "dead_for_negative": _json_span(_dead(act)) if act.elementwise else None,
        "edge_replacement": act.edge_replacement,
        "approximations": [
            {"name": p.name, "max_abs_error": p.max_abs_error} for p in act.approximations
        ],
        "why": _reasons(act, keys, recommended),
    }


def _edge_table() -> list[dict]:
    rows = []
    for act in ACTIVATIONS.values():
        if act.edge_replacement is None:
            continue
        rows.append(
            {"from": act.name, "to": act.edge_replacement, "max_abs_error": act.replacement_error}
        )
    return rows


def _preset_table(name: str) -> dict:
    swaps = _PRESETS[name].swaps
    return {
        "name": name,
        "swaps": [
            {"from": f, "to": t, "max_abs_error": ACTIVATIONS[f].replacement_error}
            for f, t in swaps.items()
        ],
    }


def advise(scenario: str | None = None) -> list[dict]:
    """Advice for one scenario (all when None) as JSON-ready dicts.

    Each dict: id, title, properties, recommended and avoid (lists of activation dicts whose
    ``why`` holds the reasons), and for ``mobile`` its swap ``preset`` (name and swaps: from, to,
    max_abs_error or None) and the catalogue's whole ``edge_replacements`` table (same rows).
    Intervals are [lo, hi] lists; infinities are "inf"/"-inf"; ``saturates`` and
    ``dead_for_negative`` are None for activations that are not element-wise.
    """
    if scenario is not None and scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    chosen = SCENARIOS.values() if scenario is None else [SCENARIOS[scenario]]
    out = []
    for s in chosen:
        advice = {
            "id": s.id,
            "title": s.title,
            "properties": list(s.properties),
            "recommended": [_entry(n, s.properties, True) for n in s.recommended],
            "avoid": [_entry(n, s.properties, False) for n in s.avoid],
        }
        if s.preset is not None:
            advice["preset"] = _preset_table(s.preset)
            advice["edge_replacements"] = _edge_table()
        out.append(advice)
    return out


# --- text rendering ---------------------------------------------------------------------------


def _text_num(v) -> str:
    return v if isinstance(v, str) else f"{v:g}"


def _text_span(span) -> str:
    return f"{_text_num(span[0])} .. {_text_num(span[1])}"


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text, _WIDTH, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
    )


def _table(rows: list[list[str]], indent: str) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        (indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))).rstrip()
        for r in rows
    ]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _summary(advice: dict) -> list[str]:
    """One aligned row per activation: the verdict and the catalogue facts."""
    rows = [["", "name", "range", "smoothness", "monotonic", "zero-centred", "mobile/int8"]]
    for verdict, key in (("use", "recommended"), ("avoid", "avoid")):
        for e in advice[key]:
            rows.append(
                [
                    verdict,
                    e["name"],
                    _text_span(e["output_range"]),
                    e["smoothness"],
                    _yes(e["monotonic"]),
                    _yes(e["zero_centred"]),
                    e["edge_replacement"] or "keep",
                ]
            )
    return _table(rows, "  ")


def _details(e: dict, mark: str) -> list[str]:
    """Formula, measured gradient facts and the reasons for one activation."""
    lines = _wrap(f"{e['name']} = {e['formula']}", "  ")
    facts = []
    if e["saturates"] is not None:
        spans = ", ".join(_text_span(s) for s in e["saturates"]) or "nowhere"
        facts.append(f"|f'| < 0.01 on {spans}")
    if e["dead_for_negative"] is not None:
        facts.append(f"f' = 0 on {_text_span(e['dead_for_negative'])}")
    if facts:
        lines += _wrap("; ".join(facts), "    ")
    for why in e["why"]:
        lines += _wrap(f"{'!' if why.startswith('caveat: ') else mark} {why}", "    ")
    return lines


def format_advice(advice: list[dict]) -> str:
    """Plain-text rendering of ``advise()`` output: no colours, at most 100 columns.

    Per scenario: a summary table, then each activation's formula, measured gradient facts and
    reasons (+ for, ! caveat, - against), then the swap preset and the edge replacement table if
    present.
    """
    lines: list[str] = []
    for a in advice:
        lines += _wrap(f"== {a['id']}: {a['title']}", "")
        lines += _summary(a)
        lines.append("")
        for key, mark in (("recommended", "+"), ("avoid", "-")):
            for e in a[key]:
                lines += _details(e, mark)
        if a.get("preset"):
            p = a["preset"]
            swaps = ", ".join(f"{r['from']}={r['to']}" for r in p["swaps"])
            lines += [""]
            lines += _wrap(
                f"preset {p['name']} (edgeact convert --preset {p['name']}): {swaps}", "  "
            )
        if a.get("edge_replacements"):
            lines += ["", "  edge replacements (mobile/int8):"]
            rows = [["from", "to", "max |error|"]]
            for r in a["edge_replacements"]:
                err = r["max_abs_error"]
                rows.append(
                    [r["from"], r["to"], "n/a: not an approximation" if err is None else f"{err:g}"]
                )
            lines += _table(rows, "    ")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
