"""Walk a model's graphs, run the pattern rules then the single-op rules, group the findings.

Pattern rules run first, in a fixed order, and claim their nodes, so a Sigmoid inside a SiLU or an
Erf inside a GELU is not reported again as an op. Near misses claim nothing: the ops they contain
are still reported (a Clip(0, 6) inside a broken Hardswish is still a relu6).
"""

import os
from collections.abc import Iterator

import onnx

from edgeact import schema
from edgeact.converters._findings import Finding, Tensor, replacement_of
from edgeact.converters._findings import NearMiss as SchemaNearMiss
from edgeact.converters._forms import Form
from edgeact.converters.onnx import _gelu, _hard, _silu
from edgeact.converters.onnx._graph import GraphView, Match, NearMiss, PatternRule
from edgeact.converters.onnx._load import DEFAULT_DOMAINS, default_opset, load_model
from edgeact.converters.onnx._ops import match_op

__all__ = ["graphs", "inspect", "scan", "with_types"]

# Every pattern module's rules, in the order that decides who claims shared nodes.
_PATTERN_RULES: tuple[PatternRule, ...] = tuple(
    sorted((*_gelu.RULES, *_hard.RULES, *_silu.RULES), key=lambda rule: rule.order)
)


def with_types(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with inferred value_info, in memory (the file is untouched).

    PyTorch's TorchScript exporter (``torch.onnx.export(..., dynamo=False)``) writes no
    value_info for intermediate tensors, so without inference every finding's dtype in its
    models was "unknown". Inference failing (custom ops, broken shapes) keeps the model as read.
    """
    try:
        return onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False)
    except Exception:
        return model


def graphs(model: onnx.ModelProto) -> Iterator[GraphView]:
    """The main graph, every If/Loop/Scan body inside it, and model-local function bodies."""

    def walk(view: GraphView) -> Iterator[GraphView]:
        yield view
        for node in view.nodes:
            for attr in node.attribute:
                subs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
                for i, sub in enumerate(subs):
                    suffix = f"[{i}]" if attr.type == onnx.AttributeProto.GRAPHS else ""
                    label = f"{view.label}:{view.label_of(node)}.{attr.name}{suffix}"
                    yield from walk(GraphView.of_graph(sub, label, parent=view))

    yield from walk(GraphView.of_graph(model.graph, "main"))
    for fn in model.functions:
        yield from walk(GraphView(fn.node, f"function {fn.domain}::{fn.name}", proto=fn))


def scan(view: GraphView) -> tuple[list[Match], list[NearMiss]]:
    """The matches (in a fixed order) and the near misses of one graph."""
    claimed: set[int] = set()
    missed: set[int] = set()
    matches: list[Match] = []
    misses: list[NearMiss] = []

    def record(result) -> None:
        for r in result if isinstance(result, list) else [result]:
            if isinstance(r, Match):
                if any(id(n) in claimed for n in r.nodes):
                    continue
                claimed.update(id(n) for n in r.nodes)
                matches.append(r)
            elif isinstance(r, NearMiss):
                missed.update(id(n) for n in r.nodes)
                misses.append(r)

    for rule in _PATTERN_RULES:
        for node in view.nodes:
            if node.op_type not in rule.anchors or node.domain not in DEFAULT_DOMAINS:
                continue
            if id(node) not in claimed and (result := rule.match(view, node)) is not None:
                record(result)
    for node in view.nodes:
        if id(node) in claimed or not node.output:
            continue
        result = match_op(view, node)
        if isinstance(result, str):
            x = node.input[0] if node.input else ""
            record(Match(result, Form.OP, "op", [node], x, node.output[0]))
        elif isinstance(result, NearMiss) and id(node) not in missed:
            record(result)
    return matches, misses


def _finding(view: GraphView, m: Match, index: dict[int, int], opset: int) -> Finding:
    replacement, error = replacement_of(m.activation)
    if error is not None:  # swish(β) = silu(βx)/β: the replacement's error shrinks by |β|
        error /= abs(m.input_scale)
    ops = [n.op_type if n.domain in DEFAULT_DOMAINS else f"{n.domain}.{n.op_type}" for n in m.nodes]
    qdq = view.in_qdq(m.x, m.y)
    return Finding(
        activation=m.activation,
        form=m.form,
        pattern=m.pattern,
        graph=view.label,
        operators=tuple(index[id(n)] for n in m.nodes),
        nodes=tuple(view.label_of(n) for n in m.nodes),
        ops=tuple(ops),
        dtype=view.dtype(m.x),
        opset=opset,
        qdq=qdq,
        input=_tensor(view, m.x, "DequantizeLinear" if qdq else None),
        output=_tensor(view, m.y, "QuantizeLinear" if qdq else None),
        params=m.params,
        replacement=replacement,
        max_abs_error=error,
    )


def _tensor(view: GraphView, value: str, qdq_op: str | None) -> Tensor | None:
    """The value and, inside QDQ, the scale and zero point of the DQ producing it / Q reading it."""
    if not value:
        return None
    if qdq_op is None:
        return Tensor(value)
    if qdq_op == "DequantizeLinear":
        node = view.producer(value)
    else:
        node = next((c for c in view.consumers(value) if c.op_type == qdq_op), None)
    if node is None or node.op_type != qdq_op:
        return Tensor(value)
    scale = view.scalar(node.input[1]) if len(node.input) > 1 else None
    zero = view.scalar(node.input[2]) if len(node.input) > 2 and node.input[2] else 0.0
    if scale is None or zero is None:  # per-channel or not constant
        return Tensor(value)
    return Tensor(value, {"scale": float(scale), "zero_point": int(zero)})


def _near_miss(view: GraphView, m: NearMiss, index: dict[int, int]) -> SchemaNearMiss:
    return SchemaNearMiss(
        looks_like=m.looks_like,
        form=m.form,
        pattern=m.pattern,
        reason=m.reason,
        graph=view.label,
        operators=tuple(index[id(n)] for n in m.nodes),
        nodes=tuple(view.label_of(n) for n in m.nodes),
    )


def inspect(path: str | os.PathLike) -> dict:
    """Every activation in the ONNX model at ``path``, as ops and decomposed patterns.

    Returns the ``edgeact.schema`` inspect document: model facts (opset, producer), one finding
    per site with node names and the catalogue's edge replacement, and ``near_misses`` with the
    reason each one did not match. The file is only read. Raises ``ModelError`` for anything
    that is not a readable, supported ONNX model.
    """
    model = with_types(load_model(path))
    opset = default_opset(model)
    findings: list[Finding] = []
    misses: list[SchemaNearMiss] = []
    n_graphs = n_nodes = 0
    for view in graphs(model):
        n_graphs += 1
        n_nodes += len(view.nodes)
        index = {id(n): i for i, n in enumerate(view.nodes)}
        matches, near = scan(view)
        findings += [_finding(view, match, index, opset) for match in matches]
        misses += [_near_miss(view, m, index) for m in near]
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    facts = {
        "ir_version": int(model.ir_version),
        "producer": producer or "unknown",
        "opset": opset,
        "opset_imports": {(i.domain or "ai.onnx"): int(i.version) for i in model.opset_import},
        "graphs": n_graphs,
        "nodes": n_nodes,
    }
    return schema.inspect_document("onnx", path, facts, findings, misses)
