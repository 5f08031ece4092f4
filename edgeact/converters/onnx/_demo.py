"""The ONNX part of ``edgeact demo``: a small model in the shapes PyTorch exports, converted.

The model is built in memory (no downloads): Conv → GELU as PyTorch writes it below opset 20
(Div(√2) → Erf → Add(1) → Mul(x) → Mul(0.5)) → SiLU as Sigmoid·x → Hardswish as other exporters
write it (Add(3) → Clip(0, 6) → Mul(x) → Div(6)). The mobile preset swaps GELU and SiLU, fusion
collapses the Hardswish chain, and verification runs both models in ONNX Runtime.
"""

import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeact.converters._swaps import preset
from edgeact.converters.onnx._convert import convert

__all__ = ["demo", "exporter_shaped_model"]

OPSET = 17
CHANNELS = 8


def exporter_shaped_model(opset: int = OPSET) -> onnx.ModelProto:
    """x[1, 8, 16, 16] → Conv → GELU (erf form) → SiLU → Hardswish (Add/Clip/Mul/Div) → y."""
    rng = np.random.default_rng(0)
    weights = rng.normal(0, 0.5, (CHANNELS, CHANNELS, 1, 1)).astype(np.float32)
    consts = {"w": weights, "sqrt2": math.sqrt(2.0), "one": 1.0, "half": 0.5}
    consts |= {"three": 3.0, "zero": 0.0, "six": 6.0}
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in consts.items()]
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "w"], ["c"], "/conv/Conv"),
        node("Div", ["c", "sqrt2"], ["g1"], "/gelu/Div"),
        node("Erf", ["g1"], ["g2"], "/gelu/Erf"),
        node("Add", ["g2", "one"], ["g3"], "/gelu/Add"),
        node("Mul", ["c", "g3"], ["g4"], "/gelu/Mul"),
        node("Mul", ["g4", "half"], ["g"], "/gelu/Mul_1"),
        node("Sigmoid", ["g"], ["s1"], "/silu/Sigmoid"),
        node("Mul", ["g", "s1"], ["s"], "/silu/Mul"),
        node("Add", ["s", "three"], ["h1"], "/hswish/Add"),
        node("Clip", ["h1", "zero", "six"], ["h2"], "/hswish/Clip"),
        node("Mul", ["s", "h2"], ["h3"], "/hswish/Mul"),
        node("Div", ["h3", "six"], ["y"], "/hswish/Div"),
    ]
    shape = [1, CHANNELS, 16, 16]
    graph = helper.make_graph(
        nodes,
        "exporter_shaped",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def demo(workdir: Path) -> list[dict]:
    """Write the model into ``workdir``, convert it with the mobile preset, return the report."""
    source = Path(workdir) / "exporter_shaped.onnx"
    onnx.save_model(exporter_shaped_model(), str(source))
    return [convert(source, Path(workdir) / "exporter_shaped.mobile.onnx", preset("mobile"))]
