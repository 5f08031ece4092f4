"""A read-only index over one ONNX graph (or function body) for the pattern rules.

Producer by output name, consumers by input name, constants from initializers and Constant nodes,
element types from value_info. Quantize→Dequantize pairs are transparent to the rules: a QDQ model
keeps the float graph's shape with Q/DQ pairs on the edges, so ``producer``/``consumers`` can look
through them and ``same`` treats two DequantizeLinear outputs of one quantized tensor as equal.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper, numpy_helper

from edgeact.converters._forms import Form

__all__ = [
    "Fail",
    "GraphView",
    "Match",
    "NearMiss",
    "close",
    "dtype_name",
    "nested_graphs",
    "node_label",
    "subgraphs",
]

RTOL = 1e-3  # exporters write 1.4142135, 0.70710677, 0.044715 in float32


def close(value: float | None, target: float) -> bool:
    """``value`` equals ``target`` within the relative tolerance used for exporter constants."""
    return value is not None and abs(value - target) <= RTOL * abs(target)


def subgraphs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    """The graphs held in ``node``'s attributes (If branches, Loop and Scan bodies)."""
    graphs = []
    for attr in node.attribute:
        graphs += [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
    return graphs


def nested_graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """``graph`` and every graph inside its nodes, at any depth."""
    yield graph
    for node in graph.node:
        for sub in subgraphs(node):
            yield from nested_graphs(sub)


def node_label(node: onnx.NodeProto, index: int) -> str:
    """The node's name, or ``<OpType #index>`` for unnamed nodes."""
    return node.name or f"<{node.op_type} #{index}>"


class Fail(Exception):
    """A rule's structure matched far enough to be a near miss; ``str(self)`` says why not."""


@dataclass
class Match:
    activation: str
    form: Form
    pattern: str  # the report's text for the form; never parsed
    nodes: list[onnx.NodeProto]
    x: str  # the activation's input value
    y: str  # its output value
    params: dict = field(default_factory=dict)  # constants the pattern holds (beta, deviation)
    # the activation is of input_scale·x, divided by it: swish x·σ(βx) = silu(βx)/β
    input_scale: float = 1.0


@dataclass(frozen=True)
class PatternRule:
    """A decomposed-pattern rule: the op types it is tried on, its matcher and its activation
    family. Each pattern module lists its rules in ``RULES``; the scanner runs all of them by
    ``order`` (lower first), and a rule that matches claims its nodes from the later ones."""

    order: int
    anchors: frozenset[str]
    match: "Callable[[GraphView, onnx.NodeProto], Match | NearMiss | list | None]"
    family: str


@dataclass
class NearMiss:
    looks_like: str
    form: Form
    pattern: str
    nodes: list[onnx.NodeProto]
    reason: str


def dtype_name(elem_type: int) -> str:
    """numpy's name for an ONNX element type, ONNX's for those numpy lacks, else "type <n>"."""
    try:
        return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).name
    except Exception:
        if elem_type not in onnx.TensorProto.DataType.values():  # a corrupt or future file
            return f"type {elem_type}"
        return onnx.TensorProto.DataType.Name(elem_type).lower()


