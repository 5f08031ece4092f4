"""edgeact.converters.onnx.inspect on models built in the shapes exporters emit."""

import itertools
import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgeact.catalogue import ACTIVATIONS
from edgeact.converters import convert
from edgeact.converters.onnx import ModelError, format_report, inspect
from edgeact.converters.onnx._load import MAX_OPSET
from tests import onnx_models as om
from tests._files import inspected_untouched
from tests._reports import grouped_findings, grouped_misses


@pytest.fixture
def run(tmp_path):
    """Save a model (after the checker accepts it), inspect it, check the file is untouched."""

    def _run(model: onnx.ModelProto, check: bool = True) -> dict:
        if check:
            onnx.checker.check_model(model, full_check=True)
        path = tmp_path / "model.onnx"
        onnx.save(model, path)
        return inspected_untouched(inspect, path)

    return _run


def found(report: dict) -> list[tuple[str, str, int]]:
    return sorted((f["activation"], f["pattern"], f["count"]) for f in grouped_findings(report))


def missed(report: dict) -> list[tuple[str, str]]:
    return sorted((m["looks_like"], m["reason"]) for m in grouped_misses(report))


# --- exporter-shaped models --------------------------------------------------------------------
@pytest.mark.parametrize("opset", [12, 13, 17])
def test_exporter_shaped_model(run, opset):
    r = run(om.exporter_shaped(opset))
    assert r["model"]["opset"] == opset
    assert found(r) == [
        ("gelu", "pattern: erf form, Div(√2)", 1),
        ("gelu", "pattern: erf form, Mul(1/√2)", 1),
        ("hardswish", "pattern: Add(3)→Clip(0,6)→Mul(x)→Div(6)", 1),
        ("relu6", "op", 1),
        ("sigmoid", "pattern: sigmoid gate σ(y)·x", 1),
        ("silu", "pattern: Sigmoid(x)·x", 1),
    ]
    assert [(m["looks_like"], m["nodes"]) for m in grouped_misses(r)] == [
        ("silu", [["/blocks/Sigmoid_1", "/blocks/Mul_4"]])
    ]
    assert "not the Sigmoid's input" in grouped_misses(r)[0]["reason"]
    gelu = next(f for f in grouped_findings(r) if f["pattern"] == "pattern: erf form, Div(√2)")
    assert gelu["nodes"] == [
        ["/blocks/Div", "/blocks/Erf", "/blocks/Add", "/blocks/Mul", "/blocks/Mul_1"]
    ]
    assert gelu["ops"] == ["Div", "Erf", "Add", "Mul", "Mul"]
    assert (gelu["dtype"], gelu["qdq"], gelu["opset"]) == ("float32", False, opset)
    assert (gelu["replacement"], gelu["max_abs_error"]) == ("gelu_tanh", 4.8e-4)
    silu = next(f for f in grouped_findings(r) if f["activation"] == "silu")
    assert (silu["replacement"], silu["max_abs_error"]) == ("hardswish", 0.143)
    relu6 = next(f for f in grouped_findings(r) if f["activation"] == "relu6")
    assert relu6["replacement"] is None and relu6["nodes"] == [["/blocks/Clip_1"]]


def test_identical_findings_are_grouped(run):
    b = om.Builder()
    v = om.silu(b, om.silu(b, om.silu(b, "x")), swap=True)
    r = run(b.model(v, 13))
    assert found(r) == [("silu", "pattern: Sigmoid(x)·x", 3)]
    assert len(grouped_findings(r)[0]["nodes"]) == 3


# --- GELU -------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", ["div", "mul"])
@pytest.mark.parametrize("half", ["after", "before", "x_half"])
@pytest.mark.parametrize("swap", [False, True])
def test_gelu_erf_forms(run, scale, half, swap):
    r = run(om.single(om.gelu_erf, 13, scale=scale, half=half, swap=swap))
    form = "Div(√2)" if scale == "div" else "Mul(1/√2)"
    assert found(r) == [("gelu", f"pattern: erf form, {form}", 1)]
    assert grouped_misses(r) == []
    assert len(grouped_findings(r)[0]["nodes"][0]) == 5


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"divisor": 1.5}, "Div by 1.5; GELU needs √2 ≈ 1.41421"),
        ({"divisor": 1.5, "scale": "mul"}, "Mul by 0.666667; GELU needs 1/√2 ≈ 0.707107"),
    ],
)
def test_gelu_erf_wrong_constant_is_a_near_miss(run, kw, reason):
    r = run(om.single(om.gelu_erf, 13, **kw))
    assert found(r) == []
    assert missed(r) == [("gelu", reason)]


