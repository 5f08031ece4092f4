"""edgeact.converters.convert on TFLite models built with the schema object API.

Each swap runs on a float32, a float16-weight and an int8 model (tests/tflite_models.py). The
swapped op is checked where it runs: its input and output tensors are read from LiteRT
(``experimental_preserve_all_tensors``) and compared with the target's float64 reference
(float) or, bit for bit, with edgeact's own int8 kernel of the target op (``compat="tflite"``).
"""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np
import pytest

import edgeact.kernels as K
import tests.tflite_models as tm
from edgeact.catalogue import ACTIVATIONS
from edgeact.converters import ModelError, convert, format_report, tflite
from edgeact.converters.tflite._graph import opcode_names
from edgeact.converters.tflite._reader import parse_model
from edgeact.converters.tflite._verify import load
from edgeact.quant import QuantParams
from tests._files import inspected_untouched

# Its models start with a FULLY_CONNECTED, and LiteRT's GEMM kernels crash under the emulated
# arm64 CI (see pyproject); tests/test_tflite_convert_portable.py covers convert there.
pytestmark = pytest.mark.litert_gemm

# model activation -> (rule source, rule target)
RULES = {
    "silu": ("silu", "hardswish"),
    "gelu": ("gelu", "gelu_tanh"),
    "relu": ("relu", "relu6"),
    "relu_fused": ("relu", "relu6"),
    "tanh": ("tanh", "hardtanh"),
    "sigmoid": ("sigmoid", "hardsigmoid"),
    "leaky_relu": ("leaky_relu", "relu6"),
    "elu": ("elu", "relu6"),
    "prelu": ("prelu", "leaky_relu"),
}
OPS_AFTER = {
    "hardswish": ["HARD_SWISH"],
    "gelu_tanh": ["GELU"],
    "relu6": ["RELU6"],
    "hardtanh": ["RELU_N1_TO_1"],
    "hardsigmoid": ["ADD", "MUL"],
    "leaky_relu": ["LEAKY_RELU"],
}
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "tflite"
PRELU_SLOPE = 0.1  # tm.activation_model's scalar PReLU slope


def _convert(tmp_path, data: bytes, swaps=(), preset=None, **options):
    source, destination = tmp_path / "in.tflite", tmp_path / "out.tflite"
    source.write_bytes(data)
    report = convert(source, destination, list(swaps), preset, **options)
    assert json.loads(json.dumps(report)) == report
    assert format_report(report)
    out = destination.read_bytes() if destination.exists() else None
    return report, out


def _ops(data: bytes) -> list[str]:
    model = parse_model(data)
    codes = opcode_names(model)
    return [codes[op.opcodeIndex][0] for op in model.subgraphs[0].operators]


def _tensors(data: bytes, x: np.ndarray) -> dict[str, tuple[np.ndarray, dict]]:
    """Every tensor of subgraph 0 after one run on ``x``, by name: (value, quantization)."""
    interp = load(data, preserve=True)
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return {
        d["name"]: (interp.get_tensor(d["index"]).copy(), d["quantization_parameters"])
        for d in interp.get_tensor_details()
        if d["name"] and d["shape"].size and interp.get_tensor(d["index"]) is not None
    }


def _input(flavour: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if flavour == "int8":
        return rng.integers(-128, 128, (1, tm.ACT_WIDTH)).astype(np.int8)
    return (rng.standard_normal((1, tm.ACT_WIDTH)) * 2).astype(np.float32)


def _qparams(q: dict) -> QuantParams:
    return QuantParams(float(q["scales"][0]), int(q["zero_points"][0]), "int8")


@pytest.mark.parametrize("flavour", tm.FLAVOURS)
@pytest.mark.parametrize("activation", list(RULES))
def test_swap(tmp_path, activation, flavour):
    source, target = RULES[activation]
    data = tm.activation_model(activation, flavour)
    bound = _bound(source, target)
    anything = {} if bound is not None else {"min_cosine": -1.0}  # not an approximation
    report, out = _convert(tmp_path, data, [f"{source}={target}"], **anything)
    assert report["written"] and report["verification"]["passed"]
    [change] = report["changes"]
    assert (change["rule"], change["applied"]) == (f"{source}={target}", True)
    assert change["quantized"] == (flavour == "int8")

    prefix = ["DEQUANTIZE", "DEQUANTIZE"] if flavour == "float16" else []
    expected = [*prefix, "FULLY_CONNECTED"]
    if activation != "relu_fused":
        expected += OPS_AFTER[target]
    assert _ops(out) == expected

    x = _input(flavour)
    before, after = _tensors(data, x), _tensors(out, x)
    if activation == "relu_fused":
        _check_fused_relu6(before["y"], after["y"], flavour)
    elif flavour == "int8":
        _check_int8_op(target, after["fc"], after["y"])
    else:
        _check_float_op(target, after["fc"][0], after["y"][0])
    if bound is not None and flavour != "int8":
        assert np.abs(after["y"][0] - before["y"][0]).max() <= bound


def _bound(source: str, target: str) -> float | None:
    return next(
        (a.max_abs_error for a in ACTIVATIONS[source].approximations if a.name == target), None
    )


def _check_float_op(target: str, h: np.ndarray, y: np.ndarray) -> None:
    params = {"negative_slope": PRELU_SLOPE} if target == "leaky_relu" else {}
    want = ACTIVATIONS[target].reference(h.astype(np.float64), **params)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=2e-6)


