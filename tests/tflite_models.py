"""Small multi-op TFLite models built with the official schema object API (no TensorFlow).

``ModelBuilder`` and ``Graph`` (from ``edgeact.converters.tflite._build``) collect operator
codes, buffers, subgraphs, tensors and operators. The ``*_model`` functions build the models the
TFLite inspect and convert tests use; each returns the flatbuffer bytes (all but the custom-op
models load in LiteRT).
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from edgeact.converters.tflite._build import Graph, ModelBuilder
from edgeact.converters.tflite._writer import serialize
from edgeact.quant import QuantParams

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
    return serialize(model)


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


# ---- one activation after a FULLY_CONNECTED, in three flavours (the converter's swap tests) ----

FLAVOURS = ("float32", "float16", "int8")
ACT_WIDTH = 32
ACT_X_Q = (0.05, 0)  # int8 input
ACT_H_Q = (0.05, 0)  # int8 FULLY_CONNECTED output: ±6.4
# int8 output parameters per activation (LOGISTIC and TANH: the ranges LiteRT requires)
ACT_Y_Q = {
    "silu": (0.03, -118),
    "gelu": (0.03, -122),
    "relu": (0.03, -128),
    "relu_fused": (0.03, -128),
    "tanh": (1 / 128, 0),
    "sigmoid": (1 / 256, -128),
    "leaky_relu": (0.03, -20),
    "elu": (0.03, -90),
    "prelu": (0.03, -20),
    "prelu_channels": (0.03, -20),
}
ACTIVATIONS = tuple(ACT_Y_Q)


def activation_model(activation: str, flavour: str) -> bytes:
    """x -> FULLY_CONNECTED -> ``activation`` -> y, with a "serving_default" signature.

    ``flavour``: "float32", "float16" (weights stored as FLOAT16 behind DEQUANTIZE ops) or
    "int8" (everything int8 per tensor, bias int32). ``activation`` is a key of ``ACT_Y_Q``:
    "silu" is LOGISTIC·x, "relu_fused" the FULLY_CONNECTED's fused RELU, "prelu" a scalar slope,
    "prelu_channels" one slope per channel.
    """
    mb = ModelBuilder(f"{flavour} fc-{activation}")
    g = mb.subgraph("main")
    int8 = flavour == "int8"
    n = ACT_WIDTH
    rng = np.random.default_rng(7)
    w, b = rng.normal(0, 0.12, (n, n)), rng.normal(0, 0.5, n)

    def act(name, q):
        return g.tensor(name, [1, n], "INT8", quant=q) if int8 else g.tensor(name, [1, n])

    x = act("x", ACT_X_Q)
    if int8:
        w_scale = 0.004
        wt = g.tensor("fc/w", [n, n], "INT8", data=np.rint(w / w_scale), quant=(w_scale, 0))
        bias_scale = ACT_X_Q[0] * w_scale
        bt = g.tensor("fc/b", [n], "INT32", data=np.rint(b / bias_scale), quant=(bias_scale, 0))
    elif flavour == "float16":
        w16, b16 = (
            g.tensor("fc/w_f16", [n, n], "FLOAT16", data=w),
            g.tensor("fc/b_f16", [n], "FLOAT16", data=b),
        )
        wt, bt = g.tensor("fc/w", [n, n]), g.tensor("fc/b", [n])
        g.op("DEQUANTIZE", [w16], [wt], version=3)
        g.op("DEQUANTIZE", [b16], [bt], version=3)
    else:
        wt, bt = g.tensor("fc/w", [n, n], data=w), g.tensor("fc/b", [n], data=b)
    y_q = ACT_Y_Q[activation]
    fused = _ACT.RELU if activation == "relu_fused" else _ACT.NONE
    h = act("y" if activation == "relu_fused" else "fc", y_q if fused else ACT_H_Q)
    g.op("FULLY_CONNECTED", [x, wt, bt], [h], options="FullyConnectedOptions",
         version=4 if int8 else 1, fusedActivationFunction=fused)  # fmt: skip
    v2 = 2 if int8 else 1
    y = h
    if activation != "relu_fused":
        y = act("y", y_q)
    if activation == "silu":
        s = act("sigmoid", (1 / 256, -128))
        g.op("LOGISTIC", [h], [s], version=v2)
        g.op("MUL", [s, h], [y], options="MulOptions", version=v2)
    elif activation == "gelu":
        g.op("GELU", [h], [y], options="GeluOptions", version=v2, approximate=False)
    elif activation == "relu":
        g.op("RELU", [h], [y], version=v2)
    elif activation in ("tanh", "sigmoid"):
        g.op({"tanh": "TANH", "sigmoid": "LOGISTIC"}[activation], [h], [y], version=v2)
    elif activation == "leaky_relu":
        g.op("LEAKY_RELU", [h], [y], options="LeakyReluOptions", alpha=0.1)
    elif activation == "elu":
        g.op("ELU", [h], [y])
    elif activation.startswith("prelu"):
        k = 1 if activation == "prelu" else n
        slope = np.linspace(0.1, 0.3, k)
        if int8:
            alpha = g.tensor(
                "prelu/alpha", [k], "INT8", data=np.rint(slope / 0.0025), quant=(0.0025, 0)
            )
        else:
            alpha = g.tensor("prelu/alpha", [k], data=slope)
        g.op("PRELU", [h, alpha], [y])
    g.io([x], [y])
    mb.signature("serving_default", g)
    return mb.build()


def two_silu_model() -> bytes:
    """x -> FC -> h; y = silu(h) + silu(h) through two separate LOGISTIC·x chains (errors add)."""
    mb = ModelBuilder("two silu")
    g = mb.subgraph("main")
    n = ACT_WIDTH
    rng = np.random.default_rng(3)
    x = g.tensor("x", [1, n])
    w = g.tensor("fc/w", [n, n], data=rng.normal(0, 0.3, (n, n)))
    h = g.tensor("fc", [1, n])
    g.op("FULLY_CONNECTED", [x, w, -1], [h], options="FullyConnectedOptions")
    outs = []
    for k in (1, 2):
        s, m = g.tensor(f"sigmoid{k}", [1, n]), g.tensor(f"silu{k}", [1, n])
        g.op("LOGISTIC", [h], [s])
        g.op("MUL", [h, s], [m], options="MulOptions")
        outs.append(m)
    y = g.tensor("y", [1, n])
    g.op("ADD", outs, [y], options="AddOptions")
    g.io([x], [y])
    return mb.build()


def custom_activation_model() -> bytes:
    """x -> custom op "Swish" -> y: a SiLU edgeact cannot rewrite (unknown semantics)."""
    mb = ModelBuilder("custom swish")
    g = mb.subgraph("main")
    x, y = g.tensor("x", [1, 8]), g.tensor("y", [1, 8])
    g.op("CUSTOM", [x], [y], custom="Swish")
    g.io([x], [y])
    return mb.build()


def external_buffers(data: bytes) -> bytes:
    """The same model with every constant stored after the flatbuffer (Buffer.offset/size), as
    the TFLite converter writes models over 2 GB."""
    model = unpack(data)
    blobs = {i: bytes(b.data) for i, b in enumerate(model.buffers) if b.data is not None}
    for i in blobs:  # placeholder values of the final width, so the flatbuffer keeps its size
        model.buffers[i].data, model.buffers[i].offset, model.buffers[i].size = None, 2**40, 1
    head = len(pack(model))
    tail, offset = b"", head + (-head % 16)
    for i, blob in blobs.items():
        model.buffers[i].offset, model.buffers[i].size = offset + len(tail), len(blob)
        tail += blob + b"\0" * (-len(blob) % 16)
    flat = pack(model)
    assert len(flat) == head
    return flat + b"\0" * (-head % 16) + tail


# --- activation-only models (they also run under the emulated-arm64 CI) -----------------------
SILU_X_Q = QuantParams(0.05, 0, "int8")
SIGMOID_Q = QuantParams(1 / 256, -128, "int8")  # LOGISTIC's required int8 output
SILU_Y_Q = QuantParams(0.04, -100, "int8")  # silu(x) for x in [-6.4, 6.35] fits [-1.12, 9.08]


def _qp(p: QuantParams) -> tuple[float, int]:
    return (p.scale, p.zero_point)


def silu_only_model(int8: bool, dynamic_batch: bool = False) -> bytes:
    """x -> LOGISTIC -> MUL(x, ·) -> y, float32 or int8; [-1, 256] with ``dynamic_batch``.

    Activation ops only: LiteRT's FULLY_CONNECTED/CONV_2D crash under the arm64 emulation."""
    mb = ModelBuilder("silu")
    g = mb.subgraph("main")
    dtype = "INT8" if int8 else "FLOAT32"
    x = g.tensor("x", [1, 256], dtype, quant=_qp(SILU_X_Q) if int8 else None)
    s = g.tensor("s", [1, 256], dtype, quant=_qp(SIGMOID_Q) if int8 else None)
    y = g.tensor("y", [1, 256], dtype, quant=_qp(SILU_Y_Q) if int8 else None)
    for t in (x, s, y) if dynamic_batch else ():
        g.sg.tensors[t].shapeSignature = [-1, 256]
    g.op("LOGISTIC", [x], [s], version=2 if int8 else 1)
    g.op("MUL", [x, s], [y], options="MulOptions", version=2 if int8 else 1)
    g.io([x], [y])
    return mb.build()


