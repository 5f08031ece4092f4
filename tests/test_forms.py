"""The catalogue's runtime forms against the real runtimes, and the one-table rule.

Every fact a form states is checked where it can be: ONNX ops, attributes and opsets against
``onnx.defs``; vendor ops and float32 results in ONNX Runtime; TFLite ops, option fields and fused
activation names against LiteRT's schema; which tensor types LiteRT's XNNPACK delegate takes
against the real delegate. The int8/uint8 op versions are exercised by ``test_int8_litert``, which
builds its models from the same forms.
"""

import ast
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from ai_edge_litert import schema_py_generated as schema
from onnx import TensorProto, helper

from edgeact import catalogue, references
from edgeact.bench.runtimes import _float_model
from edgeact.catalogue import ACTIVATIONS
from edgeact.forms import Param
from edgeact.quant import QuantParams
from edgeact.runtimes import litert

ONNX_DEFAULT = [
    pytest.param(name, form, id=f"{name}-{form.op}")
    for name, act in ACTIVATIONS.items()
    for form in act.onnx
    if not form.domain
]
ONNX_VENDOR = [
    pytest.param(name, form, id=f"{name}-{form.domain}.{form.op}")
    for name, act in ACTIVATIONS.items()
    for form in act.onnx
    if form.domain
]
TFLITE = [
    pytest.param(name, form, id=f"{name}-{form.op}")
    for name, act in ACTIVATIONS.items()
    for form in act.tflite
]
WRITTEN_TFLITE = [
    pytest.param(name, act.tflite_form(), id=name)
    for name, act in ACTIVATIONS.items()
    if act.tflite_form() is not None and act.elementwise
]


@pytest.mark.parametrize(("name", "form"), ONNX_DEFAULT)
def test_onnx_form_exists_at_its_opset(name, form):
    schema_at = onnx.defs.get_schema(form.op, form.since)
    assert schema_at.since_version <= form.since
    later = onnx.defs.get_schema(form.op)
    for attribute in form.attributes:
        if form.inputs_since is not None:
            assert attribute in schema_at.attributes, (name, attribute)
            as_inputs = onnx.defs.get_schema(form.op, form.inputs_since)
            assert attribute in [i.name for i in as_inputs.inputs], (name, attribute)
            assert attribute not in as_inputs.attributes
        else:
            assert attribute in later.attributes, (name, attribute)
    for value in form.attributes.values():
        if isinstance(value, Param):
            assert value.name in ACTIVATIONS[name].params, (name, value.name)


@pytest.mark.onnxruntime
@pytest.mark.parametrize(("name", "form"), ONNX_VENDOR)
def test_vendor_onnx_forms_run_in_onnxruntime_and_compute_the_activation(name, form):
    from edgeact.runtimes.onnxruntime import cpu_session

    x = np.linspace(-6, 6, 601, dtype=np.float32)
    inputs = ["x"]
    initializers = []
    if form.op == "BiasGelu":  # GELU(x + bias): a zero bias
        initializers.append(helper.make_tensor("bias", TensorProto.FLOAT, [601], [0.0] * 601))
        inputs.append("bias")
    node = helper.make_node(form.op, inputs, ["y"], domain=form.domain, **form.attributes)
    vi = [helper.make_tensor_value_info(v, TensorProto.FLOAT, [601]) for v in "xy"]
    graph = helper.make_graph([node], "g", vi[:1], vi[1:], initializer=initializers)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(form.domain, 1)]
    )
    model.ir_version = 8
    (y,) = cpu_session(model.SerializeToString()).run(None, {"x": x})
    want = ACTIVATIONS[name].reference(x.astype(np.float64))
    np.testing.assert_allclose(y, want, atol=2e-3)  # FastGelu/QuickGelu use their own exp/tanh


@pytest.mark.parametrize(("name", "form"), TFLITE)
def test_tflite_form_names_exist_in_the_schema(name, form):
    assert hasattr(schema.BuiltinOperator, form.op)
    if form.options is not None:
        options = getattr(schema, form.options + "T")()
        for field in form.values:
            assert hasattr(options, field), (form.options, field)
    if form.fused is not None:
        assert hasattr(schema.ActivationFunctionType, form.fused)
    assert set(form.versions) <= {"FLOAT32", "INT8", "UINT8"}
    assert set(form.xnnpack) <= set(form.versions)
    assert set(form.fixed_output) <= set(form.versions)


def _model(form, dtype: str, params) -> bytes:
    options = form.options_for(params)
    if dtype == "FLOAT32":
        return _float_model(form.op, (64,), **options)
    x_q = QuantParams(0.05, 0, dtype.lower())
    y_q = QuantParams(*form.fixed_output.get(dtype, (0.05, 0)), dtype.lower())
    return litert.single_op_model(form.op, x_q, y_q, (64,), **options)


@pytest.mark.xnnpack
@pytest.mark.parametrize(("name", "form"), WRITTEN_TFLITE)
def test_xnnpack_takes_exactly_the_types_the_form_says(name, form):
    params = ACTIVATIONS[name].params
    for dtype in form.versions:
        interp = litert.interpreter(_model(form, dtype, params), delegate=True)
        delegated = "DELEGATE" in litert.delegated_ops(interp)
        assert delegated == (dtype in form.xnnpack), (name, dtype)


@pytest.mark.parametrize(("name", "form"), WRITTEN_TFLITE)
def test_litert_builtin_kernels_run_every_type_the_form_lists(name, form):
    params = ACTIVATIONS[name].params
    for dtype in form.versions:
        interp = litert.interpreter(_model(form, dtype, params), delegate=False)
        x = np.zeros(64, dtype=np.float32 if dtype == "FLOAT32" else dtype.lower())
        litert.run_interpreter(interp, x)


def test_defining_constants_agree_with_the_references():
    assert catalogue.IBERT_A == references._IBERT_A
    assert catalogue.IBERT_B == references._IBERT_B[0]
    assert catalogue.SILU_POLY_KNEE == references._SILU_POLY_C[0]
    assert catalogue.GELU_QUICK_ALPHA == references._GELU_QUICK_SCALE[0]
    assert catalogue.GELU_TANH_CUBIC == references._GELU_TANH_CUBIC[0]
    assert catalogue.SELU_ALPHA == references.SELU_ALPHA
    assert catalogue.SELU_SCALE == references.SELU_SCALE
    assert math.isclose(catalogue.SILU_POLY_KNEE, 4.4)


def _table_literals(path: Path):
    """(line, string) for every string constant used as a key or value of a dict literal."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Dict):
            for element in (*node.keys, *node.values):
                if isinstance(element, ast.Constant) and isinstance(element.value, str):
                    yield node.lineno, element.value


def test_op_names_live_in_one_table_the_catalogue():
    """No dict outside the catalogue maps to or from an activation's ONNX or TFLite op name."""
    ops = {f.op for a in ACTIVATIONS.values() for f in (*a.onnx, *a.tflite)}
    package = Path(catalogue.__file__).parent
    found = [
        f"{path.relative_to(package)}:{line} {text!r}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "catalogue.py"
        for line, text in _table_literals(path)
        if text in ops
    ]
    assert not found, "op names in tables outside the catalogue:\n" + "\n".join(found)