def _check_int8_op(target: str, h, y) -> None:
    """The swapped op's output codes equal edgeact's int8 kernel of the target op on its input."""
    (h_codes, h_q), (y_codes, y_q) = h, y
    x_q, out_q = _qparams(h_q), _qparams(y_q)
    if target == "hardsigmoid":  # two requantized ops (ADD, MUL), not one kernel: ±1 step
        want = K.hardsigmoid(h_codes, x_q=x_q, y_q=out_q, compat="tflite")
        assert np.abs(y_codes.astype(int) - want.astype(int)).max() <= 1
        return
    params = {"negative_slope": PRELU_SLOPE} if target == "leaky_relu" else {}
    want = K.get(target)(h_codes, x_q=x_q, y_q=out_q, compat="tflite", **params)
    np.testing.assert_array_equal(y_codes, want)


def _check_fused_relu6(before, after, flavour: str) -> None:
    """A fused RELU6 clamps where the fused RELU did not: at 6 (as a code for int8)."""
    (y0, q), (y1, _) = before, after
    if flavour == "int8":
        top = int(q["zero_points"][0]) + round(6 / float(q["scales"][0]))
        np.testing.assert_array_equal(y1, np.minimum(y0, min(top, 127)))
    else:
        np.testing.assert_array_equal(y1, np.minimum(y0, np.float32(6)))


@pytest.mark.parametrize("flavour", tm.FLAVOURS)
def test_silu_swap_removes_the_dead_tensors_buffers_and_opcodes(tmp_path, flavour):
    data = tm.activation_model("silu", flavour)
    _, out = _convert(tmp_path, data, ["silu=hardswish"])
    before, after = parse_model(data), parse_model(out)
    names = [t.name.decode() for t in after.subgraphs[0].tensors]
    assert "sigmoid" not in names and len(names) == len(before.subgraphs[0].tensors) - 1
    assert len(after.buffers) == len(before.buffers)  # the sigmoid tensor used buffer 0
    used = {t.buffer for t in after.subgraphs[0].tensors}
    assert used | {0} == set(range(len(after.buffers)))
    assert sorted(n for n, _ in opcode_names(after)) == sorted(set(_ops(out)))  # none unused
    sig = after.signatureDefs[0]
    out_index = sig.outputs[0].tensorIndex
    assert after.subgraphs[0].tensors[out_index].name == b"y"


def _opcode(data: bytes, op: str) -> tuple[int, int, int]:
    """(builtin_code, deprecated_builtin_code, version) of ``op``'s one operator code."""
    model = parse_model(data)
    names = [n for n, _ in opcode_names(model)]
    assert names.count(op) == 1
    code = model.operatorCodes[names.index(op)]
    return code.builtinCode, code.deprecatedBuiltinCode, code.version


@pytest.mark.parametrize(
    ("activation", "flavour", "swap", "op", "code"),
    [  # versions from op_version.cc; GELU's code 150 > 127 leaves the placeholder 127
        ("silu", "int8", "silu=hardswish", "HARD_SWISH", (117, 117, 1)),
        ("relu", "int8", "relu=relu6", "RELU6", (21, 21, 2)),
        ("tanh", "int8", "tanh=hardtanh", "RELU_N1_TO_1", (20, 20, 1)),
        ("sigmoid", "int8", "sigmoid=hardsigmoid", "ADD", (0, 0, 2)),
        ("relu", "float32", "relu=gelu_tanh", "GELU", (150, 127, 1)),
        ("relu", "int8", "relu=gelu_tanh", "GELU", (150, 127, 2)),
        ("gelu", "int8", "gelu=gelu_tanh", "GELU", (150, 127, 2)),
    ],
)
def test_opcode_versions_and_deprecated_codes(tmp_path, activation, flavour, swap, op, code):
    data = tm.activation_model(activation, flavour)
    _, out = _convert(tmp_path, data, [swap], min_cosine=-1.0)  # relu=gelu_tanh: any cosine
    assert _opcode(out, op) == code