def test_gelu_erf_times_other_tensor_is_a_near_miss(run):
    b = om.Builder()
    s = b.op("Erf", b.op("Div", "x", b.const(om.SQRT2)))
    a = b.op("Add", s, b.const(1.0))
    y = b.op("Mul", b.op("Mul", a, b.op("Relu", "x")), b.const(0.5))
    r = run(b.model(y, 13))
    assert found(r) == [("relu", "op", 1)]
    assert missed(r) == [("gelu", "(1 + erf(x/√2)) is multiplied by a tensor other than x")]


@pytest.mark.parametrize(("cube", "form"), [("pow", "Pow(x,3)"), ("mul", "x·x·x")])
@pytest.mark.parametrize("opset", [13, 17])
def test_gelu_tanh_forms(run, cube, form, opset):
    r = run(om.single(om.gelu_tanh, opset, cube=cube))
    assert found(r) == [("gelu_tanh", f"pattern: tanh form, {form}", 1)]
    assert grouped_misses(r) == []


def test_gelu_tanh_wrong_constant_is_a_near_miss(run):
    r = run(om.single(om.gelu_tanh, 17, c3=0.05))
    assert missed(r) == [("gelu_tanh", "x³ multiplied by 0.05; GELU needs 0.044715")]
    assert found(r) == [("tanh", "op", 1)]  # the Tanh is still an activation


# --- SiLU family ----------------------------------------------------------------------------------
@pytest.mark.parametrize("swap", [False, True])
def test_silu(run, swap):
    r = run(om.single(om.silu, 13, swap=swap))
    assert found(r) == [("silu", "pattern: Sigmoid(x)·x", 1)]
    assert grouped_misses(r) == []


def test_se_gate_is_not_silu(run):
    r = run(om.single(om.se_gate, 13))
    assert found(r) == [("sigmoid", "pattern: sigmoid gate σ(y)·x", 1)]
    assert [m["looks_like"] for m in grouped_misses(r)] == ["silu"]
    assert "a gate" in grouped_misses(r)[0]["reason"]


def _swish(beta: float, as_node: bool, beta_first: bool, sigmoid_first: bool):
    """x·σ(β·x) with an explicit Mul(β), as Paddle and Keras export swish."""
    b = om.Builder()
    c = b.const(beta, as_node=as_node)
    scaled = b.op("Mul", c, "x") if beta_first else b.op("Mul", "x", c)
    s = b.op("Sigmoid", scaled)
    return b.model(b.op("Mul", s, "x") if sigmoid_first else b.op("Mul", "x", s), 13)


ORDERS = list(itertools.product([False, True], repeat=3))  # Constant node, β first, σ first


@pytest.mark.parametrize(("as_node", "beta_first", "sigmoid_first"), ORDERS)
@pytest.mark.parametrize(("beta", "activation"), [(1.0, "silu"), (1.702, "gelu_quick")])
def test_swish_with_an_explicit_beta(run, beta, activation, as_node, beta_first, sigmoid_first):
    """Was a near miss "a = 1; silu needs a = 1" for β = 1 (issue 14)."""
    r = run(_swish(beta, as_node, beta_first, sigmoid_first))
    assert found(r) == [(activation, "pattern: Sigmoid(β·x)·x", 1)]
    [finding] = r["findings"]
    assert finding["params"]["beta"] == pytest.approx(beta)
    assert abs(finding["params"]["deviation"]) < 1e-7  # float32 of the constant
    assert grouped_misses(r) == []


def test_swish_constants_match_within_the_tolerance_and_report_the_deviation(run):
    r = run(_swish(1.0005, False, False, False))  # RTOL 1e-3
    [finding] = r["findings"]
    assert finding["activation"] == "silu"
    assert finding["params"]["deviation"] == pytest.approx(5e-4, rel=1e-3)
    r = run(_swish(0.0, True, False, False))
    assert found(r) == [("sigmoid", "op", 1)]
    [(looks_like, reason)] = missed(r)
    assert looks_like == "silu" and reason.startswith("swish with β = 0: x·σ(βx) = silu(βx)/β")


