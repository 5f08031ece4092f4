"""Small multi-op TFLite models built with the official schema object API (no TensorFlow).

``ModelBuilder`` collects operator codes, buffers and subgraphs; ``Graph`` adds tensors and
operators to one subgraph. The ``*_model`` functions build the models the TFLite inspect tests
use; each returns the flatbuffer bytes (all but ``custom_op_model`` load in LiteRT).
"""

from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

__all__ = [
    "Graph",
    "ModelBuilder",
    "custom_op_model",
    "float16_weights_model",
    "float_model",
    "hard_swish_model",
    "int8_model",
    "pack",
    "se_block_model",
    "two_subgraph_model",
    "unpack",
]

_PLACEHOLDER = schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES  # 127
_NUMPY_TYPES = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "INT32": np.int32,
    "INT8": np.int8,
    "UINT8": np.uint8,
}


class ModelBuilder:
    """Operator codes (deduplicated), buffers (buffer 0 is the empty one) and subgraphs."""

    def __init__(self, description: str = "edgeact test model"):
        self.model = schema.ModelT()
        self.model.version = 3
        self.model.description = description
        self.model.operatorCodes = []
        self.model.subgraphs = []
        self.model.buffers = [schema.BufferT()]
        self.model.signatureDefs = []
        self._codes: dict[tuple[str, str | None, int], int] = {}

    def opcode(self, op: str, *, version: int = 1, custom: str | None = None) -> int:
        key = (op, custom, version)
        if key not in self._codes:
            code = schema.OperatorCodeT()
            builtin = getattr(schema.BuiltinOperator, op)
            code.builtinCode = builtin
            code.deprecatedBuiltinCode = min(builtin, _PLACEHOLDER)
            code.version = version
            if custom is not None:
                code.customCode = custom.encode()
            self._codes[key] = len(self.model.operatorCodes)
            self.model.operatorCodes.append(code)
        return self._codes[key]

    def buffer(self, data: np.ndarray | None) -> int:
        buf = schema.BufferT()
        if data is not None:
            buf.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
        self.model.buffers.append(buf)
        return len(self.model.buffers) - 1

    def subgraph(self, name: str) -> Graph:
        sg = schema.SubGraphT()
        sg.name = name
        sg.tensors, sg.operators, sg.inputs, sg.outputs = [], [], [], []
        self.model.subgraphs.append(sg)
        return Graph(self, sg, len(self.model.subgraphs) - 1)

    def signature(self, key: str, graph: Graph) -> None:
        sig = schema.SignatureDefT()
        sig.signatureKey = key
        sig.subgraphIndex = graph.index

        def tmap(i):
            m = schema.TensorMapT()
            m.name = graph.sg.tensors[i].name
            m.tensorIndex = i
            return m

        sig.inputs = [tmap(i) for i in graph.sg.inputs]
        sig.outputs = [tmap(i) for i in graph.sg.outputs]
        self.model.signatureDefs.append(sig)

    def build(self) -> bytes:
        return pack(self.model)


class Graph:
    """One subgraph under construction."""

    def __init__(self, mb: ModelBuilder, sg, index: int):
        self.mb, self.sg, self.index = mb, sg, index

    def tensor(self, name, shape, dtype="FLOAT32", *, data=None, quant=None) -> int:
        """A tensor; ``data`` makes it a constant, ``quant`` is (scale, zero_point) or lists."""
        t = schema.TensorT()
        t.name = name
        t.shape = [int(d) for d in shape]
        t.type = getattr(schema.TensorType, dtype)
        t.buffer = 0
        if data is not None:
            t.buffer = self.mb.buffer(np.asarray(data, dtype=_NUMPY_TYPES[dtype]).reshape(shape))
        if quant is not None:
            scale, zero_point = quant
            q = schema.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            q.zeroPoint = [int(z) for z in np.atleast_1d(zero_point)]
            t.quantization = q
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def op(self, op, inputs, outputs, *, options=None, version=1, custom=None, **fields) -> int:
        """An operator; ``options`` names the schema's ...Options table, ``fields`` set it."""
        o = schema.OperatorT()
        o.opcodeIndex = self.mb.opcode(op, version=version, custom=custom)
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        if options is not None:
            opts = getattr(schema, options + "T")()
            for field, value in fields.items():
                setattr(opts, field, value)
            o.builtinOptionsType = getattr(schema.BuiltinOptions, options)
            o.builtinOptions = opts
        elif custom is not None:
            o.customOptions = []
        self.sg.operators.append(o)
        return len(self.sg.operators) - 1

    def io(self, inputs, outputs) -> None:
        self.sg.inputs = list(inputs)
        self.sg.outputs = list(outputs)


_ACT = schema.ActivationFunctionType
_RNG = np.random.default_rng(0)


def _w(*shape):
    return _RNG.standard_normal(shape).astype(np.float32) * 0.3


