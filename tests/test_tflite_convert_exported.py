"""convert on the models the real TFLite converter wrote (tests/fixtures/tflite), mobile preset.

Where an activation feeds the model output directly (the Concatenate of silu/gelu/misc), each
change's error is bounded by the catalogue's bound for the swap (plus an int8 model's output
quantization steps); elsewhere the verification must pass with a cosine near 1.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from edgeact.catalogue import ACTIVATIONS
from edgeact.converters import convert
from edgeact.converters.tflite._demo import demo
from edgeact.converters.tflite._verify import load, make_inputs, run
from tests._files import inspected_untouched

# The TF converter's models all have FULLY_CONNECTED or CONV_2D, whose LiteRT kernels crash under
# the emulated arm64 CI (see pyproject); tests/test_tflite_convert_portable.py covers it there.
pytestmark = pytest.mark.litert_gemm

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "tflite"
MODELS = sorted(p.stem for p in FIXTURES.glob("*.tflite"))

# fixture -> rules applied by the mobile preset (in model order; not sigmoid=hardsigmoid, which
# TFLite writes as two ops)
EXPECTED = {
    "fused": ["tanh=hardtanh"],
    "gates_int8": [],
    "gelu": ["gelu=gelu_tanh"],
    "hard_swish": [],
    "misc": ["elu=relu6", "tanh=hardtanh"],
    "misc_int8": ["elu=relu6", "tanh=hardtanh"],
    "mish": ["mish=hardswish"] * 2,
    "mish_int8": ["mish=hardswish"] * 2,
    "mobile_float16": ["silu=hardswish"],
    "mobile_int8": ["silu=hardswish"],
    "se_block": [],
    "silu": ["silu=hardswish"] * 3,
    "wide_dynamic": ["silu=hardswish"],
}
# ... of which it lists but leaves out: ELU -> ReLU6 is no approximation (and fails cosine >= 0.99)
LEFT_OUT = {"misc": ["elu=relu6"], "misc_int8": ["elu=relu6"]}
# activations feed the output's Concatenate
DIRECT = ("gelu", "misc", "misc_int8", "mish", "mish_int8", "silu")
OUTPUT_STEP = 0.1  # generous: a few output steps of the int8 fixtures' outputs


def _bound(change: dict) -> float | None:
    act = ACTIVATIONS[change["activation"]]
    return next((a.max_abs_error for a in act.approximations if a.name == change["target"]), None)


@pytest.mark.parametrize("name", MODELS)
def test_mobile_preset_on_real_converter_output(tmp_path, name):
    source, destination = FIXTURES / f"{name}.tflite", tmp_path / f"{name}.tflite"
    report = inspected_untouched(lambda p: convert(p, destination, [], "mobile"), source)
    assert [c["rule"] for c in report["changes"]] == EXPECTED[name]
    left_out = [c for c in report["changes"] if not c["applied"]]
    assert [c["rule"] for c in left_out] == LEFT_OUT.get(name, [])
    assert all(c["skipped"].startswith("not an approximation") for c in left_out)
    v = report["verification"]
    assert report["written"] and v["passed"]
    assert min(o["cosine"] for o in v["outputs"]) > 0.95
    if name in DIRECT:
        for change in report["changes"]:
            bound = _bound(change)
            if bound is not None:
                slack = OUTPUT_STEP if change["quantized"] else 0.0
                assert change["max_abs_error"] <= bound + slack, change
    data = destination.read_bytes()
    interp = load(data)
    [feeds], _ = make_inputs(interp)
    assert all(np.isfinite(a).all() for a in run(interp, feeds).values())


@pytest.mark.xnnpack
def test_converted_model_runs_with_the_default_xnnpack_resolver(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    destination = tmp_path / "mobile.tflite"
    convert(FIXTURES / "mobile_float16.tflite", destination, ["relu=relu6"], "mobile")
    data = destination.read_bytes()
    builtin = load(data)
    [feeds], _ = make_inputs(builtin)
    [want] = run(builtin, feeds).values()
    [x] = feeds["serving_default"].values()
    delegated = Interpreter(model_content=data, num_threads=1)  # default resolver: XNNPACK
    delegated.allocate_tensors()
    delegated.set_tensor(delegated.get_input_details()[0]["index"], x)
    delegated.invoke()
    got = delegated.get_tensor(delegated.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_demo_converts_a_float_and_an_int8_model(tmp_path):
    reports = demo(tmp_path)
    assert len(reports) == 2
    for report in reports:
        assert report["written"] and report["verification"]["passed"]
        rules = [c["rule"] for c in report["changes"]]
        assert rules == ["relu=relu6", "silu=hardswish", "gelu=gelu_tanh"]
        assert report["ops_after"].get("HARD_SWISH") == 1 and "LOGISTIC" not in report["ops_after"]
    assert reports[1]["changes"][1]["quantized"]


def test_recalibration_keeps_the_range_of_an_output_a_concatenation_reads(tmp_path):
    """LiteRT's int8 CONCATENATION refuses inputs in another quantization than its output's:
    re-measuring the swapped Mish outputs that feed one crashed the conversion before."""
    rows = np.random.default_rng(0).standard_normal((32, 1, 16)).astype(np.float32)
    report = convert(FIXTURES / "mish_int8.tflite", tmp_path / "out.tflite", ["mish=hardswish"],
                     calibration={"keras_tensor_9": rows})  # fmt: skip
    kept = [n for n in report["notes"] if "keeps its inherited output range" in n]
    assert len(kept) == 2 and all("feeds a CONCATENATION" in n for n in kept)
    assert report["written"] and report["verification"]["passed"]
