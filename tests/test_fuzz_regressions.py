"""One small, fixed input per bug the fuzz harness (tests/test_fuzz_models.py) found.

Each test builds the damaged model or file the fuzzer stumbled on, reduced to the damage, and
checks the documented outcome: a one-line ``ModelError``/``ValueError`` naming the problem.
"""

import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgeact.cli import main
from edgeact.converters import ModelError, convert, inspect
from edgeact.converters._inputs import load_npz, sample_inputs
from tests import onnx_models as om
from tests import tflite_models as tm


def _one_line(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert text and "\n" not in text, text
    return text


def test_an_onnx_string_that_is_not_utf8_is_a_model_error(tmp_path):
    """Was ``TypeError: sequence item 0: expected str instance, bytes found`` in inspect: the
    protobuf parser returns such strings as bytes (found by overwriting bytes of a producer
    name)."""
    model = om.single(om.silu)
    model.producer_name = "AAAA"
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString().replace(b"AAAA", b"\xff\xfeAA"))
    for call in (inspect, lambda p: convert(p, tmp_path / "out.onnx", ["silu=hardswish"])):
        with pytest.raises(ModelError) as error:
            call(path)
        assert "onnx.ModelProto.producer_name is not UTF-8 text" in _one_line(error)
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.parametrize(("op", "inputs"), [("Sigmoid", 0), ("Div", 1), ("HardSigmoid", 0)])
def test_a_node_without_its_required_inputs_is_a_model_error(tmp_path, op, inputs):
    """Was ``IndexError: list index out of range`` in the SiLU, GELU and hard-sigmoid matchers,
    which read ``node.input[0]``/``[1]`` (found by deleting a node input)."""
    model = {
        "Sigmoid": om.single(om.silu),
        "Div": om.single(om.gelu_erf),
        "HardSigmoid": om.single(om.hardswish_hsig),
    }[op]
    node = next(n for n in model.graph.node if n.op_type == op)
    del node.input[inputs:]
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    for call in (inspect, lambda p: convert(p, tmp_path / "out.onnx", verify=False)):
        with pytest.raises(ModelError) as error:
            call(path)
        assert f"node '{node.name}' has {inputs} input(s)" in _one_line(error)


def _rank1_gemm_model() -> onnx.ModelProto:
    """Gemm(x, w) with a rank-1 w: onnx.checker's full check fails in shape inference."""
    b = om.Builder(shape=(1, 8))
    v = om.silu(b, b.op("Gemm", "x", b.const(np.ones(8, np.float32))))
    return b.model(v, 13, infer=False)


@pytest.mark.onnxruntime
def test_a_shape_inference_error_in_the_full_check_is_a_model_error(tmp_path):
    """Was ``onnx...InferenceError`` escaping ``convert --no-verify``: the full check raises it,
    not ``ValidationError`` (found by deleting Gemm's first input)."""
    path = tmp_path / "m.onnx"
    onnx.save(_rank1_gemm_model(), path)
    with pytest.raises(ModelError) as error:
        convert(path, tmp_path / "out.onnx", ["silu=hardswish"], verify=False)
    # onnx's full check names it; onnx 1.19 (the minimum) passes it and ONNX Runtime refuses it
    assert re.search(r"rank 2 but has rank 1|does not have rank 2", _one_line(error))
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.onnxruntime
def test_an_element_type_onnx_does_not_define_is_named_by_number(tmp_path):
    """Was ``ValueError: Enum DataType has no name defined for value 42`` from convert (found by
    flipping bits of a float16 model)."""
    model = om.single(om.silu)
    model.graph.initializer.add(name="odd", data_type=42, dims=[1], raw_data=bytes(4))
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    with pytest.raises(ModelError) as error:
        convert(path, tmp_path / "out.onnx", ["silu=hardswish"], verify=False)
    assert "'odd' does not have valid data type" in _one_line(error)


