"""edgeact.converters.tflite.inspect on models written by the real TFLite converter.

The fixtures in tests/fixtures/tflite/ come from tests/fixtures/make_tflite_fixtures.py
(TensorFlow 2.21, run by hand in a separate venv); these tests need LiteRT only, not TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import pathlib

import numpy as np
import pytest

from edgeact.converters.tflite import format_report, inspect

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "tflite"

SILU = ("silu", "pattern: LOGISTIC·x")
GATE = ("sigmoid", "pattern: sigmoid gate")
QUICK = ("gelu_quick", "pattern: LOGISTIC(1.702·x)·x")
HARD_GATE = ("hardsigmoid", "pattern: hard-sigmoid gate")
MISH = ("mish", "pattern: x·TANH(LOG(EXP(x) + 1))")
SOFTPLUS = ("softplus", "pattern: LOG(EXP(x) + 1)")


def op(name):
    return (name, "op")


def fused(name, into):
    return (name, f"fused into {into}")


# (activation, form, operators, dtype) per finding, as the converter wrote each model
_MOBILE = [  # conv-relu6, depthwise, hard_swish, SE(relu, sigmoid), leaky, Dense(swish), gelu
    (*fused("relu6", "CONV_2D"), [0]),
    (*op("hardswish"), [2]),
    (*fused("relu", "FULLY_CONNECTED"), [4]),
    (*GATE, [6, 7]),
    (*op("leaky_relu"), [9]),
    (*SILU, [12, 13]),
    (*op("gelu_tanh"), [14]),
]
EXPECTED = {
    "fused": [  # Dense(tanh) is not fused: a TANH op follows the FULLY_CONNECTED
        (*fused("relu6", "CONV_2D"), [0], "FLOAT32"),
        (*fused("relu", "FULLY_CONNECTED"), [2], "FLOAT32"),
        (*op("tanh"), [4], "FLOAT32"),
    ],
    "silu": [(*SILU, [o, o + 1], "FLOAT32") for o in (1, 4, 7)],  # x·σ(x), nn.silu, "swish"
    "gelu": [
        (*op("gelu"), [1], "FLOAT32"),
        (*op("gelu_tanh"), [3], "FLOAT32"),
        (*QUICK, [5, 6, 7], "FLOAT32"),
    ],
    "hard_swish": [  # keras hard_swish and x·relu6(x+3)/6 both become HARD_SWISH
        (*HARD_GATE, [0, 1, 3], "FLOAT32"),
        (*op("hardswish"), [5], "FLOAT32"),
        (*op("hardswish"), [7], "FLOAT32"),
    ],
    "se_block": [
        (*fused("relu", "FULLY_CONNECTED"), [1], "FLOAT32"),
        (*GATE, [3, 4], "FLOAT32"),
    ],
    "misc": [
        (*op("leaky_relu"), [1], "FLOAT32"),
        (*op("elu"), [3], "FLOAT32"),
        (*op("tanh"), [5], "FLOAT32"),
    ],
    "misc_int8": [  # the converter leaves ELU in float between DEQUANTIZE and QUANTIZE
        (*op("leaky_relu"), [1], "INT8"),
        (*op("elu"), [5], "FLOAT32"),
        (*op("tanh"), [7], "INT8"),
    ],
    "gates_int8": [
        (*QUICK, [1, 2, 3], "INT8"),
        (*HARD_GATE, [4, 5, 7], "INT8"),
        (*op("hardswish"), [9], "INT8"),
    ],
    "mish": [  # keras "mish", x·tanh(softplus(x)), Dense("softplus"): the converter decomposes
        (*MISH, [1, 2, 3, 4, 5], "FLOAT32"),
        (*SOFTPLUS, [7, 8, 9], "FLOAT32"),
        (*MISH, [11, 12, 13, 14, 15], "FLOAT32"),
    ],
    "mish_int8": [  # the same in int8 (EXP, ADD, LOG and TANH all int8)
        (*MISH, [1, 2, 3, 4, 5], "INT8"),
        (*MISH, [7, 8, 9, 10, 11], "INT8"),
        (*SOFTPLUS, [13, 14, 15], "INT8"),
    ],
    "mobile_float16": [(a, f, [o + 8 for o in ops], "FLOAT32") for a, f, ops in _MOBILE],
    "mobile_int8": [(a, f, ops, "INT8") for a, f, ops in _MOBILE],
    "wide_dynamic": [
        (*fused("relu", "FULLY_CONNECTED"), [0], "FLOAT32"),
        (*SILU, [2, 3], "FLOAT32"),
    ],
}
NAMES = sorted(EXPECTED)


def path(name: str) -> pathlib.Path:
    return FIXTURES / f"{name}.tflite"


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    return {name: inspect(path(name)) for name in NAMES}


def summary(report: dict) -> list[tuple]:
    return [
        (a["activation"], a["pattern"], a["operators"], a["dtype"].upper())
        for a in report["findings"]
    ]


def test_fixture_set_is_small_and_complete():
    files = sorted(p.stem for p in FIXTURES.glob("*.tflite"))
    assert files == NAMES
    sizes = [path(n).stat().st_size for n in NAMES]
    assert max(sizes) < 30_000 and sum(sizes) < 300_000


@pytest.mark.parametrize("name", NAMES)
def test_findings(reports, name):
    report = reports[name]
    assert summary(report) == EXPECTED[name]
    counts: dict[str, int] = {}
    for a, *_ in EXPECTED[name]:
        counts[a] = counts.get(a, 0) + 1
    assert report["activation_counts"] == dict(sorted(counts.items()))
    assert len(report["model"]["subgraphs"]) == 1 and report["model"]["custom_ops"] == {}
    assert [s["key"] for s in report["model"]["signatures"]] == ["serving_default"]
    json.dumps(report)
    assert all(len(line) <= 100 for line in format_report(report).splitlines())


@pytest.mark.parametrize("name", NAMES)
def test_gated_tensor_is_the_mul_operand(reports, name):
    """A gate's ``gated_tensor`` names the last MUL's other input (the converter's long names)."""
    from edgeact.converters.tflite._graph import SubgraphView, opcode_names
    from edgeact.converters.tflite._reader import read_model

    model, _ = read_model(path(name))
    view = SubgraphView.build(model, 0, opcode_names(model))
    for a in reports[name]["findings"]:
        if "gated_tensor" not in a["params"]:
            continue
        mul = a["operators"][-1]
        others = [
            t for t in view.inputs(mul) if view.tensor(t).name.decode() != a["output"]["name"]
        ]
        assert [view.tensor(t).name.decode() for t in others] == [a["params"]["gated_tensor"]]


def test_params(reports):
    gelu = reports["gelu"]["findings"]
    assert [a["params"] for a in gelu] == [{"approximate": False}, {"approximate": True}, {}]
    assert [a["params"]["alpha"] for a in reports["misc"]["findings"][:1]] == [0.2]
    assert reports["mobile_int8"]["findings"][4]["params"] == {"alpha": 0.1}
    hard = reports["hard_swish"]["findings"][0]["params"]
    assert hard["folded"] == "+3 in the FULLY_CONNECTED bias"
    quick = reports["gelu"]["findings"][2]
    assert quick["replacement"] is None  # gelu_quick is already an edge form
    assert reports["silu"]["findings"][0]["replacement"] == "hardswish"


@pytest.mark.parametrize("name", ["mobile_int8", "misc_int8", "gates_int8", "mish_int8"])
def test_int8_quantization(reports, name):
    report = reports[name]
    assert report["model"]["quantized"] == "int8"
    assert not report["model"]["float16_weights"]
    io = report["model"]["subgraphs"][0]
    for t in io["inputs"] + io["outputs"]:
        assert t["dtype"] == "INT8"
        assert isinstance(t["quantization"]["scale"], float)
    for a in report["findings"]:
        sides = [a[side] for side in ("input", "output") if a[side] is not None]
        assert sides  # a fused finding has only an output
        for t in sides:
            q = t["quantization"]
            if a["dtype"] != "int8":
                assert q is None  # misc_int8's float ELU island
                continue
            assert isinstance(q["scale"], float) and q["scale"] > 0
            assert -128 <= q["zero_point"] <= 127
        if a["activation"] == "sigmoid":  # TFLite's int8 LOGISTIC output: 1/256, -128
            assert a["output"]["quantization"] == {"scale": 1 / 256, "zero_point": -128}


def test_float16_weights(reports):
    report = reports["mobile_float16"]
    assert report["model"]["float16_weights"] is True
    assert (
        report["model"]["float16_dequantize_ops"]
        == report["model"]["operator_counts"]["DEQUANTIZE"]
        == 8
    )
    assert report["model"]["weight_types"] == ["FLOAT16", "INT32"]
    assert report["model"]["quantized"] is None


def test_dynamic_range_weights(reports):
    """Dynamic-range quantization: int8 weights, float activations (not a quantized model)."""
    report = reports["wide_dynamic"]
    assert report["model"]["weight_types"] == ["INT8"]
    assert report["model"]["quantized"] is None and not report["model"]["float16_weights"]
    assert all(a["output"]["quantization"] is None for a in report["findings"])


def test_float_models_are_float(reports):
    for name in ("fused", "silu", "gelu", "hard_swish", "se_block", "misc"):
        report = reports[name]
        assert report["model"]["quantized"] is None and not report["model"]["float16_weights"], name
        assert "FLOAT32" in report["model"]["weight_types"]


@pytest.mark.litert_gemm  # every fixture has FULLY_CONNECTED or CONV_2D
@pytest.mark.parametrize("name", NAMES)
def test_runs_in_litert_and_file_unchanged(name):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    data = path(name).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    inspect(path(name))
    interp = Interpreter(
        model_content=data,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(inp["shape"]).astype(np.float32)
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        x = np.clip(np.round(x / scale) + zero, -128, 127).astype(np.int8)
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    out = interp.get_tensor(interp.get_output_details()[0]["index"])
    assert out.size > 0 and (out.dtype == np.int8 or np.all(np.isfinite(out)))
    assert hashlib.sha256(path(name).read_bytes()).hexdigest() == digest


def _edited(tmp_path, name, edit) -> str:
    from tests import tflite_models as tm

    model = tm.unpack(path(name).read_bytes())
    edit(model.subgraphs[0], model)
    out = tmp_path / f"{name}_edited.tflite"
    out.write_bytes(tm.pack(model))
    return str(out)


def test_scaled_sigmoid_that_is_not_quick_gelu_stays_a_gate(tmp_path):
    def edit(sg, model):  # MUL(t, 1.702) -> MUL(t, 2.0)
        const = sg.operators[5].inputs[1]
        model.buffers[sg.tensors[const].buffer].data = np.frombuffer(
            np.float32(2.0).tobytes(), np.uint8
        )

    report = inspect(_edited(tmp_path, "gelu", edit))
    assert summary(report)[2] == (*GATE, [6, 7], "FLOAT32")
    (miss,) = report["near_misses"]
    assert (miss["looks_like"], miss["form"], miss["operators"]) == (
        "silu",
        "scaled_sigmoid_mul",
        [5, 6, 7],
    )
    assert miss["reason"] == "a = 2; silu needs a = 1, gelu_quick a = 1.702"


def test_fused_relu6_without_a_sixth_is_not_hardsigmoid(tmp_path):
    def edit(sg, model):  # MUL(relu6(fc), 1/6) -> MUL(relu6(fc), 1/5)
        const = sg.operators[1].inputs[1]
        model.buffers[sg.tensors[const].buffer].data = np.frombuffer(
            np.float32(0.2).tobytes(), np.uint8
        )

    report = inspect(_edited(tmp_path, "hard_swish", edit))
    assert summary(report)[0] == (*fused("relu6", "FULLY_CONNECTED"), [0], "FLOAT32")