@pytest.mark.parametrize("beta", [1.5, 0.5, -2.0])
def test_swish_with_any_other_beta_is_silu_of_beta_x_with_its_bound_over_beta(run, beta):
    """swish(β) = silu(βx)/β: a replacement f of silu, taken at βx and divided by β, is off by
    at most f's bound / |β| (was a near miss, issue 14)."""
    r = run(_swish(beta, True, False, False))
    [finding] = r["findings"]
    assert (finding["activation"], finding["params"]) == ("silu", {"beta": beta})
    assert finding["replacement"] == "hardswish"
    assert finding["max_abs_error"] == pytest.approx(_bound("hardswish") / abs(beta))
    assert grouped_misses(r) == []


def _bound(target: str) -> float:
    return next(a.max_abs_error for a in ACTIVATIONS["silu"].approximations if a.name == target)


@pytest.mark.onnxruntime
@pytest.mark.parametrize(("as_node", "beta_first", "sigmoid_first"), ORDERS)
@pytest.mark.parametrize(
    ("beta", "target", "ops"),
    [
        (1.5, "hardswish", ["HardSigmoid", "Mul"]),  # x·HardSigmoid(x; β/6, 0.5)
        (-2.0, "hardswish", ["HardSigmoid", "Mul"]),
        (0.5, "silu_poly", None),  # any other target: Mul(β) → target → Mul(1/β)
    ],
)
def test_swish_with_any_beta_swaps_to_its_target_at_beta_x(
    tmp_path, beta, target, ops, as_node, beta_first, sigmoid_first
):
    from edgeact.runtimes.onnxruntime import cpu_session

    src, dst = tmp_path / "swish.onnx", tmp_path / "out.onnx"
    onnx.save(_swish(beta, as_node, beta_first, sigmoid_first), src)
    report = convert(src, dst, [f"silu={target}"])
    [change] = report["changes"]
    assert change["applied"] and report["verification"]["passed"]
    assert change["notes"] == [f"swish with β = {beta:g}: {target}(βx)/β"]
    assert "Sigmoid" not in change["ops_after"]
    if ops is not None:
        assert change["ops_after"] == ops
    else:
        assert change["ops_after"][0] == change["ops_after"][-1] == "Mul"
    x = np.linspace(-12, 12, 8 * 4 * 4, dtype=np.float32).reshape(1, 8, 4, 4)
    [y] = cpu_session(str(dst)).run(None, {"x": x})
    want = x.astype(np.float64) / (1 + np.exp(-beta * x.astype(np.float64)))
    assert np.abs(y - want).max() <= _bound(target) / abs(beta) + 1e-6
    if target == "hardswish":  # exactly hardswish(βx)/β, not only within the bound
        bx = beta * x.astype(np.float64)
        np.testing.assert_allclose(y, bx * np.clip(bx / 6 + 0.5, 0, 1) / beta, atol=1e-5)


def _qdq_swish(beta: float) -> onnx.ModelProto:
    """DQ → Mul(β) → Q/DQ → Sigmoid → Q/DQ → Mul(x): the pattern through the quantizer's pairs."""
    b = om.Builder()
    scale, zero = b.const(0.05), b.const(0, np.int8)

    def qdq(v):
        return b.op("DequantizeLinear", b.op("QuantizeLinear", v, scale, zero), scale, zero)

    x = qdq("x")
    s = qdq(b.op("Sigmoid", qdq(b.op("Mul", x, b.const(beta, as_node=True)))))
    return b.model(qdq(b.op("Mul", x, s)), 13)


@pytest.mark.parametrize("beta", [1.0, 1.5])
def test_swish_with_beta_inside_qdq(run, beta):
    r = run(_qdq_swish(beta))
    silu = [f for f in r["findings"] if f["activation"] == "silu"]
    assert len(silu) == 1 and silu[0]["qdq"] and silu[0]["pattern"] == "pattern: Sigmoid(β·x)·x"
    assert silu[0]["params"]["beta"] == pytest.approx(beta)


