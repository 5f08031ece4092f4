"""Small ONNX models in the shapes real exporters emit, built with onnx.helper.

Each builder returns a ModelProto that ``onnx.checker.check_model`` accepts. Node names follow
PyTorch's exporter (``/block/Mul_1``) so the tests can assert them.
"""

import inspect
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SQRT2 = math.sqrt(2.0)
F32 = TensorProto.FLOAT


class Builder:
    """A graph under construction: ``op`` adds a node and returns its output name."""

    def __init__(self, prefix: str = "/act", shape=(1, 8, 4, 4)):
        self.prefix, self.shape = prefix, list(shape)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.counts: dict[str, int] = {}

    def name(self, op: str) -> str:
        n = self.counts.get(op, 0)
        self.counts[op] = n + 1
        return f"{self.prefix}/{op}" + (f"_{n}" if n else "")

    def op(self, op: str, *inputs: str, domain: str = "", **attrs) -> str:
        name = self.name(op)
        out = f"{name}_output_0"
        self.nodes.append(
            helper.make_node(op, list(inputs), [out], name=name, domain=domain, **attrs)
        )
        return out

    def const(self, value, dtype=np.float32, as_node: bool = False) -> str:
        """A scalar constant: an initializer, or a Constant node as PyTorch writes them."""
        arr = np.asarray(value, dtype=dtype)
        if as_node:
            name = self.name("Constant")
            out = f"{name}_output_0"
            t = numpy_helper.from_array(arr, out)
            self.nodes.append(helper.make_node("Constant", [], [out], name=name, value=t))
            return out
        name = f"{self.prefix}/const_{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def model(
        self, out: str, opset: int, extra_opsets=(), infer=True, extra_outputs=(), elem=F32
    ) -> onnx.ModelProto:
        """The model x -> y (same shape), plus ``extra_outputs`` as (value, elem_type) pairs."""
        inputs = [helper.make_tensor_value_info("x", elem, self.shape)]
        outputs = [helper.make_tensor_value_info("y", elem, self.shape)]
        outputs += [helper.make_tensor_value_info(v, t, self.shape) for v, t in extra_outputs]
        self.nodes.append(helper.make_node("Identity", [out], ["y"], name="/out/Identity"))
        graph = helper.make_graph(self.nodes, "g", inputs, outputs, initializer=self.inits)
        opsets = [
            helper.make_opsetid("", opset),
            *(helper.make_opsetid(d, v) for d, v in extra_opsets),
        ]
        m = helper.make_model(graph, opset_imports=opsets, producer_name="pytorch")
        m.ir_version = 8 if opset <= 17 else 9 if opset <= 20 else 10
        return onnx.shape_inference.infer_shapes(m) if infer else m


# --- GELU ------------------------------------------------------------------------------------
def gelu_erf(
    b: Builder, x: str, scale: str = "div", divisor: float = SQRT2, half: str = "after", swap=False
) -> str:
    """PyTorch's erf GELU. ``half``: "after" (x·(1+erf))·0.5, "before" ((1+erf)·0.5)·x,
    "x_half" (x·0.5)·(1+erf). ``swap`` puts constants first in commutative ops."""
    if scale == "div":
        s = b.op("Div", x, b.const(divisor, as_node=True))
    else:
        c = b.const(1 / divisor, as_node=True)
        s = b.op("Mul", *((c, x) if swap else (x, c)))
    e = b.op("Erf", s)
    one = b.const(1.0, as_node=True)
    a = b.op("Add", *((one, e) if swap else (e, one)))
    h = b.const(0.5, as_node=True)
    if half == "after":
        m = b.op("Mul", *((a, x) if swap else (x, a)))
        return b.op("Mul", m, h)
    if half == "before":
        m = b.op("Mul", a, h)
        return b.op("Mul", *((x, m) if swap else (m, x)))
    xh = b.op("Mul", x, h)
    return b.op("Mul", xh, a)


def gelu_tanh(b: Builder, x: str, cube: str = "pow", c3: float = 0.044715) -> str:
    """0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) with Pow(x, 3) or x·x·x."""
    if cube == "pow":
        x3 = b.op("Pow", x, b.const(3.0))
    else:
        x3 = b.op("Mul", b.op("Mul", x, x), x)
    inner = b.op("Add", x, b.op("Mul", b.const(c3), x3))
    t = b.op("Tanh", b.op("Mul", inner, b.const(math.sqrt(2 / math.pi))))
    a = b.op("Add", b.const(1.0), t)
    return b.op("Mul", b.op("Mul", x, b.const(0.5)), a)


# --- SiLU family ------------------------------------------------------------------------------
def silu(b: Builder, x: str, swap=False) -> str:
    s = b.op("Sigmoid", x)
    return b.op("Mul", *((s, x) if swap else (x, s)))


def se_gate(b: Builder, x: str) -> str:
    """Squeeze-and-excitation: x · σ(mean over H, W of x): a sigmoid gate, not SiLU."""
    pooled = b.op("GlobalAveragePool", x)
    return b.op("Mul", x, b.op("Sigmoid", pooled))