def single_op_model(op: str, **options) -> bytes:
    """x[1, 256] -> one ``op`` -> y, float32."""
    mb = ModelBuilder(op)
    g = mb.subgraph("main")
    x, y = g.tensor("x", [1, 256]), g.tensor("y", [1, 256])
    g.op(op, [x], [y], **options)
    g.io([x], [y])
    return mb.build()


def mlp_model(
    activation: str = "silu",
    flavour: str = "float32",
    width: int = 32,
    hidden: int = 64,
    conv: bool = False,
) -> bytes:
    """x -> FULLY_CONNECTED -> ``activation`` ("silu": LOGISTIC·x, "mish": TF's
    EXP·ADD·LOG·TANH·MUL, or "gelu") -> FULLY_CONNECTED -> y, biases ~ N(0, 0.5²): a transformer
    MLP for accuracy recovery; ``conv``: the mobile block, 1×1 CONV_2Ds over a 4×4 NHWC image
    instead. ``flavour``: "float32", "float16" (weights and biases FLOAT16 behind DEQUANTIZE) or
    "int8" (per-tensor int8, int32 biases in the scale s_input·s_weight)."""
    rng = np.random.default_rng(7)
    lead = [1, 4, 4] if conv else [1]
    mb = ModelBuilder(f"{flavour} {'conv' if conv else 'mlp'}-{activation}")
    g = mb.subgraph("main")
    int8 = flavour == "int8"
    act_q = (0.05, 0)  # every int8 activation tensor: ±6.4
    weights = {
        "fc1": (rng.standard_normal((hidden, width)) / 5, rng.standard_normal(hidden) * 0.5),
        "fc2": (rng.standard_normal((width, hidden)) / 8, rng.standard_normal(width) * 0.5),
    }

    def act(name, n, q=act_q):
        return g.tensor(name, [*lead, n], "INT8", quant=q) if int8 else g.tensor(name, [*lead, n])

    def constants(layer):
        w, b = weights[layer]
        w = w.reshape(len(b), 1, 1, -1) if conv else w  # OHWI filters
        if int8:
            w_scale = float(np.abs(w).max()) / 127
            codes = np.clip(np.rint(w / w_scale), -127, 127)
            wt = g.tensor(f"{layer}/w", list(w.shape), "INT8", data=codes, quant=(w_scale, 0))
            b_scale = act_q[0] * w_scale
            bt = g.tensor(f"{layer}/b", [len(b)], "INT32", data=np.rint(b / b_scale),
                          quant=(b_scale, 0))  # fmt: skip
            return wt, bt
        if flavour == "float16":
            tensors = []
            for part, value in (("w", w), ("b", b)):
                stored = g.tensor(f"{layer}/{part}_f16", list(value.shape), "FLOAT16", data=value)
                tensors.append(g.tensor(f"{layer}/{part}", list(value.shape)))
                g.op("DEQUANTIZE", [stored], [tensors[-1]], version=3)
            return tuple(tensors)
        return g.tensor(f"{layer}/w", list(w.shape), data=w), g.tensor(
            f"{layer}/b", [len(b)], data=b
        )

    def layer(inputs, outputs):
        if conv:
            g.op("CONV_2D", inputs, outputs, options="Conv2DOptions", padding=schema.Padding.SAME,
                 strideW=1, strideH=1, version=3 if int8 else 1)  # fmt: skip
        else:
            g.op("FULLY_CONNECTED", inputs, outputs, options="FullyConnectedOptions",
                 version=4 if int8 else 1)  # fmt: skip

    x, h, a, y = act("x", width), act("fc1", hidden), act("act", hidden), act("y", width)
    layer([x, *constants("fc1")], [h])
    if activation == "silu":
        s = act("sigmoid", hidden, (1 / 256, -128))
        g.op("LOGISTIC", [h], [s], version=2 if int8 else 1)
        g.op("MUL", [h, s], [a], options="MulOptions", version=2 if int8 else 1)
    elif activation == "mish":  # as TF writes it: EXP -> ADD(1) -> LOG -> TANH -> MUL(x)
        v = 2 if int8 else 1
        e, s = act("exp", hidden, (32 / 255, -128)), act("exp+1", hidden, (32 / 255, -128))
        one = (g.tensor("one", [], "INT8", data=np.array(127), quant=(1 / 255, -128)) if int8
               else g.tensor("one", [], data=np.array(1.0)))  # fmt: skip
        softplus = act("softplus", hidden, (np.log(33) / 255, -128))
        t = act("tanh", hidden, (1 / 128, 0))
        g.op("EXP", [h], [e], version=v)
        g.op("ADD", [e, one], [s], options="AddOptions", version=v)
        g.op("LOG", [s], [softplus], version=v)
        g.op("TANH", [softplus], [t], version=v)
        g.op("MUL", [h, t], [a], options="MulOptions", version=v)
    else:
        g.op("GELU", [h], [a], options="GeluOptions", approximate=False, version=2 if int8 else 1)
    layer([a, *constants("fc2")], [y])
    g.io([x], [y])
    mb.signature("serving_default", g)
    return mb.build()
