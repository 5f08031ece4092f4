"""Accuracy recovery after activation swaps in TFLite float32 models: bias correction, chained.

For each FULLY_CONNECTED, CONV_2D or DEPTHWISE_CONV_2D that reads a swapped activation's output
and has a float32 constant bias and no fused activation, the per-channel mean shift of its output
(``_bias``; TFLite's channels are the last axis) is added to the bias, layer by layer in operator
order, each measured with the earlier corrections in place. Tensors are found by name: a build
prunes and renumbers tensors, never renames them. Not yet: float16 and int8 biases, layers
without a bias (a bias tensor cannot be added yet), subgraphs other than the first.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from edgeact.converters._bias import collect_layers, gate_refusal, mean_shift
from edgeact.converters.tflite._graph import SubgraphView, text
from edgeact.converters.tflite._reader import parse_model
from edgeact.converters.tflite._rules import Site
from edgeact.converters.tflite._writer import serialize

__all__ = ["Layer", "correct_biases", "layers_after", "tensor_values"]

_LAYERS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")


@dataclass(frozen=True)
class Layer:
    """A layer whose bias can absorb a swap's shift; tensors by name."""

    name: str  # its output tensor (TFLite operators have no names of their own)
    bias: str
    channels: int
    order: int  # operator index, for the chain


def layers_after(view: SubgraphView, site: Site) -> tuple[list[Layer], str | None]:
    """(the layers reading ``site``'s output, why there are none, if so)."""
    if site.subgraph != 0:
        return [], "outside the first subgraph: only its layers are corrected"
    if site.quantized or site.dtype != "FLOAT32":
        return (
            [],
            f"{site.dtype.lower()} data: bias correction of TFLite float32 layers only so far",
        )
    found = [
        (f"{view.ops[o]} {view.output_names([o])[0]!r}", _layer(view, o, site.y))
        for o in view.consumers.get(site.y, [])
    ]
    outputs = view.subgraph.outputs
    return collect_layers(found, outputs is not None and site.y in [int(t) for t in outputs])


def _layer(view: SubgraphView, o: int, y: int) -> Layer | str:
    if view.ops[o] not in _LAYERS:
        return f"not a {', '.join(_LAYERS)}"
    ins = view.inputs(o)
    if ins[0] != y:
        return "the activation is not its data input"
    options = view.operator(o).builtinOptions
    if getattr(options, "fusedActivationFunction", 0) != schema.ActivationFunctionType.NONE:
        return "a fused activation follows its bias"
    bias = ins[2] if len(ins) > 2 else -1
    if bias < 0:
        return "no bias (adding a bias tensor to a TFLite model is not there yet)"
    if view.dtype(bias) != "FLOAT32" or not view.is_constant(bias):
        return "its bias is not a float32 constant"
    names = view.output_names([o])
    return Layer(names[0], text(view.tensor(bias).name), view.shape(bias)[0], o)


def correct_biases(
    data: bytes,
    layers: list[Layer],
    reference: Callable[[list[str]], list[dict]],
    run: Callable[[bytes, list[str]], list[dict]],
) -> tuple[bytes, list[dict]]:
    """``data`` with the biases of ``layers`` corrected, chained in operator order, and one
    record per layer. ``reference(names)``: those tensors of the original model on each
    calibration sample; ``run(data, names)``: the same of ``data``."""
    layers = sorted(set(layers), key=lambda layer: layer.order)
    wanted = reference([layer.name for layer in layers])
    records = []
    for layer in layers:
        got = [g[layer.name] for g in run(data, [layer.name])]
        shift = mean_shift([w[layer.name] for w in wanted], got, -1, layer.channels)
        record = {"layer": layer.name, "max_shift": float(np.abs(shift).max()), "corrected": False}
        model = parse_model(data)
        refusal = _add_to_bias(model, layer.bias, shift)
        if refusal is not None:
            records.append(record | {"skipped": refusal})
            continue
        data = serialize(model)
        records.append(record | {"corrected": True})
    return data, records


def _add_to_bias(model, name: str, shift: np.ndarray) -> str | None:
    """Add ``shift`` to the float32 bias tensor ``name`` of the first subgraph, in a buffer of
    its own; why not (NNCF's gate), or None."""
    tensors = model.subgraphs[0].tensors
    tensor = next(t for t in tensors if text(t.name) == name)
    raw = np.asarray(model.buffers[tensor.buffer].data, np.uint8).tobytes()
    old = np.frombuffer(raw, np.float32)
    refusal = gate_refusal(old.astype(np.float64), shift)
    if refusal is not None:
        return refusal
    new = (old + shift).astype(np.float32)
    shared = sum(t.buffer == tensor.buffer for sg in model.subgraphs for t in sg.tensors) > 1
    if shared:
        model.buffers.append(schema.BufferT())
        tensor.buffer = len(model.buffers) - 1
    model.buffers[tensor.buffer].data = np.frombuffer(new.tobytes(), np.uint8)
    return None


def tensor_values(interp, feeds: list[dict], names: list[str], run) -> list[dict]:
    """The tensors ``names`` of the first subgraph on each of ``feeds`` (``interp`` loaded with
    all tensors preserved; ``run(interp, feed)`` invokes it)."""
    index = {d["name"]: d["index"] for d in interp.get_tensor_details()}
    values = []
    for feed in feeds:
        run(interp, feed)
        values.append({n: np.array(interp.get_tensor(index[n]), np.float64) for n in names})
    return values
