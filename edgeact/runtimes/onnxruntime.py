"""Single-op ONNX models for ONNX Runtime: build them, run them on the CPU execution provider.

``qdq_model(op, x_q, y_q)`` builds ``DequantizeLinear -> op -> QuantizeLinear`` with per-tensor
scale/zero-point initializers (float32 scales, zero points of the codes' dtype): the form
quantizers (onnxruntime.quantization, Olive, ...) emit and ORT's QDQ optimizer fuses.
``float_model(op)`` builds the bare float32 op. ``run_model`` runs a model in an
``InferenceSession`` on ``CPUExecutionProvider`` with one intra-op thread, either with the default
graph optimizations (``ORT_ENABLE_ALL``, what users run) or with all of them disabled
(``ORT_DISABLE_ALL``); ``optimized_ops`` shows the graph ORT actually executes.

onnx and onnxruntime are imported inside the functions, so importing edgeact never loads them.
"""

import os
import tempfile
from collections.abc import Mapping, Sequence

import numpy as np

from edgeact.quant import QuantParams

__all__ = [
    "DEFAULT_OPSET",
    "cpu_session",
    "float_model",
    "optimized_ops",
    "qdq_model",
    "run_model",
    "session",
]

DEFAULT_OPSET = 20  # the first opset with Gelu; HardSwish exists from 14, Clip's inputs from 11


def _input_operands() -> Mapping[str, tuple[tuple[str, int], ...]]:
    """op -> ((operand, since), ...): attributes that are inputs from some opset on (the
    catalogue's ONNX forms say which: Clip's min and max from opset 11)."""
    from edgeact.catalogue import ACTIVATIONS

    return {
        form.op: tuple((name, form.inputs_since) for name in form.attributes)
        for act in ACTIVATIONS.values()
        for form in act.onnx
        if form.inputs_since is not None
    }


_INPUT_OPERANDS = _input_operands()


def qdq_model(
    op: str,
    x_q: QuantParams,
    y_q: QuantParams,
    shape: Sequence[int] = (256,),
    opset: int = DEFAULT_OPSET,
    **attributes,
) -> bytes:
    """A serialized model ``y = QuantizeLinear(op(DequantizeLinear(x)))``.

    x and y have ``shape`` and the dtypes of ``x_q`` and ``y_q``. ``attributes`` are the op's
    (``alpha=0.1``, ``approximate="tanh"``); for ``Clip`` at opset >= 11, ``min``/``max`` become
    float32 initializer inputs. The model passes ``onnx.checker.check_model(full_check=True)``;
    ValueError naming the op otherwise.
    """
    from onnx import numpy_helper

    for label, q in (("x_q", x_q), ("y_q", y_q)):
        if not isinstance(q, QuantParams):
            raise TypeError(f"qdq_model({op}): {label} must be an edgeact.QuantParams, got {q!r}")
    quantization = [
        numpy_helper.from_array(np.array(x_q.scale, dtype=np.float32), "x_scale"),
        numpy_helper.from_array(np.array(x_q.zero_point, dtype=x_q.dtype), "x_zero_point"),
        numpy_helper.from_array(np.array(y_q.scale, dtype=np.float32), "y_scale"),
        numpy_helper.from_array(np.array(y_q.zero_point, dtype=y_q.dtype), "y_zero_point"),
    ]
    return _model(op, x_q.dtype, y_q.dtype, shape, opset, attributes, quantization)


def float_model(
    op: str, shape: Sequence[int] = (256,), opset: int = DEFAULT_OPSET, **attributes
) -> bytes:
    """A serialized model ``y = op(x)`` on float32 tensors of ``shape`` (see ``qdq_model``)."""
    return _model(op, np.float32, np.float32, shape, opset, attributes, None)


