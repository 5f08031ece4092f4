"""Read an ONNX file without touching it, turning every way it can be unreadable into ModelError.

The file is read once as bytes and parsed in memory: nothing is written. ``load_model`` does not
load external data (inspect only needs small constants, which are always stored inline);
``load_with_data`` (convert, verify --per-op) checks every reference first, then reads it.
"""

import os
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError, Message
from onnx import external_data_helper

from edgeact.converters._errors import ModelError
from edgeact.converters.onnx._graph import nested_graphs

__all__ = [
    "DEFAULT_DOMAINS",
    "MAX_OPSET",
    "default_opset",
    "load_model",
    "load_with_data",
]

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
    field = _not_text(model)
    if field is not None:
        raise ModelError(f"{p}: not a valid ONNX model ({field} is not UTF-8 text)")
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
    _check_arity(model, p)
    return model


def _not_text(message: Message) -> str | None:
    """The first string field holding bytes that are not UTF-8, or None. The parser accepts them
    and hands them out as ``bytes``, which every use of a name (``str`` methods) trips over."""
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE:
            for item in [value] if isinstance(value, Message) else value:
                found = _not_text(item)
                if found is not None:
                    return found
        elif field.type == field.TYPE_STRING:
            values = [value] if isinstance(value, str | bytes) else value
            if any(isinstance(v, bytes) for v in values):
                return field.full_name
    return None


def _check_arity(model: onnx.ModelProto, p: Path) -> None:
    """Every node of an op ONNX defines has the inputs and outputs the op requires: the rules
    read ``node.input[0]`` and ``node.output[0]`` (and onnx.checker refuses such nodes too)."""
    bodies = [(g.node, model.opset_import) for g in nested_graphs(model.graph)]
    bodies += [(f.node, f.opset_import or model.opset_import) for f in model.functions]
    schemas = {}
    for nodes, imports in bodies:
        versions = {("" if i.domain == "ai.onnx" else i.domain): i.version for i in imports}
        for node in nodes:
            domain = "" if node.domain == "ai.onnx" else node.domain
            key = (node.op_type, versions.get(domain), domain)
            if key not in schemas:
                schemas[key] = _schema(*key)
            need = schemas[key]
            if need and (len(node.input) < need[0] or len(node.output) < need[1]):
                raise ModelError(
                    f"{p}: node {node.name or node.op_type!r} has {len(node.input)} input(s) and "
                    f"{len(node.output)} output(s); {node.op_type} needs at least {need[0]} and "
                    f"{need[1]}"
                )


def _schema(op_type: str, version: int | None, domain: str) -> tuple[int, int] | None:
    """(min inputs, min outputs) of the op at the opset, None for ops ONNX does not define."""
    if version is None:
        return None
    try:
        schema = onnx.defs.get_schema(op_type, version, domain)
    except (onnx.defs.SchemaError, TypeError):  # TypeError: a version beyond a C int
        return None
    return schema.min_input, schema.min_output


def _tensors(model: onnx.ModelProto):
    """Every tensor of the model: initializers and node attributes, in subgraphs too."""
    for g in nested_graphs(model.graph):
        yield from g.initializer
        for node in g.node:
            for a in node.attribute:
                yield from [a.t] if a.HasField("t") else a.tensors


def _external(model: onnx.ModelProto) -> bool:
    """Any tensor stored in an external data file."""
    return any(external_data_helper.uses_external_data(t) for t in _tensors(model))


def _check_external_references(model: onnx.ModelProto, folder: Path, source) -> None:
    """Each external reference names a file in the model's folder and a range inside it, before
    onnx reads it: onnx 1.19 allocates whatever ``length`` says (a terabyte: MemoryError) and
    reads past the end without a word."""
    for t in _tensors(model):
        if not external_data_helper.uses_external_data(t):
            continue
        ref = {e.key: e.value for e in t.external_data}
        location = ref.get("location", "")
        path = (folder / location).resolve()
        where = f"{source}: tensor {t.name!r} refers to {location!r}"
        if not path.is_relative_to(folder.resolve()):
            raise ModelError(f"{where}, outside the model's folder")
        if not path.is_file():
            raise ModelError(f"{where}, which does not exist")
        size = path.stat().st_size
        try:
            offset = int(ref.get("offset") or 0)
            length = int(ref["length"]) if ref.get("length") else size - offset
        except ValueError:
            raise ModelError(f"{where} with offset/length that are not integers") from None
        if offset < 0 or length < 0 or offset + length > size:
            raise ModelError(
                f"{where} at offset {offset}, length {length}: outside its {size}-byte file"
            )


def load_with_data(source) -> tuple[onnx.ModelProto, bool]:
    """``load_model`` with the external data read in (checked first); (model, whether it had
    external data)."""
    model = load_model(source)
    external = _external(model)
    if external:
        _check_external_references(model, Path(source).parent, source)
        try:
            external_data_helper.load_external_data_for_model(model, str(Path(source).parent))
        except (OSError, ValueError, onnx.checker.ValidationError) as exc:  # last: onnx's own
            # location checks, stricter in some versions than ours
            raise ModelError(f"{source}: cannot read its external data ({exc})") from None
    return model, external