def mish(b: Builder, x: str, times_x: bool = True) -> str:
    t = b.op("Tanh", b.op("Softplus", x))
    return b.op("Mul", x, t) if times_x else b.op("Mul", t, b.op("Relu", x))


# --- piecewise linear -------------------------------------------------------------------------
def clip(b: Builder, x: str, lo: float, hi: float, opset: int) -> str:
    """Clip with bounds as attributes (opset < 11) or constant inputs (opset >= 11)."""
    if opset < 11:
        return b.op("Clip", x, min=lo, max=hi)
    return b.op("Clip", x, b.const(lo), b.const(hi))


def hardswish_chain(
    b: Builder, x: str, opset: int = 13, add=3.0, hi=6.0, div=6.0, by="div", order="mul_first"
) -> str:
    """Add(3) → Clip(0, 6) → Mul(x) → Div(6) (or Mul(1/6); or Div before Mul)."""
    r = clip(b, b.op("Add", x, b.const(add)), 0.0, hi, opset)

    def scale(v):
        return b.op("Div", v, b.const(div)) if by == "div" else b.op("Mul", v, b.const(1 / div))

    if order == "mul_first":
        return scale(b.op("Mul", x, r))
    return b.op("Mul", scale(r), x)


def hardsigmoid_chain(b: Builder, x: str, opset: int = 13, div=6.0) -> str:
    r = clip(b, b.op("Add", x, b.const(3.0)), 0.0, 6.0, opset)
    return b.op("Div", r, b.const(div))


def hardswish_hsig(b: Builder, x: str, alpha=1 / 6) -> str:
    """PyTorch's Hardswish below opset 14: HardSigmoid(alpha=1/6)·x."""
    return b.op("Mul", x, b.op("HardSigmoid", x, alpha=alpha, beta=0.5))


def relu6_minmax(b: Builder, x: str, hi=6.0) -> str:
    return b.op("Min", b.op("Max", x, b.const(0.0)), b.const(hi))


# --- whole models -----------------------------------------------------------------------------
def single(fn, opset: int = 13, **kw) -> onnx.ModelProto:
    """A model holding one builder's chain; ``opset`` is passed on to builders that take it."""
    b = Builder()
    if "opset" in inspect.signature(fn).parameters:
        kw["opset"] = opset
    return b.model(fn(b, "x", **kw), opset)


def exporter_shaped(opset: int = 13) -> onnx.ModelProto:
    """A MobileNetV3/transformer-ish stack: GELU erf, SiLU, decomposed Hardswish, relu6, SE gate."""
    b = Builder("/blocks")
    v = b.op("Conv", "x", b.const(np.full((8, 8, 1, 1), 0.1)))
    v = gelu_erf(b, v)
    v = silu(b, v)
    v = hardswish_chain(b, v, opset=opset)
    v = clip(b, v, 0.0, 6.0, opset)
    v = se_gate(b, v)
    v = gelu_erf(b, v, scale="mul", half="x_half")
    return b.model(v, opset)


def all_single_ops(opset: int = 20) -> onnx.ModelProto:
    """One of each single-op activation, in sequence."""
    b = Builder("/ops")
    v = b.op("Relu", "x")
    v = b.op("HardSwish", v)
    v = b.op("HardSigmoid", v, alpha=1 / 6, beta=0.5)
    v = b.op("Sigmoid", v)
    v = b.op("Tanh", v)
    v = b.op("Gelu", v)
    v = b.op("Gelu", v, approximate="tanh")
    v = b.op("LeakyRelu", v, alpha=0.1)
    v = b.op("PRelu", v, b.const(np.full((8, 1, 1), 0.25)))
    v = b.op("Elu", v)
    v = b.op("Selu", v)
    v = b.op("Celu", v)
    v = b.op("Softplus", v)
    v = b.op("Mish", v)
    v = b.op("Softmax", v, axis=1)
    v = clip(b, v, 0.0, 6.0, opset)
    v = b.op("HardSigmoid", v)  # Keras defaults alpha=0.2: a near miss
    v = clip(b, v, 0.0, 5.0, opset)  # not relu6: a near miss
    return b.model(v, opset)


def microsoft_ops() -> onnx.ModelProto:
    b = Builder("/ms")
    v = b.op("Gelu", "x", domain="com.microsoft")
    v = b.op("FastGelu", v, domain="com.microsoft")
    v = b.op("QuickGelu", v, domain="com.microsoft", alpha=1.702)
    v = b.op("BiasGelu", v, b.const(np.zeros(4, np.float32)), domain="com.microsoft")
    return b.model(v, 17, extra_opsets=[("com.microsoft", 1)])


