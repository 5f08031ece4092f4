"""Runtime peers of a kernel case: single-op ONNX Runtime and LiteRT models on the same array.

Each peer is built for one input array and times only the runtime's own work: ONNX Runtime runs
through an IO binding on the caller's input and a preallocated output (no copies, like edgeact's
``out=``); LiteRT has its input tensor set once, then ``invoke()`` is timed. ``litert`` is LiteRT's
builtin kernels (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``), ``xnnpack`` its default resolver with the
XNNPACK delegate applied (only measured where the delegate takes the op, else it would time the
builtin kernel a second time). int8/uint8 results are checked against edgeact with the ``compat``
of the same runtime (``COMPAT``).

The runtimes are imported here, inside functions, never by ``import edgeact``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np

from edgeact.catalogue import ACTIVATIONS
from edgeact.quant import QuantParams

__all__ = ["COMPAT", "RUNTIME_PEERS", "Peer", "Unavailable", "ort_session", "runtime_peer"]

RUNTIME_PEERS = ("onnxruntime", "litert", "xnnpack")
COMPAT = {"onnxruntime": "onnxruntime", "litert": "tflite", "xnnpack": "xnnpack"}
# catalogue activation -> (TFLite builtin op, its options); catalogue default parameters only.
TFLITE_OPS = {
    name: (form.op, form.options_for(act.params))
    for name, act in ACTIVATIONS.items()
    if (form := act.tflite_form()) is not None
}


class Unavailable(Exception):
    """This peer cannot run this case here (no op, dtype, runtime or delegate); not an error."""


@dataclasses.dataclass
class Peer:
    """A ready-to-time runtime: ``run()`` computes, ``output()`` returns the last result."""

    run: Callable[[], object]
    output: Callable[[], np.ndarray]
    implementation: str


def runtime_peer(
    peer: str, name: str, x: np.ndarray, x_q: QuantParams | None, y_q: QuantParams | None,
    threads: int = 1,
) -> Peer:  # fmt: skip
    """The ``peer`` runtime computing activation ``name`` on ``x``; Unavailable if it cannot."""
    if x.dtype not in (np.float32, np.int8, np.uint8):
        raise Unavailable(f"no {x.dtype} {peer} peer: edgeact builds float32 and 8-bit models")
    try:
        if peer == "onnxruntime":
            return _onnxruntime(name, x, x_q, y_q, threads)
        return _litert(name, x, x_q, y_q, threads, delegate=peer == "xnnpack")
    except ImportError as error:
        raise Unavailable(f"{peer} is not installed ({error})") from error
    except RuntimeError as error:
        raise Unavailable(f"{peer} rejected the {name} model: {error}") from error


def ort_session(model, threads: int = 1):
    """An ONNX Runtime CPU session for a model (bytes or path) with ``threads`` intra-op threads.

    RuntimeError naming the problem if ORT rejects the model.
    """
    from edgeact.runtimes.onnxruntime import cpu_session

    try:
        return cpu_session(model, threads=threads)
    except Exception as error:  # ORT raises its own pybind11 exception types
        import onnxruntime as ort

        raise RuntimeError(f"ONNX Runtime {ort.__version__} cannot load it: {error}") from error


def _onnxruntime(name, x, x_q, y_q, threads) -> Peer:
    from edgeact.kernels import emulates
    from edgeact.runtimes import onnxruntime as ort_models

    act = ACTIVATIONS[name]
    form = act.onnx_form()
    if form is None or not emulates("onnxruntime", name):
        raise Unavailable(f"edgeact maps no ONNX op to {name}")
    op, attributes = form.op, form.attributes_for(act.params)
    if x_q is None:
        model = ort_models.float_model(op, x.shape, **attributes)
    else:
        model = ort_models.qdq_model(op, x_q, y_q, x.shape, **attributes)
    session = ort_session(model, threads)
    out = np.empty(x.shape, dtype=x.dtype if y_q is None else y_q.dtype)
    binding = session.io_binding()
    binding.bind_input("x", "cpu", 0, x.dtype, list(x.shape), x.ctypes.data)
    binding.bind_output("y", "cpu", 0, out.dtype, list(out.shape), out.ctypes.data)
    return Peer(functools.partial(_run_bound, session, binding, (x, out)), lambda: out, op)


def _run_bound(session, binding, arrays) -> None:
    """One run of a session whose I/O is bound to ``arrays`` by address: passing them along
    keeps them alive as long as the run callable (a freed ``out`` was written into: heap
    corruption, once the bench kept only the callable)."""
    session.run_with_iobinding(binding)


def _litert(name, x, x_q, y_q, threads, *, delegate: bool) -> Peer:
    from edgeact.runtimes import litert

    if name not in TFLITE_OPS:
        raise Unavailable(f"TFLite has no builtin op for {name}")
    op, options = TFLITE_OPS[name]
    if x_q is None:
        model = _float_model(op, x.shape, **options)
    else:
        model = litert.single_op_model(op, x_q, y_q, x.shape, **options)
    interp = litert.interpreter(model, delegate=delegate, num_threads=threads)
    delegated = "DELEGATE" in litert.delegated_ops(interp)
    if delegate and not delegated:
        raise Unavailable(
            f"XNNPACK does not take {x.dtype} {op}; 'litert' times the builtin kernel"
        )
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    out_index = interp.get_output_details()[0]["index"]
    return Peer(
        interp.invoke,
        lambda: interp.get_tensor(out_index),
        f"{op} via XNNPACK" if delegated else f"{op} builtin",
    )


def _float_model(op: str, shape, **options) -> bytes:
    """A float32 single-op TFLite model: LiteRT's int8 builder's model with float32 tensors."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    from edgeact.runtimes import litert

    placeholder = QuantParams(1.0, 0, "int8")
    packed = litert.single_op_model(op, placeholder, placeholder, shape, **options)
    model = schema.ModelT.InitFromPackedBuf(packed, 0)
    for tensor in model.subgraphs[0].tensors:
        tensor.type = schema.TensorType.FLOAT32
        tensor.quantization = None
    model.operatorCodes[0].version = 1  # every op's float32 kernel is version 1
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