@dataclass
class GraphView:
    """Indexes of one graph; ``parent`` resolves outer-scope names for If/Loop/Scan bodies."""

    nodes: list[onnx.NodeProto]
    label: str
    initializers: Iterable[onnx.TensorProto] = ()
    value_infos: Iterable[onnx.ValueInfoProto] = ()
    parent: "GraphView | None" = None
    proto: "onnx.GraphProto | onnx.FunctionProto | None" = None  # where a rewrite edits nodes
    index: dict[int, int] = field(init=False)
    _producer: dict[str, onnx.NodeProto] = field(init=False)
    _consumers: dict[str, list[onnx.NodeProto]] = field(init=False)
    _inits: dict[str, onnx.TensorProto] = field(init=False)
    _types: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.nodes = list(self.nodes)
        self.index = {id(n): i for i, n in enumerate(self.nodes)}
        self._producer = {o: n for n in self.nodes for o in n.output if o}
        self._consumers = defaultdict(list)
        for n in self.nodes:
            for i in n.input:
                if i:
                    self._consumers[i].append(n)
        self._inits = {t.name: t for t in self.initializers}
        self._types = {t.name: t.data_type for t in self._inits.values()}
        for vi in self.value_infos:
            if vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type:
                self._types[vi.name] = vi.type.tensor_type.elem_type

    @classmethod
    def of_graph(cls, graph: onnx.GraphProto, label: str, parent: "GraphView | None" = None):
        infos = [*graph.input, *graph.value_info, *graph.output]
        return cls(graph.node, label, graph.initializer, infos, parent, graph)

    def label_of(self, node: onnx.NodeProto) -> str:
        return node_label(node, self.index[id(node)])

    # --- structure -------------------------------------------------------------------------
    def raw_producer(self, value: str) -> onnx.NodeProto | None:
        return self._producer.get(value)

    def canon(self, value: str) -> str:
        """The float value behind a chain of Quantize→Dequantize pairs (itself otherwise)."""
        while True:
            dq = self._producer.get(value)
            if dq is None or dq.op_type != "DequantizeLinear":
                return value
            q = self._producer.get(dq.input[0])
            if q is None or q.op_type != "QuantizeLinear":
                return value
            value = q.input[0]

    def producer(self, value: str) -> onnx.NodeProto | None:
        """The node computing ``value``, looking through Q→DQ pairs."""
        return self._producer.get(self.canon(value))

    def consumers(self, value: str) -> Iterator[onnx.NodeProto]:
        """Nodes reading ``value``, looking through Q→DQ pairs."""
        for c in self._consumers.get(value, ()):
            if c.op_type == "QuantizeLinear":
                for dq in self._consumers.get(c.output[0], ()):
                    if dq.op_type == "DequantizeLinear":
                        yield from self.consumers(dq.output[0])
            else:
                yield c

    def raw_consumers(self, value: str) -> list[onnx.NodeProto]:
        return self._consumers.get(value, [])

    def depends_on(self, value: str, target: str, limit: int = 256) -> bool:
        """``value`` is computed from ``target`` (searching at most ``limit`` values upstream)."""
        target = self.canon(target)
        seen: set[str] = set()
        stack = [value]
        while stack and len(seen) < limit:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            if v == target:
                return True
            node = self._producer.get(v)
            if node is not None:
                stack.extend(i for i in node.input if i)
        return False

    def same(self, a: str, b: str) -> bool:
        """Same tensor, up to Q→DQ pairs and duplicated DequantizeLinear nodes."""
        a, b = self.canon(a), self.canon(b)
        if a == b:
            return True
        pa, pb = self._producer.get(a), self._producer.get(b)
        return (
            pa is not None
            and pb is not None
            and pa.op_type == pb.op_type == "DequantizeLinear"
            and list(pa.input) == list(pb.input)
        )

    def other_operand(self, node: onnx.NodeProto, value: str) -> str | None:
        """For a binary node with ``value`` as one input, the other input."""
        if len(node.input) != 2:
            return None
        a, b = node.input
        if self.same(a, value):
            return b
        if self.same(b, value):
            return a
        return None

    def const_operand(self, node: onnx.NodeProto) -> tuple[float | None, str | None]:
        """(scalar constant, other input) of a binary node with exactly one scalar constant."""
        if len(node.input) != 2:
            return None, None
        a, b = node.input
        ca, cb = self.scalar(a), self.scalar(b)
        if cb is not None and ca is None:
            return cb, a
        if ca is not None and cb is None:
            return ca, b
        return None, None

    # --- constants and types -----------------------------------------------------------------
    def const(self, value: str) -> np.ndarray | None:
        """The constant array behind ``value`` (initializer, Constant node, through Q→DQ).

        A constant that ONNX Runtime's quantizer routed through Quantize→Dequantize reads as the
        float constant before the pair (its quantization error is far below ``RTOL``).
        """
        value = self.canon(value)
        if value in self._inits:
            try:
                return numpy_helper.to_array(self._inits[value])
            except Exception:
                return None
        node = self._producer.get(value)
        if node is not None and node.op_type == "Constant" and node.attribute:
            attr = node.attribute[0]
            if attr.name == "value":
                return numpy_helper.to_array(attr.t)
            if attr.name in ("value_float", "value_floats", "value_int", "value_ints"):
                return np.asarray(helper.get_attribute_value(attr))
            return None
        if node is not None and node.op_type == "DequantizeLinear":
            return self._dequantized(node)
        if node is None and self.parent is not None:
            return self.parent.const(value)
        return None

    def _dequantized(self, node: onnx.NodeProto) -> np.ndarray | None:
        q = self.const(node.input[0])
        s = self.const(node.input[1]) if len(node.input) > 1 else None
        if q is None or s is None or q.size != 1 or s.size != 1:
            return None
        z = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        zero = 0.0 if z is None else float(z.reshape(-1)[0])
        return np.asarray((float(q.reshape(-1)[0]) - zero) * float(s.reshape(-1)[0]))

    def scalar(self, value: str) -> float | None:
        """``value`` as a Python float if it is a one-element constant."""
        if not value:
            return None
        init = self._inits.get(value)
        if init is not None and int(np.prod(init.dims)) != 1:
            return None  # skip converting weight tensors: only scalars are wanted here
        arr = self.const(value)
        if arr is None or arr.size != 1:
            return None
        return float(arr.reshape(-1)[0])

    def dtype(self, value: str) -> str:
        """Element type name of ``value`` ("float32", ...), or "unknown"."""
        if value in self._types:
            return dtype_name(self._types[value])
        node = self._producer.get(value)
        if node is not None and node.op_type == "DequantizeLinear":
            for attr in node.attribute:
                if attr.name == "output_dtype" and attr.i:
                    return dtype_name(attr.i)
            if len(node.input) > 1:
                scale = self.const(node.input[1])
                if scale is not None:
                    return scale.dtype.name
        if node is None and self.parent is not None:
            return self.parent.dtype(value)
        return "unknown"

    def in_qdq(self, x: str, y: str) -> bool:
        """``x`` comes from a DequantizeLinear and every reader of ``y`` is a QuantizeLinear."""
        p = self._producer.get(x)
        readers = self._consumers.get(y, [])
        return (
            p is not None
            and p.op_type == "DequantizeLinear"
            and bool(readers)
            and all(r.op_type == "QuantizeLinear" for r in readers)
        )
