"""Read and validate a .tflite file: the only module of the converter that reads flatbuffers.

``read_model`` returns the schema's object-API ``ModelT`` after checking what later code relies on:
the file identifier, that the flatbuffer parses inside the file, that external buffer ranges
(``Buffer.offset``/``size``) lie in the file, and that every buffer, tensor and operator-code index
is in range. Each problem raises ``ModelError`` with a one-line message naming the file.
"""

from __future__ import annotations

import os
import struct

from edgeact.converters._errors import ModelError
from edgeact.converters.tflite._schema import schema

__all__ = ["FILE_IDENTIFIER", "parse_model", "read_bytes", "read_model"]

FILE_IDENTIFIER = b"TFL3"


def read_model(path: str | os.PathLike) -> tuple[schema.ModelT, int]:
    """The validated ``ModelT`` of the file at ``path`` and the file's size in bytes."""
    data = read_bytes(path)
    return parse_model(data, os.fspath(path)), len(data)


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of the file at ``path``; ModelError for a directory or a missing file."""
    name = os.fspath(path)
    if os.path.isdir(name):
        raise ModelError(f"{name}: is a directory, not a .tflite file")
    if not os.path.isfile(name):
        raise ModelError(f"{name}: no such file")
    with open(name, "rb") as f:
        return f.read()


def parse_model(data: bytes, name: str = "<bytes>") -> schema.ModelT:
    """Parse and validate a TFLite flatbuffer held in memory (``name`` is used in messages)."""
    size = len(data)
    if size == 0:
        raise ModelError(f"{name}: empty file")
    if size < 8:
        raise ModelError(f"{name}: truncated: {size} bytes, too short for a flatbuffer header")
    root = struct.unpack_from("<I", data, 0)[0]
    identifier = bytes(data[4:8])
    if identifier != FILE_IDENTIFIER:
        if not 8 <= root < size:
            raise ModelError(
                f"{name}: not a flatbuffer (root table offset {root} outside the {size}-byte file)"
            )
        raise ModelError(
            f"{name}: wrong file identifier {identifier!r} (expected {FILE_IDENTIFIER!r}); "
            "not a TFLite model"
        )
    try:
        model = schema.ModelT.InitFromPackedBuf(data, 0)
    except (struct.error, ValueError, IndexError) as error:
        # the object API reads past the end of a cut-off file (struct.error / numpy ValueError)
        raise ModelError(
            f"{name}: truncated or corrupt flatbuffer ({size} bytes): {error}"
        ) from None
    except Exception as error:  # any other decoding failure: garbage behind a valid header
        raise ModelError(f"{name}: not a valid TFLite flatbuffer: {error}") from None
    _validate(model, size, name)
    return model


def _validate(model: schema.ModelT, size: int, name: str) -> None:
    buffers = model.buffers or []
    for i, buf in enumerate(buffers):
        offset, length = int(buf.offset or 0), int(buf.size or 0)
        if offset > 1 and offset + length > size:
            raise ModelError(
                f"{name}: buffer {i} offset {offset} + size {length} is outside the "
                f"{size}-byte file"
            )
    n_codes = len(model.operatorCodes or [])
    subgraphs = model.subgraphs or []
    if not subgraphs:
        raise ModelError(f"{name}: the model has no subgraph")
    for s, sg in enumerate(subgraphs):
        tensors = sg.tensors or []
        for t, tensor in enumerate(tensors):
            if not 0 <= tensor.buffer < max(len(buffers), 1):
                raise ModelError(
                    f"{name}: subgraph {s} tensor {t} refers to buffer {tensor.buffer}, "
                    f"but the model has {len(buffers)} buffers"
                )
        for where, indices in (("inputs", sg.inputs), ("outputs", sg.outputs)):
            _check_tensors(indices, len(tensors), f"subgraph {s} {where}", name)
        for o, op in enumerate(sg.operators or []):
            if not 0 <= op.opcodeIndex < n_codes:
                raise ModelError(
                    f"{name}: subgraph {s} operator {o} uses operator code {op.opcodeIndex}, "
                    f"but the model has {n_codes} operator codes"
                )
            _check_tensors(op.inputs, len(tensors), f"subgraph {s} operator {o} inputs", name)
            _check_tensors(op.outputs, len(tensors), f"subgraph {s} operator {o} outputs", name)
            where = f"subgraph {s} operator {o} intermediates"
            _check_tensors(op.intermediates, len(tensors), where, name)
    for sig in model.signatureDefs or []:
        key = _text(sig.signatureKey)
        if not 0 <= sig.subgraphIndex < len(subgraphs):
            raise ModelError(
                f"{name}: signature {key!r} refers to subgraph "
                f"{sig.subgraphIndex}, but the model has {len(subgraphs)} subgraphs"
            )
        n = len(subgraphs[sig.subgraphIndex].tensors or [])
        for where, maps in (("inputs", sig.inputs), ("outputs", sig.outputs)):
            indices = [m.tensorIndex for m in maps or []]  # uint32: never -1
            _check_tensors(indices, n, f"signature {key!r} {where}", name)


def _check_tensors(indices, n: int, where: str, name: str) -> None:
    for i in indices if indices is not None else ():
        if not -1 <= int(i) < n:  # -1 marks an omitted optional input
            raise ModelError(f"{name}: {where} refer to tensor {int(i)}, but there are {n}")


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
