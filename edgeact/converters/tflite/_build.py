"""Build small TFLite models in memory with the schema's object API (no TensorFlow needed).

``ModelBuilder`` collects operator codes (one per op, custom name and version), buffers (buffer 0
is the empty sentinel) and subgraphs; ``Graph`` adds tensors and operators to one subgraph. The
demo and the tests build their models with it; ``build`` serialises through ``_writer``.
"""

from __future__ import annotations

import numpy as np

from edgeact.converters.tflite._schema import schema
from edgeact.converters.tflite._writer import serialize

__all__ = ["Graph", "ModelBuilder"]

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

    def __init__(self, description: str = "edgeact model"):
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
        return serialize(self.model)


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
