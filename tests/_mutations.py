"""Seed models and Hypothesis strategies that break them, for the fuzz tests.

Seeds: every fixture model plus the models the tests build (int8, float16, external data,
subgraphs and functions, signatures, custom ops). Byte mutations (truncate, flip bits, zero a
range, splice two models, overwrite, insert, delete, write an awkward 32-bit integer) work on any
file; structured ones edit the ONNX protobuf or the TFLite ``ModelT`` and serialise it again, so
the damage lies past the parser: dangling tensor indices, absurd shapes, bad dtypes, opsets,
op types, opcode and buffer indices. Each mutation describes itself; a case's label (seed | step
| step) is what a failing example prints.
"""

from __future__ import annotations

import math
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from hypothesis import strategies as st
from onnx import TensorProto, helper

from tests import onnx_models as om
from tests import tflite_models as tm
from tests._fuzz_worker import Case

__all__ = ["ONNX_SEEDS", "TFLITE_SEEDS", "Seed", "byte_cases", "onnx_cases", "tflite_cases"]

_FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Seed:
    """A model's files by name, the model's first (an external-data file follows it)."""

    name: str
    files: dict[str, bytes]

    @property
    def data(self) -> bytes:
        return next(iter(self.files.values()))


def _onnx_seeds() -> list[Seed]:
    seeds = [Seed(p.name, {p.name: p.read_bytes()}) for p in sorted(_FIXTURES.glob("onnx/*.onnx"))]
    b = om.Builder()
    float16 = b.model(om.silu(b, "x"), 17, elem=TensorProto.FLOAT16)
    b = om.Builder()
    custom = om.silu(b, b.op("Mystery", "x", domain="example.custom"))
    built = {
        "exporter_shaped": om.exporter_shaped(13),
        "all_single_ops": om.all_single_ops(20),
        "microsoft_ops": om.microsoft_ops(),
        "qdq_int8": om.qdq(13),
        "with_subgraphs": om.with_subgraphs(17),
        "float16": float16,
        "custom_op": b.model(custom, 17, extra_opsets=[("example.custom", 1)], infer=False),
    }
    seeds += [Seed(n, {f"{n}.onnx": m.SerializeToString()}) for n, m in built.items()]
    return [*seeds, _external_data_seed()]


