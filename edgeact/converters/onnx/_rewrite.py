"""Plan and apply activation changes to an ONNX model: which matches to rewrite, and the edit.

A *site* is one match from the inspect rules plus what to do with it: ``swap`` it to another
activation (a rule FROM=TO) or ``fuse`` a decomposed pattern into fewer ops with the same
maths: the single op where the opset has one, else the catalogue's pattern in the opset's ops
when it is shorter (Hardswish's Add·Clip·Mul·Div as HardSigmoid·Mul, tanh-GELU's eight ops
as six: 1.05× and 1.13× faster test models in ONNX Runtime, bench/bench_onnx_models.py).
Sites are numbered in the rules' fixed scan order, so planning a copy of the model numbers the
same sites the same way; that is how verification applies one change at a time.

The edit keeps the graph's interface: the replacement writes the old output value name, and
it is inserted where the old output was computed, so every reader (and graph outputs, and QDQ
quantize nodes after it) stays untouched. Nodes of the old pattern are then removed only when
nothing reads them any more, together with QuantizeLinear/DequantizeLinear/Constant nodes left
orphaned between them; a pattern value that something else still reads keeps its nodes.
"""

import itertools
from collections import Counter
from dataclasses import dataclass, field

import onnx
from onnx import TensorProto

from edgeact.converters._findings import Change
from edgeact.converters._forms import Form
from edgeact.converters.onnx._emit import Emitter, emit, emitted_ops, single_op
from edgeact.converters.onnx._graph import GraphView, Match, nested_graphs, subgraphs
from edgeact.converters.onnx._inspect import graphs, scan
from edgeact.converters.onnx._load import DEFAULT_DOMAINS, default_opset

__all__ = ["Site", "all_names", "apply_sites", "op_counts", "plan_sites"]

_ORPHANABLE = frozenset({"QuantizeLinear", "DequantizeLinear", "Constant"})
_FLOAT_TYPES = {
    "float32": TensorProto.FLOAT,
    "float16": TensorProto.FLOAT16,
    "float64": TensorProto.DOUBLE,
    "bfloat16": TensorProto.BFLOAT16,
}


@dataclass
class Site:
    number: int
    kind: str  # "swap" or "fuse"
    rule: str
    target: str
    view: GraphView
    match: Match
    opset: int
    dtype: str
    ops_after: list[str]  # what ``emit`` writes, Constants left out
    params: dict = field(default_factory=dict)
    gate: tuple[float, float] | None = None  # fitted HardSigmoid (α, β) (``emit``'s gate)
    problem: str | None = None  # why this site cannot be changed
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict:
        """The site as a change record of the conversion report (see _convert_report)."""
        return Change(
            kind=self.kind,
            rule=self.rule,
            activation=self.match.activation,
            target=self.target,
            form=self.match.form,
            graph=self.view.label,
            nodes=tuple(self.view.label_of(n) for n in self.match.nodes),
            ops_before=tuple(n.op_type for n in self.match.nodes),
            ops_after=tuple(self.ops_after) if not self.problem else (),
            dtype=self.dtype,
            quantized=self.view.in_qdq(self.match.x, self.match.y),
            notes=tuple(self.notes),
            skipped=self.problem,
        ).to_json()


def _opset(model: onnx.ModelProto, view: GraphView) -> int:
    proto = view.proto
    if isinstance(proto, onnx.FunctionProto):
        for imp in proto.opset_import:
            if imp.domain in DEFAULT_DOMAINS:
                return int(imp.version)
    return default_opset(model) or 1


def _prelu_slope(view: GraphView, m: Match) -> tuple[dict, str | None]:
    node = m.nodes[0]
    slope = view.const(node.input[1]) if len(node.input) > 1 else None
    if slope is None or slope.size != 1:
        return {}, "PRelu slope is not one constant: leaky_relu cannot hold a per-channel slope"
    return {"negative_slope": float(slope.reshape(-1)[0])}, None


def _site(number, view, m, rules, fuse, opset, types) -> Site | None:
    if m.activation in rules:
        kind, target, rule = "swap", rules[m.activation], f"{m.activation}={rules[m.activation]}"
    elif fuse and _decomposed(m):
        kind, target, rule = "fuse", m.activation, f"fuse {m.activation}"
    else:
        return None
    try:
        emitted, problem = emitted_ops(target, opset, True, m.input_scale), None
    except ValueError as exc:
        emitted, problem = [], str(exc)
    ops_after = [op for op in emitted if op != "Constant"]
    if kind == "fuse" and len(ops_after) >= len(_computing(m)):
        return None  # a fusion leaves fewer ops, or it is no fusion
    dtype = view.dtype(m.x)
    if dtype == "unknown":
        dtype = types.get(m.x, "unknown")
    site = Site(number, kind, rule, target, view, m, opset, dtype, ops_after, problem=problem)
    if m.input_scale != 1.0 and problem is None:
        site.notes.append(f"swish with β = {m.input_scale:.6g}: {target}(βx)/β")
    if m.activation == "prelu" and target == "leaky_relu" and problem is None:
        site.params, site.problem = _prelu_slope(view, m)
    if problem is not None:
        return site
    if dtype == "unknown" and "Constant" in emitted:
        site.notes.append("input type unknown (no type information here): constants are float32")
    elif dtype not in {*_FLOAT_TYPES, "unknown"} and not view.in_qdq(m.x, m.y):
        site.problem = site.problem or f"input type {dtype}: only float activations are rewritten"
    return site