def test_prelu_with_a_slope_per_channel_is_not_matched_and_the_report_says_why(tmp_path):
    data = tm.activation_model("prelu_channels", "float32")
    with pytest.raises(ModelError, match=r"prelu=leaky_relu matches nothing.*slope has 32 values"):
        _convert(tmp_path, data, ["prelu=leaky_relu"])
    source = tmp_path / "in.tflite"  # not an explicit rule (as from a preset): a note
    report = tflite.convert(source, tmp_path / "out.tflite", {"prelu": "leaky_relu"})
    assert report["changes"] == [] and report["written"]
    assert any("PReLU slope has 32 values" in n for n in report["notes"])


def test_se_gate_is_not_silu(tmp_path):
    data = tm.se_block_model()
    with pytest.raises(ModelError, match=r"swap silu=hardswish matches nothing in .*sigmoid"):
        _convert(tmp_path, data, ["silu=hardswish"])
    assert not (tmp_path / "out.tflite").exists()
    report, _ = _convert(tmp_path, data, [], "mobile")  # hardsigmoid is two ops: not by preset
    assert report["changes"] == [] and any("sigmoid=hardsigmoid" in n for n in report["notes"])
    report, out = _convert(tmp_path, data, ["sigmoid=hardsigmoid"])  # the gate's sigmoid
    assert [c["rule"] for c in report["changes"]] == ["sigmoid=hardsigmoid"]
    ops = _ops(out)
    assert "LOGISTIC" not in ops and ops[-3:] == ["ADD", "MUL", "MUL"]  # the gate MUL stays
    assert report["verification"]["passed"]


def test_signatures_of_two_subgraphs_still_run(tmp_path):
    data = tm.two_subgraph_model()
    report, out = _convert(tmp_path, data, ["elu=relu6", "tanh=hardtanh"])
    assert sorted(c["rule"] for c in report["changes"]) == ["elu=relu6", "tanh=hardtanh"]
    assert report["verification"]["passed"]
    assert {o["output"] for o in report["verification"]["outputs"]} == {"main/y", "extra/z"}
    interp = load(out)
    x = np.linspace(-3, 3, 4, dtype=np.float32)[None]
    main = interp.get_signature_runner("main")(x=x)["y"]
    np.testing.assert_allclose(main, np.clip(x, -1, 1))
    extra = interp.get_signature_runner("extra")(a=x)["z"]
    assert extra.shape == (1, 4) and np.isfinite(extra).all()


def test_tolerance_skips_the_changes_over_it(tmp_path):
    report, out = _convert(tmp_path, tm.float_model(), ["relu=relu6"], "mobile", tolerance=0.01)
    by_rule = {c["rule"]: c for c in report["changes"]}
    assert set(by_rule) == {"relu=relu6", "silu=hardswish", "gelu=gelu_tanh"}
    assert not by_rule["silu=hardswish"]["applied"]
    reason = by_rule["silu=hardswish"]["skipped"]
    assert "breaks the thresholds: 'y' max |error|" in reason and reason.endswith("> 0.01")
    assert (
        by_rule["gelu=gelu_tanh"]["applied"] and by_rule["gelu=gelu_tanh"]["max_abs_error"] < 1e-3
    )
    assert report["verification"]["passed"] and report["written"]
    assert "LOGISTIC" in _ops(out) and "HARD_SWISH" not in _ops(out)


def test_a_model_that_fails_verification_is_not_written(tmp_path):
    data = tm.two_silu_model()
    report, _ = _convert(tmp_path, data, ["silu=hardswish"])
    errors = [c["max_abs_error"] for c in report["changes"]]
    assert len(errors) == 2 and report["verification"]["max_abs"] > max(errors)  # errors add up
    (tmp_path / "out.tflite").unlink()
    tolerance = 1.5 * max(errors)
    report, out = _convert(tmp_path, data, ["silu=hardswish"], tolerance=tolerance)
    assert all(c["applied"] for c in report["changes"])
    assert not report["verification"]["passed"] and not report["written"] and out is None
    assert "Nothing written." in format_report(report)