@pytest.mark.onnxruntime
@pytest.mark.parametrize("beta", [1.0, 1.5])
def test_swish_with_beta_inside_qdq_swaps_between_the_pairs(tmp_path, beta):
    src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save(_qdq_swish(beta), src)
    [change] = convert(src, dst, ["silu=hardswish"])["changes"]
    assert change["applied"] and change["quantized"] and "Sigmoid" not in change["ops_after"]
    ops = [n.op_type for n in onnx.load(dst).graph.node]
    assert "Sigmoid" not in ops and ops.count("QuantizeLinear") < 4  # the inner pairs went too


@pytest.mark.onnxruntime
def test_swish_with_beta_one_converts_like_silu(tmp_path):
    src, dst = tmp_path / "swish.onnx", tmp_path / "out.onnx"
    onnx.save(_swish(1.0, True, True, False), src)
    report = convert(src, dst, ["silu=hardswish"])
    [change] = report["changes"]
    assert change["ops_before"] == ["Mul", "Sigmoid", "Mul"] and change["applied"]
    ops = [n.op_type for n in onnx.load(dst).graph.node]
    assert ops == ["HardSigmoid", "Mul", "Identity"]  # Hardswish below opset 14
    assert report["verification"]["passed"]


def _log_exp_softplus(b: om.Builder, x: str) -> str:
    return b.op("Log", b.op("Add", b.op("Exp", x), b.const(1.0)))


def test_softplus_as_log_exp_and_mish_over_it(run):
    """OpenVINO's SoftPlus and Mish fusions match these; edgeact saw three plain ops before."""
    b = om.Builder()
    r = run(b.model(_log_exp_softplus(b, "x"), 13))
    assert found(r) == [("softplus", "pattern: Log(Exp(x) + 1)", 1)]
    b = om.Builder()
    r = run(b.model(b.op("Mul", "x", b.op("Tanh", _log_exp_softplus(b, "x"))), 13))
    assert found(r) == [("mish", "pattern: x·Tanh(Softplus(x))", 1)]
    assert r["findings"][0]["ops"] == ["Exp", "Add", "Log", "Tanh", "Mul"]
    b = om.Builder()
    r = run(b.model(b.op("Log", b.op("Add", b.op("Exp", "x"), b.const(2.0))), 13))
    assert "softplus" not in {a for a, _, _ in found(r)}  # log(exp(x) + 2) is not softplus


@pytest.mark.onnxruntime
def test_decomposed_softplus_fuses_into_the_op(tmp_path):
    b = om.Builder()
    src, dst = tmp_path / "sp.onnx", tmp_path / "out.onnx"
    onnx.save(b.model(_log_exp_softplus(b, "x"), 13), src)
    report = convert(src, dst)
    assert [c["rule"] for c in report["changes"]] == ["fuse softplus"]
    assert [n.op_type for n in onnx.load(dst).graph.node] == ["Softplus", "Identity"]
    assert report["verification"]["max_abs"] < 1e-5


def test_mish(run):
    r = run(om.single(om.mish, 13))
    assert found(r) == [("mish", "pattern: x·Tanh(Softplus(x))", 1)]
    r = run(om.single(om.mish, 13, times_x=False))
    assert missed(r) == [("mish", "Tanh(Softplus(x)) is multiplied by a tensor other than x")]
    assert found(r) == [("relu", "op", 1), ("softplus", "op", 1), ("tanh", "op", 1)]


# --- piecewise linear ----------------------------------------------------------------------------
@pytest.mark.parametrize("opset", [10, 13])
@pytest.mark.parametrize(
    ("by", "order"),
    [("div", "mul_first"), ("mul", "mul_first"), ("div", "div_first"), ("mul", "div_first")],
)
def test_hardswish_chain(run, opset, by, order):
    r = run(om.single(om.hardswish_chain, opset, by=by, order=order))
    six = "Div(6)" if by == "div" else "Mul(1/6)"
    steps = ["Add(3)", "Clip(0,6)", "Mul(x)", six]
    if order == "div_first":
        steps[2:] = [six, "Mul(x)"]
    assert found(r) == [("hardswish", "pattern: " + "→".join(steps), 1)]
    assert grouped_misses(r) == []


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"add": 2.0}, "Add(2) before the clamp; needs Add(3)"),
        ({"hi": 5.0}, "clamps to [0, 5]; needs [0, 6]"),
        ({"div": 5.0}, "divided by 5; needs Div(6)"),
        ({"div": 5.0, "by": "mul"}, "multiplied by 0.2; needs Mul(1/6)"),
    ],
)
def test_hardswish_chain_near_misses(run, kw, reason):
    r = run(om.single(om.hardswish_chain, 13, **kw))
    assert missed(r) == [("hardswish", reason)]
    assert all(f["activation"] != "hardswish" for f in grouped_findings(r))


