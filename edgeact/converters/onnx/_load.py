"""Read an ONNX file without touching it, turning every way it can be unreadable into ModelError.

The file is read once as bytes and parsed in memory: nothing is written, external data is not
loaded (inspect only needs small constants, which are always stored inline).
"""

import os
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from edgeact.converters._errors import ModelError

__all__ = ["DEFAULT_DOMAINS", "MAX_OPSET", "default_opset", "load_model"]

MAX_OPSET = onnx.defs.onnx_opset_version()
DEFAULT_DOMAINS = ("", "ai.onnx")


def default_opset(model: onnx.ModelProto) -> int | None:
    """The ai.onnx opset the model imports, or None if it imports none."""
    for imp in model.opset_import:
        if imp.domain in DEFAULT_DOMAINS:
            return int(imp.version)
    return None


def load_model(path: str | os.PathLike) -> onnx.ModelProto:
    """Parse ``path`` as an ONNX ModelProto; ModelError with a one-line reason otherwise."""
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: no such file")
    if p.is_dir():
        raise ModelError(f"{p}: is a directory, not an ONNX file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise ModelError(f"{p}: file is empty")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError):
        raise ModelError(
            f"{p}: not an ONNX model or truncated (protobuf parse failed, {len(data)} bytes)"
        ) from None
    if model.ir_version <= 0 or not model.opset_import or not model.HasField("graph"):
        raise ModelError(f"{p}: not an ONNX model (no IR version, opset import or graph)")
    if model.ir_version > onnx.IR_VERSION:
        raise ModelError(
            f"{p}: IR version {model.ir_version} is newer than this onnx supports "
            f"({onnx.IR_VERSION}); upgrade onnx"
        )
    opset = default_opset(model)
    if opset is not None and opset > MAX_OPSET:
        raise ModelError(
            f"{p}: opset {opset} is newer than this onnx supports ({MAX_OPSET}); upgrade onnx"
        )
    return model
