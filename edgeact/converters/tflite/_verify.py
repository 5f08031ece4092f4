"""Run TFLite models in LiteRT on given inputs and return their outputs as float64 arrays.

Models run on LiteRT's builtin kernels (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``): the kernels the
int8 tests are bit-exact with, and the resolver that also works under emulated aarch64. A model
with signatures runs every signature (outputs named ``key/output`` when there are several);
one without runs its first subgraph. Quantized outputs are dequantized, so an int8 model's error
is measured in real units, like a float model's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from edgeact.converters._compare import compare_samples, per_tensor
from edgeact.converters._errors import ModelError, first_line
from edgeact.converters._inputs import sample_inputs, zip_samples
from edgeact.converters._targets import delegated
from edgeact.converters.tflite._graph import text
from edgeact.converters.tflite._reader import parse_model, read_bytes

__all__ = [
    "Entry",
    "compare_models",
    "compare_per_op",
    "entries",
    "load",
    "make_inputs",
    "run",
    "run_all",
    "runtime_name",
]


def runtime_name(target: str | None = None) -> str:
    """The verification runtime as the report names it, with LiteRT's version."""
    from importlib.metadata import version

    how = "XNNPACK delegate" if delegated(target) else "builtin kernels"
    return f"LiteRT {version('ai-edge-litert')} ({how})"


def load(model: bytes, *, preserve: bool = False, delegate: bool = False):
    """A LiteRT interpreter with tensors allocated; RuntimeError naming what LiteRT rejected.

    ``preserve`` keeps every intermediate tensor readable after ``invoke`` (calibration, tests);
    ``delegate`` runs it with the default resolver (XNNPACK) instead of the builtin kernels.
    """
    from edgeact.runtimes.litert import new_interpreter

    try:
        return new_interpreter(model, delegate=delegate, preserve_all_tensors=preserve)
    except (RuntimeError, ValueError) as error:
        raise RuntimeError(" ".join(str(error).split())) from None


@dataclass
class Entry:
    """One way into the model: a signature (``key``) or, without signatures, subgraph 0."""

    key: str | None
    subgraph: int
    inputs: dict  # name -> LiteRT tensor details
    outputs: dict


def entries(interp) -> list[Entry]:
    """The model's signatures, or its first subgraph when it has none."""
    signatures = interp.get_signature_list()
    if not signatures:
        ins = {d["name"]: d for d in interp.get_input_details()}
        outs = {d["name"]: d for d in interp.get_output_details()}
        return [Entry(None, 0, ins, outs)]
    found = []
    for key in signatures:
        runner = interp.get_signature_runner(key)
        ins, outs = runner.get_input_details(), runner.get_output_details()
        found.append(Entry(key, runner._subgraph_index, ins, outs))
    return found


def make_inputs(
    interp, provided: dict | None = None, shapes: dict | None = None, samples=1, seed=0
) -> tuple[list[dict], list[str]]:
    """Samples of inputs per entry ([{key: {name: array}}]) and notes on where they came from.

    ``provided`` arrays and ``shapes`` of dynamic inputs are matched by input name (or
    ``key/name``); quantized inputs given as floats are quantized with the input's parameters,
    integer arrays are taken as codes. ``samples`` and ``seed``: as for ``sample_inputs``, whose
    rules say how many samples there are; an entry with one sample serves every sample.
    """
    provided, shapes = dict(provided or {}), dict(shapes or {})
    per_entry, notes, used, quantized_any = {}, [], set(), False
    for entry in entries(interp):
        mine, my_shapes = {}, {}
        for name in entry.inputs:
            for given, chosen in ((provided, mine), (shapes, my_shapes)):
                for label in (f"{entry.key}/{name}", name):
                    if label in given:
                        chosen[name] = given[label]
                        used.add(label)
                        break
        specs, ranges = [], {}
        for name, d in entry.inputs.items():
            dtype = np.dtype(np.float32) if _quant(d) is not None else np.dtype(d["dtype"])
            shape = [None if int(s) < 0 else int(s) for s in d["shape_signature"]]
            specs.append((name, shape, dtype))
            if (q := _quant(d)) is not None:  # normal samples would clip to its codes' ends
                info, (scale, zero) = np.iinfo(d["dtype"]), q
                why = f"the range of its {np.dtype(d['dtype'])} quantization"
                ranges[name] = (scale * (info.min - zero), scale * (info.max - zero), why)
        codes = {n for n, a in mine.items() if _quant(entry.inputs[n]) and _is_int(a)}
        arrays, entry_notes = sample_inputs(specs, my_shapes, mine, samples, seed, ranges)
        notes += [n for n in entry_notes if n not in notes]
        feeds = []
        for sample in arrays:
            feed = {}
            for name, d in entry.inputs.items():
                q = _quant(d)
                if name in codes:  # 8-bit codes, exact through sample_inputs' float32
                    feed[name] = sample[name].astype(d["dtype"])
                elif q is not None:
                    feed[name] = _quantize(sample[name], q, np.dtype(d["dtype"]))
                    quantized_any = True
                else:
                    feed[name] = sample[name]
            feeds.append(feed)
        per_entry[entry.key] = feeds
    if quantized_any:  # over every entry (signature), not just the last one
        notes.append(_QUANTIZED_NOTE)
    unknown = sorted((set(provided) | set(shapes)) - used)
    if unknown:
        raise ValueError(f"the model has no input {unknown[0]!r}")
    return zip_samples(per_entry, "the signatures' inputs"), notes


_QUANTIZED_NOTE = "quantized inputs: the float inputs quantized with each input's parameters"