def qdq(opset: int = 13) -> onnx.ModelProto:
    """ONNX Runtime QDQ shapes: DQ → Sigmoid → Q, and SiLU with the Sigmoid output requantized."""
    b = Builder("/q")
    scale, zero = b.const(0.05), b.const(128, dtype=np.uint8)
    xq = b.op("QuantizeLinear", "x", scale, zero)
    # DQ → Sigmoid → Q, the quantized result a graph output
    x1 = b.op("DequantizeLinear", xq, scale, zero)
    sq = b.op("QuantizeLinear", b.op("Sigmoid", x1), b.const(1 / 256), zero)
    # SiLU inside QDQ: DQ(x) → Sigmoid → Q → DQ → Mul(DQ(x), ·) → Q, one DQ per consumer
    x2 = b.op("DequantizeLinear", xq, scale, zero)
    s2q = b.op("QuantizeLinear", b.op("Sigmoid", x2), b.const(1 / 256), zero)
    s2d = b.op("DequantizeLinear", s2q, b.const(1 / 256), zero)
    x3 = b.op("DequantizeLinear", xq, scale, zero)
    mq = b.op("QuantizeLinear", b.op("Mul", x3, s2d), b.const(0.01), zero)
    y = b.op("DequantizeLinear", mq, b.const(0.01), zero)
    return b.model(y, opset, extra_outputs=[(sq, TensorProto.UINT8)])


def with_subgraphs(opset: int = 17, cond: bool | None = True) -> onnx.ModelProto:
    """An If whose branches hold a SiLU and a Relu, and a model-local function with a Hardswish.

    The If takes its ``cond`` constant; None: the computed max(x) < -100, false for any sample
    of normal floats."""
    then_b, else_b = Builder("/then"), Builder("/else")
    t_out = silu(then_b, "x")
    e_out = else_b.op("Relu", "x")
    branches = []
    for bb, out in ((then_b, t_out), (else_b, e_out)):
        g = helper.make_graph(
            bb.nodes,
            "branch",
            [],
            [helper.make_tensor_value_info(out, F32, [1, 8, 4, 4])],
            initializer=bb.inits,
        )
        branches.append(g)
    b = Builder("/top")
    if cond is None:
        cond = b.op("Less", b.op("ReduceMax", "x", keepdims=0), b.const(-100.0))
    else:
        cond = b.const(cond, dtype=np.bool_)
    v = b.op("If", cond, then_branch=branches[0], else_branch=branches[1])
    fb = Builder("/fn")
    f_out = hardswish_hsig(fb, "fx")
    fn = helper.make_function(
        "local", "HSwishBlock", ["fx"], [f_out], fb.nodes, [helper.make_opsetid("", opset)]
    )
    v = b.op("HSwishBlock", v, domain="local")
    m = b.model(v, opset, extra_opsets=[("local", 1)], infer=False)
    m.functions.append(fn)
    return m


# --- layers with biases, for accuracy recovery ---------------------------------------------------
def weight(b: Builder, name: str, array) -> str:
    """A float32 initializer of ``b`` named ``name``."""
    b.inits.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
    return name


def mlp_block(act: Callable, shape=(1, 16, 32), hidden=64, seed=7) -> onnx.ModelProto:
    """A transformer MLP: MatMul+Add → activation → MatMul+Add, biases ~ N(0, 0.5²)."""
    rng = np.random.default_rng(seed)
    b = Builder("/mlp", shape=shape)
    d = shape[-1]
    w1 = weight(b, "w1", rng.standard_normal((d, hidden)) / np.sqrt(d))
    w2 = weight(b, "w2", rng.standard_normal((hidden, d)) / np.sqrt(hidden))
    b1, b2 = (weight(b, n, rng.standard_normal(k) * 0.5) for n, k in (("b1", hidden), ("b2", d)))
    h = act(b, b.op("Add", b.op("MatMul", "x", w1), b1))
    return b.model(b.op("Add", b.op("MatMul", h, w2), b2), 17)


def conv_chain(swaps: int = 2, bias: bool = True, seed=7) -> onnx.ModelProto:
    """A mobile-style stack: (Conv 1×1 → SiLU) × ``swaps`` → Conv, 8 channels."""
    rng = np.random.default_rng(seed)
    b = Builder("/mobile", shape=(1, 8, 6, 6))
    v = "x"
    for i in range(swaps + 1):
        w = weight(b, f"w{i}", rng.standard_normal((8, 8, 1, 1)) / np.sqrt(8))
        inputs = [v, w] + ([weight(b, f"b{i}", rng.standard_normal(8) * 0.5)] if bias else [])
        v = b.op("Conv", *inputs)
        if i < swaps:
            v = silu(b, v)
    return b.model(v, 17)


def ort_qdq(model: onnx.ModelProto, rows, workdir) -> onnx.ModelProto:
    """``model`` through ONNX Runtime's own quantizer (``quantize_static``, QDQ, int8),
    calibrated on ``rows`` (one sample of input "x" each); ``workdir`` holds its files."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.rows = iter({"x": row} for row in rows)

        def get_next(self):
            return next(self.rows, None)

    src, dst = Path(workdir) / "float.onnx", Path(workdir) / "qdq.onnx"
    onnx.save(model, src)
    quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)  # fmt: skip
    return onnx.load(dst)