def test_progress_reports_each_change(tmp_path):
    calls = []
    _convert(tmp_path, tm.float_model(), [], "mobile", progress=lambda *a: calls.append(a))
    labels = [label for _, _, label in calls]
    assert labels[0].startswith("read and plan") and labels[-1].startswith("write")
    assert labels[1:-1] == [
        "verify silu=hardswish at silu",
        "verify gelu=gelu_tanh at y",
        "verify the converted model",
    ]
    assert [(done, total) for done, total, _ in calls] == [(0, 1), (1, 5), (2, 5), (3, 5), (4, 5)]


def test_verification_off_still_checks_the_model_loads(tmp_path):
    report, out = _convert(tmp_path, tm.float_model(), [], "mobile", verify=False)
    assert report["verification"] is None and report["written"]
    assert all(c["max_abs_error"] is None and c["applied"] for c in report["changes"])
    load(out)


def test_inputs_from_npz(tmp_path):
    x = np.full((1, tm.ACT_WIDTH), 7.0, np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    report, _ = _convert(tmp_path, tm.activation_model("relu", "float32"), ["relu=relu6"],
                         inputs=str(tmp_path / "x.npz"))  # fmt: skip
    assert report["verification"]["inputs"] == ["1 input(s) from file, 1 sample(s)"]
    assert report["verification"]["samples"] == 1
    with pytest.raises(ValueError, match="no input 'nope'"):
        _convert(tmp_path, tm.activation_model("relu", "float32"), ["relu=relu6"],
                 inputs={"nope": x})  # fmt: skip


def test_custom_ops_outside_swaps_are_kept_and_verification_is_skipped(tmp_path):
    report, out = _convert(tmp_path, tm.custom_op_model(), ["relu=relu6"])
    assert report["written"] and report["verification"] is None
    assert any("verification skipped" in n for n in report["notes"])
    assert _ops(out) == ["RELU6", "CUSTOM"]
    assert ("CUSTOM", "EdgeactMystery") in opcode_names(parse_model(out))


def test_a_tolerance_is_refused_where_litert_cannot_run_the_model(tmp_path):
    with pytest.raises(ValueError, match=r"cannot hold the result to max \|error\| ≤ 0.1"):
        _convert(tmp_path, tm.custom_op_model(), ["relu=relu6"], tolerance=0.1)
    assert not (tmp_path / "out.tflite").exists()


def test_calibration_recomputes_only_the_swapped_int8_output(tmp_path):
    """Unverified, so unmeasured: the calibrated range is written as calibrate found it."""
    data = tm.activation_model("silu", "int8")
    rng = np.random.default_rng(5)
    np.savez(
        tmp_path / "cal.npz", x=(rng.standard_normal((8, 1, tm.ACT_WIDTH)) * 2).astype(np.float32)
    )
    options = {"calibration": tmp_path / "cal.npz", "verify": False}
    report, out = _convert(tmp_path, data, ["silu=hardswish"], **options)
    [change] = report["changes"]
    assert any("measured on the calibration inputs" in n for n in change["notes"])
    assert any("8 sample(s), 1 output(s) recalibrated" in n for n in report["notes"])
    before, after = parse_model(data).subgraphs[0].tensors, parse_model(out).subgraphs[0].tensors
    changed = {
        t.name for t in after if t.quantization is not None and t.quantization.scale is not None
        and not any(
            b.name == t.name and np.array_equal(b.quantization.scale, t.quantization.scale)
            and np.array_equal(b.quantization.zeroPoint, t.quantization.zeroPoint)
            for b in before
        )
    }  # fmt: skip
    assert changed == {b"y"}
    after_t = _tensors(out, _input("int8"))
    _check_int8_op("hardswish", after_t["fc"], after_t["y"])


def _quant_of(data: bytes, name: str) -> tuple[float, int, np.ndarray | None]:
    """(scale, zero point, int32 codes if it is a bias) of tensor ``name``."""
    model = parse_model(data)
    t = next(t for t in model.subgraphs[0].tensors if t.name.decode() == name)
    raw = np.asarray(model.buffers[t.buffer].data if t.buffer else [], np.uint8).tobytes()
    codes = np.frombuffer(raw, np.int32) if raw else None
    return float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0]), codes


