"""``inspect``: a JSON-serialisable report of a .tflite model's activations and model facts."""

from __future__ import annotations

import os
from collections import Counter

from edgeact import schema
from edgeact.converters._findings import Finding, NearMiss, Tensor, replacement_of
from edgeact.converters.tflite._detect import find_activations, find_near_misses
from edgeact.converters.tflite._graph import SubgraphView, opcode_names, text
from edgeact.converters.tflite._reader import read_model

__all__ = ["inspect"]

_QUANTIZED_TYPES = ("INT8", "UINT8", "INT16", "INT4")


def inspect(path: str | os.PathLike) -> dict:
    """Report every activation of the model at ``path`` (all subgraphs) and model-level facts.

    Activations are found as builtin ops, as ``fused_activation_function`` options and as
    LOGISTIC·x (SiLU) / sigmoid-gate patterns; each comes with its tensor type, quantization
    parameters and the catalogue's edge replacement. The file is only read. Raises ``ModelError``
    (a ``ValueError``) with a one-line message for a file that is not a valid TFLite model.
    """
    model, size = read_model(path)
    codes = opcode_names(model)
    views = [SubgraphView.build(model, s, codes) for s in range(len(model.subgraphs))]

    op_counts: Counter[str] = Counter()
    custom: Counter[str] = Counter()
    activation_types: set[str] = set()
    weight_types: set[str] = set()
    f16_dequantize = 0
    activations: list[Finding] = []
    near_misses: list[NearMiss] = []
    for view in views:
        for o, op in enumerate(view.ops):
            op_counts[op] += 1
            custom_name = codes[view.operator(o).opcodeIndex][1]
            if custom_name is not None:
                custom[custom_name] += 1
            ins = view.inputs(o)
            if op == "DEQUANTIZE" and ins and view.dtype(ins[0]) == "FLOAT16":
                f16_dequantize += int(view.is_constant(ins[0]))
        for t in range(len(view.subgraph.tensors or [])):
            dtype = view.dtype(t)
            if view.is_constant(t):
                weight_types.add(dtype)
            elif dtype in _QUANTIZED_TYPES and view.quant(t) is not None:
                activation_types.add(dtype)
        activations.extend(_public(view, a) for a in find_activations(view))
        near_misses.extend(_near_miss(view, m) for m in find_near_misses(view))

    model_facts = {
        "size_bytes": size,
        "schema_version": int(model.version),
        "description": text(model.description),
        "subgraphs": [_subgraph(view) for view in views],
        "operator_counts": dict(sorted(op_counts.items())),
        "custom_ops": dict(sorted(custom.items())),
        "signatures": _signatures(model),
        "float16_weights": f16_dequantize > 0,
        "float16_dequantize_ops": f16_dequantize,
        "quantized": "+".join(t.lower() for t in sorted(activation_types)) or None,
        "weight_types": sorted(weight_types),
    }
    return schema.inspect_document("tflite", path, model_facts, activations, near_misses)


def _public(view: SubgraphView, a: dict) -> Finding:
    """The schema's Finding for one of ``find_activations``' records."""
    replacement, error = replacement_of(a["activation"])
    tensors = [_tensor(t) for t in (a["input"], a["output"])]
    return Finding(
        activation=a["activation"],
        form=a["form"],
        pattern=a["pattern"],
        graph=f"subgraph {view.index}",
        operators=tuple(a["operators"]),
        nodes=tuple(view.output_names(a["operators"])),
        ops=tuple(a["ops"]),
        dtype=a["dtype"].lower() if a["dtype"] else None,
        opset=None,
        qdq=any(t is not None and t.quantization is not None for t in tensors),
        input=tensors[0],
        output=tensors[1],
        params=a["params"],
        replacement=replacement,
        max_abs_error=error,
    )


def _near_miss(view: SubgraphView, m: dict) -> NearMiss:
    return NearMiss(
        looks_like=m["looks_like"],
        form=m["form"],
        pattern=m["pattern"],
        reason=m["reason"],
        graph=f"subgraph {view.index}",
        operators=tuple(m["operators"]),
        nodes=tuple(view.output_names(m["operators"])),
    )


def _tensor(t: dict | None) -> Tensor | None:
    return None if t is None else Tensor(t["name"], t["quantization"])


def _subgraph(view: SubgraphView) -> dict:
    sg = view.subgraph

    def io(t):
        return {
            "name": text(view.tensor(t).name),
            "dtype": view.dtype(t),
            "shape": view.shape(t),
            "quantization": view.quant(t),
        }

    return {
        "index": view.index,
        "name": text(sg.name),
        "operators": len(view.ops),
        "tensors": len(sg.tensors or []),
        "inputs": [io(int(t)) for t in (sg.inputs if sg.inputs is not None else [])],
        "outputs": [io(int(t)) for t in (sg.outputs if sg.outputs is not None else [])],
    }


def _signatures(model) -> list[dict]:
    return [
        {
            "key": text(sig.signatureKey),
            "subgraph": int(sig.subgraphIndex),
            "inputs": [text(m.name) for m in sig.inputs or []],
            "outputs": [text(m.name) for m in sig.outputs or []],
        }
        for sig in model.signatureDefs or []
    ]