def cpu_session(
    source,
    *,
    threads: int | None = 1,
    optimized: bool = True,
    optimized_model_path: str | os.PathLike | None = None,
):
    """An ``onnxruntime.InferenceSession`` on CPUExecutionProvider: the one place edgeact makes one.

    ``source``: serialized model bytes or a path. ``threads``: intra-op threads (one inter-op
    thread), or None for ONNX Runtime's defaults. ``optimized=False`` sets ``ORT_DISABLE_ALL``
    (default ``ORT_ENABLE_ALL``, QDQ fusions included); ``optimized_model_path``: where ORT
    writes the graph it will run. ORT's own exceptions propagate: callers word the error.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 4  # fatal only: errors also come back as exceptions, worded once
    if not optimized:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if optimized_model_path is not None:
        options.optimized_model_filepath = os.fspath(optimized_model_path)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def session(model: bytes, optimized: bool = True, optimized_model_path: str | None = None):
    """``cpu_session`` with one thread; RuntimeError naming the model's ops if ORT rejects it."""
    try:
        return cpu_session(model, optimized=optimized, optimized_model_path=optimized_model_path)
    except Exception as error:  # ORT raises its own pybind11 exception types
        import onnxruntime as ort

        raise RuntimeError(
            f"ONNX Runtime {ort.__version__} rejected the model with op(s) "
            f"{', '.join(_op_types(model))}: {error}"
        ) from error


def run_model(model: bytes, x: np.ndarray, *, optimized: bool = True) -> np.ndarray:
    """The model's first output for ``x`` fed to its first input (session as in ``session``)."""
    sess = session(model, optimized)
    try:
        return sess.run(None, {sess.get_inputs()[0].name: x})[0]
    except Exception as error:
        raise RuntimeError(
            f"ONNX Runtime failed to run the model with op(s) {', '.join(_op_types(model))}: "
            f"{error}"
        ) from error


def optimized_ops(model: bytes, optimized: bool = True) -> list[str]:
    """The op types of the graph ORT executes, as ``domain:op`` for non-default domains.

    E.g. a QDQ Sigmoid becomes ``["com.microsoft:QLinearSigmoid"]``.
    """
    import onnx

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "optimized.onnx")
        session(model, optimized, optimized_model_path=path)
        graph = onnx.load(path).graph
    return [f"{node.domain}:{node.op_type}" if node.domain else node.op_type for node in graph.node]


def _model(op, x_dtype, y_dtype, shape, opset, attributes, quantization) -> bytes:
    """The graph x -> [DequantizeLinear] -> op -> [QuantizeLinear] -> y, checked."""
    import onnx
    from onnx import helper, numpy_helper

    attributes = dict(attributes)
    shape = [int(n) for n in shape]
    initializers = list(quantization or ())
    nodes = []
    op_input = "x"
    if quantization:
        nodes.append(
            helper.make_node(
                "DequantizeLinear", ["x", "x_scale", "x_zero_point"], ["x_float"], name="dequantize"
            )
        )
        op_input = "x_float"
    op_inputs = [op_input]
    for operand, since in _INPUT_OPERANDS.get(op, ()):
        if opset < since:
            continue
        if operand in attributes:
            name = f"{op}_{operand}"
            value = np.array(attributes.pop(operand), dtype=np.float32)
            initializers.append(numpy_helper.from_array(value, name))
            op_inputs.append(name)
        else:
            op_inputs.append("")  # optional input left out
    while op_inputs[-1] == "":
        op_inputs.pop()
    op_output = "y_float" if quantization else "y"
    nodes.append(helper.make_node(op, op_inputs, [op_output], name=op, **attributes))
    if quantization:
        nodes.append(
            helper.make_node(
                "QuantizeLinear", ["y_float", "y_scale", "y_zero_point"], ["y"], name="quantize"
            )
        )
    graph = helper.make_graph(
        nodes,
        f"{'qdq_' if quantization else ''}{op}",
        [
            helper.make_tensor_value_info(
                "x", helper.np_dtype_to_tensor_dtype(np.dtype(x_dtype)), shape
            )
        ],
        [
            helper.make_tensor_value_info(
                "y", helper.np_dtype_to_tensor_dtype(np.dtype(y_dtype)), shape
            )
        ],
        initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="edgeact"
    )
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise ValueError(f"{op} at opset {opset}: invalid ONNX model: {error}") from error
    return model.SerializeToString()


def _op_types(model: bytes) -> list[str]:
    try:
        import onnx

        nodes = onnx.load_from_string(model).graph.node
    except Exception:
        return ["<not an ONNX model>"]
    return [node.op_type for node in nodes] or ["<none>"]