@pytest.mark.parametrize("opset", [10, 12])
def test_hardswish_as_hardsigmoid_times_x(run, opset):
    r = run(om.single(om.hardswish_hsig, opset))
    assert found(r) == [("hardswish", "pattern: HardSigmoid(1/6)·x", 1)]
    r = run(om.single(om.hardswish_hsig, opset, alpha=0.2))
    assert found(r) == []
    assert missed(r) == [
        ("hardswish", "HardSigmoid alpha=0.2, beta=0.5; hardswish needs alpha=1/6, beta=0.5")
    ]


@pytest.mark.parametrize("opset", [10, 13])
def test_hardsigmoid_chain(run, opset):
    r = run(om.single(om.hardsigmoid_chain, opset))
    assert found(r) == [("hardsigmoid", "pattern: Add(3)→Clip(0,6)→Div(6)", 1)]
    r = run(om.single(om.hardsigmoid_chain, opset, div=3.0))
    assert missed(r) == [("hardsigmoid", "divided by 3; needs Div(6)")]


def test_relu6_min_max(run):
    r = run(om.single(om.relu6_minmax, 13))
    assert found(r) == [("relu6", "pattern: Max/Min(x, 0, 6)", 1)]
    r = run(om.single(om.relu6_minmax, 13, hi=5.0))
    assert found(r) == []
    assert missed(r) == [("relu6", "clamps to [0, 5]; relu6 needs [0, 6]")]


@pytest.mark.parametrize("opset", [10, 11, 13])
def test_clip_relu6_attributes_and_inputs(run, opset):
    r = run(om.single(om.clip, opset, lo=0.0, hi=6.0))
    assert found(r) == [("relu6", "op", 1)]
    r = run(om.single(om.clip, opset, lo=0.0, hi=5.0))
    assert found(r) == []
    assert missed(r) == [("relu6", "Clip(0, 5); relu6 needs Clip(0, 6)")]
    r = run(om.single(om.clip, opset, lo=-2.0, hi=2.0))  # a plain clamp: not an activation
    assert found(r) == [] and missed(r) == []


# --- single ops, vendors, QDQ, subgraphs --------------------------------------------------------
def test_single_ops_opset20(run):
    r = run(om.all_single_ops(20))
    assert found(r) == sorted(
        (name, "op", 1)
        for name in (
            "relu hardswish hardsigmoid sigmoid tanh gelu gelu_tanh leaky_relu prelu elu selu "
            "celu softplus mish softmax relu6"
        ).split()
    )
    assert missed(r) == [
        ("hardsigmoid", "HardSigmoid alpha=0.2, beta=0.5; hardsigmoid is alpha=1/6, beta=0.5"),
        ("relu6", "Clip(0, 5); relu6 needs Clip(0, 6)"),
    ]


def test_microsoft_ops(run):
    r = run(om.microsoft_ops())
    assert found(r) == [
        ("gelu", "op", 1),  # com.microsoft.Gelu and BiasGelu: grouped apart by op
        ("gelu", "op", 1),
        ("gelu_quick", "op", 1),
        ("gelu_tanh", "op", 1),
    ]
    ops = sorted(op for f in grouped_findings(r) for op in f["ops"])
    assert ops == [
        "com.microsoft.BiasGelu",
        "com.microsoft.FastGelu",
        "com.microsoft.Gelu",
        "com.microsoft.QuickGelu",
    ]
    assert r["model"]["opset_imports"] == {"ai.onnx": 17, "com.microsoft": 1}


def test_qdq(run):
    r = run(om.qdq(13))
    by_name = {f["activation"]: f for f in grouped_findings(r)}
    assert found(r) == [("sigmoid", "op", 1), ("silu", "pattern: Sigmoid(x)·x", 1)]
    assert by_name["sigmoid"]["qdq"] and by_name["silu"]["qdq"]
    assert by_name["silu"]["nodes"] == [["/q/Sigmoid_1", "/q/Mul"]]
    assert by_name["silu"]["dtype"] == "float32"  # from the DequantizeLinear scale
    assert grouped_misses(r) == []


