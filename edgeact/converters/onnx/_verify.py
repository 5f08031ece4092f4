"""Run ONNX models in ONNX Runtime for verification: sessions, input signatures, outputs.

onnxruntime is imported here, where it is used, never by ``import edgeact`` (it crashes at
start-up under the emulated-aarch64 CI, see issue 6).
"""

import os

import numpy as np
import onnx

from edgeact.converters._compare import compare_samples, per_tensor
from edgeact.converters._errors import ModelError, first_line
from edgeact.converters._inputs import sample_inputs
from edgeact.converters.onnx._graph import nested_graphs
from edgeact.converters.onnx._load import load_model, load_with_data
from edgeact.converters.onnx._ranges import input_ranges

__all__ = [
    "compare_models",
    "compare_per_op",
    "custom_ops",
    "exposing",
    "input_specs",
    "run",
    "runtime_name",
    "session",
]

# Operator domains ONNX Runtime's CPU build has kernels for; any other domain is a custom op
# library the user registers in their own sessions (ORT: "is not a registered function/op").
_RUNTIME_DOMAINS = {
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.ms.internal.nhwc",
}

_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
}


def session(model: onnx.ModelProto | str, what: str):
    """An ONNX Runtime CPU session (ORT's default threads); ModelError naming ``what`` if ONNX
    Runtime refuses it."""
    from edgeact.runtimes.onnxruntime import cpu_session

    source = model if isinstance(model, str) else model.SerializeToString()
    try:
        return cpu_session(source, threads=None)
    except Exception as exc:  # ORT raises its own exception types (Fail, InvalidGraph, ...)
        raise ModelError(f"ONNX Runtime cannot run {what}: {first_line(exc)}") from None


def custom_ops(model: onnx.ModelProto) -> list[str]:
    """``domain:Op`` of every op ONNX Runtime cannot run without the user's op library: ops of
    other domains than its own, unless the model defines them as local functions."""
    local = {(f.domain, f.name) for f in model.functions}
    nodes = [n for g in nested_graphs(model.graph) for n in g.node]
    nodes += [n for f in model.functions for n in f.node]
    return sorted(
        {
            f"{n.domain}:{n.op_type}"
            for n in nodes
            if n.domain not in _RUNTIME_DOMAINS and (n.domain, n.op_type) not in local
        }
    )


def input_specs(sess) -> list[tuple]:
    """(name, shape with None for dynamic dims, numpy dtype) per model input."""
    specs = []
    for i in sess.get_inputs():
        if i.type not in _ORT_TYPES:
            raise ModelError(f"input {i.name!r} has type {i.type}, which verification cannot feed")
        shape = [d if isinstance(d, int) else None for d in (i.shape or [])]
        specs.append((i.name, shape, np.dtype(_ORT_TYPES[i.type])))
    return specs


def run(sess, inputs: dict, what: str = "the model") -> dict[str, np.ndarray]:
    """Every output of ``sess`` by name; ModelError naming ``what`` if ONNX Runtime fails to
    run it (a model can pass ``onnx.checker`` and fail at run time: an index out of range)."""
    names = [o.name for o in sess.get_outputs()]
    try:
        return dict(zip(names, sess.run(names, inputs), strict=True))
    except Exception as exc:  # ORT's own exception types
        raise ModelError(f"ONNX Runtime fails to run {what}: {first_line(exc)}") from None


def runtime_name(target: str | None = None) -> str:
    import onnxruntime

    return f"ONNX Runtime {onnxruntime.__version__}"


def compare_models(
    original, converted, shapes=None, provided=None, samples=1, seed=0, target=None
) -> tuple[list, list[str], int]:
    """(per-output comparison over the samples, notes on the inputs, the number of samples) of
    two ONNX files run on the same inputs (``target``: "onnxruntime", the only one)."""
    # a one-line ModelError for an unreadable file, before ORT's long ones
    model, _ = (load_model(path) for path in (original, converted))
    reference = session(os.fspath(original), f"the model {original}")
    candidate = session(os.fspath(converted), f"the model {converted}")
    specs, ranges = input_specs(reference), input_ranges(model)
    feeds, notes = sample_inputs(specs, shapes, provided, samples, seed, ranges)
    try:
        outputs = [run(candidate, feed) for feed in feeds]
    except Exception as exc:  # ORT's own exception types: wrong input names, types, shapes
        raise ModelError(
            f"{converted} does not run on {original}'s inputs: {first_line(exc)}"
        ) from None
    expected = [run(reference, feed) for feed in feeds]
    return compare_samples(expected, outputs), notes, len(feeds)


def _computed(model: onnx.ModelProto) -> list[str]:
    """The main graph's node outputs, in node order (graph outputs and unnamed ones aside)."""
    outputs = {o.name for o in model.graph.output}
    names = [o for n in model.graph.node for o in n.output if o and o not in outputs]
    return list(dict.fromkeys(names))


def exposing(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of ``model`` whose graph also outputs ``names`` (ONNX Runtime infers their types)."""
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    exposed.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names)
    return exposed


def compare_per_op(
    original, converted, limits, shapes=None, provided=None, samples=1, seed=0
) -> dict:
    """The ``per_op`` block: every intermediate tensor of the main graph that both models
    compute (same name), run in ONNX Runtime on the same samples, compared in graph order
    (``per_tensor``). The tensors inside a replaced pattern exist in one model only."""
    models = [load_with_data(path)[0] for path in (original, converted)]
    produced = set(_computed(models[1]))
    names = [n for n in _computed(models[0]) if n in produced]
    sessions = [
        session(exposing(m, names), f"the model {path} with its tensors as outputs")
        for m, path in zip(models, (original, converted), strict=True)
    ]
    ranges = input_ranges(models[0])
    feeds, _ = sample_inputs(input_specs(sessions[0]), shapes, provided, samples, seed, ranges)
    reference, candidate = ([run(s, feed) for feed in feeds] for s in sessions)
    return per_tensor(names, reference, candidate, limits)