def float_model() -> bytes:
    """CONV_2D(fused RELU6) -> LOGISTIC·x (SiLU) -> FULLY_CONNECTED(fused RELU) -> GELU."""
    mb = ModelBuilder("float32 conv-silu-fc-gelu")
    g = mb.subgraph("main")
    x = g.tensor("x", [1, 4, 4, 3])
    w = g.tensor("conv/w", [4, 3, 3, 3], data=_w(4, 3, 3, 3))
    b = g.tensor("conv/b", [4], data=_w(4))
    c = g.tensor("conv", [1, 4, 4, 4])
    s = g.tensor("sigmoid", [1, 4, 4, 4])
    m = g.tensor("silu", [1, 4, 4, 4])
    fw = g.tensor("fc/w", [8, 64], data=_w(8, 64))
    fb = g.tensor("fc/b", [8], data=_w(8))
    f = g.tensor("fc", [1, 8])
    y = g.tensor("y", [1, 8])
    g.op("CONV_2D", [x, w, b], [c], options="Conv2DOptions", padding=schema.Padding.SAME,
         strideW=1, strideH=1, fusedActivationFunction=_ACT.RELU6)  # fmt: skip
    g.op("LOGISTIC", [c], [s])
    g.op("MUL", [s, c], [m], options="MulOptions")
    g.op("FULLY_CONNECTED", [m, fw, fb], [f], options="FullyConnectedOptions",
         fusedActivationFunction=_ACT.RELU)  # fmt: skip
    g.op("GELU", [f], [y], options="GeluOptions", approximate=False)
    g.io([x], [y])
    mb.signature("serving_default", g)
    return mb.build()


def float16_weights_model() -> bytes:
    """FLOAT16 weights -> DEQUANTIZE -> FULLY_CONNECTED(fused RELU6) -> MUL(x, LOGISTIC(x))."""
    mb = ModelBuilder("float16-weight fc-silu")
    g = mb.subgraph("main")
    x = g.tensor("x", [1, 8])
    w16 = g.tensor("fc/w_f16", [4, 8], "FLOAT16", data=_w(4, 8))
    w = g.tensor("fc/w", [4, 8])
    b16 = g.tensor("fc/b_f16", [4], "FLOAT16", data=_w(4))
    b = g.tensor("fc/b", [4])
    f = g.tensor("fc", [1, 4])
    s = g.tensor("sigmoid", [1, 4])
    y = g.tensor("y", [1, 4])
    g.op("DEQUANTIZE", [w16], [w], version=3)
    g.op("DEQUANTIZE", [b16], [b], version=3)
    g.op("FULLY_CONNECTED", [x, w, b], [f], options="FullyConnectedOptions",
         fusedActivationFunction=_ACT.RELU6)  # fmt: skip
    g.op("LOGISTIC", [f], [s])
    g.op("MUL", [f, s], [y], options="MulOptions")  # x first: either operand order is SiLU
    g.io([x], [y])
    return mb.build()


def se_block_model() -> bytes:
    """Squeeze-and-excitation: MEAN -> FC(RELU) -> FC -> LOGISTIC -> MUL with the block input."""
    mb = ModelBuilder("se block")
    g = mb.subgraph("main")
    x = g.tensor("x", [1, 4, 4, 8])
    axes = g.tensor("mean/axes", [2], "INT32", data=[1, 2])
    m = g.tensor("mean", [1, 8])
    w1 = g.tensor("fc1/w", [2, 8], data=_w(2, 8))
    f1 = g.tensor("fc1", [1, 2])
    w2 = g.tensor("fc2/w", [8, 2], data=_w(8, 2))
    f2 = g.tensor("fc2", [1, 8])
    s = g.tensor("gate", [1, 8])
    y = g.tensor("y", [1, 4, 4, 8])
    g.op("MEAN", [x, axes], [m], options="ReducerOptions", keepDims=False)
    g.op("FULLY_CONNECTED", [m, w1, -1], [f1], options="FullyConnectedOptions",
         fusedActivationFunction=_ACT.RELU)  # fmt: skip
    g.op("FULLY_CONNECTED", [f1, w2, -1], [f2], options="FullyConnectedOptions")
    g.op("LOGISTIC", [f2], [s])
    g.op("MUL", [x, s], [y], options="MulOptions")
    g.io([x], [y])
    return mb.build()


X_Q = (0.05, -3)  # int8 (scale, zero_point) of the int8 model's input
FC_Q = (0.04, -10)
HS_Q = (0.03, -20)
Y_Q = (0.025, -8)