def plan_sites(
    model: onnx.ModelProto, rules: dict, fuse: bool, types: dict, later: Counter | None = None
) -> list[Site]:
    """Every site of ``model`` that a rule or fusion applies to, numbered in scan order.

    ``later`` counts the decomposed patterns fusion would collapse at a higher opset, by
    (opset, activation, op), for the report to name the ``--opset`` that does it."""
    sites = []
    counter = itertools.count()
    for view in graphs(model):
        opset = _opset(model, view)
        for m in scan(view)[0]:
            site = _site(next(counter), view, m, rules, fuse, opset, types)
            if site is not None:
                sites.append(site)
            fused_into_one = site is not None and len(site.ops_after) == 1
            if later is not None and fuse and _decomposed(m) and not fused_into_one:
                op = single_op(m.activation)
                if op is not None and op[1] > opset:
                    later[(op[1], m.activation, op[0])] += 1
    return sites


def _decomposed(m: Match) -> bool:
    return len(m.nodes) > 1 and m.form not in (Form.OP, Form.FUSED)


def _computing(m: Match) -> list[onnx.NodeProto]:
    """The nodes of ``m`` that compute (Constants and Q/DQ pairs aside)."""
    return [n for n in m.nodes if n.op_type not in _ORPHANABLE]


def all_names(model: onnx.ModelProto) -> set[str]:
    """Every value, initializer and node name in any graph of ``model``: what a new name avoids."""
    names = {i.name for i in model.graph.initializer}
    for view in graphs(model):
        for n in view.nodes:
            names.update(n.output)
            names.update(n.input)
            names.add(n.name)
    return names


def _subgraph_reads(nodes) -> set[str]:
    """Value names read (or returned) inside the subgraphs of ``nodes``: outer-scope reads."""
    inner = [g for n in nodes for sub in subgraphs(n) for g in nested_graphs(sub)]
    return {i for g in inner for n in g.node for i in n.input if i} | {
        o.name for g in inner for o in g.output
    }


def _graph_outputs(view: GraphView) -> set[str]:
    proto = view.proto
    if isinstance(proto, onnx.FunctionProto):
        return set(proto.output)
    return {o.name for o in proto.output}


def _rewrite_view(view: GraphView, sites: list[Site], unique) -> None:
    replacements: dict[int, list[onnx.NodeProto]] = {}
    producers = {o: n for n in view.nodes for o in n.output if o}
    candidates: set[int] = set()
    for s in sites:
        elem = _FLOAT_TYPES.get(s.dtype, TensorProto.FLOAT)
        emitter = Emitter(s.opset, elem, lambda hint, s=s: unique(f"edgeact_{s.number}_{hint}"))
        scale = s.match.input_scale
        new = emit(s.target, s.match.x, s.match.y, emitter, scale, s.gate, **s.params)
        replacements[id(producers[s.match.y])] = new
        candidates.update(id(n) for n in s.match.nodes)
    nodes = []
    for n in view.nodes:
        nodes.extend(replacements.get(id(n), [n]))
    replaced = [n for n in view.nodes if id(n) in replacements]
    kept = _subgraph_reads(nodes) | _graph_outputs(view)
    nodes = _pruned(nodes, replaced, candidates, kept)
    container = view.proto.node
    del container[:]
    container.extend(nodes)


def _pruned(nodes: list, replaced: list, candidates: set[int], kept: set[str]) -> list:
    """``nodes`` without the pattern nodes (``candidates``) nothing reads any more, and without
    the Q/DQ/Constant nodes that only fed removed ones; values in ``kept`` (graph outputs,
    subgraph reads) always stay. A worklist from the replaced nodes' inputs upwards."""
    uses = Counter(i for n in nodes for i in n.input if i)
    uses.update(kept)
    producer = {o: n for n in nodes for o in n.output if o}
    removed: set[int] = set()
    work = [producer[i] for n in replaced for i in n.input if i in producer]
    work += [n for n in nodes if id(n) in candidates]
    while work:
        n = work.pop()
        removable = id(n) in candidates or n.op_type in _ORPHANABLE
        if id(n) in removed or not removable or any(uses[o] for o in n.output):
            continue
        removed.add(id(n))
        for i in n.input:
            if i:
                uses[i] -= 1
                if i in producer:
                    work.append(producer[i])
    return [n for n in nodes if id(n) not in removed]


def apply_sites(
    model: onnx.ModelProto, rules: dict, fuse: bool, types: dict, numbers, gates=None
) -> onnx.ModelProto:
    """A copy of ``model`` with the sites numbered ``numbers`` rewritten (``gates``: {number:
    fitted (α, β)})."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    wanted, gates = set(numbers), gates or {}
    chosen = [s for s in plan_sites(out, rules, fuse, types) if s.number in wanted]
    for s in chosen:
        s.gate = gates.get(s.number)
    names = all_names(out)

    def unique(hint: str) -> str:
        name, k = hint, 0
        while name in names:
            k += 1
            name = f"{hint}_{k}"
        names.add(name)
        return name

    by_view: dict[int, list[Site]] = {}
    views = {}
    for s in chosen:
        by_view.setdefault(id(s.view), []).append(s)
        views[id(s.view)] = s.view
    # Inner graphs first: rewriting an outer graph copies its nodes, subgraphs included.
    for key, sites in reversed(by_view.items()):
        _rewrite_view(views[key], sites, unique)
    return out


def op_counts(model: onnx.ModelProto) -> dict[str, int]:
    """Op type → count over every graph, subgraph and function (custom domains prefixed)."""
    counts: Counter = Counter()
    for view in graphs(model):
        for n in view.nodes:
            counts[n.op_type if n.domain in DEFAULT_DOMAINS else f"{n.domain}.{n.op_type}"] += 1
    return dict(sorted(counts.items()))
