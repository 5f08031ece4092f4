"""edgeact.converters.tflite.inspect on small models built with the schema object API."""

from __future__ import annotations

import os

import numpy as np
import pytest

from edgeact.converters.tflite import ModelError, format_report, inspect
from tests import tflite_models as tm
from tests._files import inspected_untouched

LOADABLE = {
    "float": tm.float_model,
    "float16_weights": tm.float16_weights_model,
    "se_block": tm.se_block_model,
    "int8": tm.int8_model,
    "two_subgraphs": tm.two_subgraph_model,
    "hard_swish": tm.hard_swish_model,
}
ALL = {**LOADABLE, "custom": tm.custom_op_model}


def f32(x: float) -> float:
    return float(np.float32(x))


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    """Each test model written to a file, built once per module."""
    root = tmp_path_factory.mktemp("tflite")
    paths = {}
    for name, build in ALL.items():
        path = root / f"{name}.tflite"
        path.write_bytes(build())
        paths[name] = str(path)
    return paths


def summary(report: dict) -> list[tuple]:
    """(activation, form, subgraph, operators, dtype, replacement, max error) per finding."""
    rows = []
    for a in report["findings"]:
        rows.append(
            (
                a["activation"],
                a["pattern"],
                int(a["graph"].removeprefix("subgraph ")),
                a["operators"],
                a["dtype"].upper() if a["dtype"] else None,
                a["replacement"],
                a["max_abs_error"],
            )
        )
    return rows


