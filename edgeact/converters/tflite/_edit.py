"""Edits of a ``ModelT`` (plain functions, in place): swap activation sites, then drop the dead.

``apply_sites`` replaces each ``Site`` (indices of the unedited model) with its target ops, and
``prune`` removes the tensors, buffers and operator codes the edits left unused, remapping every
index that points at them (operators, subgraph inputs/outputs, signatures, metadata). Elements
that were already unused in the input are kept: a conversion changes only what it rewrote.

Op versions follow ``tensorflow/lite/tools/versioning/op_version.cc`` (``op_version``); new
operator codes set ``deprecated_builtin_code`` to min(code, 127), 127 being
PLACEHOLDER_FOR_GREATER_OP_CODES for codes that do not fit the old int8 field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgeact.catalogue import ACTIVATIONS
from edgeact.converters.tflite._graph import opcode_names, text
from edgeact.converters.tflite._rules import FUSABLE, TARGET_FORMS, TARGET_OPS, Site
from edgeact.converters.tflite._schema import TENSOR_TYPES, schema
from edgeact.forms import Param

__all__ = [
    "FIXED_OUTPUT",
    "Unused",
    "apply_sites",
    "op_version",
    "prune",
    "store",
    "stored",
    "unused",
]

_PLACEHOLDER = schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES  # 127
_CUSTOM = schema.BuiltinOperator.CUSTOM

# (op, dtype) -> (scale, zero_point) LiteRT requires of the output (kernels/activations.cc)
FIXED_OUTPUT = {
    (form.op, dtype): fixed
    for form in TARGET_FORMS.values()
    for dtype, fixed in form.fixed_output.items()
}
_FORMS_BY_OP = {form.op: form for form in TARGET_FORMS.values()}
_OPTIONS = {
    **{form.op: form.options for form in TARGET_FORMS.values() if form.options},
    "ADD": "AddOptions",
    "MUL": "MulOptions",
}


def op_version(op: str, dtype: str, mul_scale_ratio: float = 0.0) -> int:
    """The version op_version.cc gives the ops edgeact writes, for input type ``dtype``.

    Activation ops read it from their catalogue form. ``mul_scale_ratio`` is MUL's
    input1_scale·input2_scale/output_scale (≥ 1 needs version 3).
    """
    if op in _FORMS_BY_OP:
        return _FORMS_BY_OP[op].version(dtype)
    if op == "MUL" and mul_scale_ratio >= 1.0:
        return 3
    if op in ("ADD", "MUL") and dtype == "INT8":
        return 2
    return 1


def apply_sites(model, sites: list[Site], y_params: dict | None = None) -> list[list[str]]:
    """Rewrite ``sites`` in ``model``; the notes of each site (e.g. new output parameters).

    ``y_params`` maps (subgraph, tensor) to (scale, zero_point) measured by calibration; they
    replace the output parameters a site's new op would otherwise inherit.
    """
    y_params = y_params or {}
    notes: list[list[str]] = []
    inserts: dict[int, dict[int, list]] = {}
    removed: dict[int, set[int]] = {}
    for site in sites:
        sg = model.subgraphs[site.subgraph]
        site_notes: list[str] = []
        notes.append(site_notes)
        if site.fused:
            options = sg.operators[site.operators[0]].builtinOptions
            options.fusedActivationFunction = getattr(
                schema.ActivationFunctionType, FUSABLE[site.target]
            )
            continue
        _set_output_params(model, sg, site, y_params.get((site.subgraph, site.y)), site_notes)
        new_ops = _emit(model, sg, site, site_notes)
        producer = next(o for o in site.operators if site.y in _ints(sg.operators[o].outputs))
        inserts.setdefault(site.subgraph, {})[producer] = new_ops
        removed.setdefault(site.subgraph, set()).update(site.operators)
    for s, at in inserts.items():
        sg = model.subgraphs[s]
        ops = []
        for o, op in enumerate(sg.operators):
            ops.extend(at.get(o, []))
            if o not in removed[s]:
                ops.append(op)
        sg.operators = ops
    return notes


def _set_output_params(model, sg, site: Site, measured, notes: list[str]) -> None:
    y = sg.tensors[site.y]
    op = TARGET_OPS[site.target][-1]
    fixed = FIXED_OUTPUT.get((op, site.dtype))
    if not site.quantized or y.quantization is None or y.quantization.scale is None:
        return
    old = (float(y.quantization.scale[0]), int(y.quantization.zeroPoint[0]))
    if fixed is not None:
        new, why = fixed, f"{op} requires this {site.dtype.lower()} output range"
    elif measured is not None:
        new, why = measured, "measured on the calibration inputs"
    else:
        return
    scale = float(np.float32(new[0]))
    y.quantization.scale = [scale]
    y.quantization.zeroPoint = [int(new[1])]
    if (scale, int(new[1])) != (float(np.float32(old[0])), old[1]):
        notes.append(
            f"output {text(y.name)!r}: scale {scale:.6g}, zero point {int(new[1])} "
            f"(was {old[0]:.6g}, {old[1]}): {why}"
        )
        notes += _rescale_biases(model, sg, site.y, float(np.float32(old[0])) / scale)


def stored(model, tensor, dtype) -> np.ndarray:
    """The values in ``tensor``'s buffer, read as ``dtype`` (read-only)."""
    return np.frombuffer(np.asarray(model.buffers[tensor.buffer].data, np.uint8).tobytes(), dtype)