def test_not_qdq_when_output_is_not_quantized(run):
    r = run(om.single(om.silu, 13))
    assert grouped_findings(r)[0]["qdq"] is False


def test_subgraphs_and_functions(run):
    r = run(om.with_subgraphs(17))
    assert found(r) == [
        ("hardswish", "pattern: HardSigmoid(1/6)·x", 1),
        ("relu", "op", 1),
        ("silu", "pattern: Sigmoid(x)·x", 1),
    ]
    graphs = {f["activation"]: f["graphs"] for f in grouped_findings(r)}
    assert graphs["silu"] == ["main:/top/If.then_branch"]
    assert graphs["relu"] == ["main:/top/If.else_branch"]
    assert graphs["hardswish"] == ["function local::HSwishBlock"]
    by_name = {f["activation"]: f for f in grouped_findings(r)}
    assert by_name["silu"]["dtype"] == "float32"  # outer-scope x
    assert r["model"]["graphs"] == 4


def test_float16_dtype(run):
    b = om.Builder()
    r = run(b.model(om.silu(b, "x"), 13, elem=TensorProto.FLOAT16))
    assert grouped_findings(r)[0]["dtype"] == "float16"


# --- the report ---------------------------------------------------------------------------------
def test_format_report(run):
    r = run(om.exporter_shaped(13))
    text = format_report(r)
    lines = text.splitlines()
    assert all(len(line) <= 100 for line in lines)
    assert "Activations: 6 in 6 group(s)" in text
    assert "Near misses: 1" in text
    header = next(line for line in lines if line.lstrip().startswith("activation"))
    col = header.index("form")
    table = lines[: lines.index("Near misses: 1")]
    rows = [line for line in table if line.startswith("  ") and line[2:4] != "  "]
    rows = [line for line in rows if line.split()[0] in {"gelu", "silu", "relu6", "sigmoid"}]
    assert rows and all(line[col - 2 : col] == "  " for line in rows)
    assert "gelu_tanh (max err 0.00048)" in text
    assert "why: the Mul's other operand is not the Sigmoid's input" in text


def test_format_report_long_names_stay_within_100_columns(run):
    b = om.Builder(prefix="/" + "very_long_module_name/" * 8)
    r = run(b.model(om.gelu_tanh(b, "x"), 17))
    assert all(len(line) <= 100 for line in format_report(r).splitlines())


# --- bad input ------------------------------------------------------------------------------------
def _expect(path, fragment: str) -> None:
    with pytest.raises(ModelError) as info:
        inspect(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and fragment in msg


def test_bad_inputs(tmp_path):
    _expect(tmp_path / "missing.onnx", "no such file")
    _expect(tmp_path, "is a directory")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    _expect(empty, "file is empty")
    text = tmp_path / "notes.onnx"
    text.write_text("hello, this is not a model\n" * 4)
    _expect(text, "not an ONNX model")
    data = om.exporter_shaped(13).SerializeToString()
    for cut in (len(data) // 2, len(data) - 3):
        truncated = tmp_path / f"cut{cut}.onnx"
        truncated.write_bytes(data[:cut])
        _expect(truncated, "truncated")
    assert issubclass(ModelError, ValueError)


def test_too_new_opset_and_ir(tmp_path):
    m = om.single(om.silu, 13)
    m.opset_import[0].version = MAX_OPSET + 1
    p = tmp_path / "new.onnx"
    onnx.save(m, p)
    _expect(p, f"opset {MAX_OPSET + 1} is newer than this onnx supports")
    m = om.single(om.silu, 13)
    m.ir_version = onnx.IR_VERSION + 1
    onnx.save(m, p)
    _expect(p, "IR version")


def test_model_without_graph(tmp_path):
    m = helper.make_model(helper.make_graph([], "g", [], []))
    m.ClearField("graph")
    p = tmp_path / "nograph.onnx"
    onnx.save(m, p)
    _expect(p, "not an ONNX model")


def test_constants_use_relative_tolerance():
    from edgeact.converters.onnx._graph import close

    assert close(1.4142135, math.sqrt(2)) and close(0.70710677, 1 / math.sqrt(2))
    assert close(1.4155, math.sqrt(2)) and not close(1.4160, math.sqrt(2))
