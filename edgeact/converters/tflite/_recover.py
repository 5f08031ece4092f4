"""Accuracy recovery after activation swaps in TFLite models: bias correction, chained.

For each FULLY_CONNECTED, CONV_2D or DEPTHWISE_CONV_2D that reads a swapped activation's output
and has a constant bias and no fused activation, the per-channel mean shift of its output
(``_bias``; TFLite's channels are the last axis; int8 outputs dequantized) is added to the bias,
layer by layer in operator order, each measured with the earlier corrections in place. The bias
keeps its format: float32; float16 behind a DEQUANTIZE (the float16 constant is corrected); int32
codes in the bias scale (s_input·s_weight, per channel where the weights are), rounded, refused
if they would overflow. Tensors are found by name: a build prunes and renumbers tensors, never
renames them. Not yet: layers without a bias (a bias tensor cannot be added yet), subgraphs
other than the first.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from edgeact.converters._bias import collect_layers, gate_refusal, mean_shift
from edgeact.converters.tflite._edit import store, stored
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
    bias: str  # the constant tensor holding the bias (behind a DEQUANTIZE for float16)
    channels: int
    order: int  # operator index, for the chain
    kind: str  # the bias constant's type: FLOAT32, FLOAT16 or INT32


def layers_after(view: SubgraphView, site: Site) -> tuple[list[Layer], str | None]:
    """(the layers reading ``site``'s output, why there are none, if so)."""
    if site.subgraph != 0:
        return [], "outside the first subgraph: only its layers are corrected"
    found = [
        (f"{view.ops[o]} {view.output_names([o])[0]!r}", _layer(view, o, site.y))
        for o in view.consumers.get(site.y, [])
    ]
    return collect_layers(found, view.is_output(site.y))


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
    tensor = _storage(view, bias)
    if tensor is None:
        return "its bias is not a float32, float16 or int32 constant"
    name, channels = text(view.tensor(tensor).name), view.shape(bias)[0]
    return Layer(view.output_names([o])[0], name, channels, o, view.dtype(tensor))


def _storage(view: SubgraphView, bias: int) -> int | None:
    """The constant tensor holding the bias (float16 behind a DEQUANTIZE), or None if there is
    none."""
    bias = view.constant_tensor(bias)
    if bias is None:
        return None
    kind = view.dtype(bias)
    if kind in ("FLOAT32", "FLOAT16") or (kind == "INT32" and view.quant(bias) is not None):
        return bias
    return None


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
        refusal = _add_to_bias(model, layer, shift)
        if refusal is not None:
            records.append(record | {"skipped": refusal})
            continue
        data = serialize(model)
        records.append(record | {"corrected": True})
    return data, records


_STORED = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32}


def _add_to_bias(model, layer: Layer, shift: np.ndarray) -> str | None:
    """Add ``shift`` (float) to the bias constant of ``layer`` in the first subgraph, in its own
    format and a buffer of its own; why not (NNCF's gate, int32 overflow), or None."""
    tensor = next(t for t in model.subgraphs[0].tensors if text(t.name) == layer.bias)
    old = stored(model, tensor, _STORED[layer.kind])
    # the int32 scale is read here, not when the layer was found: re-calibration and
    # --recover fit move it
    unit = tensor.quantization.scale if layer.kind == "INT32" else 1.0
    scale = np.broadcast_to(np.asarray(unit, np.float64), old.shape)
    refusal = gate_refusal(old.astype(np.float64) * scale, shift, layer.kind == "INT32")
    if refusal is not None:
        return refusal
    if layer.kind == "INT32":
        new = old.astype(np.int64) + np.rint(shift / scale).astype(np.int64)
        info = np.iinfo(np.int32)
        if new.min() < info.min or new.max() > info.max:
            return "the corrected int32 bias would overflow"
    else:
        new = old.astype(np.float64) + shift
    store(model, tensor, new.astype(_STORED[layer.kind]))
    return None


def tensor_values(interp, feeds: list[dict], names: list[str], run) -> list[dict]:
    """The tensors ``names`` of the first subgraph on each of ``feeds`` (``interp`` loaded with
    all tensors preserved; ``run(interp, feed)`` invokes it), 8-bit ones dequantized."""
    details = {d["name"]: d for d in interp.get_tensor_details()}
    values = []
    for feed in feeds:
        run(interp, feed)
        values.append({n: _dequantized(interp, details[n]) for n in names})
    return values


def _dequantized(interp, d: dict) -> np.ndarray:
    value = np.array(interp.get_tensor(d["index"]), np.float64)
    scale, zero = d["quantization"]
    if np.dtype(d["dtype"]) in (np.dtype(np.int8), np.dtype(np.uint8)) and scale > 0:
        return (value - zero) * np.float32(scale)
    return value