def test_a_recalibrated_input_scale_rescales_the_int32_bias_of_the_layer_reading_it(tmp_path):
    """LiteRT takes an int8 layer's bias in s_input·s_weight: a new input scale without new
    codes rescaled fc2's bias (measured: the MLP's output error 20× larger)."""
    data = tm.mlp_model("silu", "int8")
    calibration = {"x": np.random.default_rng(0).standard_normal((64, 1, 32)).astype(np.float32)}
    report, out = _convert(tmp_path, data, ["silu=hardswish"], calibration=calibration,
                           verify=False)  # fmt: skip
    [change] = report["changes"]
    assert "bias 'fc2/b' rescaled with its new input scale" in change["notes"]
    (s_old, _, _), (s_new, _, _) = _quant_of(data, "act"), _quant_of(out, "act")
    assert s_new != s_old
    (b_old, _, codes_old), (b_new, _, codes_new) = _quant_of(data, "fc2/b"), _quant_of(out, "fc2/b")
    assert b_new / b_old == pytest.approx(s_new / s_old, rel=1e-6)
    np.testing.assert_allclose(codes_new * b_new, codes_old * b_old, atol=b_new)  # same biases


def test_a_calibrated_range_that_measures_worse_is_not_written(tmp_path):
    """On the int8 MLP, HARD_SWISH's range from 64 N(0, 1) samples (scale 0.0197 for 0.05)
    gives a larger error on those same samples than the inherited one: it is left out."""
    data = tm.mlp_model("silu", "int8")
    calibration = {"x": np.random.default_rng(0).standard_normal((64, 1, 32)).astype(np.float32)}
    report, out = _convert(tmp_path, data, ["silu=hardswish"], calibration=calibration)
    [change] = report["changes"]
    assert not any("measured on the calibration inputs" in n for n in change["notes"])
    assert any(n.startswith("calibration: silu=hardswish at act keeps its inherited output")
               for n in report["notes"])  # fmt: skip
    assert _quant_of(out, "act")[:2] == _quant_of(data, "act")[:2]


def test_calibration_of_a_float_model_changes_nothing(tmp_path):
    np.savez(tmp_path / "cal.npz", x=np.zeros((1, tm.ACT_WIDTH), np.float32))
    report, _ = _convert(tmp_path, tm.activation_model("silu", "float32"), ["silu=hardswish"],
                         calibration=tmp_path / "cal.npz")  # fmt: skip
    assert any("no swapped int8 output" in n for n in report["notes"])


