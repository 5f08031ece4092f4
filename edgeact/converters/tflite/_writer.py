"""Serialise a ``ModelT`` to TFLite flatbuffer bytes: the only module of the converter that packs.

Two things the schema's plain ``ModelT.Pack`` does not do, and TFLite models need:

- constant data is aligned to 16 bytes, as the TFLite converter writes it, so that kernels that
  use the buffer in place (no copy) read aligned float/int32 data on every CPU;
- buffers stored outside the flatbuffer (``Buffer.offset``/``size``, used by models > 2 GB) point
  into the *source* file, so they are copied inline (``inline_external``) before packing.
"""

from __future__ import annotations

import flatbuffers
import numpy as np

from edgeact.converters.tflite._reader import FILE_IDENTIFIER
from edgeact.converters.tflite._schema import schema

__all__ = ["inline_external", "serialize"]

_ALIGNMENT = 16


def inline_external(model, source: bytes) -> None:
    """Copy each buffer's external range of ``source`` into the buffer (offset/size cleared)."""
    for buf in model.buffers or []:
        offset, size = int(buf.offset or 0), int(buf.size or 0)
        if offset > 1:
            buf.data = np.frombuffer(source[offset : offset + size], dtype=np.uint8).copy()
            buf.offset, buf.size = 0, 0


def serialize(model) -> bytes:
    """The model as a finished TFLite flatbuffer with the ``TFL3`` identifier."""
    size = sum(len(b.data) for b in model.buffers or [] if b.data is not None)
    builder = flatbuffers.Builder(size + 65536)
    originals = model.buffers
    model.buffers = [_Packed(_pack_buffer(builder, b)) for b in originals or []]
    try:
        root = model.Pack(builder)
    finally:
        model.buffers = originals
    builder.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


class _Packed:
    """Stands in for a BufferT inside ``ModelT.Pack``: the buffer table is already written."""

    def __init__(self, offset: int):
        self.offset = offset

    def Pack(self, builder) -> int:  # the object API's method name
        return self.offset


def _pack_buffer(builder, buf) -> int:
    data = None
    if buf.data is not None and len(buf.data):
        raw = np.asarray(buf.data, dtype=np.uint8).tobytes()
        builder.StartVector(1, len(raw), _ALIGNMENT)
        builder.head -= len(raw)
        builder.Bytes[builder.head : builder.head + len(raw)] = raw
        data = builder.EndVector()
    schema.BufferStart(builder)
    if data is not None:
        schema.BufferAddData(builder, data)
    schema.BufferAddOffset(builder, int(buf.offset or 0))
    schema.BufferAddSize(builder, int(buf.size or 0))
    return schema.BufferEnd(builder)
