"""Walk a model's graphs, run the pattern rules then the single-op rules, group the findings.

Pattern rules run first, in a fixed order, and claim their nodes, so a Sigmoid inside a SiLU or an
Erf inside a GELU is not reported again as an op. Near misses claim nothing: the ops they contain
are still reported (a Clip(0, 6) inside a broken Hardswish is still a relu6).
"""

import os
from collections.abc import Callable, Iterator

import onnx

from edgeact.catalogue import ACTIVATIONS
from edgeact.converters._forms import Form
from edgeact.converters.onnx._gelu import match_gelu_erf, match_gelu_tanh
from edgeact.converters.onnx._graph import GraphView, Match, NearMiss
from edgeact.converters.onnx._hard import match_hard_chain, match_hardsigmoid_mul
from edgeact.converters.onnx._load import DEFAULT_DOMAINS, default_opset, load_model
from edgeact.converters.onnx._ops import match_op
from edgeact.converters.onnx._silu import match_mish, match_silu

__all__ = ["graphs", "inspect", "scan", "with_types"]

Rule = Callable[[GraphView, onnx.NodeProto], "Match | NearMiss | list | None"]

# (anchor op types, rule); the order decides who claims shared nodes.
_PATTERN_RULES: tuple[tuple[frozenset[str], Rule], ...] = (
    (frozenset({"Erf"}), match_gelu_erf),
    (frozenset({"Tanh"}), match_gelu_tanh),
    (frozenset({"Tanh"}), match_mish),
    (frozenset({"HardSigmoid"}), match_hardsigmoid_mul),
    (frozenset({"Clip", "Min", "Max"}), match_hard_chain),
    (frozenset({"Sigmoid"}), match_silu),
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


def scan(view: GraphView) -> tuple[list[Match], list[dict]]:
    """The matches (in a fixed order) and the near misses of one graph."""
    claimed: set[int] = set()
    missed: set[int] = set()
    matches: list[Match] = []
    misses: list[dict] = []

    def names(nodes) -> list[str]:
        return [view.label_of(n) for n in nodes]

    def record(result) -> None:
        for r in result if isinstance(result, list) else [result]:
            if isinstance(r, Match):
                if any(id(n) in claimed for n in r.nodes):
                    continue
                claimed.update(id(n) for n in r.nodes)
                matches.append(r)
            elif isinstance(r, NearMiss):
                missed.update(id(n) for n in r.nodes)
                misses.append(
                    {
                        "looks_like": r.looks_like,
                        "form": r.form,
                        "pattern": r.pattern,
                        "reason": r.reason,
                        "nodes": names(r.nodes),
                        "graph": view.label,
                    }
                )

    for anchors, rule in _PATTERN_RULES:
        for node in view.nodes:
            if node.op_type not in anchors or node.domain not in DEFAULT_DOMAINS:
                continue
            if id(node) not in claimed and (result := rule(view, node)) is not None:
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


def _finding(view: GraphView, m: Match) -> dict:
    act = ACTIVATIONS[m.activation]
    replacement = act.edge_replacement
    error = next((a.max_abs_error for a in act.approximations if a.name == replacement), None)
    ops = [n.op_type if n.domain in DEFAULT_DOMAINS else f"{n.domain}.{n.op_type}" for n in m.nodes]
    return {
        "activation": m.activation,
        "form": m.form,
        "pattern": m.pattern,
        "ops": ops,
        "nodes": [view.label_of(n) for n in m.nodes],
        "dtype": view.dtype(m.x),
        "qdq": view.in_qdq(m.x, m.y),
        "graph": view.label,
        "replacement": replacement,
        "replacement_max_abs_error": error,
    }


def _group(items: list[dict], key_fields: tuple[str, ...]) -> list[dict]:
    """Merge items equal on ``key_fields``: count, list of node-name lists, graphs."""
    groups: dict[tuple, dict] = {}
    for item in items:
        key = tuple(tuple(item[k]) if isinstance(item[k], list) else item[k] for k in key_fields)
        if key not in groups:
            groups[key] = {k: item[k] for k in key_fields} | {
                "count": 0,
                "nodes": [],
                "graphs": [],
            }
            for k, v in item.items():  # fields outside the key that are equal per key
                if k not in ("nodes", "graph"):
                    groups[key].setdefault(k, v)
        g = groups[key]
        g["count"] += 1
        g["nodes"].append(item["nodes"])
        if item["graph"] not in g["graphs"]:
            g["graphs"].append(item["graph"])
    return list(groups.values())


def inspect(path: str | os.PathLike) -> dict:
    """Every activation in the ONNX model at ``path``, as ops and decomposed patterns.

    Returns a JSON-serialisable dict: model facts (opset, producer), ``findings`` grouped by
    (activation, form, ops, dtype, qdq) with counts, node names and the catalogue's edge
    replacement, and ``near_misses`` with the reason each one did not match. The file is only
    read. Raises ``ModelError`` for anything that is not a readable, supported ONNX model.
    """
    model = with_types(load_model(path))
    findings: list[dict] = []
    misses: list[dict] = []
    n_graphs = n_nodes = 0
    for view in graphs(model):
        n_graphs += 1
        n_nodes += len(view.nodes)
        matches, m = scan(view)
        findings += [_finding(view, match) for match in matches]
        misses += m
    opset = default_opset(model)
    for f in findings:
        f["opset"] = opset
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    return {
        "model": os.fspath(path),
        "ir_version": int(model.ir_version),
        "producer": producer or "unknown",
        "opset": opset,
        "opset_imports": {(i.domain or "ai.onnx"): int(i.version) for i in model.opset_import},
        "graphs": n_graphs,
        "nodes": n_nodes,
        "findings": _group(
            findings,
            ("activation", "form", "pattern", "ops", "dtype", "qdq", "replacement"),
        ),
        "near_misses": _group(misses, ("looks_like", "form", "pattern", "reason")),
    }
