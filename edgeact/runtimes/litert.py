"""Single-op TFLite models, built with the official schema's object API and run in LiteRT.

``single_op_model`` writes a one-operator model (input -> op -> output, both tensors quantized
per tensor) without TensorFlow; ``interpreter`` and ``run_model`` run it in LiteRT's interpreter
either on its builtin kernels only (``delegate=False``, the ``BUILTIN_WITHOUT_DEFAULT_DELEGATES``
resolver) or with the default XNNPACK delegate applied (``delegate=True``). ``ai_edge_litert``
is imported inside the functions, so importing this module does not load LiteRT.

Ops, options and op versions come from the catalogue's TFLite forms (``edgeact.forms``).

LiteRT's own preconditions (``tflite/kernels/activations.cc``), which ``interpreter`` reports as
a RuntimeError: LOGISTIC needs an output scale of exactly 1/256 (any zero point); HARD_SWISH needs
input_scale/128 < output_scale; ELU runs int8 only (uint8 fails when invoked).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeact.quant import QuantParams

__all__ = [
    "OPS",
    "OpSpec",
    "delegated_ops",
    "interpreter",
    "run_interpreter",
    "run_model",
    "single_op_model",
]


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """How to write one builtin op: its options class (if any) and version per 8-bit dtype."""

    options: str | None = None  # name of the schema's ...OptionsT class
    defaults: tuple[tuple[str, object], ...] = ()  # option field -> default value
    versions: tuple[tuple[str, int], ...] = (("int8", 1), ("uint8", 1))


def _op_specs() -> dict[str, OpSpec]:
    """One OpSpec per written TFLite form of the catalogue (GELU: its first, exact, record)."""
    from edgeact.catalogue import ACTIVATIONS

    specs: dict[str, OpSpec] = {}
    for act in ACTIVATIONS.values():
        form = act.tflite_form()
        if form is None or form.op in specs:
            continue
        specs[form.op] = OpSpec(
            options=form.options,
            defaults=tuple(form.options_for(act.params).items()),
            versions=tuple((dtype.lower(), form.version(dtype)) for dtype in ("INT8", "UINT8")),
        )
    return specs


OPS: dict[str, OpSpec] = _op_specs()


def single_op_model(op: str, x_q: QuantParams, y_q: QuantParams, shape=(256,), **options) -> bytes:
    """A TFLite flatbuffer running the builtin ``op`` on one x_q-quantized input of ``shape``.

    ``options`` set the op's builtin options by their schema field name (``alpha`` for LEAKY_RELU,
    ``approximate`` for GELU). The model is not checked here; ``interpreter`` reports what LiteRT
    rejects.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    if op not in OPS:
        raise ValueError(f"single_op_model: unsupported op {op!r}; supported: {', '.join(OPS)}")
    if not (isinstance(x_q, QuantParams) and isinstance(y_q, QuantParams)):
        raise TypeError("single_op_model: x_q and y_q must be edgeact.QuantParams")
    if x_q.dtype != y_q.dtype:
        raise ValueError(
            f"single_op_model: {op} takes and returns the same dtype, got {x_q.dtype} -> "
            f"{y_q.dtype}"
        )
    spec = OPS[op]
    defaults = dict(spec.defaults)
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"single_op_model: {op} has no option(s) {', '.join(unknown)}")
    shape = [int(d) for d in shape]
    tensor_type = {
        np.dtype(np.int8): schema.TensorType.INT8,
        np.dtype(np.uint8): schema.TensorType.UINT8,
    }[x_q.dtype]

    def tensor(name, q):
        quant = schema.QuantizationParametersT()
        quant.scale = [float(q.scale)]  # already a float32 value: stored exactly
        quant.zeroPoint = [int(q.zero_point)]
        t = schema.TensorT()
        t.shape = list(shape)
        t.type = tensor_type
        t.buffer = 0
        t.name = name
        t.quantization = quant
        return t

    code = getattr(schema.BuiltinOperator, op)
    opcode = schema.OperatorCodeT()
    opcode.builtinCode = code
    # codes above 127 live in builtinCode; the deprecated int8 field holds 127 (the placeholder)
    placeholder = schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES  # 127
    opcode.deprecatedBuiltinCode = min(code, placeholder)
    opcode.version = dict(spec.versions)[x_q.dtype.name]

    operator = schema.OperatorT()
    operator.opcodeIndex = 0
    operator.inputs = [0]
    operator.outputs = [1]
    if spec.options is not None:
        opts = getattr(schema, spec.options + "T")()
        for field, default in defaults.items():
            setattr(opts, field, options.get(field, default))
        operator.builtinOptionsType = getattr(schema.BuiltinOptions, spec.options)
        operator.builtinOptions = opts

    subgraph = schema.SubGraphT()
    subgraph.tensors = [tensor("x", x_q), tensor("y", y_q)]
    subgraph.inputs = [0]
    subgraph.outputs = [1]
    subgraph.operators = [operator]
    subgraph.name = "main"

    model = schema.ModelT()
    model.version = 3
    model.description = f"edgeact single-op {op}"
    model.operatorCodes = [opcode]
    model.subgraphs = [subgraph]
    model.buffers = [schema.BufferT()]  # buffer 0: the empty buffer every tensor refers to

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def new_interpreter(
    model: bytes, *, delegate: bool, num_threads: int = 1, preserve_all_tensors: bool = False
):
    """A LiteRT interpreter with its tensors allocated: the one place edgeact makes one.

    ``delegate=False``: builtin kernels only (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``);
    ``delegate=True``: the default resolver, which applies the XNNPACK delegate to the ops it takes.
    ``preserve_all_tensors`` keeps intermediate tensors readable after ``invoke``. LiteRT's own
    exceptions propagate: callers word the error.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.AUTO if delegate else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interp = Interpreter(
        model_content=model,
        num_threads=num_threads,
        experimental_op_resolver_type=resolver,
        experimental_preserve_all_tensors=preserve_all_tensors,
    )
    interp.allocate_tensors()
    return interp


def interpreter(model: bytes, *, delegate: bool, num_threads: int = 1):
    """``new_interpreter``; RuntimeError (naming the ops) if LiteRT rejects the model."""
    try:
        return new_interpreter(model, delegate=delegate, num_threads=num_threads)
    except (RuntimeError, ValueError) as error:
        raise RuntimeError(
            f"LiteRT rejected the {'/'.join(_model_ops(model))} model: {error}"
        ) from error


def run_interpreter(interp, x: np.ndarray) -> np.ndarray:
    """Feed ``x`` to the interpreter's single input, invoke, return a copy of its output."""
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    x = np.asarray(x)
    if x.dtype != inp["dtype"] or tuple(x.shape) != tuple(inp["shape"]):
        raise ValueError(
            f"run_interpreter: the model takes {np.dtype(inp['dtype'])}{tuple(inp['shape'])}, "
            f"got {x.dtype}{x.shape}"
        )
    interp.set_tensor(inp["index"], x)
    try:
        interp.invoke()
    except RuntimeError as error:
        ops = "/".join(d for d in delegated_ops(interp) if d != "DELEGATE")
        raise RuntimeError(f"LiteRT failed to run the {ops} model: {error}") from error
    return interp.get_tensor(out["index"]).copy()


def run_model(model: bytes, x: np.ndarray, *, delegate: bool) -> np.ndarray:
    """Run ``model`` once on ``x`` (see ``interpreter`` for ``delegate``), single-threaded."""
    return run_interpreter(interpreter(model, delegate=delegate), x)


def delegated_ops(interp) -> list[str]:
    """Names of the nodes in the interpreter's execution plan (``DELEGATE`` for a delegate node)."""
    return [d["op_name"] for d in interp._get_ops_details()]


def _model_ops(model: bytes) -> list[str]:
    """The builtin op names a model uses (for error messages)."""
    try:
        from ai_edge_litert import schema_py_generated as schema

        m = schema.ModelT.InitFromPackedBuf(model, 0)
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        return [names.get(c.builtinCode, str(c.builtinCode)) for c in m.operatorCodes or []]
    except Exception:  # the model may be garbage; the message must still be produced
        return ["<unreadable>"]