def _external_data_seed() -> Seed:
    """A Conv -> SiLU model whose weights are in ``external.onnx.data``."""
    b = om.Builder()
    weights = np.random.default_rng(0).normal(size=(8, 8, 3, 3)).astype(np.float32)
    v = om.silu(b, b.op("Conv", "x", b.const(weights), pads=[1, 1, 1, 1]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "external.onnx"
        onnx.save(b.model(v, 17), path, save_as_external_data=True, location="external.onnx.data")
        files = {p.name: p.read_bytes() for p in (path, path.with_name("external.onnx.data"))}
    return Seed("external_data", files)


def control_flow_model() -> bytes:
    """x -> IF(cond) -> y, the branches in subgraphs 1 (LOGISTIC) and 2 (TANH)."""
    mb = tm.ModelBuilder("control flow")
    g = mb.subgraph("main")
    x, y = g.tensor("x", [1, 8]), g.tensor("y", [1, 8])
    cond = g.tensor("cond", [1], "INT32", data=[1])
    for op in ("LOGISTIC", "TANH"):
        branch = mb.subgraph(op.lower())
        a, b = branch.tensor("a", [1, 8]), branch.tensor("b", [1, 8])
        branch.op(op, [a], [b])
        branch.io([a], [b])
    g.op("IF", [cond, x], [y], options="IfOptions", thenSubgraphIndex=1, elseSubgraphIndex=2)
    g.io([x], [y])
    return mb.build()


def _tflite_seeds() -> list[Seed]:
    seeds = [Seed(p.name, {p.name: p.read_bytes()}) for p in sorted(_FIXTURES.glob("tflite/*"))]
    built = {
        "float_signature": tm.float_model(),
        "float16_weights": tm.float16_weights_model(),
        "se_block": tm.se_block_model(),
        "int8": tm.int8_model(),
        "custom_op": tm.custom_op_model(),
        "custom_swish": tm.custom_activation_model(),
        "two_subgraphs": tm.two_subgraph_model(),
        "hard_swish": tm.hard_swish_model(),
        "external_buffers": tm.external_buffers(tm.activation_model("silu", "float32")),
        "dynamic_batch_int8": tm.silu_only_model(True, dynamic_batch=True),
        "control_flow": control_flow_model(),
    }
    return seeds + [Seed(n, {f"{n}.tflite": data}) for n, data in built.items()]


ONNX_SEEDS = _onnx_seeds()
TFLITE_SEEDS = _tflite_seeds()
_ALL_SEEDS = ONNX_SEEDS + TFLITE_SEEDS

# --- shared pieces ----------------------------------------------------------------------------
INT64_ODD = [0, -1, 1, 2**31, 2**40, 2**63 - 1, -(2**63)]
INT32_ODD = [-(2**31), -2, -1, 0, 1, 2**16, 2**31 - 1]
UINT32_ODD = [0, 1, 2**16, 2**31, 2**32 - 1]
_CLI = ("inspect", "convert", "verify")
_SWAPS = [((), "mobile"), ((), None), (("silu=hardswish",), None), (("gelu=gelu_tanh",), None)]


def _pick(draw, items):
    """An element of the sequence ``items`` (drawn by index: shrinks to the first)."""
    return items[draw(st.integers(0, len(items) - 1))]


def _number(draw, odd, lo, hi):
    return draw(st.sampled_from(odd) | st.integers(lo, hi))


def _case(draw, label: str, files: dict[str, bytes], reference: dict[str, bytes]) -> Case:
    """The case for mutated ``files``: API inspect and convert, then one drawn CLI command."""
    cli = draw(st.sampled_from(_CLI))
    argv = {
        "inspect": ("inspect", "{model}"),
        "convert": ("convert", "{model}", "-o", "{out}", "--no-verify"),
        "verify": ("verify", "{reference}", "{model}"),
    }[cli]
    flags = [f for f in ("--json", "--no-isolate") if draw(st.booleans())]
    if cli == "inspect" and "--no-isolate" in flags:  # inspect runs no runtime
        flags.remove("--no-isolate")
    swaps, preset = _pick(draw, _SWAPS)
    label = f"{label} | {' '.join(['cli', cli, *flags])} | swaps {swaps} {preset}"
    return Case(label, files, reference, (*argv, *flags), swaps, preset)


# --- byte mutations ---------------------------------------------------------------------------
def _mutate_bytes(draw, data: bytes) -> tuple[bytes, str]:
    n = len(data)
    kind = draw(
        st.sampled_from(
            ["truncate", "flip", "zero", "splice", "overwrite", "insert", "delete", "int32"]
        )
    )
    if n == 0:
        kind = "insert"
    pos = draw(st.integers(0, max(n - 1, 0)))
    if kind == "truncate":
        return data[:pos], f"truncate({pos})"
    if kind == "flip":
        bits = draw(st.lists(st.integers(0, 8 * n - 1), min_size=1, max_size=8))
        out = bytearray(data)
        for b in bits:
            out[b // 8] ^= 1 << (b % 8)
        return bytes(out), f"flip{bits}"
    if kind == "zero":
        length = draw(st.integers(1, 256))
        return data[:pos] + bytes(min(length, n - pos)) + data[
            pos + length :
        ], f"zero({pos}, {length})"
    if kind == "splice":
        donor = _pick(draw, _ALL_SEEDS)
        at = draw(st.integers(0, len(donor.data)))
        return data[:pos] + donor.data[at:], f"splice({pos}, {donor.name}[{at}:])"
    if kind in ("overwrite", "insert"):
        blob = draw(st.binary(min_size=1, max_size=32))
        end = pos + len(blob) if kind == "overwrite" else pos
        return data[:pos] + blob + data[end:], f"{kind}({pos}, {blob!r})"
    if kind == "delete":
        length = draw(st.integers(1, 64))
        return data[:pos] + data[pos + length :], f"delete({pos}, {length})"
    value = _number(draw, [*UINT32_ODD, n, n + 1, n - 4], 0, 2**32 - 1)
    return data[:pos] + struct.pack("<I", value)[: n - pos] + data[
        pos + 4 :
    ], f"int32({pos}, {value})"


@st.composite
def byte_cases(draw, seeds: list[Seed]) -> Case:
    """A seed with 1 to 3 byte mutations of its model (or of its external-data file)."""
    seed = _pick(draw, seeds)
    files = dict(seed.files)
    target = _pick(draw, list(files)) if len(files) > 1 else next(iter(files))
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        files[target], step = _mutate_bytes(draw, files[target])
        steps.append(step)
    label = " | ".join([f"{seed.name}[{target}]" if len(files) > 1 else seed.name, *steps])
    return _case(draw, label, files, seed.files)


@st.composite
def _edited_cases(draw, seeds, parse, mutations, serialise, editable=lambda model: True) -> Case:
    """A seed ``parse``d, given 1 or 2 drawn edits (while ``editable(model)``) and serialised
    again; its other files (external data) are kept."""
    seed = _pick(draw, seeds)
    model = parse(seed.data)
    steps = []
    for _ in range(draw(st.integers(1, 2))):
        if not editable(model):
            break
        steps.append(_pick(draw, mutations)(draw, model))
    files = {**seed.files, next(iter(seed.files)): serialise(model)}
    return _case(draw, " | ".join([seed.name, *steps]), files, seed.files)


@st.composite
def random_cases(draw) -> Case:
    """Random bytes under an ONNX, TFLite or other name (sometimes with TFLite's identifier)."""
    data = draw(st.binary(max_size=2048))
    if draw(st.booleans()) and len(data) >= 8:
        data = data[:4] + b"TFL3" + data[8:]
    suffix = draw(st.sampled_from([".onnx", ".tflite", ".bin", ""]))
    seed = _pick(draw, _ALL_SEEDS)
    reference = {Path(next(iter(seed.files))).with_suffix(suffix).name: seed.data}
    return _case(draw, f"random{suffix}({data!r})", {f"random{suffix}": data}, reference)


# --- ONNX protobuf mutations ------------------------------------------------------------------
_OP_TYPES = [
    "Relu",
    "Sigmoid",
    "Mul",
    "Add",
    "Clip",
    "HardSwish",
    "Gelu",
    "Conv",
    "If",
    "Loop",
    "Scan",
    "Constant",
    "Identity",
    "Softmax",
    "Reshape",
    "QuantizeLinear",
    "Mystery",
    "",
]
_DOMAINS = ["", "ai.onnx", "com.microsoft", "ai.onnx.ml", "local", "bogus"]
_ELEM_TYPES = [0, *range(1, 24), 9999, -1]
_OPSETS = [0, -1, 1, 6, 10, 11, 13, 20, onnx.defs.onnx_opset_version(), 9999, 2**62]


def _graphs(graph: onnx.GraphProto):
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            for sub in attr.graphs:
                yield from _graphs(sub)


def _nodes(model):
    return [n for g in _graphs(model.graph) for n in g.node] + [
        n for f in model.functions for n in f.node
    ]


def _values(model):
    return [v for g in _graphs(model.graph) for v in [*g.input, *g.output, *g.value_info]]


def _tensors(model):
    inits = [t for g in _graphs(model.graph) for t in g.initializer]
    return inits + [a.t for n in _nodes(model) for a in n.attribute if a.HasField("t")]


def _onnx_node_input(draw, model) -> str:
    nodes = [n for n in _nodes(model) if n.input]
    if not nodes:
        return "no node inputs"
    node = _pick(draw, nodes)
    i = draw(st.integers(0, len(node.input) - 1))
    how = draw(st.sampled_from(["drop", "empty", "missing", "self", "other"]))
    if how == "drop":
        del node.input[i]
    else:
        outputs = [o for n in _nodes(model) for o in n.output] or ["y"]
        names = {"empty": "", "missing": "no_such_value", "self": (list(node.output) or ["y"])[0]}
        node.input[i] = names.get(how) or _pick(draw, outputs)
    return f"input {how}({node.name or node.op_type}[{i}])"


def _onnx_op_type(draw, model) -> str:
    nodes = _nodes(model)
    if not nodes:
        return "no nodes"
    node = _pick(draw, nodes)
    if draw(st.booleans()):
        node.op_type = _pick(draw, _OP_TYPES)
        return f"op_type({node.name}, {node.op_type!r})"
    node.domain = _pick(draw, _DOMAINS)
    return f"domain({node.name}, {node.domain!r})"


def _onnx_node_list(draw, model) -> str:
    graph = _pick(draw, [g for g in _graphs(model.graph) if g.node] or [model.graph])
    if not graph.node:
        return "no nodes"
    i = draw(st.integers(0, len(graph.node) - 1))
    how = draw(st.sampled_from(["drop", "duplicate", "reverse", "drop_output"]))
    if how == "drop":
        del graph.node[i]
    elif how == "duplicate":
        graph.node.append(graph.node[i])
    elif how == "reverse":
        nodes = list(graph.node)[::-1]
        del graph.node[:]
        graph.node.extend(nodes)
    elif graph.node[i].output:
        del graph.node[i].output[:]
    return f"nodes {how}({graph.name}[{i}])"


def _onnx_attribute(draw, model) -> str:
    nodes = [n for n in _nodes(model) if n.attribute]
    if not nodes:
        return "no attributes"
    node = _pick(draw, nodes)
    attr = _pick(draw, node.attribute)
    how = draw(st.sampled_from(["drop", "type", "float", "int", "string", "empty_graph"]))
    if how == "drop":
        node.attribute.remove(attr)
    elif how == "type":
        attr.type = draw(st.integers(0, 14))
    elif how == "float":
        attr.f = draw(st.sampled_from([math.nan, math.inf, -math.inf, 1e38, -0.0]))
        attr.type = onnx.AttributeProto.FLOAT
    elif how == "int":
        attr.i = _pick(draw, INT64_ODD)
        attr.type = onnx.AttributeProto.INT
    elif how == "string":
        attr.s = b"\xff\xfe not utf-8"
        attr.type = onnx.AttributeProto.STRING
    else:
        attr.g.CopyFrom(helper.make_graph([], "empty", [], []))
        attr.type = onnx.AttributeProto.GRAPH
    return f"attribute {how}({node.name}.{attr.name})"


def _onnx_dtype(draw, model) -> str:
    elem = _pick(draw, _ELEM_TYPES)
    if draw(st.booleans()):
        values = [v for v in _values(model) if v.type.HasField("tensor_type")]
        if values:
            value = _pick(draw, values)
            value.type.tensor_type.elem_type = elem
            return f"elem_type({value.name}, {elem})"
    tensor = _pick(draw, _tensors(model) or [model.graph.initializer.add()])
    tensor.data_type = elem
    return f"data_type({tensor.name}, {elem})"


def _onnx_dims(draw, model) -> str:
    dim = _number(draw, INT64_ODD, -(2**63), 2**63 - 1)
    if draw(st.booleans()):
        values = [v for v in _values(model) if v.type.tensor_type.shape.dim]
        if values:
            value = _pick(draw, values)
            dims = value.type.tensor_type.shape.dim
            i = draw(st.integers(0, len(dims) - 1))
            dims[i].dim_value = dim
            return f"dim({value.name}[{i}], {dim})"
    tensor = _pick(draw, _tensors(model) or [model.graph.initializer.add()])
    if tensor.dims and draw(st.booleans()):
        i = draw(st.integers(0, len(tensor.dims) - 1))
        tensor.dims[i] = dim
    else:
        tensor.dims.append(dim)
    return f"tensor dims({tensor.name}, {list(tensor.dims)})"


def _onnx_opset(draw, model) -> str:
    how = draw(st.sampled_from(["version", "drop", "ir_version", "domain", "function"]))
    if how == "version" and model.opset_import:
        imp = _pick(draw, model.opset_import)
        imp.version = _pick(draw, _OPSETS)
        return f"opset({imp.domain!r}, {imp.version})"
    if how == "drop" and model.opset_import:
        i = draw(st.integers(0, len(model.opset_import) - 1))
        del model.opset_import[i]
        return f"drop opset import {i}"
    if how == "domain":
        model.opset_import.append(helper.make_opsetid(_pick(draw, _DOMAINS), _pick(draw, _OPSETS)))
        return f"add opset {model.opset_import[-1]}".replace("\n", " ")
    if how == "function" and model.functions:
        fn = model.functions[0]
        fn.domain, fn.name = _pick(draw, _DOMAINS), draw(st.sampled_from(["Relu", "", fn.name]))
        return f"function({fn.domain!r}, {fn.name!r})"
    model.ir_version = _pick(draw, [0, -1, 1, 3, 7, onnx.IR_VERSION, onnx.IR_VERSION + 1, 2**40])
    return f"ir_version({model.ir_version})"


def _onnx_data(draw, model) -> str:
    tensors = _tensors(model)
    if not tensors:
        return "no tensors"
    tensor = _pick(draw, tensors)
    how = draw(st.sampled_from(["truncate", "extend", "float_data", "external"]))
    if how == "truncate":
        tensor.raw_data = tensor.raw_data[: draw(st.integers(0, max(len(tensor.raw_data) - 1, 0)))]
    elif how == "extend":
        tensor.raw_data += draw(st.binary(min_size=1, max_size=64))
    elif how == "float_data":
        tensor.float_data.extend([math.nan, 1.0])
    else:
        location = draw(st.sampled_from(["missing.bin", "/etc/passwd", "../../outside", "", "."]))
        offset = _pick(draw, [0, 1, 2**40, -1])
        length = _pick(draw, [0, 4, 2**40, -1])
        tensor.ClearField("external_data")
        for key, value in (("location", location), ("offset", offset), ("length", length)):
            tensor.external_data.add(key=key, value=str(value))
        tensor.data_location = TensorProto.EXTERNAL
        return f"external({tensor.name}, {location!r}, {offset}, {length})"
    return f"data {how}({tensor.name})"


def _onnx_graph_io(draw, model) -> str:
    graph = model.graph
    how = draw(st.sampled_from(["drop_input", "drop_output", "rename_output", "duplicate_input"]))
    if how == "drop_input" and graph.input:
        del graph.input[0]
    elif how == "drop_output" and graph.output:
        del graph.output[:]
    elif how == "rename_output" and graph.output:
        graph.output[0].name = draw(st.sampled_from(["nowhere", "x", ""]))
    elif graph.input:
        graph.input.append(graph.input[0])
    return f"graph {how}"


_ONNX_MUTATIONS = [
    _onnx_node_input,
    _onnx_op_type,
    _onnx_node_list,
    _onnx_attribute,
    _onnx_dtype,
    _onnx_dims,
    _onnx_opset,
    _onnx_data,
    _onnx_graph_io,
]


def onnx_cases() -> st.SearchStrategy[Case]:
    """An ONNX seed with 1 or 2 edits through the protobuf, serialised again."""
    return _edited_cases(
        ONNX_SEEDS, onnx.ModelProto.FromString, _ONNX_MUTATIONS, onnx.ModelProto.SerializeToString
    )


# --- TFLite flatbuffer mutations (schema object API) ------------------------------------------
def _unpacked(data: bytes):
    """The ``ModelT`` with every index and shape vector as a Python list (numpy arrays reject
    out-of-range values)."""
    model = tm.unpack(data)
    for sg in model.subgraphs or []:
        sg.inputs, sg.outputs = _ints(sg.inputs), _ints(sg.outputs)
        for t in sg.tensors or []:
            t.shape, t.shapeSignature = _ints(t.shape), _ints(t.shapeSignature)
        for op in sg.operators or []:
            op.inputs, op.outputs = _ints(op.inputs), _ints(op.outputs)
    return model


def _ints(values):
    return None if values is None else [int(v) for v in values]


def _ops(model):
    return [(s, o) for s, sg in enumerate(model.subgraphs or []) for o in sg.operators or []]


def _tensor_list(model):
    return [(s, t) for s, sg in enumerate(model.subgraphs or []) for t in sg.tensors or []]


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _tflite_tensor_index(draw, model) -> str:
    ops = _ops(model)
    if not ops or draw(st.integers(0, 3)) == 0:
        sg = _pick(draw, model.subgraphs)
        where = draw(st.sampled_from(["inputs", "outputs"]))
        indices = getattr(sg, where) or [0]
        n = len(sg.tensors or [])
        indices[draw(st.integers(0, len(indices) - 1))] = _number(draw, [n, n + 1, -2], -4, n + 4)
        setattr(sg, where, indices)
        return f"subgraph {where} {indices}"
    s, op = _pick(draw, ops)
    where = draw(st.sampled_from(["inputs", "outputs"]))
    indices = getattr(op, where) or [0]
    n = len(model.subgraphs[s].tensors or [])
    i = draw(st.integers(0, len(indices) - 1))
    indices[i] = _number(draw, [*INT32_ODD, n, n + 1], -4, n + 4)
    setattr(op, where, indices)
    return f"op {where}(subgraph {s}, {indices})"


def _tflite_buffer_index(draw, model) -> str:
    _, tensor = _pick(draw, _tensor_list(model))
    n = len(model.buffers or [])
    tensor.buffer = _number(draw, [*UINT32_ODD, n, n + 1], 0, n + 2)
    return f"buffer index({_text(tensor.name)}, {tensor.buffer})"


def _tflite_shape(draw, model) -> str:
    _, tensor = _pick(draw, _tensor_list(model))
    how = draw(st.sampled_from(["dim", "rank", "none", "signature"]))
    dim = _number(draw, INT32_ODD, -(2**31), 2**31 - 1)
    if how == "dim" and tensor.shape:
        tensor.shape[draw(st.integers(0, len(tensor.shape) - 1))] = dim
    elif how == "rank":
        tensor.shape = [draw(st.integers(0, 3)) or dim] * draw(st.integers(0, 12))
    elif how == "none":
        tensor.shape = None
    else:
        tensor.shapeSignature = [dim, *(tensor.shape or [])]
    return f"shape {how}({_text(tensor.name)}, {tensor.shape}, {tensor.shapeSignature})"


def _tflite_subgraphs(draw, model) -> str:
    how = draw(st.sampled_from(["none", "drop", "duplicate", "signature"]))
    subgraphs = model.subgraphs or []
    if how == "none":
        model.subgraphs = []
    elif how == "drop" and subgraphs:
        del subgraphs[draw(st.integers(0, len(subgraphs) - 1))]
    elif how == "duplicate" and subgraphs:
        subgraphs.append(subgraphs[0])
    elif model.signatureDefs:
        sig = model.signatureDefs[0]
        choice = draw(st.integers(0, 2))
        if choice == 0:
            sig.subgraphIndex = _number(draw, UINT32_ODD, 0, len(subgraphs) + 1)
        elif sig.inputs or sig.outputs:
            tmap = ((sig.inputs or []) + (sig.outputs or []))[0]
            tmap.tensorIndex = _number(draw, UINT32_ODD, 0, 64)
        else:
            sig.signatureKey = None
    return f"subgraphs {how}"


def _tflite_opcode(draw, model) -> str:
    how = draw(st.sampled_from(["index", "builtin", "deprecated", "version", "custom"]))
    ops = _ops(model)
    if how == "index" and ops:
        _, op = _pick(draw, ops)
        n = len(model.operatorCodes or [])
        op.opcodeIndex = _number(draw, [*UINT32_ODD, n, n + 1], 0, n + 2)
        return f"opcode index({op.opcodeIndex})"
    if not model.operatorCodes:
        return "no operator codes"
    code = _pick(draw, model.operatorCodes)
    if how == "builtin":
        code.builtinCode = _number(draw, INT32_ODD, -1, 220)
    elif how == "deprecated":
        code.deprecatedBuiltinCode = draw(st.integers(-128, 127))
    elif how == "version":
        code.version = _number(draw, INT32_ODD, -1, 12)
    else:
        code.builtinCode = code.deprecatedBuiltinCode = 32  # CUSTOM
        code.customCode = draw(st.sampled_from([None, b"", b"\xff\xfe", b"Swish"]))
    return f"opcode {how}({code.builtinCode}, {code.deprecatedBuiltinCode}, {code.version})"


def _tflite_tensor_type(draw, model) -> str:
    _, tensor = _pick(draw, _tensor_list(model))
    tensor.type = draw(st.integers(-128, 127))
    return f"tensor type({_text(tensor.name)}, {tensor.type})"


def _tflite_buffer_data(draw, model) -> str:
    buffers = model.buffers or []
    if not buffers:
        return "no buffers"
    i = draw(st.integers(0, len(buffers) - 1))
    buf = buffers[i]
    how = draw(st.sampled_from(["truncate", "none", "extend", "offset"]))
    if how == "truncate" and buf.data is not None:
        buf.data = buf.data[: draw(st.integers(0, max(len(buf.data) - 1, 0)))]
    elif how == "none":
        buf.data = None
    elif how == "extend":
        extra = draw(st.binary(min_size=1, max_size=64))
        buf.data = np.concatenate(
            [
                np.asarray(buf.data if buf.data is not None else [], np.uint8),
                np.frombuffer(extra, np.uint8),
            ]
        )
    else:
        buf.data = None
        buf.offset = _pick(draw, [1, 2, 2**32, 2**63, 2**64 - 1])
        buf.size = _pick(draw, [0, 1, 2**32, 2**64 - 1])
    return f"buffer {how}({i})"


def _tflite_quantization(draw, model) -> str:
    _, tensor = _pick(draw, _tensor_list(model))
    q = tm.schema.QuantizationParametersT()
    scales = [[], [0.0], [math.nan], [math.inf], [-1.0], [1e-45], [1e30], [0.1] * 3]
    q.scale = _pick(draw, scales)
    q.zeroPoint = _pick(draw, [[], [0], [2**40], [-(2**40)], [0, 0, 0, 0]])
    q.quantizedDimension = _number(draw, INT32_ODD, -1, 4)
    tensor.quantization = q
    return f"quantization({_text(tensor.name)}, {q.scale}, {q.zeroPoint}, {q.quantizedDimension})"


def _tflite_options(draw, model) -> str:
    ops = _ops(model)
    if not ops:
        return "no ops"
    _, op = _pick(draw, ops)
    how = draw(st.sampled_from(["type", "none", "other"]))
    if how == "type":
        op.builtinOptionsType = draw(st.integers(0, 255))
    elif how == "none":
        op.builtinOptions = None
    else:
        others = [o for _, o in ops if o.builtinOptions is not None] or [op]
        donor = _pick(draw, others)
        op.builtinOptions, op.builtinOptionsType = donor.builtinOptions, donor.builtinOptionsType
    return f"options {how}({op.builtinOptionsType})"


def _tflite_operators(draw, model) -> str:
    sg = _pick(draw, model.subgraphs)
    ops = sg.operators or []
    if not ops:
        return "no ops"
    i = draw(st.integers(0, len(ops) - 1))
    how = draw(st.sampled_from(["drop", "duplicate", "reverse", "drop_tensor"]))
    if how == "drop":
        del ops[i]
    elif how == "duplicate":
        ops.append(ops[i])
    elif how == "reverse":
        ops.reverse()
    elif sg.tensors:
        del sg.tensors[draw(st.integers(0, len(sg.tensors) - 1))]
    return f"operators {how}({i})"


_TFLITE_MUTATIONS = [
    _tflite_tensor_index,
    _tflite_buffer_index,
    _tflite_shape,
    _tflite_subgraphs,
    _tflite_opcode,
    _tflite_tensor_type,
    _tflite_buffer_data,
    _tflite_quantization,
    _tflite_options,
    _tflite_operators,
]


def tflite_cases() -> st.SearchStrategy[Case]:
    """A TFLite seed with 1 or 2 edits through the schema's object API, packed again (the edits
    need tensors, which an earlier edit can remove)."""
    return _edited_cases(TFLITE_SEEDS, _unpacked, _TFLITE_MUTATIONS, tm.pack, _tensor_list)