def _broken(kind: str) -> bytes:
    data = tm.activation_model("silu", "float32")
    if kind == "garbage":
        return b"\x00\x01\x02 this is not a model at all" * 4
    if kind == "identifier":
        return data[:4] + b"ONNX" + data[8:]
    if kind == "truncated":
        return data[: len(data) // 3]
    model = tm.unpack(data)
    if kind == "offset":
        model.buffers[1].offset, model.buffers[1].size, model.buffers[1].data = 10**9, 16, None
    elif kind == "unknown_op":
        model.operatorCodes[0].builtinCode = 250
    return tm.pack(model)


@pytest.mark.parametrize(
    ("kind", "swaps", "message"),
    [
        ("garbage", ["silu=hardswish"], "not a flatbuffer|wrong file identifier|not a valid"),
        ("identifier", ["silu=hardswish"], "wrong file identifier"),
        ("truncated", ["silu=hardswish"], "truncated"),
        ("offset", ["silu=hardswish"], "outside the"),
        ("unknown_op", ["silu=hardswish"], "builtin op code 250, which LiteRT does not know"),
        ("ok", ["relu=relu6"], "swap relu=relu6 matches nothing in .*silu ×1"),
        ("ok", ["silu=silu_poly"], "TFLite has no op for silu_poly"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, kind, swaps, message):
    data = tm.activation_model("silu", "float32") if kind == "ok" else _broken(kind)
    source, destination = tmp_path / "in.tflite", tmp_path / "out.tflite"
    source.write_bytes(data)
    with pytest.raises(ValueError, match=message) as error:
        inspected_untouched(lambda p: convert(p, destination, swaps), source)
    assert "\n" not in str(error.value)
    assert not destination.exists() and os.listdir(tmp_path) == ["in.tflite"]


def test_custom_op_inside_a_swap_is_an_error(tmp_path):
    with pytest.raises(ModelError, match="would replace custom op 'Swish'"):
        _convert(tmp_path, tm.custom_activation_model(), ["silu=hardswish"])
    report, out = _convert(tmp_path, tm.custom_activation_model(), [], "mobile")  # preset: note
    assert any("custom op 'Swish'" in n for n in report["notes"]) and _ops(out) == ["CUSTOM"]


def test_output_path_equal_to_input_is_refused(tmp_path):
    source = tmp_path / "in.tflite"
    source.write_bytes(tm.float_model())
    before = source.read_bytes()
    with pytest.raises(ValueError, match="is the input model"):
        convert(source, source, [], "mobile")
    assert source.read_bytes() == before


def test_the_input_file_is_left_untouched(tmp_path):
    source, destination = tmp_path / "in.tflite", tmp_path / "out.tflite"
    source.write_bytes(tm.int8_model())
    report = inspected_untouched(
        lambda p: convert(p, destination, ["relu=relu6"], "mobile"), source
    )
    assert report["written"] and destination.read_bytes() != source.read_bytes()


def test_a_silu_whose_mul_has_a_fused_activation_is_not_rewritten(tmp_path):
    model = tm.unpack(tm.activation_model("silu", "float32"))
    mul = model.subgraphs[0].operators[-1]
    mul.builtinOptions.fusedActivationFunction = tm.schema.ActivationFunctionType.RELU
    data = tm.pack(model)
    with pytest.raises(ModelError, match=r"MUL \(operator 2\) also applies a fused RELU"):
        _convert(tmp_path, data, ["silu=hardswish"])
    report, _ = _convert(tmp_path, data, ["relu=relu6"])  # the fused RELU is still swappable
    assert [c["ops_after"] for c in report["changes"]] == [["MUL+RELU6"]]


@pytest.mark.parametrize("name", ["gelu", "gates_int8"])
def test_quick_gelu_from_the_tf_converter_becomes_one_gelu_op(tmp_path, name):
    data = (FIXTURES / f"{name}.tflite").read_bytes()
    report, out = _convert(tmp_path, data, ["gelu_quick=gelu_tanh"])
    [change] = report["changes"]
    assert change["ops_before"] == ["MUL", "LOGISTIC", "MUL"] and change["ops_after"] == ["GELU"]
    assert "LOGISTIC" not in _ops(out) and report["verification"]["passed"]
    assert change["max_abs_error"] <= _bound("gelu", "gelu_quick") + _bound("gelu", "gelu_tanh") + (
        0.05 if change["quantized"] else 0
    )


@pytest.mark.parametrize(("target", "op", "fixed"), [("sigmoid", "LOGISTIC", (1 / 256, -128)),
                                                     ("tanh", "TANH", (1 / 128, 0))])  # fmt: skip
def test_int8_ops_with_a_fixed_output_range_get_it_and_say_so(tmp_path, target, op, fixed):
    data = tm.activation_model("relu", "int8")
    report, out = _convert(tmp_path, data, [f"relu={target}"], min_cosine=-1.0)  # any cosine
    [change] = report["changes"]
    assert change["ops_after"] == [op] and report["written"]
    assert any(f"{op} requires this int8 output range" in n for n in change["notes"])
    after = _tensors(out, _input("int8"))
    _, y_q = after["y"]
    assert (float(y_q["scales"][0]), int(y_q["zero_points"][0])) == (np.float32(fixed[0]), fixed[1])
    _check_int8_op(target, after["fc"], after["y"])


def test_external_buffers_are_copied_into_the_converted_model(tmp_path):
    data = tm.external_buffers(tm.activation_model("silu", "float32"))
    assert all(b.data is None for b in tm.unpack(data).buffers)
    report, out = _convert(tmp_path, data, ["silu=hardswish"])
    assert report["written"] and report["verification"]["passed"]
    assert all(not b.offset for b in tm.unpack(out).buffers)
    x = _input("float32")
    _check_float_op("hardswish", _tensors(out, x)["fc"][0], _tensors(out, x)["y"][0])
    np.testing.assert_array_equal(_tensors(out, x)["fc"][0], _tensors(data, x)["fc"][0])


def test_a_prelu_with_a_slope_per_channel_can_still_become_relu6(tmp_path):
    data = tm.activation_model("prelu_channels", "int8")
    report, out = _convert(tmp_path, data, ["prelu=relu6"], min_cosine=-1.0)  # any cosine
    assert [c["ops_after"] for c in report["changes"]] == [["RELU6"]]
    after = _tensors(out, _input("int8"))
    _check_int8_op("relu6", after["fc"], after["y"])