def run(interp, feeds: dict) -> dict[str, np.ndarray]:
    """Every output (dequantized, float64) of every entry for ``feeds`` from ``make_inputs``."""
    outputs = {}
    all_entries = entries(interp)
    for entry in all_entries:
        feed = feeds[entry.key]
        if entry.key is None:
            for name, d in entry.inputs.items():
                if tuple(d["shape"]) != feed[name].shape:
                    interp.resize_tensor_input(d["index"], feed[name].shape)
            interp.allocate_tensors()
            for name, d in entry.inputs.items():
                interp.set_tensor(d["index"], feed[name])
            interp.invoke()
            raw = {name: interp.get_tensor(d["index"]) for name, d in entry.outputs.items()}
        else:
            raw = interp.get_signature_runner(entry.key)(**feed)
        for name, value in raw.items():
            label = name if len(all_entries) == 1 else f"{entry.key}/{name}"
            outputs[label] = _dequantize(np.array(value), _quant(entry.outputs[name]))
    return outputs


def run_all(model: bytes, feeds: list, target: str | None = None) -> list[dict]:
    """``run`` of ``model`` on each of ``feeds``, in the ``target``'s resolver."""
    interp = load(model, delegate=delegated(target))
    return [run(interp, feed) for feed in feeds]


def _quant(details: dict) -> tuple[float, int] | None:
    """(scale, zero_point) of a per-tensor quantized 8-bit tensor, else None."""
    if np.dtype(details["dtype"]) not in (np.dtype(np.int8), np.dtype(np.uint8)):
        return None
    q = details.get("quantization_parameters") or {}
    scales = q.get("scales")
    if scales is None or len(scales) != 1:
        return None
    return float(scales[0]), int(q["zero_points"][0])


def _tensor_params(tensor) -> tuple[float, int] | None:
    """(scale as LiteRT's float32, zero point) of a per-tensor quantized schema tensor, else
    None (float, or one scale per channel)."""
    q = tensor.quantization
    if q is None or q.scale is None or len(q.scale) != 1:
        return None
    return float(np.float32(q.scale[0])), int(q.zeroPoint[0])


def _is_int(array) -> bool:
    return np.issubdtype(np.asarray(array).dtype, np.integer)


def _quantize(x: np.ndarray, q: tuple[float, int], dtype: np.dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    codes = np.rint(np.asarray(x, dtype=np.float64) / q[0]) + q[1]
    return np.clip(codes, info.min, info.max).astype(dtype)


def _dequantize(value: np.ndarray, q: tuple[float, int] | None) -> np.ndarray:
    if q is None:
        return value.astype(np.float64)
    return (value.astype(np.float64) - q[1]) * np.float32(q[0])


def compare_models(
    original, converted, shapes=None, provided=None, samples=1, seed=0, target=None
) -> tuple[list, list[str], int]:
    """(per-output comparison over the samples, notes on the inputs, the number of samples) of
    two .tflite files on the same inputs, in ``target``'s resolver (builtin kernels if None)."""
    interps = []
    for path in (original, converted):
        data = read_bytes(path)
        parse_model(data, os.fspath(path))  # a one-line ModelError for a malformed file
        try:
            interps.append(load(data, delegate=delegated(target)))
        except RuntimeError as error:
            raise ModelError(f"LiteRT cannot run {path}: {first_line(error)}") from None
    feeds, notes = make_inputs(interps[0], provided, shapes, samples, seed)
    try:
        outputs = [run(interps[1], feed) for feed in feeds]
    except (KeyError, ValueError, RuntimeError) as error:
        raise ModelError(
            f"{converted} does not run on {original}'s inputs: {first_line(error)}"
        ) from None
    try:
        reference = [run(interps[0], feed) for feed in feeds]
    except RuntimeError as error:
        raise ModelError(f"LiteRT fails to run {original}: {first_line(error)}") from None
    return compare_samples(reference, outputs), notes, len(feeds)


def _computed(model, subgraphs: list[int]) -> dict[str, tuple[int, int, tuple | None]]:
    """Operator outputs of ``subgraphs`` in op order: label -> (subgraph, tensor index, per-tensor
    (scale, zero point) or None); labels are tensor names, "subgraph/name" with several."""
    found = {}
    for s in subgraphs:
        sg = model.subgraphs[s]
        for op in sg.operators or []:
            for i in op.outputs if op.outputs is not None else []:
                if i < 0:
                    continue
                t = sg.tensors[i]
                name = text(t.name) or f"tensor {i}"
                label = name if len(subgraphs) == 1 else f"{s}/{name}"
                found.setdefault(label, (s, i, _tensor_params(t)))
    return found


def compare_per_op(
    original, converted, limits, shapes=None, provided=None, samples=1, seed=0
) -> dict:
    """The ``per_op`` block: every operator output of the signatures' subgraphs that both
    models compute (same tensor name), run in LiteRT with all tensors kept, dequantized,
    compared in op order (``per_tensor``)."""
    datas = [read_bytes(path) for path in (original, converted)]
    interps = [load(data, preserve=True) for data in datas]
    subgraphs = sorted({e.subgraph for e in entries(interps[0])})
    tensors = [
        _computed(parse_model(data, os.fspath(path)), subgraphs)
        for data, path in zip(datas, (original, converted), strict=True)
    ]
    names = [n for n in tensors[0] if n in tensors[1]]
    feeds, _ = make_inputs(interps[0], provided, shapes, samples, seed)
    values = [[], []]
    for feed in feeds:
        for interp, found, out in zip(interps, tensors, values, strict=True):
            run(interp, feed)
            out.append({n: _kept_tensor(interp, *found[n]) for n in names})
    return per_tensor(names, *values, limits)


def _kept_tensor(interp, subgraph: int, index: int, params) -> np.ndarray:
    """A tensor kept after ``invoke`` (``load(preserve=True)``), dequantized, as float64."""
    return _dequantize(np.array(interp.get_tensor(index, subgraph)), params)