def int8_model() -> bytes:
    """Full int8: FULLY_CONNECTED(fused RELU) -> HARD_SWISH -> LEAKY_RELU(alpha 0.1)."""
    mb = ModelBuilder("int8 fc-hardswish-leakyrelu")
    g = mb.subgraph("main")
    w_scale = 0.01
    x = g.tensor("x", [1, 8], "INT8", quant=X_Q)
    w = g.tensor("fc/w", [4, 8], "INT8", data=_RNG.integers(-100, 100, (4, 8)),
                 quant=(w_scale, 0))  # fmt: skip
    b = g.tensor("fc/b", [4], "INT32", data=_RNG.integers(-50, 50, 4),
                 quant=(X_Q[0] * w_scale, 0))  # fmt: skip
    f = g.tensor("fc", [1, 4], "INT8", quant=FC_Q)
    h = g.tensor("hardswish", [1, 4], "INT8", quant=HS_Q)
    y = g.tensor("y", [1, 4], "INT8", quant=Y_Q)
    g.op("FULLY_CONNECTED", [x, w, b], [f], options="FullyConnectedOptions", version=4,
         fusedActivationFunction=_ACT.RELU)  # fmt: skip
    g.op("HARD_SWISH", [f], [h], options="HardSwishOptions")
    g.op("LEAKY_RELU", [h], [y], options="LeakyReluOptions", version=2, alpha=0.1)
    g.io([x], [y])
    return mb.build()


def custom_op_model() -> bytes:
    """x -> RELU -> custom "EdgeactMystery" -> y (LiteRT cannot run it)."""
    mb = ModelBuilder("custom op")
    g = mb.subgraph("main")
    x = g.tensor("x", [1, 8])
    r = g.tensor("relu", [1, 8])
    y = g.tensor("y", [1, 8])
    g.op("RELU", [x], [r])
    g.op("CUSTOM", [r], [y], custom="EdgeactMystery")
    g.io([x], [y])
    return mb.build()


def two_subgraph_model() -> bytes:
    """Two signatures: "main" (TANH) and "extra" (ELU, ADD(fused RELU_N1_TO_1), PRELU,
    RELU_0_TO_1, GELU(approximate), RELU6, RELU)."""
    mb = ModelBuilder("two subgraphs")
    g = mb.subgraph("main")
    x = g.tensor("x", [1, 4])
    y = g.tensor("y", [1, 4])
    g.op("TANH", [x], [y])
    g.io([x], [y])
    mb.signature("main", g)

    h = mb.subgraph("extra")
    names = ["elu", "add", "prelu", "relu01", "gelu", "relu6", "z"]
    a = h.tensor("a", [1, 4])
    e, s, p, r01, ge, r6, z = (h.tensor(n, [1, 4]) for n in names)
    alpha = h.tensor("prelu/alpha", [4], data=[0.1, 0.2, 0.3, 0.4])
    h.op("ELU", [a], [e])
    h.op("ADD", [e, a], [s], options="AddOptions", fusedActivationFunction=_ACT.RELU_N1_TO_1)
    h.op("PRELU", [s, alpha], [p])
    h.op("RELU_0_TO_1", [p], [r01])
    h.op("GELU", [r01], [ge], options="GeluOptions", approximate=True)
    h.op("RELU6", [ge], [r6])
    h.op("RELU", [r6], [z])
    h.io([a], [z])
    mb.signature("extra", h)
    return mb.build()


def unpack(data: bytes):
    """The ``ModelT`` of a model's bytes (tests mutate it to make broken models)."""
    return schema.ModelT.InitFromPackedBuf(data, 0)


def pack(model) -> bytes:
    """Serialise a ``ModelT`` with the TFLite file identifier."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def hard_swish_model() -> bytes:
    """Decomposed hard activations: two hard-swish chains (both orders), a hard-sigmoid gate and
    an ADD(+3, fused RELU6) that is not followed by /6 (no match)."""
    mb = ModelBuilder("decomposed hardswish")
    g = mb.subgraph("main")
    x = g.tensor("x", [1, 8])
    three = g.tensor("three", [1], data=[3.0])
    six = g.tensor("six", [1], data=[6.0])
    sixth = g.tensor("sixth", [1], data=[1 / 6])
    names = ["a1", "m1", "h1", "a2", "r2", "g2", "h2", "a3", "g3", "y", "a4"]
    a1, m1, h1, a2, r2, g2, h2, a3, g3, y, a4 = (g.tensor(n, [1, 8]) for n in names)
    relu6 = {"fusedActivationFunction": _ACT.RELU6}
    g.op("ADD", [x, three], [a1], options="AddOptions", **relu6)  # 0
    g.op("MUL", [x, a1], [m1], options="MulOptions")  # 1
    g.op("DIV", [m1, six], [h1], options="DivOptions")  # 2: h1 = hardswish(x)
    g.op("ADD", [three, h1], [a2], options="AddOptions")  # 3
    g.op("RELU6", [a2], [r2])  # 4
    g.op("MUL", [sixth, r2], [g2], options="MulOptions")  # 5
    g.op("MUL", [g2, h1], [h2], options="MulOptions")  # 6: h2 = hardswish(h1)
    g.op("ADD", [h2, three], [a3], options="AddOptions", **relu6)  # 7
    g.op("MUL", [a3, sixth], [g3], options="MulOptions")  # 8: g3 = hardsigmoid(h2)
    g.op("MUL", [x, g3], [y], options="MulOptions")  # 9: a gate on x
    g.op("ADD", [y, three], [a4], options="AddOptions", **relu6)  # 10: relu6(y+3), no /6
    g.io([x], [a4])
    return mb.build()