def store(model, tensor, values: np.ndarray) -> None:
    """Write ``values`` (in their own dtype) as ``tensor``'s data; in a buffer of its own when
    another tensor shares the buffer (``prune`` drops one left unused)."""
    if sum(t.buffer == tensor.buffer for sg in model.subgraphs for t in sg.tensors) > 1:
        model.buffers.append(schema.BufferT())
        tensor.buffer = len(model.buffers) - 1
    model.buffers[tensor.buffer].data = np.frombuffer(values.tobytes(), np.uint8)


_BIASED = frozenset({"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"})


def _rescale_biases(model, sg, t: int, ratio: float) -> list[str]:
    """Keep the int32 biases of the layers reading tensor ``t`` equal in real units after its
    scale changed by 1/``ratio``: LiteRT takes an int8 layer's bias in the scale s_input·s_weight,
    so a new input scale without new codes rescales the bias (measured: the int8 test MLP's
    error grew 20× that way). The notes say which biases moved."""
    notes = []
    codes = [op for op, _ in opcode_names(model)]
    for op in sg.operators:
        ins = _ints(op.inputs)
        layer = codes[op.opcodeIndex]
        slot = 3 if layer == "TRANSPOSE_CONV" else 2
        if layer not in _BIASED or len(ins) <= slot or ins[slot] < 0:
            continue
        if ins[2 if layer == "TRANSPOSE_CONV" else 0] != t:
            continue
        bias = sg.tensors[ins[slot]]
        if TENSOR_TYPES.get(int(bias.type)) != "INT32" or bias.quantization is None:
            continue
        rescaled = np.rint(stored(model, bias, np.int32).astype(np.float64) * ratio)
        info = np.iinfo(np.int32)
        store(model, bias, np.clip(rescaled, info.min, info.max).astype(np.int32))
        bias.quantization.scale = [float(s) / ratio for s in bias.quantization.scale]
        clipped = " (clipped to int32)" if np.any(np.abs(rescaled) > info.max) else ""
        notes.append(f"bias {text(bias.name)!r} rescaled with its new input scale{clipped}")
    return notes


def _emit(model, sg, site: Site, notes: list[str]) -> list:
    if site.target == "hardsigmoid":
        return _hardsigmoid(model, sg, site, notes)
    form = TARGET_FORMS[site.target]
    options = form.options_for(ACTIVATIONS[site.target].params)
    for key, value in form.values.items():
        if isinstance(value, Param):  # the source's own value (e.g. its slope), noted
            options[key] = float(site.params[key])
            notes.append(f"{form.op} {key} {options[key]:g}")
    return [_operator(model, form.op, site.dtype, [site.x], [site.y], **options)]


