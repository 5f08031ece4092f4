"""Accuracy recovery after activation swaps in ONNX models: bias correction, chained.

For each layer a swapped activation feeds (Conv, ConvTranspose, Gemm, MatMul followed by Add of a
constant), the per-channel mean shift of its output (``_bias``) is added to its bias, one layer
at a time in graph order, each measured with the earlier corrections in place (NNCF's
FastBiasCorrection corrects each layer against the original alone). A layer without a bias gets
one; a bias that other nodes share is copied first. In QDQ models the layers are found through
the Quantize→Dequantize pairs, and a bias behind a DequantizeLinear is corrected in its codes
(int32 in the scale s_x·s_w, rounded; an Add's 8-bit bias, ONNX Runtime's quantizer's, quantized
again over its new range when the codes would saturate).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from edgeact.converters._bias import CachedValues, collect_layers, gate_refusal, mean_shift
from edgeact.converters._compare import mean_squared_error
from edgeact.converters.onnx._graph import nested_graphs
from edgeact.converters.onnx._rewrite import all_names

__all__ = ["Layer", "Recovery", "correct_biases", "layers_after", "requantize_outputs"]

_FLOAT_INITS = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE}


@dataclass
class Layer:
    """A layer whose bias can absorb the shift of a swapped activation it reads."""

    node: str  # the node holding the bias (Conv, ConvTranspose, Gemm, or the Add after a MatMul)
    output: str  # the value whose per-channel mean is corrected
    axis: int  # its channel axis
    channels: int
    bias_slot: int  # the node's input that is (or will be) the bias


def layers_after(model: onnx.ModelProto, value: str) -> tuple[list[Layer], str | None]:
    """(the layers of the main graph reading ``value``, also through a Quantize→Dequantize
    pair as in QDQ models, and why there are none, if so)."""
    graph = model.graph
    consts = _Constants(graph)
    values = _through_qdq(graph, value)
    found = [
        (f"{node.op_type} {node.name!r}", _layer(graph, consts, node, values))
        for node in graph.node
        if node.op_type != "QuantizeLinear" and values & set(node.input)
    ]
    return collect_layers(found, value in {o.name for o in graph.output})


def _through_qdq(graph, value: str) -> set[str]:
    """``value`` and the outputs of the Quantize→Dequantize pairs that carry it."""
    values = {value}
    for q in (n for n in graph.node if n.op_type == "QuantizeLinear" and n.input[0] == value):
        values |= {
            dq.output[0]
            for dq in graph.node
            if dq.op_type == "DequantizeLinear" and dq.input[0] == q.output[0]
        }
    return values


class _Constants:
    """Constant values of a graph: initializers, and initializers behind a DequantizeLinear (a
    QDQ model's weights and biases), as float64 arrays with their shapes."""

    def __init__(self, graph) -> None:
        self.inits = {t.name: t for t in graph.initializer}
        self.dequantized = {
            n.output[0]: n
            for n in graph.node
            if n.op_type == "DequantizeLinear" and all(i in self.inits for i in n.input if i)
        }

    def dims(self, name: str) -> list[int] | None:
        if name in self.dequantized:
            name = self.dequantized[name].input[0]
        tensor = self.inits.get(name)
        return list(tensor.dims) if tensor is not None else None


def _layer(graph, consts: _Constants, node: onnx.NodeProto, values: set[str]) -> Layer | str:
    """The layer ``node`` is, or why a bias correction cannot reach through it."""
    if node.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
        return "not a Conv, ConvTranspose, Gemm or MatMul"
    dims = consts.dims(node.input[1]) if len(node.input) > 1 else None
    if node.input[0] not in values or dims is None:
        return "the activation is not its data input, or its weight is not a constant"
    if not node.name:
        return "an unnamed node"
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type != "MatMul":
        if node.op_type == "Gemm" and attrs.get("transA", 0):
            return "Gemm with transA: the activation is not its rows"
        axis, channels = {
            "Conv": (1, dims[0]),
            "ConvTranspose": (1, dims[1] * attrs.get("group", 1)),
            "Gemm": (-1, dims[0] if attrs.get("transB", 0) else dims[1]),
        }[node.op_type]
        bias = node.input[2] if len(node.input) > 2 else ""
        if bias and (bias_dims := consts.dims(bias)) is not None:
            if int(np.prod(bias_dims)) == channels:
                return Layer(node.name, node.output[0], axis, channels, 2)
        if not bias:
            return Layer(node.name, node.output[0], axis, channels, 2)
        return "its bias is not a constant with one value per output channel"
    outputs = _through_qdq(graph, node.output[0])
    for add in (n for n in graph.node if n.op_type == "Add" and outputs & set(n.input)):
        slot = 0 if add.input[1] in outputs else 1
        bias_dims = consts.dims(add.input[slot])
        if add.name and bias_dims and int(np.prod(bias_dims)) == dims[-1] == bias_dims[-1]:
            return Layer(add.name, add.output[0], -1, dims[-1], slot)
    return "MatMul without an Add of a per-column constant"


def correct_biases(
    converted: onnx.ModelProto,
    layers: list[Layer],
    reference: Callable[[list[str]], list[dict]],
    run: Callable[[onnx.ModelProto, list[str]], list[dict]],
) -> list[dict]:
    """Correct the biases of ``layers`` in ``converted`` (edited in place), chained in graph
    order; one record per layer. ``reference(names)``: those values of the original model on
    each calibration sample; ``run(model, names)``: the same of ``model``."""
    order = {n.name: i for i, n in enumerate(converted.graph.node)}
    layers = sorted(layers, key=lambda layer: order[layer.node])
    wanted = reference([layer.output for layer in layers])
    records = []
    for layer in layers:
        got = run(converted, [layer.output])
        wanted_here = [w[layer.output] for w in wanted]
        shift = mean_shift(wanted_here, [g[layer.output] for g in got], layer.axis, layer.channels)
        records.append(_apply(converted, layer, shift))
    return records


def _apply(model: onnx.ModelProto, layer: Layer, shift: np.ndarray) -> dict:
    """Add ``shift`` to the layer's bias (a new one if it has none); its report record."""
    record = {"layer": layer.node, "max_shift": float(np.abs(shift).max()), "corrected": False}
    node = next(n for n in model.graph.node if n.name == layer.node)
    if node.op_type == "Gemm":
        beta = next((a.f for a in node.attribute if a.name == "beta"), 1.0)
        if beta == 0:
            return record | {"skipped": "Gemm with beta = 0 ignores its bias"}
        shift = shift / beta
    inits = {t.name: t for t in model.graph.initializer}
    name = node.input[layer.bias_slot] if layer.bias_slot < len(node.input) else ""
    dequantize = next(
        (n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.output[0] == name),
        None,
    )
    if dequantize is not None:  # a QDQ bias: integer codes in their scale
        return record | _add_to_codes(model, inits, dequantize, shift)
    if name:
        old = numpy_helper.to_array(inits[name])
        shift = shift.reshape(old.shape)
        refusal = gate_refusal(old, shift)
        if refusal is not None:
            return record | {"skipped": refusal}
        new = (old + shift).astype(old.dtype)
    else:  # no bias yet: one of the weight's type
        weight = inits.get(node.input[1])
        elem = weight.data_type if weight is not None and weight.data_type in _FLOAT_INITS else 1
        new = shift.astype(onnx.helper.tensor_dtype_to_np_dtype(elem))
        record["added"] = True
    if name:
        _set_for(model, inits, [node], layer.bias_slot, numpy_helper.from_array(new))
    else:
        own = _unique(model, f"{layer.node}/edgeact_bias")
        model.graph.initializer.append(numpy_helper.from_array(new, own))
        while len(node.input) <= layer.bias_slot:
            node.input.append("")
        node.input[layer.bias_slot] = own
    return record | {"corrected": True}


def _add_to_codes(model, inits: dict, dequantize: onnx.NodeProto, shift: np.ndarray) -> dict:
    """Add ``shift`` to the integer codes behind ``dequantize`` (scale per tensor or per
    channel): rounded in the scale, refused by NNCF's gate or if the codes would saturate."""
    codes_init = inits[dequantize.input[0]]
    codes = numpy_helper.to_array(codes_init)
    scale = numpy_helper.to_array(inits[dequantize.input[1]]).astype(np.float64)
    zero = (
        numpy_helper.to_array(inits[dequantize.input[2]]).astype(np.float64)
        if len(dequantize.input) > 2 and dequantize.input[2]
        else 0.0
    )
    shift = shift.reshape(codes.shape)
    refusal = gate_refusal((codes - zero) * scale, shift, quantized=True)
    if refusal is not None:
        return {"skipped": refusal}
    new = codes.astype(np.int64) + np.rint(shift / scale).astype(np.int64)
    info, record = np.iinfo(codes.dtype), {"corrected": True}
    if new.min() < info.min or new.max() > info.max:
        eight_bit = codes.dtype in (np.int8, np.uint8) and len(dequantize.input) > 2
        if not eight_bit or np.ndim(scale) > 0:
            return {"skipped": f"the corrected {codes.dtype} bias codes would saturate"}
        # an 8-bit constant of an Add (ONNX Runtime's QDQ MLPs): its scale and zero point are
        # its own, so the corrected bias is quantized again over its new range (0 included)
        value = (codes - zero) * scale + shift
        low, high = min(float(value.min()), 0.0), max(float(value.max()), 0.0)
        scale = (high - low) / (int(info.max) - int(info.min)) or 1.0
        zero = int(np.clip(np.rint(info.min - low / scale), info.min, info.max))
        new = np.clip(np.rint(value / scale) + zero, info.min, info.max).astype(np.int64)
        _set_for(
            model, inits, [dequantize], 1, numpy_helper.from_array(np.array(scale, np.float32))
        )
        _set_for(
            model, inits, [dequantize], 2, numpy_helper.from_array(np.array(zero, codes.dtype))
        )
        record["requantized"] = True
    _set_for(model, inits, [dequantize], 0, numpy_helper.from_array(new.astype(codes.dtype)))
    return record


def _readers(model: onnx.ModelProto, name: str) -> int:
    return sum(list(n.input).count(name) for g in nested_graphs(model.graph) for n in g.node)


def _unique(model: onnx.ModelProto, name: str) -> str:
    taken = all_names(model)
    candidate, i = name, 1
    while candidate in taken:
        candidate, i = f"{name}_{i}", i + 1
    return candidate


def requantize_outputs(model: onnx.ModelProto, outputs: list[str], run) -> list[dict]:
    """Give each swapped activation output in ``outputs`` that a QuantizeLinear reads the scale
    and zero point of its new values' range (0 included) on the calibration samples
    (``run(model, names)``); the Q and the DequantizeLinears after it change together. The swap
    reused the old activation's parameters: GELU's output stops at −0.17, Hardswish's reaches
    −0.375. One record per output changed."""
    if not outputs:
        return []
    runs = run(model, outputs)
    inits = {t.name: t for t in model.graph.initializer}
    records = []
    for value in outputs:
        q = next((n for n in model.graph.node if n.op_type == "QuantizeLinear"
                  and n.input[0] == value and len(n.input) > 2), None)  # fmt: skip
        if q is None or not all(i in inits for i in q.input[1:3]):
            continue
        scale, zero = (numpy_helper.to_array(inits[i]) for i in q.input[1:3])
        if scale.size != 1 or zero.dtype not in (np.int8, np.uint8):
            continue
        info = np.iinfo(zero.dtype)
        seen = np.concatenate([np.ravel(r[value]) for r in runs])
        low, high = min(float(seen.min()), 0.0), max(float(seen.max()), 0.0)
        new_scale = (high - low) / (int(info.max) - int(info.min)) or float(scale)
        new_zero = int(np.clip(np.rint(info.min - low / new_scale), info.min, info.max))
        pair = [q, *(n for n in model.graph.node
                     if n.op_type == "DequantizeLinear" and n.input[0] == q.output[0])]  # fmt: skip
        for slot, new in (
            (1, np.array(new_scale, scale.dtype)),
            (2, np.array(new_zero, zero.dtype)),
        ):
            _set_for(model, inits, pair, slot, numpy_helper.from_array(new))
        records.append({"tensor": value, "scale": [float(scale), new_scale],
                        "zero_point": [int(zero), new_zero]})  # fmt: skip
    return records


def _set_for(model, inits: dict, nodes: list, slot: int, value: onnx.TensorProto) -> None:
    """Set input ``slot`` of every node in ``nodes`` (which read one initializer there) to
    ``value``: in place when no other node reads it and it is no graph input (a caller could
    feed it), else as an initializer of their own."""
    name = nodes[0].input[slot]
    alone = _readers(model, name) == sum(list(n.input).count(name) for n in nodes)
    if alone and name not in {i.name for i in model.graph.input}:
        value.name = name
        inits[name].CopyFrom(value)
        return
    value.name = _unique(model, f"{name}/edgeact")
    model.graph.initializer.append(value)
    inits[value.name] = value
    for node in nodes:
        node.input[slot] = value.name


class Recovery:
    """Bias correction for one conversion: the original's values on the calibration samples
    are computed once and serve every correction (each change alone, then the plan).
    ``run_all(model, names, feeds)``: the values ``names`` hold in ``model`` on each feed."""

    def __init__(self, original: onnx.ModelProto, calibration: list[dict], run_all) -> None:
        self.original, self.calibration, self.run_all = original, calibration, run_all
        self.values = CachedValues(lambda names: run_all(original, names, calibration))
        self._outputs = None  # the original's outputs on the calibration samples, once

    def layers_for(self, value: str, graph: str) -> tuple[list[Layer], str | None]:
        """The layers the activation writing ``value`` feeds, or why none can be corrected."""
        if graph != "main":
            return [], "inside a subgraph: only the main graph's layers are corrected"
        return layers_after(self.original, value)

    def correct(self, converted: onnx.ModelProto, layers: list[Layer]) -> list[dict]:
        """``correct_biases`` of ``layers`` in ``converted`` (edited in place)."""
        return correct_biases(converted, layers, self.values, self._run)

    def requantize(self, converted: onnx.ModelProto, outputs: list[str]) -> list[dict]:
        """``requantize_outputs`` in ``converted`` (edited in place)."""
        return requantize_outputs(converted, outputs, self._run)

    def calibration_error(self, model: onnx.ModelProto) -> float:
        """The mean squared error of ``model``'s outputs against the original's on the
        calibration samples: the measure that chooses between recovery variants."""
        if self._outputs is None:
            self._outputs = self.run_all(self.original, None, self.calibration)
        return mean_squared_error(self._outputs, self.run_all(model, None, self.calibration))

    def _run(self, model: onnx.ModelProto, names: list[str]) -> list[dict]:
        return self.run_all(model, names, self.calibration)
