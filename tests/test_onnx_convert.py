"""edgeact.converters.convert on ONNX models: fuse, swap, QDQ, verify, write, bad input."""

import json
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeact.catalogue import ACTIVATIONS
from edgeact.cli import main
from edgeact.converters import ModelError, convert, format_report, inspect
from edgeact.converters.onnx._emit import EMITTABLE, Emitter, emit, emitted_ops
from edgeact.converters.onnx._load import MAX_OPSET
from tests import onnx_models as om
from tests._files import Unchanged

pytestmark = pytest.mark.onnxruntime

OPSETS = [11, 13, 14, 17, 20]
FLOAT32_SLACK = 2e-5  # float32 rounding of a few ops on |x| <~ 10
SWEEP = np.linspace(-9, 9, 128, dtype=np.float32).reshape(1, 8, 4, 4)  # om.Builder's shape


def bound(source: str, target: str) -> float:
    """The catalogue's max |error| of ``target`` as an approximation of ``source``."""
    approx = {a.name: a.max_abs_error for a in ACTIVATIONS[source].approximations}
    return approx[target] + FLOAT32_SLACK


def op_list(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node if n.op_type not in ("Constant", "Identity")]


def run_ort(model, feeds: dict) -> list[np.ndarray]:
    import onnxruntime as ort  # here, not at import: it crashes the emulated-arm64 CI at import

    source = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(source, providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.fixture
def conv(tmp_path):
    """Save ``model``, convert it, check the input is untouched and the output valid."""

    def _conv(model: onnx.ModelProto, *swaps, **options):
        src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
        onnx.save(model, src)
        with Unchanged(src):
            report = convert(src, dst, swaps, **options)
        assert json.loads(json.dumps(report)) == report
        assert report["written"] == dst.exists()
        if not report["written"]:
            return report, None
        onnx.checker.check_model(str(dst), full_check=True)
        return report, onnx.load(dst)

    return _conv


# --- what each target is written as --------------------------------------------------------------
@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("target", sorted(EMITTABLE))
def test_emitted_target_computes_the_reference_in_onnxruntime(target, opset):
    names = iter(range(1000))
    e = Emitter(opset, TensorProto.FLOAT, lambda hint: f"{hint}_{next(names)}")
    try:
        nodes = emit(target, "x", "y", e)
    except ValueError as error:  # only for an op newer than the model, without a decomposition
        form = ACTIVATIONS[target].onnx_form()
        assert form is not None and form.since > opset, error
        assert f"{target} needs opset {form.since} or later" in str(error)
        return
    vi = [helper.make_tensor_value_info(v, TensorProto.FLOAT, [None]) for v in "xy"]
    graph = helper.make_graph(nodes, "g", vi[:1], vi[1:])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    x = np.linspace(-9, 9, 7201, dtype=np.float32)
    (y,) = run_ort(model, {"x": x})
    want = ACTIVATIONS[target].reference(x.astype(np.float64))
    np.testing.assert_allclose(y, want, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize(
    ("target", "opset", "ops"),
    [
        ("hardswish", 13, ["HardSigmoid", "Mul"]),
        ("hardswish", 14, ["HardSwish"]),
        ("gelu", 17, ["Mul", "Erf", "Add", "Mul", "Mul"]),
        ("gelu", 20, ["Gelu"]),
        ("gelu_tanh", 17, ["Mul", "Mul", "Add", "Mul", "Sigmoid", "Mul"]),
        ("gelu_tanh", 20, ["Gelu"]),
        ("mish", 17, ["Softplus", "Tanh", "Mul"]),
        ("mish", 18, ["Mish"]),
        ("relu6", 11, ["Clip"]),
        ("relu6", 6, ["Clip"]),
    ],
)
def test_the_opset_decides_between_one_op_and_its_decomposition(target, opset, ops):
    assert emitted_ops(target, opset) == ops


def test_targets_without_an_onnx_form_are_named():
    with pytest.raises(ValueError, match="no ONNX form for swap target 'prelu'"):
        emitted_ops("prelu", 17)  # its weight is a tensor input


# --- swaps on every exporter shape ----------------------------------------------------------------
GELU_SHAPES = [
    pytest.param(dict(scale="div", half="after"), id="div-after"),
    pytest.param(dict(scale="mul", half="before", swap=True), id="mul-before-swapped"),
    pytest.param(dict(scale="div", half="x_half", swap=True), id="div-xhalf-swapped"),
]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("shape", GELU_SHAPES)
def test_gelu_erf_pattern_swapped_to_gelu_tanh(conv, opset, shape):
    report, out = conv(om.single(om.gelu_erf, opset, **shape), "gelu=gelu_tanh")
    want = ["Gelu"] if opset >= 20 else ["Mul", "Mul", "Add", "Mul", "Sigmoid", "Mul"]
    assert op_list(out) == want
    (change,) = report["changes"]
    assert (change["rule"], change["applied"]) == ("gelu=gelu_tanh", True)
    assert 1e-5 < change["max_abs_error"] <= bound("gelu", "gelu_tanh")
    assert report["verification"]["passed"]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("swap", [False, True])
def test_silu_swapped_to_hardswish(conv, opset, swap):
    report, out = conv(om.single(om.silu, opset, swap=swap), "silu=hardswish")
    assert op_list(out) == (["HardSwish"] if opset >= 14 else ["HardSigmoid", "Mul"])
    assert 0.1 < report["changes"][0]["max_abs_error"] <= bound("silu", "hardswish")


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("cube", ["pow", "mul"])
def test_gelu_tanh_pattern_fused_into_gelu_at_opset_20_into_six_ops_below(conv, opset, cube):
    report, out = conv(om.single(om.gelu_tanh, opset, cube=cube))
    [change] = report["changes"]
    assert change["rule"] == "fuse gelu_tanh" and change["max_abs_error"] <= 1e-5
    if opset >= 20:
        assert op_list(out) == ["Gelu"]
    else:  # x·σ(2u): the same maths in six ops for the exporter's eight or nine
        assert op_list(out) == ["Mul", "Mul", "Add", "Mul", "Sigmoid", "Mul"]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize(
    "variant",
    [dict(by="div"), dict(by="mul"), dict(order="div_first"), dict(by="mul", order="div_first")],
)
def test_hardswish_chain_fused_where_the_opset_has_hardswish(conv, opset, variant):
    report, out = conv(om.single(om.hardswish_chain, opset, **variant))
    if opset >= 14:
        assert op_list(out) == ["HardSwish"]
        assert report["changes"][0]["max_abs_error"] <= 1e-5
    else:  # below 14 the two ops PyTorch exports for four
        assert op_list(out) == ["HardSigmoid", "Mul"]
        assert report["changes"][0]["max_abs_error"] <= 1e-5


@pytest.mark.parametrize("opset", OPSETS)
def test_hardsigmoid_chain_and_minmax_relu6_fused_at_every_opset(conv, opset):
    b = om.Builder()
    v = om.relu6_minmax(b, om.hardsigmoid_chain(b, "x", opset=opset))
    report, out = conv(b.model(v, opset))
    assert op_list(out) == ["HardSigmoid", "Clip"]
    assert sorted(c["rule"] for c in report["changes"]) == ["fuse hardsigmoid", "fuse relu6"]


def test_no_fuse_leaves_patterns(conv):
    report, out = conv(om.single(om.hardswish_chain, 17), fuse=False)
    assert report["changes"] == [] and "HardSwish" not in op_list(out)


@pytest.mark.parametrize("opset", [13, 17, 18])
def test_mish_swapped_and_fused(conv, opset):
    report, out = conv(om.single(om.mish, opset), "mish=hardswish")
    assert op_list(out) == (["HardSwish"] if opset >= 14 else ["HardSigmoid", "Mul"])
    assert report["changes"][0]["max_abs_error"] <= bound("mish", "hardswish")
    _, fused = conv(om.single(om.mish, opset))
    assert op_list(fused) == (["Mish"] if opset >= 18 else ["Softplus", "Tanh", "Mul"])


@pytest.mark.parametrize("opset", [13, 18])
def test_mish_over_log_exp_fused_into_fewer_ops_at_every_opset(conv, opset):
    b = om.Builder()
    softplus = b.op("Log", b.op("Add", b.op("Exp", "x"), b.const(1.0)))
    report, out = conv(b.model(b.op("Mul", "x", b.op("Tanh", softplus)), opset))
    [change] = report["changes"]
    assert change["rule"] == "fuse mish" and change["max_abs_error"] <= 1e-5
    assert op_list(out) == (["Mish"] if opset >= 18 else ["Softplus", "Tanh", "Mul"])


@pytest.mark.parametrize(
    ("op", "attrs", "swap", "want", "max_err"),
    [
        ("Relu", {}, "relu=relu6", ["Clip"], None),
        ("Sigmoid", {}, "sigmoid=hardsigmoid", ["HardSigmoid"], bound("sigmoid", "hardsigmoid")),
        ("Tanh", {}, "tanh=hardtanh", ["Clip"], bound("tanh", "hardtanh")),
        ("Elu", {}, "elu=relu6", ["Clip"], None),
        ("LeakyRelu", {"alpha": 0.1}, "leaky_relu=relu6", ["Clip"], None),
        ("Gelu", {}, "gelu=gelu_tanh", ["Gelu"], bound("gelu", "gelu_tanh")),
        ("Gelu", {}, "gelu=hardswish", ["HardSwish"], bound("gelu", "hardswish")),
        ("HardSwish", {}, "swish=hardswish", None, None),
    ],
)
def test_single_op_swaps(conv, tmp_path, op, attrs, swap, want, max_err):
    b = om.Builder()
    model = b.model(b.op(op, "x", **attrs), 20)
    if want is None:  # HardSwish is not SiLU: an explicit swap that matches nothing is an error
        with pytest.raises(ModelError, match="swap silu=hardswish matches nothing"):
            conv(model, swap)
        assert not (tmp_path / "out.onnx").exists()
        return
    # the rewrite is under test, not whether the swap approximates: accept any cosine
    report, out = conv(model, swap, inputs={"x": SWEEP}, min_cosine=-1.0)
    assert op_list(out) == want
    if want == ["Gelu"]:
        assert helper.get_attribute_value(out.graph.node[-2].attribute[0]) == b"tanh"
    err = report["changes"][0]["max_abs_error"]
    assert err > 0 and (max_err is None or err <= max_err)


def test_relu_to_relu6_error_is_what_relu6_cuts_off(conv):
    b = om.Builder()
    report, _ = conv(b.model(b.op("Relu", "x"), 13), "relu=relu6", inputs={"x": SWEEP})
    assert report["changes"][0]["max_abs_error"] == pytest.approx(SWEEP.max() - 6)


def test_prelu_with_one_slope_becomes_leaky_relu_per_channel_is_skipped(conv):
    b = om.Builder()
    v = b.op("PRelu", "x", b.const(np.float32(0.2)))
    v = b.op("PRelu", v, b.const(np.linspace(0.1, 0.8, 8, dtype=np.float32).reshape(8, 1, 1)))
    report, out = conv(b.model(v, 13), "prelu=leaky_relu")
    assert op_list(out) == ["LeakyRelu", "PRelu"]
    leaky = next(n for n in out.graph.node if n.op_type == "LeakyRelu")
    assert helper.get_attribute_value(leaky.attribute[0]) == pytest.approx(0.2)
    applied, skipped = report["changes"]
    assert applied["applied"] and applied["max_abs_error"] < 1e-6
    assert not skipped["applied"] and "per-channel" in skipped["skipped"]


def test_se_gate_sigmoid_becomes_hardsigmoid_and_stays_a_gate(conv):
    report, out = conv(om.single(om.se_gate), "sigmoid=hardsigmoid")
    assert op_list(out) == ["GlobalAveragePool", "HardSigmoid", "Mul"]
    assert [c["rule"] for c in report["changes"]] == ["sigmoid=hardsigmoid"]
    with pytest.raises(ModelError, match=r"silu=hardswish matches nothing .* sigmoid ×1$"):
        conv(om.single(om.se_gate), "silu=hardswish")


def test_near_misses_are_not_rewritten(conv):
    b = om.Builder()
    v = om.gelu_erf(b, "x", divisor=1.5)  # wrong constant
    v = om.hardswish_chain(b, v, opset=17, add=2.0)
    v = om.silu(b, v)
    model = b.model(v, 17)
    report, out = conv(model, "silu=hardswish", preset="mobile")  # the preset has gelu=gelu_tanh
    assert [c["rule"] for c in report["changes"]] == ["silu=hardswish"]
    assert op_list(out)[:5] == ["Div", "Erf", "Add", "Mul", "Mul"]


def test_a_pattern_value_read_elsewhere_keeps_its_nodes(conv):
    """The Sigmoid of a SiLU also feeding a second output must survive the swap."""
    b = om.Builder()
    s = b.op("Sigmoid", "x")
    y = b.op("Mul", "x", s)
    model = b.model(y, 17, extra_outputs=[(s, TensorProto.FLOAT)])
    report, out = conv(model, "silu=hardswish")
    assert sorted(op_list(out)) == ["HardSwish", "Sigmoid"]
    assert report["verification"]["outputs"][1]["max_abs"] == 0.0


# --- QDQ ----------------------------------------------------------------------------------------
def qdq_model() -> onnx.ModelProto:
    """As ONNX Runtime's quantizer writes it: Q(x) → DQ → Sigmoid → Q(1/256, 0) → DQ, and a SiLU
    DQ(x) → Sigmoid → Q → DQ → Mul(DQ(x), ·) → Q(0.05, 20) → DQ, each range fitting its values."""
    b = om.Builder("/q")
    u8 = np.uint8
    x_scale, x_zero = b.const(0.05), b.const(128, dtype=u8)
    s_scale, s_zero = b.const(1 / 256), b.const(0, dtype=u8)
    y_scale, y_zero = b.const(0.05), b.const(20, dtype=u8)
    xq = b.op("QuantizeLinear", "x", x_scale, x_zero)
    gate = b.op("Sigmoid", b.op("DequantizeLinear", xq, x_scale, x_zero))
    gate = b.op("DequantizeLinear", b.op("QuantizeLinear", gate, s_scale, s_zero), s_scale, s_zero)
    s = b.op("Sigmoid", b.op("DequantizeLinear", xq, x_scale, x_zero))
    s = b.op("DequantizeLinear", b.op("QuantizeLinear", s, s_scale, s_zero), s_scale, s_zero)
    m = b.op("Mul", b.op("DequantizeLinear", xq, x_scale, x_zero), s)
    m = b.op("DequantizeLinear", b.op("QuantizeLinear", m, y_scale, y_zero), y_scale, y_zero)
    return b.model(m, 13, extra_outputs=[(gate, TensorProto.FLOAT)])


def test_qdq_swaps_stay_inside_their_quantize_pairs(conv):
    model = qdq_model()
    report, out = conv(model, "sigmoid=hardsigmoid", "silu=hardswish", inputs={"x": SWEEP / 1.5})
    assert [c["quantized"] for c in report["changes"]] == [True, True]
    ops = op_list(out)
    assert "Sigmoid" not in ops and ops.count("HardSigmoid") == 2
    producers = {o: n for n in out.graph.node for o in n.output}
    consumers = {i: n for n in out.graph.node for i in n.input}
    for node in out.graph.node:
        if node.op_type in ("HardSigmoid", "Mul"):  # at opset 13 HardSwish is HardSigmoid·x
            assert producers[node.input[0]].op_type == "DequantizeLinear"
            assert consumers[node.output[0]].op_type in ("QuantizeLinear", "Mul")

    # the QuantizeLinear nodes after the rewritten ops kept their scales and zero points; the
    # SiLU's inner Sigmoid → Q → DQ is gone with the Sigmoid
    def quantizers(m):
        return [tuple(n.input[1:]) for n in m.graph.node if n.op_type == "QuantizeLinear"]

    assert set(quantizers(out)) == set(quantizers(model))
    assert len(quantizers(out)) == len(quantizers(model)) - 1
    y, gate = report["verification"]["outputs"]
    assert 0 < y["max_abs"] <= bound("silu", "hardswish") + 0.05  # + one output step
    assert 0 < gate["max_abs"] <= bound("sigmoid", "hardsigmoid") + 1 / 256


@pytest.mark.parametrize("fixture", ["mobile_block_opset17", "gelu_erf_opset13"])
def test_models_quantized_by_onnxruntime_quantizer_convert_inside_their_qdq_pairs(
    tmp_path, fixture
):
    """Real QDQ output: onnxruntime.quantization.quantize_static on a PyTorch export."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    # a copy: the quantizer writes a shape-inferred model beside its input for a while
    src = tmp_path / f"{fixture}.onnx"
    src.write_bytes((Path(__file__).parent / "fixtures" / "onnx" / src.name).read_bytes())
    graph_input = onnx.load(src).graph.input[0]
    shape = [d.dim_value or 1 for d in graph_input.type.tensor_type.shape.dim]

    class Calibration(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(0)
            data = [rng.normal(0, 2, shape).astype(np.float32) for _ in range(4)]
            self.batches = iter({graph_input.name: x} for x in data)

        def get_next(self):
            return next(self.batches, None)

    qdq = tmp_path / "qdq.onnx"
    quantize_static(src, qdq, Calibration(), quant_format=QuantFormat.QDQ)
    before = op_list(onnx.load(qdq))
    dst = tmp_path / "out.onnx"
    with Unchanged(qdq):
        report = convert(qdq, dst, [], preset="mobile")
    after = op_list(onnx.load(dst))
    rules = sorted(c["rule"] for c in report["changes"])
    assert "gelu=gelu_tanh" in rules and all(c["quantized"] for c in report["changes"])
    assert "Erf" in before and "Erf" not in after
    assert after.count("QuantizeLinear") <= before.count("QuantizeLinear")
    assert report["verification"]["passed"]
    assert all(o["cosine"] > 0.99 for o in report["verification"]["outputs"])


# --- verification, tolerance, per-swap errors ---------------------------------------------------
def two_silus() -> onnx.ModelProto:
    """y = silu(x) + silu(x) as two separate patterns: each swap's error adds up at y."""
    b = om.Builder()
    return b.model(b.op("Add", om.silu(b, "x"), om.silu(b, "x")), 17)


def test_tolerance_skips_the_swaps_whose_own_error_exceeds_it(conv):
    b = om.Builder()
    v = om.gelu_erf(b, "x")
    model = b.model(om.silu(b, v), 17)
    report, out = conv(model, "gelu=gelu_tanh", "silu=hardswish", tolerance=1e-3)
    by_rule = {c["rule"]: c for c in report["changes"]}
    assert by_rule["gelu=gelu_tanh"]["applied"]
    assert not by_rule["silu=hardswish"]["applied"]
    assert "breaks the thresholds: 'y' max |error|" in by_rule["silu=hardswish"]["skipped"]
    assert by_rule["silu=hardswish"]["skipped"].endswith("> 0.001")
    assert "Sigmoid" in op_list(out) and "Erf" not in op_list(out)
    assert report["verification"]["passed"] and report["verification"]["max_abs"] <= 1e-3


def test_a_final_model_over_the_tolerance_is_not_written(tmp_path, capsys):
    src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save(two_silus(), src)
    each = bound("silu", "hardswish")
    argv = ["convert", str(src), "-o", str(dst), "--swap", "silu=hardswish", "--json"]
    assert main([*argv, "--tolerance", str(1.5 * each)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert all(c["applied"] and c["max_abs_error"] <= 1.5 * each for c in report["changes"])
    assert report["verification"]["max_abs"] > 1.5 * each
    assert not report["verification"]["passed"] and not report["written"]
    assert not dst.exists()


def test_verification_report_has_every_metric_per_output(conv):
    b = om.Builder(shape=(2, 10))
    logits = b.op("Gemm", om.silu(b, "x"), b.const(np.eye(10, dtype=np.float32)))
    report, _ = conv(b.model(logits, 17), "silu=hardswish")
    (o,) = report["verification"]["outputs"]
    assert o["output"] == "y" and o["shape"] == [2, 10]
    assert 0 < o["max_abs"] <= bound("silu", "hardswish")
    assert 0 < o["max_rel"] < 1 and 0.99 < o["cosine"] <= 1 and 0 <= o["top1"] <= 1


def test_no_verify_still_checks_the_result_runs(conv):
    report, out = conv(om.single(om.silu, 17), "silu=hardswish", verify=False)
    assert report["verification"] is None and op_list(out) == ["HardSwish"]
    assert report["changes"][0]["max_abs_error"] is None


def dynamic_model() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]
    model = helper.make_model(
        helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    return model


def test_dynamic_dimensions_default_to_one_and_can_be_set(conv, tmp_path):
    report, _ = conv(dynamic_model(), "silu=hardswish")
    assert report["verification"]["outputs"][0]["shape"] == [1, 8]
    assert any("dynamic dimensions taken as 1" in n for n in report["verification"]["inputs"])
    report, _ = conv(dynamic_model(), "silu=hardswish", input_shapes=["x=5x8"])
    assert report["verification"]["outputs"][0]["shape"] == [5, 8]
    npz = tmp_path / "inputs.npz"
    np.savez(npz, x=np.full((3, 8), 4.0, np.float32))
    report, _ = conv(dynamic_model(), "silu=hardswish", inputs=npz)
    assert report["verification"]["outputs"][0]["shape"] == [3, 8]
    silu4 = 4.0 / (1 + math.exp(-4.0))
    assert report["verification"]["max_abs"] == pytest.approx(abs(silu4 - 4.0), abs=1e-6)


# --- subgraphs, functions, external data, opset upgrade -----------------------------------------
def test_swaps_and_fusions_reach_subgraphs_and_functions(conv):
    report, out = conv(om.with_subgraphs(17), "silu=hardswish")
    assert sorted(c["rule"] for c in report["changes"]) == ["fuse hardswish", "silu=hardswish"]
    if_node = next(n for n in out.graph.node if n.op_type == "If")
    then_branch = next(a.g for a in if_node.attribute if a.name == "then_branch")
    assert [n.op_type for n in then_branch.node if n.op_type != "Constant"] == ["HardSwish"]
    assert [n.op_type for n in out.functions[0].node] == ["HardSwish"]
    assert report["verification"]["passed"]


@pytest.mark.parametrize(
    ("cond", "exercised"),
    [(True, True), (False, False), (None, False)],  # None: computed, false on every sample
)
def test_a_change_in_an_if_branch_no_sample_takes_is_reported_unexercised(conv, cond, exercised):
    report, _ = conv(om.with_subgraphs(17, cond), "silu=hardswish")
    by_rule = {c["rule"]: c for c in report["changes"]}
    assert by_rule["fuse hardswish"]["exercised"] is None  # in a function, not an If branch
    silu = by_rule["silu=hardswish"]
    assert silu["applied"] and silu["exercised"] is exercised
    unexercised = [n for n in silu["notes"] if n.startswith("not exercised")]
    assert len(unexercised) == (not exercised)
    if not exercised:
        assert unexercised[0].endswith("was False in all 3 samples")
        assert silu["max_abs_error"] == 0


def test_a_change_that_does_not_run_alone_is_skipped_and_the_rest_written(conv):
    """A function body has no types: constants default to float32, wrong for float16 data."""
    f16 = TensorProto.FLOAT16
    body = [
        helper.make_node("Sigmoid", ["fx"], ["s"], "/fn/Sigmoid"),
        helper.make_node("Mul", ["fx", "s"], ["fy"], "/fn/Mul"),
    ]
    opset = [helper.make_opsetid("", 17)]
    fn = helper.make_function("local", "Silu16", ["fx"], ["fy"], body, opset)
    graph = helper.make_graph(
        [
            helper.make_node("Silu16", ["x"], ["h"], "/top/Silu16", domain="local"),
            helper.make_node("Relu", ["h"], ["y"], "/top/Relu"),
        ],
        "g",
        [helper.make_tensor_value_info("x", f16, [1, 8])],
        [helper.make_tensor_value_info("y", f16, [1, 8])],
    )
    model = helper.make_model(graph, opset_imports=[*opset, helper.make_opsetid("local", 1)])
    model.ir_version = 8
    model.functions.append(fn)
    report, out = conv(model, "silu=gelu_tanh", "relu=relu6")
    by_rule = {c["rule"]: c for c in report["changes"]}
    assert "constants are float32" in by_rule["silu=gelu_tanh"]["notes"][0]
    assert not by_rule["silu=gelu_tanh"]["applied"]
    assert "ONNX Runtime cannot run" in by_rule["silu=gelu_tanh"]["skipped"]
    assert by_rule["relu=relu6"]["applied"] and op_list(out) == ["Silu16", "Clip"]


def test_external_data_models_are_written_with_their_data_file(tmp_path):
    b = om.Builder()
    weights = np.random.default_rng(0).normal(size=(8, 8, 3, 3)).astype(np.float32)
    v = om.silu(b, b.op("Conv", "x", b.const(weights), pads=[1, 1, 1, 1]))
    src, dst = tmp_path / "in.onnx", tmp_path / "out" / "converted.onnx"
    dst.parent.mkdir()
    onnx.save(
        b.model(v, 17), src, save_as_external_data=True, location="in.weights", size_threshold=0
    )
    with Unchanged(src, tmp_path / "in.weights"):
        report = convert(src, dst, ["silu=hardswish"])
    assert report["written"] and (dst.parent / "converted.onnx.data").exists()
    onnx.checker.check_model(str(dst), full_check=True)
    x = np.random.default_rng(1).normal(size=(1, 8, 4, 4)).astype(np.float32)
    (y,) = run_ort(str(dst), {"x": x})
    (y0,) = run_ort(str(src), {"x": x})
    assert np.abs(y - y0).max() == pytest.approx(report["verification"]["max_abs"], rel=1.0)


def _external_model(folder: Path) -> onnx.ModelProto:
    """A Conv → SiLU model saved in ``folder`` with its weights in model.data; returned unloaded."""
    b = om.Builder()
    weights = np.random.default_rng(0).normal(size=(8, 8, 3, 3)).astype(np.float32)
    v = om.silu(b, b.op("Conv", "x", b.const(weights), pads=[1, 1, 1, 1]))
    path = folder / "model.onnx"
    onnx.save(b.model(v, 17), path, save_as_external_data=True, location="model.data",
              size_threshold=0)  # fmt: skip
    return onnx.load(path, load_external_data=False)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("length", str(10**12), "length 1000000000000: outside its 2304-byte file"),
        ("offset", str(10**12), "offset 1000000000000, length 2304: outside its"),
        ("offset", "ten", "offset/length that are not integers"),
        ("length", "-5", "length -5: outside its 2304-byte file"),
        ("location", "../../etc/passwd", "'../../etc/passwd', outside the model's folder"),
        ("location", "gone.data", "'gone.data', which does not exist"),
    ],
)
def test_bad_external_data_references_are_one_line_errors(tmp_path, key, value, message):
    model = _external_model(tmp_path)
    refs = model.graph.initializer[0].external_data
    entry = next((e for e in refs if e.key == key), None) or refs.add(key=key)
    entry.value = value
    onnx.save(model, tmp_path / "bad.onnx")
    with pytest.raises(ModelError, match=f"bad.onnx: tensor '/act/const_0' refers to .*{message}"):
        convert(tmp_path / "bad.onnx", tmp_path / "out.onnx", {"silu": "hardswish"})
    assert not (tmp_path / "out.onnx").exists()


def test_inspect_never_reads_external_data(tmp_path):
    """Its weights may be gigabytes; inspect needs the graph only (it works without the file)."""
    _external_model(tmp_path)
    (tmp_path / "model.data").unlink()
    (finding,) = inspect(tmp_path / "model.onnx")["findings"]
    assert finding["activation"] == "silu"


def test_opset_upgrade_only_when_asked(conv):
    model = om.single(om.hardswish_hsig, 13)
    _, out = conv(model)
    assert op_list(out) == ["HardSigmoid", "Mul"]
    _, out = conv(model, opset=14)
    assert op_list(out) == ["HardSwish"] and out.opset_import[0].version == 14
    with pytest.raises(ValueError, match="--opset 12: must be between the model's 13"):
        conv(model, opset=12)


# --- real models ----------------------------------------------------------------------------------
LIGHT = sorted((Path(onnx.__file__).parent / "backend/test/data/light").glob("light_*.onnx"))


@pytest.mark.parametrize("path", LIGHT, ids=[p.stem for p in LIGHT])
def test_onnx_backend_cnns_relu_to_relu6(tmp_path, path):
    model = onnx.load(path)
    relus = op_list(model).count("Relu")
    dst = tmp_path / "out.onnx"
    with Unchanged(path):
        report = convert(path, dst, ["relu=relu6"], verify=False)
    out = onnx.load(dst)
    onnx.checker.check_model(out, full_check=True)
    assert relus > 0 and op_list(out).count("Relu") == 0
    assert op_list(out).count("Clip") == op_list(model).count("Clip") + relus
    assert len(report["changes"]) == relus


FIXTURES = sorted((Path(__file__).parent / "fixtures/onnx").glob("*.onnx"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_pytorch_exports_convert_with_the_mobile_preset(tmp_path, path):
    with Unchanged(path):
        report = convert(path, tmp_path / "out.onnx", preset="mobile")
    assert report["written"] and report["verification"]["passed"]
    worst = max(
        [0.0]
        + [bound(c["activation"], c["target"]) for c in report["changes"] if c["kind"] == "swap"]
    )
    for c in report["changes"]:
        assert c["max_abs_error"] <= (
            3 * bound(c["activation"], c["target"]) if c["kind"] == "swap" else 1e-4
        )
    assert all(o["cosine"] > 0.99 for o in report["verification"]["outputs"])
    assert report["verification"]["max_abs"] <= 3 * max(worst, 1e-5)
    assert format_report(report).count("\n") > 5


# --- bad input ------------------------------------------------------------------------------------
def custom_op_model() -> onnx.ModelProto:
    b = om.Builder()
    v = om.silu(b, b.op("Mystery", "x", domain="example.custom"))
    return b.model(v, 17, extra_opsets=[("example.custom", 1)], infer=False)


def newer_opset_model() -> onnx.ModelProto:
    model = om.single(om.silu, 17)
    model.opset_import[0].version = MAX_OPSET + 1
    return model


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "no such file"),
        (b"", [], "file is empty"),
        (b"\x08\x07\x12garbage-not-a-model\xff\xff", [], "not an ONNX model"),
        ("truncated", [], "not an ONNX model or truncated"),
        (newer_opset_model, [], f"opset {MAX_OPSET + 1} is newer than this onnx supports"),
        (two_silus, ["--swap", "silu=nope"], "unknown swap target 'nope'"),
        (two_silus, ["--swap", "silu"], "is not FROM=TO"),
        (two_silus, ["--swap", "silu=silu"], "maps silu to itself"),
        (two_silus, ["--swap", "gelu=gelu_tanh"], "swap gelu=gelu_tanh matches nothing"),
        (two_silus, ["--swap", "silu=prelu"], "no ONNX form for swap target 'prelu'"),
        (custom_op_model, ["--tolerance", "0.2"], "cannot hold the result to max |error| ≤ 0.2"),
        (two_silus, ["--tolerance", "-1"], "tolerance -1.0 must be a number >= 0"),
        (dynamic_model, ["--input-shape", "z=1x8"], "the model has no input 'z'"),
        (dynamic_model, ["--input-shape", "x=2x9"], "does not fit the model's shape"),
        (dynamic_model, ["--input-shape", "x=2by8"], "is not NAME=D1xD2x"),
        (two_silus, ["--calibration", "c.npz"], "--calibration of an ONNX model is for --recover"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, content, args, message):
    src, dst = tmp_path / "model.onnx", tmp_path / "out.onnx"
    if content == "truncated":
        data = two_silus().SerializeToString()
        src.write_bytes(data[: len(data) // 2])
    elif callable(content):
        onnx.save(content(), src)
    elif content is not None:
        src.write_bytes(content)
    state = src.read_bytes() if src.exists() else None
    assert main(["convert", str(src), "-o", str(dst), *args]) == 2
    # stderr: progress lines ("[1/1] read and plan ...") and then exactly one error line
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("[")]
    assert len(errors) == 1 and message in errors[0], errors
    assert not dst.exists()
    assert (src.read_bytes() if src.exists() else None) == state


@pytest.mark.parametrize("verify", [True, False], ids=["verify", "no-verify"])
def test_a_custom_op_outside_the_swaps_is_converted_unverified(tmp_path, verify):
    """ONNX Runtime has no kernel for example.custom:Mystery (the user's op library has), so the
    result is checked with onnx.checker only, and the report says so (issue 13, item 6)."""
    src, dst = tmp_path / "model.onnx", tmp_path / "out.onnx"
    onnx.save(custom_op_model(), src)
    with Unchanged(src):
        report = convert(src, dst, {"silu": "hardswish"}, verify=verify)
    assert report["written"] and report["verification"] is None
    assert any("no kernels for example.custom:Mystery" in n for n in report["notes"])
    assert op_list(onnx.load(dst)) == ["Mystery", "HardSwish"]


def test_ops_of_a_model_local_function_are_not_custom(tmp_path):
    """A model-local function is inlined by ONNX Runtime, so its model is verified as usual."""
    b = om.Builder()
    twice = helper.make_function(
        "local", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
        [helper.make_opsetid("", 17)],
    )  # fmt: skip
    model = b.model(om.silu(b, b.op("Twice", "x", domain="local")), 17, [("local", 1)], infer=False)
    model.functions.append(twice)
    src, dst = tmp_path / "model.onnx", tmp_path / "out.onnx"
    onnx.save(model, src)
    report = convert(src, dst, {"silu": "hardswish"})
    assert report["written"] and report["verification"]["passed"]


def test_output_path_equal_to_input_is_refused(tmp_path, capsys):
    src = tmp_path / "model.onnx"
    onnx.save(two_silus(), src)
    with Unchanged(src):
        assert main(["convert", str(src), "-o", str(src), "--swap", "silu=hardswish"]) == 2
    assert "is the input model" in capsys.readouterr().err


def test_missing_output_folder_is_refused(tmp_path, capsys):
    src = tmp_path / "model.onnx"
    onnx.save(two_silus(), src)
    assert main(["convert", str(src), "-o", str(tmp_path / "no" / "out.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_json_and_text(tmp_path, capsys):
    src = tmp_path / "model.onnx"
    onnx.save(om.exporter_shaped(13), src)
    assert (
        main(["convert", str(src), "-o", str(tmp_path / "a.onnx"), "--preset", "mobile", "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "onnx" and report["written"]
    rules = sorted({c["rule"] for c in report["changes"]})
    assert rules == ["fuse hardswish", "gelu=gelu_tanh", "sigmoid=hardsigmoid", "silu=hardswish"]
    assert (
        main(["convert", str(src), "-o", str(tmp_path / "b.onnx"), "--swap", "silu=hardswish"]) == 0
    )
    captured = capsys.readouterr()
    assert "silu=hardswish" in captured.out and "Verification in ONNX Runtime" in captured.out
    steps = [line.split("] ")[0] + "]" for line in captured.err.splitlines()]
    # read, the swap, the Hardswish chain fused as HardSigmoid·Mul, the result, write
    assert steps == ["[1/1]", "[2/5]", "[3/5]", "[4/5]", "[5/5]"]


def test_model_saved_into_the_numpy_helper_types_roundtrip():
    """The float16 model keeps float16 constants (the emitted ones follow the input type)."""
    b = om.Builder()
    model = b.model(om.silu(b, "x"), 17, elem=TensorProto.FLOAT16, infer=False)
    names = iter(range(100))
    e = Emitter(17, TensorProto.FLOAT16, lambda h: f"{h}{next(names)}")
    nodes = emit("gelu_tanh", "x", "y", e)
    consts = [numpy_helper.to_array(n.attribute[0].t) for n in nodes if n.op_type == "Constant"]
    assert consts and all(c.dtype == np.float16 for c in consts)
    assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT16


def test_patterns_a_higher_opset_would_fuse_are_named_with_the_flag(conv):
    """Was "0 changes" and no word for a model at opset 13 full of Hardswish chains."""
    b = om.Builder()
    model = b.model(om.hardswish_chain(b, om.hardswish_chain(b, "x", 13), 13), 13)
    report, _ = conv(model)  # fused into HardSigmoid·Mul, and HardSwish named
    assert [c["ops_after"] for c in report["changes"]] == [["HardSigmoid", "Mul"]] * 2
    want = "--opset 14 would fuse 2 decomposed hardswish pattern(s) into HardSwish"
    assert any(n.startswith(want) for n in report["notes"]), report["notes"]
    report, out = conv(model, opset=14)
    assert [c["rule"] for c in report["changes"]] == ["fuse hardswish"] * 2
    assert op_list(out).count("HardSwish") == 2 and not any("--opset" in n for n in report["notes"])
    report, _ = conv(model, fuse=False)
    assert not any("--opset" in n for n in report["notes"])


def test_the_preset_lists_a_swap_that_is_no_approximation_and_applies_it_only_when_asked(conv):
    """Measured before (issue 14): the mobile preset turned ELU into ReLU6, an error of ~1."""
    b = om.Builder()
    model = b.model(om.silu(b, b.op("Elu", "x")), 17)
    report, out = conv(model, preset="mobile")
    by_rule = {c["rule"]: c for c in report["changes"]}
    assert by_rule["silu=hardswish"]["applied"] and not by_rule["elu=relu6"]["applied"]
    reason = by_rule["elu=relu6"]["skipped"]
    assert reason.startswith("not an approximation (elu=relu6, error alone ")
    assert "--swap elu=relu6" in reason and "Elu" in op_list(out)
    report, out = conv(model, "elu=relu6", preset="mobile", min_cosine=-1.0)
    assert all(c["applied"] for c in report["changes"]) and "Elu" not in op_list(out)
