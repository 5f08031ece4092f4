"""Value ranges of a model's inputs that the model itself states, for verification's samples.

Random N(0, 2²) floats and integers in [0, 4) fit any model, but they miss values the model is
made for: an input quantized at once (QuantizeLinear with a constant scale and zero point) can
only carry its codes' range, so normal samples clip to its ends; token ids that index an
embedding table (Gather of an initializer) can reach every row, not only the first four.
"""

import numpy as np
import onnx

from edgeact.converters.onnx._graph import GraphView

__all__ = ["input_ranges"]

_CODE_RANGES = {np.dtype(np.uint8): (0, 255), np.dtype(np.int8): (-128, 127)}


def input_ranges(model: onnx.ModelProto) -> dict[str, tuple[float, float, str]]:
    """{input name: (low, high, why)} for the main graph's inputs whose range the graph states;
    floats are drawn in [low, high], integers in [low, high)."""
    view = GraphView.of_graph(model.graph, "main")
    dims = {t.name: tuple(t.dims) for t in model.graph.initializer}  # no copy of a big table
    readers: dict[str, list[tuple[int, onnx.NodeProto]]] = {}
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            readers.setdefault(name, []).append((i, node))
    ranges = {}
    for graph_input in model.graph.input:
        found = [
            r for i, n in readers.get(graph_input.name, []) if (r := _stated(view, dims, i, n))
        ]
        # the narrowest: every reader must get values it is made for (none if they disagree)
        low, high = max((r[0] for r in found), default=0), min((r[1] for r in found), default=0)
        if low < high:
            ranges[graph_input.name] = (low, high, "; ".join(dict.fromkeys(r[2] for r in found)))
    return ranges


def _stated(view: GraphView, dims: dict, i: int, node: onnx.NodeProto) -> tuple | None:
    if node.op_type == "QuantizeLinear" and i == 0 and len(node.input) > 1:
        scale = view.const(node.input[1])
        zero = view.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if scale is None or scale.size != 1 or not np.isfinite(scale).all() or scale.item() <= 0:
            return None
        dtype = zero.dtype if zero is not None else np.dtype(np.uint8)
        if dtype not in _CODE_RANGES or (zero is not None and zero.size != 1):
            return None
        z = int(zero.item()) if zero is not None else 0
        q_lo, q_hi = _CODE_RANGES[dtype]
        s = float(scale.item())
        return s * (q_lo - z), s * (q_hi - z), f"the range of its {dtype} quantization"
    if node.op_type == "Gather" and i == 1:
        shape = dims.get(node.input[0])
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        if shape is None or not -len(shape) <= axis < len(shape) or shape[axis] < 1:
            return None
        return 0, int(shape[axis]), f"the rows of table {node.input[0]!r}"
    return None