def _interpreter(data: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(
        model_content=data,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interp.allocate_tensors()
    return interp


# --- the test models are real: LiteRT loads and runs them ---------------------------------------


@pytest.mark.litert_gemm  # the models have FULLY_CONNECTED or CONV_2D
@pytest.mark.parametrize("name", sorted(LOADABLE))
def test_models_run_in_litert(name):
    interp = _interpreter(LOADABLE[name]())
    signatures = interp.get_signature_list()
    if not signatures:
        inp = interp.get_input_details()[0]
        interp.set_tensor(inp["index"], np.ones(inp["shape"], dtype=inp["dtype"]))
        interp.invoke()
        out = interp.get_tensor(interp.get_output_details()[0]["index"])
        assert np.all(np.isfinite(out.astype(np.float64)))
        return
    for key in signatures:  # every subgraph, through its signature
        runner = interp.get_signature_runner(key)
        feeds = {
            k: np.ones(d["shape"], dtype=d["dtype"]) for k, d in runner.get_input_details().items()
        }
        outputs = runner(**feeds)
        assert all(np.all(np.isfinite(v)) for v in outputs.values())


def test_custom_op_model_is_not_runnable_but_inspectable(models):
    with pytest.raises(RuntimeError, match="EdgeactMystery"):
        _interpreter(tm.custom_op_model())
    report = inspect(models["custom"])
    assert report["model"]["custom_ops"] == {"EdgeactMystery": 1}
    assert report["model"]["operator_counts"] == {"CUSTOM": 1, "RELU": 1}
    assert summary(report) == [("relu", "op", 0, [0], "FLOAT32", "relu6", None)]


# --- findings -----------------------------------------------------------------------------------


def test_float_model(models):
    report = inspect(models["float"])
    assert summary(report) == [
        ("relu6", "fused into CONV_2D", 0, [0], "FLOAT32", None, None),
        ("silu", "pattern: LOGISTIC·x", 0, [1, 2], "FLOAT32", "hardswish", 0.143),
        ("relu", "fused into FULLY_CONNECTED", 0, [3], "FLOAT32", "relu6", None),
        ("gelu", "op", 0, [4], "FLOAT32", "gelu_tanh", 4.8e-4),
    ]
    silu = report["findings"][1]
    assert silu["ops"] == ["LOGISTIC", "MUL"]
    assert (silu["input"]["name"], silu["output"]["name"]) == ("conv", "silu")
    assert silu["input"]["quantization"] is None
    assert report["findings"][0]["params"] == {"fused": "RELU6"}
    assert report["findings"][3]["params"] == {"approximate": False}
    assert report["model"]["operator_counts"] == {
        "CONV_2D": 1,
        "FULLY_CONNECTED": 1,
        "GELU": 1,
        "LOGISTIC": 1,
        "MUL": 1,
    }
    assert report["activation_counts"] == {"gelu": 1, "relu": 1, "relu6": 1, "silu": 1}
    assert report["model"]["signatures"] == [
        {"key": "serving_default", "subgraph": 0, "inputs": ["x"], "outputs": ["y"]}
    ]
    assert report["model"]["float16_weights"] is False
    assert report["model"]["quantized"] is None
    assert report["model"]["custom_ops"] == {}
    assert report["model"]["subgraphs"][0]["inputs"] == [
        {"name": "x", "dtype": "FLOAT32", "shape": [1, 4, 4, 3], "quantization": None}
    ]


def test_float16_weights_model(models):
    report = inspect(models["float16_weights"])
    assert report["model"]["float16_weights"] is True
    assert report["model"]["float16_dequantize_ops"] == 2
    assert report["model"]["weight_types"] == ["FLOAT16"]
    assert report["model"]["quantized"] is None
    # MUL(x, LOGISTIC(x)): the other operand order is SiLU too
    assert summary(report) == [
        ("relu6", "fused into FULLY_CONNECTED", 0, [2], "FLOAT32", None, None),
        ("silu", "pattern: LOGISTIC·x", 0, [3, 4], "FLOAT32", "hardswish", 0.143),
    ]


def test_se_gate_is_not_silu(models):
    report = inspect(models["se_block"])
    assert summary(report) == [
        ("relu", "fused into FULLY_CONNECTED", 0, [1], "FLOAT32", "relu6", None),
        ("sigmoid", "pattern: sigmoid gate", 0, [3, 4], "FLOAT32", "hardsigmoid", 7.0e-2),
    ]
    gate = report["findings"][1]
    assert gate["params"] == {"gated_tensor": "x"}
    assert (gate["input"]["name"], gate["output"]["name"]) == ("fc2", "gate")


def test_int8_model(models):
    report = inspect(models["int8"])
    assert report["model"]["quantized"] == "int8"
    assert report["model"]["weight_types"] == ["INT32", "INT8"]
    assert summary(report) == [
        ("relu", "fused into FULLY_CONNECTED", 0, [0], "INT8", "relu6", None),
        ("hardswish", "op", 0, [1], "INT8", None, None),
        ("leaky_relu", "op", 0, [2], "INT8", "relu6", None),
    ]
    fused, hardswish, leaky = report["findings"]
    q = {"scale": f32(tm.FC_Q[0]), "zero_point": tm.FC_Q[1]}
    assert fused["input"] is None and fused["output"]["quantization"] == q
    assert hardswish["input"]["quantization"] == q
    assert hardswish["output"]["quantization"] == {"scale": f32(tm.HS_Q[0]), "zero_point": -20}
    assert leaky["output"]["quantization"] == {"scale": f32(tm.Y_Q[0]), "zero_point": -8}
    assert leaky["params"] == {"alpha": 0.1}
    x = report["model"]["subgraphs"][0]["inputs"][0]
    assert (x["dtype"], x["quantization"]) == ("INT8", {"scale": f32(0.05), "zero_point": -3})


def test_two_subgraphs(models):
    report = inspect(models["two_subgraphs"])
    assert [(s["index"], s["name"], s["operators"]) for s in report["model"]["subgraphs"]] == [
        (0, "main", 1),
        (1, "extra", 7),
    ]
    assert [(s["key"], s["subgraph"]) for s in report["model"]["signatures"]] == [
        ("main", 0),
        ("extra", 1),
    ]
    assert summary(report) == [
        ("tanh", "op", 0, [0], "FLOAT32", "hardtanh", 0.24),
        ("elu", "op", 1, [0], "FLOAT32", "relu6", None),
        ("hardtanh", "fused into ADD", 1, [1], "FLOAT32", None, None),
        ("prelu", "op", 1, [2], "FLOAT32", "leaky_relu", None),
        ("relu_0_to_1", "op", 1, [3], "FLOAT32", None, None),
        ("gelu_tanh", "op", 1, [4], "FLOAT32", None, None),
        ("relu6", "op", 1, [5], "FLOAT32", None, None),
        ("relu", "op", 1, [6], "FLOAT32", "relu6", None),
    ]
    prelu = report["findings"][3]
    assert prelu["params"] == {"alpha_shape": [4], "alpha_size": 4, "alpha_constant": True}
    assert report["findings"][5]["params"] == {"approximate": True}


def test_decomposed_hard_activations(models):
    report = inspect(models["hard_swish"])
    assert summary(report) == [
        ("hardswish", "pattern: x·relu6(x+3)/6", 0, [0, 1, 2], "FLOAT32", None, None),
        ("hardswish", "pattern: x·relu6(x+3)/6", 0, [3, 4, 5, 6], "FLOAT32", None, None),
        ("hardsigmoid", "pattern: hard-sigmoid gate", 0, [7, 8, 9], "FLOAT32", None, None),
        ("relu6", "fused into ADD", 0, [10], "FLOAT32", None, None),
    ]
    first, second, gate, _ = report["findings"]
    assert (first["input"]["name"], first["output"]["name"]) == ("x", "h1")
    assert (second["input"]["name"], second["output"]["name"]) == ("h1", "h2")
    assert first["params"] == {"builtin_op": "HARD_SWISH"}
    assert gate["params"] == {"gated_tensor": "x"}
    assert report["activation_counts"] == {"hardsigmoid": 1, "hardswish": 2, "relu6": 1}


def test_wrong_constant_is_not_hard_swish(tmp_path):
    """x·relu6(x+3)/5 is not hard-swish: the fused RELU6 is reported on its own."""

    def edit(model):
        six = model.subgraphs[0].tensors[2]
        model.buffers[six.buffer].data = np.frombuffer(np.float32([5.0]).tobytes(), np.uint8)

    report = inspect(_rewritten(tmp_path, tm.hard_swish_model, edit))
    assert [(a["activation"], a["operators"]) for a in report["findings"]][:2] == [
        ("relu6", [0]),
        ("hardswish", [3, 4, 5, 6]),
    ]


def _mish_model():
    return tm.mlp_model("mish")  # FC, EXP, ADD(1), LOG, TANH, MUL(x), FC


def _found(path) -> list[tuple]:
    return [(a["activation"], a["operators"]) for a in inspect(path)["findings"]]


def test_mish_chain_and_what_breaks_it(tmp_path):
    """TF's EXP·ADD(1)·LOG·TANH·MUL(x) is Mish; a MUL by another tensor leaves softplus and a
    tanh; another constant than 1 leaves a plain tanh."""
    assert _found(_rewritten(tmp_path, _mish_model, lambda m: None)) == [("mish", [1, 2, 3, 4, 5])]

    def square(model):
        mul = model.subgraphs[0].operators[5]
        mul.inputs = [mul.inputs[1], mul.inputs[1]]

    assert _found(_rewritten(tmp_path, _mish_model, square)) == [("softplus", [1, 2, 3]),
                                                                 ("tanh", [4])]  # fmt: skip

    def two(model):
        sg = model.subgraphs[0]
        one = next(t for t in sg.tensors if t.name in (b"one", "one"))
        model.buffers[one.buffer].data = np.frombuffer(np.float32([2.0]).tobytes(), np.uint8)

    assert _found(_rewritten(tmp_path, _mish_model, two)) == [("tanh", [4])]


def _rewritten(tmp_path, build, edit) -> str:
    model = tm.unpack(build())
    edit(model)
    path = tmp_path / "edited.tflite"
    path.write_bytes(tm.pack(model))
    return str(path)


@pytest.mark.parametrize(
    ("kind", "name"), [("TANH", "tanh"), ("SIGN_BIT", "sign_bit"), ("RELU_N1_TO_1", "hardtanh")]
)
def test_fused_kinds(tmp_path, kind, name):
    from ai_edge_litert import schema_py_generated as schema

    def edit(model):
        conv = model.subgraphs[0].operators[0]
        conv.builtinOptions.fusedActivationFunction = getattr(schema.ActivationFunctionType, kind)

    report = inspect(_rewritten(tmp_path, tm.float_model, edit))
    first = report["findings"][0]
    assert (first["activation"], first["pattern"], first["params"]) == (
        name,
        "fused into CONV_2D",
        {"fused": kind},
    )


def test_unfused_conv_and_lone_logistic(tmp_path):
    """No fused option -> no finding; a LOGISTIC whose output feeds no MUL is a plain op."""

    def edit(model):
        sg = model.subgraphs[0]
        sg.operators[0].builtinOptions.fusedActivationFunction = 0
        sg.operators[2].inputs = [3, 3]  # MUL(conv, conv): the sigmoid output is now unused
        sg.outputs = [9, 4]

    report = inspect(_rewritten(tmp_path, tm.float_model, edit))
    assert [(a["activation"], a["pattern"], a["operators"]) for a in report["findings"]] == [
        ("sigmoid", "op", [1]),
        ("relu", "fused into FULLY_CONNECTED", [3]),
        ("gelu", "op", [4]),
    ]


def test_op_names_from_deprecated_builtin_code(tmp_path):
    """Older files set only deprecated_builtin_code (codes < 127); op names must not change."""

    def edit(model):
        for code in model.operatorCodes:
            if code.builtinCode < 127:  # GELU (150) lives in builtin_code only
                code.builtinCode = 0

    report = inspect(_rewritten(tmp_path, tm.float_model, edit))
    assert summary(report) == summary(inspect(_rewritten(tmp_path, tm.float_model, repr)))
    assert list(report["model"]["operator_counts"]) == [
        "CONV_2D",
        "FULLY_CONNECTED",
        "GELU",
        "LOGISTIC",
        "MUL",
    ]


# --- report is JSON, text is readable, the file is untouched ------------------------------------


@pytest.mark.parametrize("name", sorted(ALL))
def test_json_text_and_file_untouched(models, name):
    path = models[name]
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    report = inspected_untouched(inspect, path)
    text = format_report(report)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert f"activations: {len(report['findings'])}" in text
    for a in report["findings"]:
        assert a["activation"] in text
        if a["replacement"]:
            assert a["replacement"] in text


def test_format_report_rows_are_aligned(models):
    lines = format_report(inspect(models["int8"])).splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("op#"))
    rows = lines[header + 2 : header + 5]
    col = lines[header].index("form")
    assert [row[col : col + 5] for row in rows] == ["fused", "op   ", "op   "]
    assert "0.04/-10" in rows[1] and "0.03/-20" in rows[1] and "relu6" in rows[2]


# --- bad input ----------------------------------------------------------------------------------


def _write(tmp_path, data: bytes) -> str:
    path = tmp_path / "bad.tflite"
    path.write_bytes(data)
    return str(path)


def _corrupt_buffer_offset(model):
    model.buffers[1].data = None
    model.buffers[1].offset = 1_000_000
    model.buffers[1].size = 64


def _bad_tensor_buffer(model):
    model.subgraphs[0].tensors[1].buffer = 999


def _bad_opcode(model):
    model.subgraphs[0].operators[2].opcodeIndex = 42


def _set_identifier(data: bytes) -> bytes:
    return data[:4] + b"TFL2" + data[8:]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: b"", "empty file"),
        (lambda: b"TFL3x", "truncated"),
        (lambda: tm.float_model()[:1000], "truncated"),
        (lambda: tm.float_model()[:-1], "truncated"),
        (lambda: b"hello, this is not a model at all\n" * 4, "not a flatbuffer"),
        (lambda: _set_identifier(tm.float_model()), "wrong file identifier b'TFL2'"),
        (lambda: _edit(_corrupt_buffer_offset), "buffer 1 offset 1000000 + size 64 is outside"),
        (lambda: _edit(_bad_tensor_buffer), "tensor 1 refers to buffer 999"),
        (lambda: _edit(_bad_opcode), "operator 2 uses operator code 42"),
    ],
    ids=[
        "empty",
        "short",
        "truncated",
        "last-byte",
        "text",
        "identifier",
        "buffer-offset",
        "tensor-buffer",
        "opcode-index",
    ],
)
def test_bad_input(tmp_path, make, message):
    path = _write(tmp_path, make())
    before = open(path, "rb").read()
    with pytest.raises(ModelError) as info:
        inspect(path)
    text = str(info.value)
    assert isinstance(info.value, ValueError)
    assert text.startswith(f"{path}: ") and message in text
    assert "\n" not in text
    assert open(path, "rb").read() == before


def _edit(edit) -> bytes:
    model = tm.unpack(tm.float_model())
    edit(model)
    return tm.pack(model)


def test_not_a_file(tmp_path):
    with pytest.raises(ModelError, match="is a directory"):
        inspect(tmp_path)
    missing = tmp_path / "missing.tflite"
    with pytest.raises(ModelError, match=r"missing\.tflite: no such file"):
        inspect(missing)