@pytest.mark.onnxruntime
def test_onnx_runtime_failing_to_run_a_model_prints_one_line(tmp_path, capfd):
    """ORT printed its own coloured error log line before edgeact's (found by deleting Conv's
    first input, then by ``verify``): exactly one stderr line now."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    shape = helper.make_tensor("shape", TensorProto.INT64, [1], [7])
    node = helper.make_node("Reshape", ["x", "shape"], ["y"])
    graph = helper.make_graph([node], "g", [x], [y], [shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    assert main(["verify", str(path), str(path), "--no-isolate"]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and err.startswith("edgeact verify: error: "), err


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not a zip"])
def test_an_unreadable_npz_is_a_value_error(tmp_path, content):
    """Was ``EOFError`` (empty file) and ``zipfile.BadZipFile`` (a zip header and junk) from
    ``--inputs``/``--calibration``."""
    path = tmp_path / "inputs.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        load_npz(path)
    assert "cannot read inputs as .npz" in _one_line(error)


def test_a_huge_input_shape_is_refused_before_allocating():
    """Was ``numpy...ArrayMemoryError`` for ``--input-shape x=99999999999x8``."""
    spec = [("x", [None, 8], np.dtype(np.float32))]
    with pytest.raises(ValueError) as error:
        sample_inputs(spec, {"x": (99999999999, 8)})
    assert "input 'x' of shape [99999999999, 8] is too large" in _one_line(error)


def test_inputs_that_cannot_be_cast_name_the_input():
    """Was numpy's bare "could not convert string to float: np.str_('a')" for a .npz of
    strings."""
    spec = [("x", [2], np.dtype(np.float32))]
    with pytest.raises(ValueError) as error:
        sample_inputs(spec, provided={"x": np.array(["a", "b"])})
    assert "input 'x' from file: not castable to float32" in _one_line(error)


def test_an_onnx_attribute_of_the_wrong_type_does_not_match(tmp_path):
    """Was ``TypeError: float() argument must be ... not 'GraphProto'`` in inspect: QuickGelu's
    alpha holding a graph (found by changing an attribute's type)."""
    model = om.microsoft_ops()
    node = next(n for n in model.graph.node if n.op_type == "QuickGelu")
    alpha = next(a for a in node.attribute if a.name == "alpha")
    alpha.g.CopyFrom(helper.make_graph([], "empty", [], []))
    alpha.type = onnx.AttributeProto.GRAPH
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    found = {f["nodes"][0] for f in inspect(path)["findings"]}
    assert node.name not in found  # an op whose alpha is no number is not QuickGELU


def test_builtin_options_of_another_op_read_as_the_defaults_as_in_litert(tmp_path):
    """Was ``AttributeError: 'ConcatenationOptionsT' object has no attribute 'approximate'``:
    a GELU carrying another op's options table (found by swapping options between ops)."""
    model = tm.unpack(tm.activation_model("gelu", "float32"))
    sg = model.subgraphs[0]
    gelu = next(
        op for op in sg.operators if op.builtinOptionsType == tm.schema.BuiltinOptions.GeluOptions
    )
    gelu.builtinOptionsType = tm.schema.BuiltinOptions.ConcatenationOptions
    gelu.builtinOptions = tm.schema.ConcatenationOptionsT()
    path = tmp_path / "m.tflite"
    path.write_bytes(tm.pack(model))
    [finding] = [f for f in inspect(path)["findings"] if f["activation"].startswith("gelu")]
    assert finding["activation"] == "gelu"  # approximate=False, the schema's default


def test_a_signature_naming_a_tensor_past_the_end_is_a_model_error(tmp_path):
    """Was ``IndexError`` in convert's dead-tensor pass (found by editing a signature's tensor
    index)."""
    model = tm.unpack(tm.float_model())
    model.signatureDefs[0].inputs[0].tensorIndex = 999
    path = tmp_path / "m.tflite"
    path.write_bytes(tm.pack(model))
    for call in (inspect, lambda p: convert(p, tmp_path / "out.tflite", ["silu=hardswish"])):
        with pytest.raises(ModelError) as error:
            call(path)
        assert "signature 'serving_default' inputs refer to tensor 999" in _one_line(error)
    assert not (tmp_path / "out.tflite").exists()
