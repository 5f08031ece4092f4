"""Read-only views over a validated ``ModelT``: op names, producers/consumers, tensor facts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeact.converters.tflite._schema import BUILTIN_OPS, TENSOR_TYPES, schema

__all__ = ["SubgraphView", "opcode_names", "text"]

_CUSTOM = schema.BuiltinOperator.CUSTOM
_NUMPY_TYPES = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "FLOAT64": np.float64,
    "INT32": np.int32,
    "INT8": np.int8,
    "UINT8": np.uint8,
}


def text(value) -> str:
    """A flatbuffer string field (bytes in the object API) as str; None -> ""."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if not isinstance(value, str):  # a numpy uint8 vector
        return bytes(value).decode("utf-8", "replace")
    return value


def opcode_names(model: schema.ModelT) -> list[tuple[str, str | None]]:
    """(builtin op name, custom op name or None) per operator code.

    The effective code is the larger of ``builtinCode`` and ``deprecatedBuiltinCode`` (TFLite's
    own rule: old files only set the deprecated int8 field, codes >= 127 only the new one).
    """
    names = []
    for code in model.operatorCodes or []:
        builtin = max(int(code.builtinCode or 0), int(code.deprecatedBuiltinCode or 0))
        op = BUILTIN_OPS.get(builtin, f"UNKNOWN_{builtin}")
        custom = text(code.customCode) if builtin == _CUSTOM else None
        names.append((op, custom))
    return names


@dataclass
class SubgraphView:
    """One subgraph with the maps the detectors need."""

    model: schema.ModelT
    index: int
    ops: list[str]  # builtin op name per operator
    producer: dict[int, int]  # tensor -> operator that writes it
    consumers: dict[int, list[int]]  # tensor -> operators that read it

    @classmethod
    def build(cls, model: schema.ModelT, index: int, codes) -> SubgraphView:
        sg = model.subgraphs[index]
        ops, producer, consumers = [], {}, {}
        for o, op in enumerate(sg.operators or []):
            ops.append(codes[op.opcodeIndex][0])
            for t in _indices(op.outputs):
                producer[t] = o
            for t in _indices(op.inputs):
                if t >= 0:
                    consumers.setdefault(t, []).append(o)
        return cls(model, index, ops, producer, consumers)

    @property
    def subgraph(self):
        return self.model.subgraphs[self.index]

    def operator(self, o: int):
        return self.subgraph.operators[o]

    def inputs(self, o: int) -> list[int]:
        return _indices(self.operator(o).inputs)

    def outputs(self, o: int) -> list[int]:
        return _indices(self.operator(o).outputs)

    def output_names(self, operators) -> list[str]:
        """The operators' first output tensor names: TFLite operators have no names of their own,
        so reports and conversion records name them by what they write."""
        return [text(self.tensor(self.outputs(o)[0]).name) for o in operators if self.outputs(o)]

    def tensor(self, t: int):
        return self.subgraph.tensors[t]

    def dtype(self, t: int) -> str:
        return TENSOR_TYPES.get(int(self.tensor(t).type), f"TYPE_{self.tensor(t).type}")

    def is_output(self, t: int) -> bool:
        """Whether tensor ``t`` is one of the subgraph's outputs."""
        outputs = self.subgraph.outputs
        return outputs is not None and t in [int(i) for i in outputs]

    def constant_tensor(self, t: int) -> int | None:
        """The constant tensor holding ``t``'s values: ``t`` itself, or the input of the
        DEQUANTIZE that writes it (float16 weights); None if there is none."""
        producer = self.producer.get(t)
        if producer is not None and self.ops[producer] == "DEQUANTIZE":
            t = self.inputs(producer)[0]
        return t if t >= 0 and self.is_constant(t) else None

    def is_constant(self, t: int) -> bool:
        """A tensor with data in its buffer (inline or at an external offset)."""
        buf = self.model.buffers[self.tensor(t).buffer]
        has_data = buf.data is not None and len(buf.data) > 0
        return t not in self.producer and (has_data or int(buf.offset or 0) > 1)

    def constant(self, t: int) -> np.ndarray | None:
        """The float64 value of a constant tensor (dequantized; through a DEQUANTIZE op too)."""
        if t < 0:
            return None
        if t in self.producer:
            o = self.producer[t]
            ins = self.inputs(o)
            return self.constant(ins[0]) if self.ops[o] == "DEQUANTIZE" and ins else None
        buf = self.model.buffers[self.tensor(t).buffer]
        dtype = _NUMPY_TYPES.get(self.dtype(t))
        if dtype is None or buf.data is None or len(buf.data) == 0:
            return None
        raw = np.asarray(buf.data, dtype=np.uint8).tobytes()
        if len(raw) % np.dtype(dtype).itemsize:
            return None
        value = np.frombuffer(raw, dtype=dtype).astype(np.float64)
        q = self.quant(t)
        if q is not None and not isinstance(q["scale"], list) and dtype in (np.int8, np.uint8):
            value = q["scale"] * (value - q["zero_point"])
        return value

    def quant(self, t: int) -> dict | None:
        """{"scale", "zero_point"} (scalars per tensor, lists per channel) or None."""
        q = self.tensor(t).quantization
        if q is None or q.scale is None or len(q.scale) == 0:
            return None
        scale = [float(s) for s in q.scale]
        zero = [int(z) for z in q.zeroPoint] if q.zeroPoint is not None else [0] * len(scale)
        if len(scale) == 1:
            return {"scale": scale[0], "zero_point": zero[0] if zero else 0}
        return {"scale": scale, "zero_point": zero, "axis": int(q.quantizedDimension)}

    def shape(self, t: int) -> list[int]:
        shape = self.tensor(t).shape
        return [int(d) for d in shape] if shape is not None else []


def _indices(values) -> list[int]:
    return [int(v) for v in values] if values is not None else []