def _hardsigmoid(model, sg, site: Site, notes: list[str]) -> list:
    """hardsigmoid(x) = relu6(x + 3) · 1/6 as ADD(x, 3; fused RELU6) -> MUL(1/6)."""
    x, y = sg.tensors[site.x], sg.tensors[site.y]
    base = text(y.name)
    if site.quantized:
        top = 127 if site.dtype == "INT8" else 255
        low = -128 if site.dtype == "INT8" else 0
        three = _constant(model, sg, f"{base}/three", x.type, np.array([top]), (3 / top, 0))
        sixth = _constant(model, sg, f"{base}/sixth", x.type, np.array([top]), (1 / 6 / top, 0))
        a_q = (6 / 255, low)
        notes.append(
            f"ADD output {base + '/relu6'!r}: scale 6/255, zero point {low} (range [0, 6])"
        )
        ratio = a_q[0] * (1 / 6 / top) / float(y.quantization.scale[0])
    else:
        three = _constant(model, sg, f"{base}/three", x.type, np.array([3.0]), None)
        sixth = _constant(model, sg, f"{base}/sixth", x.type, np.array([1 / 6]), None)
        a_q, ratio = None, 0.0
    a = _tensor(sg, f"{base}/relu6", x.type, x.shape, x.shapeSignature, a_q)
    relu6 = schema.ActivationFunctionType.RELU6
    add = _operator(model, "ADD", site.dtype, [site.x, three], [a], fusedActivationFunction=relu6)
    mul = _operator(model, "MUL", site.dtype, [a, sixth], [site.y], mul_scale_ratio=ratio)
    return [add, mul]


_NUMPY = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT8": np.int8, "UINT8": np.uint8}


def _constant(model, sg, name, tensor_type, value: np.ndarray, quant) -> int:
    dtype = _NUMPY.get(TENSOR_TYPES[int(tensor_type)])
    if dtype is None:
        raise ValueError(
            f"hardsigmoid for {TENSOR_TYPES[int(tensor_type)]} tensors is not supported"
        )
    buf = schema.BufferT()
    buf.data = np.frombuffer(value.astype(dtype).tobytes(), dtype=np.uint8)
    model.buffers.append(buf)
    t = _tensor(sg, name, tensor_type, [1], None, quant)
    sg.tensors[t].buffer = len(model.buffers) - 1
    return t


def _tensor(sg, name, tensor_type, shape, signature, quant) -> int:
    t = schema.TensorT()
    t.name = name
    t.type = tensor_type
    t.shape = [int(d) for d in shape] if shape is not None else None
    t.shapeSignature = [int(d) for d in signature] if signature is not None else None
    t.buffer = 0
    if quant is not None:
        q = schema.QuantizationParametersT()
        q.scale = [float(np.float32(quant[0]))]
        q.zeroPoint = [int(quant[1])]
        t.quantization = q
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def _operator(model, op: str, dtype: str, inputs, outputs, mul_scale_ratio=0.0, **options):
    o = schema.OperatorT()
    o.opcodeIndex = _opcode(model, op, op_version(op, dtype, mul_scale_ratio))
    o.inputs = [int(i) for i in inputs]
    o.outputs = [int(i) for i in outputs]
    if op in _OPTIONS:
        opts = getattr(schema, _OPTIONS[op] + "T")()
        for key, value in options.items():
            setattr(opts, key, value)
        o.builtinOptionsType = getattr(schema.BuiltinOptions, _OPTIONS[op])
        o.builtinOptions = opts
    return o


def _opcode(model, op: str, version: int) -> int:
    """The index of ``op``'s operator code (added if missing, its version raised if lower).

    One code per builtin op at the highest version any of its operators needs is what the TFLite
    converter writes (op_version.cc's UpdateOpVersion only ever raises versions).
    """
    code = getattr(schema.BuiltinOperator, op)
    for i, c in enumerate(model.operatorCodes):
        effective = max(int(c.builtinCode or 0), int(c.deprecatedBuiltinCode or 0))
        if effective == code and code != _CUSTOM:
            c.version = max(int(c.version or 1), version)
            return i
    c = schema.OperatorCodeT()
    c.builtinCode = code
    c.deprecatedBuiltinCode = min(code, _PLACEHOLDER)
    c.version = version
    model.operatorCodes.append(c)
    return len(model.operatorCodes) - 1


@dataclass
class Unused:
    """Tensors ((subgraph, index)), buffers and operator codes nothing refers to."""

    tensors: set = field(default_factory=set)
    buffers: set = field(default_factory=set)
    codes: set = field(default_factory=set)


