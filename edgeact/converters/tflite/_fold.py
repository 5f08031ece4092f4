"""``--recover fit`` for TFLite: a fitted scale and offset per channel, folded into the layers
around a swapped activation.

TFLite's HARD_SWISH has no constants to fit, but an activation between two linear layers can be
given the input k·x + c per channel at no cost (``_fit.fit_input_maps`` fits k and c):

    producer (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D) -> x -> activation -> y -> readers

The producer's output channel j is scaled by k_j and offset by c_j (its weights and bias), so the
activation computes f(k·x + c). A hardswish's output is then k times too large, so every reader
(a FULLY_CONNECTED or CONV_2D taking y as its data input) takes 1/k_j on its input channel j; a
hardsigmoid is a gate, and its readers keep their weights. No op is added or changed.

Float32 and float16 (behind DEQUANTIZE) constants are rescaled in their own format. int8 keeps
the producer's weight codes: its weight scales become per channel (×k_j), its int32 bias scales
follow (s_input·s_weight) and the codes move by c_j. Between int8 layers a hardswish fold is
``aligned`` (``_fit.fit_code_map``): k is one for the tensor and c_j whole codes, x's scale is
relabelled ×k so its codes stay the original's (shifted by c_j), y takes ``_fit.output_grid``,
and the readers' weight scales take 1/k with their codes kept: nothing is rounded anew.
Tensors are found by name, as in ``_recover``: builds renumber tensors, never rename them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeact.converters._fit import output_grid
from edgeact.converters.tflite._edit import store, stored
from edgeact.converters.tflite._graph import SubgraphView, opcode_names, text
from edgeact.converters.tflite._hardswish import only_consumer
from edgeact.converters.tflite._reader import parse_model
from edgeact.converters.tflite._schema import schema
from edgeact.converters.tflite._writer import serialize

__all__ = ["Fold", "apply_folds", "find_fold"]

_PRODUCERS = {"FULLY_CONNECTED": 0, "CONV_2D": 0, "DEPTHWISE_CONV_2D": -1}  # output-channel axis
_READERS = ("FULLY_CONNECTED", "CONV_2D")  # input channels on the weights' last axis
_STORED = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT8": np.int8, "INT32": np.int32}
_INT8 = (-128, 127)


@dataclass(frozen=True)
class Fold:
    """Where a site's input map goes, by tensor name: ``x`` (the producer's output, the
    activation's input) and ``readers`` (the outputs of the layers reading the activation's
    output; empty for a gate). ``k``, ``c``: the fitted map, one entry per channel (empty until
    fitted). ``aligned``: the int8 form (one k, whole-code c; see the module's docstring)."""

    x: str
    readers: tuple[str, ...]
    k: tuple[float, ...] = ()
    c: tuple[float, ...] = ()
    aligned: bool = False


@dataclass(frozen=True)
class FoldSite:
    """A fold found in a model: the ``Fold`` and the ranges its fit must keep; for an
    ``aligned`` fold the int8 (scale, zero point) of x and y, which its fit works in."""

    fold: Fold
    input_range: tuple[float, float]  # what the int8 x tensor can hold (±inf for float)
    output_range: tuple[float, float]  # likewise for the activation's output
    input_params: tuple[float, int] | None = None
    output_params: tuple[float, int] | None = None


def find_fold(data: bytes, x: str, y: str, times_x: bool) -> FoldSite | str:
    """The fold for the activation reading tensor ``x`` and writing ``y`` in ``data`` (its
    first subgraph), or why there is none. ``times_x``: the activation multiplies x (hardswish),
    so its readers must take 1/k."""
    model = parse_model(data)
    view = SubgraphView.build(model, 0, opcode_names(model))
    names = {text(t.name): i for i, t in enumerate(view.subgraph.tensors)}
    x_index, y_index = names[x], names[y]
    producer = view.producer.get(x_index)
    if producer is None or view.ops[producer] not in _PRODUCERS:
        return f"its input is not computed by a {', '.join(_PRODUCERS)}"
    why = _unfoldable(view, producer)
    if why:
        return f"the layer computing its input: {why}"
    if only_consumer(view, x_index) is None:
        return "its input is read elsewhere too"
    readers = view.consumers.get(y_index, []) if times_x else []
    aligned = bool(readers) and all(_int8_per_tensor(view, t) for t in (x_index, y_index))
    for o in readers:
        if view.ops[o] not in _READERS or view.inputs(o)[0] != y_index:
            return f"a reader of its output is not a {' or '.join(_READERS)} taking it as data"
        weights = view.constant_tensor(view.inputs(o)[1])
        if weights is None:
            return "a reader of its output has weights that are not constant"
        if _shared(view, view.inputs(o)[1]):
            return "a reader of its output shares its weights with another op"
        if not _reader_fits(view, o, aligned):
            return "a reader of its output mixes int8 and float (not yet)"
    if times_x and (not readers or view.is_output(y_index)):
        return "its output is not read by layers alone"
    fold = Fold(x, tuple(view.output_names(readers)), aligned=aligned)
    if not aligned:
        return FoldSite(fold, _range(view, x_index), _range(view, y_index))
    params = [(view.quant(t)["scale"], view.quant(t)["zero_point"]) for t in (x_index, y_index)]
    return FoldSite(fold, _range(view, x_index), _range(view, y_index), *params)


def apply_folds(data: bytes, folds: list[Fold]) -> bytes:
    """``data`` with each fitted ``Fold`` written into its layers' constants."""
    if not folds:
        return data
    model = parse_model(data)
    view = SubgraphView.build(model, 0, opcode_names(model))
    names = {text(t.name): i for i, t in enumerate(view.subgraph.tensors)}
    for fold in folds:
        k, c = np.asarray(fold.k, np.float64), np.asarray(fold.c, np.float64)
        x = names[fold.x]
        _scale_producer(view, view.producer[x], k, c)
        readers = [view.producer[names[reader]] for reader in fold.readers]
        if fold.aligned:
            _relabel(view, x, readers, float(k[0]))
            continue
        for o in readers:
            _scale_weights(view, view.constant_tensor(view.inputs(o)[1]), 1 / k, -1)
    return serialize(model)


def _relabel(view: SubgraphView, x: int, readers: list[int], k: float) -> None:
    """The rest of an aligned fold (the producer's scales already ×k): x's scale ×k, so its
    codes stay; y on ``output_grid``; the readers' weight scales ×1/k with their codes kept,
    their int32 biases expressed again in the new s_input·s_weight."""
    qx = view.tensor(x).quantization
    qx.scale = [float(np.float32(qx.scale[0] * k))]
    y = view.inputs(readers[0])[0]
    grid = output_grid("hardswish", qx.scale[0], int(qx.zeroPoint[0]))  # times x: hardswish
    view.tensor(y).quantization.scale = [grid[0]]
    view.tensor(y).quantization.zeroPoint = [grid[1]]
    for o in readers:
        ins = view.inputs(o)
        weights = view.tensor(view.constant_tensor(ins[1])).quantization
        weights.scale = [float(np.float32(s / k)) for s in weights.scale]
        if len(ins) < 3 or ins[2] < 0:
            continue
        bias = view.tensor(ins[2])
        real = stored(view.model, bias, np.int32) * np.asarray(bias.quantization.scale)
        unit = (np.float32(grid[0]) * np.asarray(weights.scale, np.float32)).astype(np.float64)
        info = np.iinfo(np.int32)
        store(view.model, bias, np.clip(np.rint(real / unit), info.min, info.max).astype(np.int32))
        bias.quantization.scale = [float(u) for u in unit]


def _reader_fits(view: SubgraphView, o: int, aligned: bool) -> bool:
    """Whether reader ``o`` is what its fold can rescale: int8 weights and an int32 bias with a
    scale (or none) for an ``aligned`` fold, float weights otherwise."""
    ins = view.inputs(o)
    if view.dtype(view.constant_tensor(ins[1])) != "INT8":
        return not aligned
    bias = ins[2] if len(ins) > 2 else -1
    int32 = bias >= 0 and view.dtype(bias) == "INT32" and view.quant(bias) is not None
    return aligned and (bias < 0 or int32)


def _int8_per_tensor(view: SubgraphView, t: int) -> bool:
    q = view.quant(t)
    return view.dtype(t) == "INT8" and q is not None and not isinstance(q["scale"], list)


def _unfoldable(view: SubgraphView, o: int) -> str | None:
    options = view.operator(o).builtinOptions
    if getattr(options, "fusedActivationFunction", 0) != schema.ActivationFunctionType.NONE:
        return "a fused activation follows it"
    ins = view.inputs(o)
    if len(ins) < 3 or ins[2] < 0:
        return "it has no bias"
    weights, bias = (view.constant_tensor(t) for t in ins[1:3])
    if weights is None or bias is None:
        return "its weights or bias are not constant"
    if view.dtype(weights) not in _STORED or view.dtype(bias) not in _STORED:
        return f"its constants are {view.dtype(weights)} and {view.dtype(bias)}"
    if view.dtype(bias) == "INT32" and view.quant(bias) is None:
        return "its int32 bias has no scale"
    q = view.tensor(weights).quantization
    axis = _PRODUCERS[view.ops[o]] % len(view.shape(weights))
    if view.dtype(weights) == "INT8" and len(q.scale) > 1 and q.quantizedDimension != axis:
        return "its int8 weights are quantized per channel on another axis than its outputs"
    if _shared(view, ins[1]) or _shared(view, ins[2]):
        return "it shares its weights or bias with another op"
    return None


def _shared(view: SubgraphView, t: int) -> bool:
    """Whether another op reads constant ``t`` too (a fold would change that op as well)."""
    return len(view.consumers.get(t, [])) > 1


def _scale_producer(view: SubgraphView, o: int, k: np.ndarray, c: np.ndarray) -> None:
    """Output channel j of layer ``o`` times k_j, plus c_j."""
    weights, bias = (view.constant_tensor(t) for t in view.inputs(o)[1:3])
    _scale_weights(view, weights, k, _PRODUCERS[view.ops[o]])
    tensor = view.tensor(bias)
    if view.dtype(bias) == "INT32":  # in the scale s_input·s_weight: follows the weights' k
        scale = np.broadcast_to(np.asarray(tensor.quantization.scale, np.float64), k.shape) * k
        codes = _values(view, bias).astype(np.int64) + np.rint(c / scale).astype(np.int64)
        info = np.iinfo(np.int32)
        store(view.model, tensor, np.clip(codes, info.min, info.max).astype(np.int32))
        _per_channel(tensor, scale, 0)
    else:
        values = _values(view, bias).astype(np.float64) * k + c
        store(view.model, tensor, values.astype(_STORED[view.dtype(bias)]))


def _scale_weights(view: SubgraphView, t: int, factor: np.ndarray, axis: int) -> None:
    """Channel j of constant ``t`` along ``axis`` times factor_j. Float values in place; int8
    (a producer's) by its scales, per output channel."""
    tensor, values = view.tensor(t), _values(view, t)
    axis %= values.ndim
    shape = [1] * values.ndim
    shape[axis] = factor.size
    if view.dtype(t) != "INT8":
        store(view.model, tensor, (values * factor.reshape(shape)).astype(values.dtype))
        return
    scale = np.broadcast_to(np.asarray(tensor.quantization.scale, np.float64), factor.shape)
    _per_channel(tensor, scale * factor, axis)


def _per_channel(tensor, scale: np.ndarray, axis: int) -> None:
    q = tensor.quantization
    q.scale = [float(s) for s in scale]
    q.zeroPoint = [0] * len(q.scale)
    q.quantizedDimension = axis


def _values(view: SubgraphView, t: int) -> np.ndarray:
    """A constant's stored values (codes for int8/int32), shaped."""
    return stored(view.model, view.tensor(t), _STORED[view.dtype(t)]).reshape(view.shape(t))


def _range(view: SubgraphView, t: int) -> tuple[float, float]:
    q = view.quant(t)
    if view.dtype(t) != "INT8" or q is None or isinstance(q["scale"], list):
        return (-np.inf, np.inf)
    return tuple(q["scale"] * (code - q["zero_point"]) for code in _INT8)