def unused(model) -> Unused:
    """What nothing in ``model`` refers to (buffer 0, the empty sentinel, always counts as used)."""
    result = Unused()
    used_buffers = {0} | _metadata_buffers(model)
    used_codes = set()
    for s, sg in enumerate(model.subgraphs):
        used = _used_tensors(model, s)
        result.tensors |= {(s, t) for t in range(len(sg.tensors or [])) if t not in used}
        used_buffers |= {int(sg.tensors[t].buffer) for t in used}
        used_codes |= {int(op.opcodeIndex) for op in sg.operators or []}
    result.buffers = set(range(len(model.buffers or []))) - used_buffers
    result.codes = set(range(len(model.operatorCodes or []))) - used_codes
    return result


def prune(model, keep: Unused) -> dict[str, int]:
    """Remove what is unused now but not in ``keep``; counts removed per kind."""
    dead = unused(model)
    counts = {"tensors": 0, "buffers": 0, "operator_codes": 0}
    for s in range(len(model.subgraphs)):
        drop = {t for (ss, t) in dead.tensors - keep.tensors if ss == s}
        if drop:
            counts["tensors"] += len(drop)
            _remap_tensors(model, s, drop)
    drop = dead.buffers - keep.buffers
    counts["buffers"] = len(drop)
    model.buffers, remap = _without(model.buffers, drop)
    for sg in model.subgraphs:
        for t in sg.tensors or []:
            t.buffer = remap[int(t.buffer)]
    for m in model.metadata or []:
        m.buffer = remap[int(m.buffer)]
    if model.metadataBuffer is not None:
        model.metadataBuffer = [remap[int(b)] for b in model.metadataBuffer]
    drop = dead.codes - keep.codes
    counts["operator_codes"] = len(drop)
    model.operatorCodes, remap = _without(model.operatorCodes, drop)
    for sg in model.subgraphs:
        for op in sg.operators or []:
            op.opcodeIndex = remap[int(op.opcodeIndex)]
    return counts


def _without(items: list, drop: set[int]) -> tuple[list, dict[int, int]]:
    """``items`` without the indices in ``drop``, and old index -> new index of the rest."""
    return [x for i, x in enumerate(items) if i not in drop], _remap(len(items), drop)


def _remap_tensors(model, s: int, drop: set[int]) -> None:
    sg = model.subgraphs[s]
    remap = _remap(len(sg.tensors), drop)
    remap[-1] = -1  # an omitted optional input

    def mapped(values):
        return None if values is None else [remap[int(v)] for v in values]

    sg.tensors = [t for i, t in enumerate(sg.tensors) if i not in drop]
    sg.inputs, sg.outputs = mapped(sg.inputs), mapped(sg.outputs)
    for op in sg.operators or []:
        op.inputs, op.outputs = mapped(op.inputs), mapped(op.outputs)
        op.intermediates = mapped(op.intermediates)
    for sig in model.signatureDefs or []:
        if int(sig.subgraphIndex) == s:
            for m in [*(sig.inputs or []), *(sig.outputs or [])]:
                m.tensorIndex = remap[int(m.tensorIndex)]


def _remap(n: int, drop: set[int]) -> dict[int, int]:
    kept = [i for i in range(n) if i not in drop]
    return {old: new for new, old in enumerate(kept)}


def _used_tensors(model, s: int) -> set[int]:
    sg = model.subgraphs[s]
    used = set(_ints(sg.inputs)) | set(_ints(sg.outputs))
    for op in sg.operators or []:
        used |= set(_ints(op.inputs)) | set(_ints(op.outputs)) | set(_ints(op.intermediates))
    for sig in model.signatureDefs or []:
        if int(sig.subgraphIndex) == s:
            used |= {int(m.tensorIndex) for m in [*(sig.inputs or []), *(sig.outputs or [])]}
    used.discard(-1)
    return used


def _metadata_buffers(model) -> set[int]:
    found = {int(m.buffer) for m in model.metadata or []}
    return found | set(_ints(model.metadataBuffer))


def _ints(values) -> list[int]:
    return [int(v) for v in values] if values is not None else []
