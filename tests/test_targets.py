"""--target: changes a preset chose are timed in the target runtime and left out when slower.

The timing itself is a measurement (bench/bench_plans.py reports it); these tests fix the ratio
to check what convert does with it, and check the targets' names and errors.
"""

import json
import math

import onnx
import pytest

import tests.tflite_models as tm
from edgeact.cli import main
from edgeact.converters import _targets, convert, verify
from edgeact.converters.onnx import _convert as onnx_convert
from edgeact.converters.tflite import _convert as tflite_convert
from tests import onnx_models as om


def _two_activations(tmp_path):
    b = om.Builder()
    src = tmp_path / "m.onnx"
    onnx.save(b.model(om.gelu_erf(b, om.silu(b, "x")), 17), src)
    return src


@pytest.mark.onnxruntime
def test_a_change_that_makes_the_target_slower_is_left_out_unless_named(tmp_path, monkeypatch):
    ratios = iter([1.3, 0.9, 0.9])  # gelu alone, silu alone (scan order), then the plan
    timed = []

    def fake_ratio(original, changed):
        timed.append(changed)
        return next(ratios)

    monkeypatch.setattr(onnx_convert, "time_ratio", fake_ratio)
    src = _two_activations(tmp_path)
    report = convert(src, tmp_path / "out.onnx", [], "mobile", target="onnxruntime")
    by_rule = {c["rule"]: c for c in report["changes"]}
    assert by_rule["silu=hardswish"]["applied"] and by_rule["silu=hardswish"]["time_ratio"] == 0.9
    gelu = by_rule["gelu=gelu_tanh"]
    assert not gelu["applied"] and gelu["time_ratio"] == 1.3
    assert gelu["skipped"].startswith("slower on onnxruntime: 1.30× the original's time alone")
    timed.clear()
    monkeypatch.setattr(onnx_convert, "time_ratio", lambda a, b: timed.append(b) or 0.9)
    report = convert(
        src, tmp_path / "out2.onnx", ["gelu=gelu_tanh"], "mobile", target="onnxruntime"
    )
    assert len(timed) == 2  # silu alone, then the plan against the named gelu swap alone
    assert all(c["applied"] for c in report["changes"])


@pytest.mark.litert_gemm  # FULLY_CONNECTED in the model
def test_litert_targets_time_the_change_in_their_resolver(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(tflite_convert, "time_ratio", lambda a, b: seen.append(1) or 1.5)
    src = tmp_path / "m.tflite"
    src.write_bytes(tm.activation_model("silu", "float32"))
    for target in ("litert", "litert-xnnpack"):
        report = convert(src, tmp_path / f"{target}.tflite", [], "mobile", target=target)
        [change] = report["changes"]
        assert not change["applied"] and change["skipped"].startswith(f"slower on {target}")
        assert report["written"]  # the original model, unchanged but for nothing: it still fits
    assert len(seen) == 2


def test_paired_times_pairs_batches_of_fresh_sessions():
    made, calls = [], []

    def factory(name):
        def fresh():
            made.append(name)
            return lambda: calls.append(name)

        return fresh

    ratio, a, b = _targets.paired_times(factory("a"), factory("b"), sessions=3, rounds=4)
    assert math.isfinite(ratio) and ratio > 0 and a > 0 and b > 0
    assert made == ["a", "b"] * 3  # a fresh pair of sessions per round of batches
    assert calls.count("a") - calls.count("b") == 1  # one more to size the batches


def test_sites_alike_share_one_timing():
    measured = []

    def measure():
        measured.append(1)
        return 1.0 + len(measured) / 10

    def change(dtype="float32"):
        return {"rule": "silu=hardswish", "ops_before": ["Sigmoid", "Mul"], "dtype": dtype,
                "quantized": False, "applied": True}  # fmt: skip

    shared, changes = {}, [change(), change(), change("float16"), change(), change()]
    for c, shape in zip(changes, [(1, 8), (1, 8), (1, 8), (1, 9), None], strict=True):
        _targets.judge_speed(c, measure, "onnxruntime", shared, shape)
    assert [c["time_ratio"] for c in changes] == [1.1, 1.1, 1.2, 1.3, 1.4]
    assert not any(c["applied"] for c in changes) and changes[1]["skipped"].startswith("slower")


@pytest.mark.onnxruntime
def test_identical_sites_of_a_model_are_timed_once(tmp_path, monkeypatch):
    timed = []
    monkeypatch.setattr(onnx_convert, "time_ratio", lambda a, b: timed.append(b) or 0.95)
    b = om.Builder()
    src = tmp_path / "m.onnx"
    onnx.save(b.model(om.silu(b, om.silu(b, om.silu(b, "x"))), 17), src)
    report = convert(src, tmp_path / "out.onnx", [], "mobile", target="onnxruntime")
    assert len(report["changes"]) == 3 and all(c["applied"] for c in report["changes"])
    assert len(timed) == 2  # the three SiLUs of one shape once, then the plan


@pytest.mark.parametrize(
    ("name", "argv", "message"),
    [
        (
            "m.onnx",
            ["--target", "litert"],
            "target litert does not run onnx models; use onnxruntime",
        ),
        ("m.tflite", ["--target", "onnxruntime"], "does not run tflite models; use litert or "),
        ("m.onnx", ["--target", "onnxruntime", "--no-verify"], "a target needs verification"),
    ],
)
def test_a_target_that_does_not_fit_is_one_line_exit_2(tmp_path, capsys, name, argv, message):
    src = tmp_path / name
    src.write_bytes(
        _two_activations(tmp_path).read_bytes()
        if name.endswith(".onnx")
        else tm.silu_only_model(False)
    )
    out = tmp_path / f"out{src.suffix}"
    assert main(["convert", str(src), "-o", str(out), "--no-isolate", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_an_unknown_target_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["convert", "m.onnx", "-o", "o.onnx", "--target", "gpu"])
    assert exit_.value.code == 2 and "invalid choice: 'gpu'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown target 'gpu'; targets: onnxruntime, litert"):
        _targets.check_target("onnx", "gpu")


@pytest.mark.onnxruntime
@pytest.mark.subprocess  # the command isolates by default: a child process runs the work
def test_the_command_times_the_plan_on_its_target(tmp_path, capsys):
    src, out = _two_activations(tmp_path), tmp_path / "out.onnx"
    argv = ["convert", str(src), "-o", str(out), "--preset", "mobile", "--target", "onnxruntime"]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for change in report["changes"]:
        assert change["time_ratio"] > 0  # each was timed (the value is a measurement)
        assert change["applied"] == (change["time_ratio"] <= _targets.SLOWER)


@pytest.mark.xnnpack
def test_verify_compares_in_the_targets_resolver(tmp_path):
    src, dst = tmp_path / "a.tflite", tmp_path / "b.tflite"
    src.write_bytes(tm.silu_only_model(int8=True))
    convert(src, dst, ["silu=hardswish"])
    runtimes = {
        t: verify(src, dst, target=t)["verification"]["runtime"]
        for t in ("litert", "litert-xnnpack")
    }
    assert runtimes["litert"].endswith("(builtin kernels)")
    assert runtimes["litert-xnnpack"].endswith("(XNNPACK delegate)")
    with pytest.raises(ValueError, match="target onnxruntime does not run tflite models"):
        verify(src, dst, target="onnxruntime")


@pytest.mark.xnnpack
def test_convert_verifies_in_the_targets_resolver(tmp_path, monkeypatch):
    monkeypatch.setattr(tflite_convert, "time_ratio", lambda a, b: 1.0)
    src = tmp_path / "m.tflite"
    src.write_bytes(tm.silu_only_model(int8=True))
    for target, how in (("litert", "(builtin kernels)"), ("litert-xnnpack", "(XNNPACK delegate)")):
        report = convert(src, tmp_path / f"{target}.tflite", [], "mobile", target=target)
        assert report["verification"]["runtime"].endswith(how) and report["written"]


@pytest.mark.onnxruntime
def test_changes_neutral_alone_but_slower_together_are_rolled_back(tmp_path, monkeypatch):
    ratios = iter([1.0, 1.01, 1.2, 1.0])  # gelu alone, silu alone, the plan, the plan again
    monkeypatch.setattr(onnx_convert, "time_ratio", lambda a, b: next(ratios))
    src = _two_activations(tmp_path)
    report = convert(src, tmp_path / "out.onnx", [], "mobile", target="onnxruntime")
    by_rule = {c["rule"]: c for c in report["changes"]}
    assert by_rule["gelu=gelu_tanh"]["applied"]
    silu = by_rule["silu=hardswish"]
    assert not silu["applied"] and silu["skipped"].startswith("slower on onnxruntime together")
    assert report["plan_time_ratio"] == 1.0 and report["written"]


def test_fit_speed_stops_when_nothing_timed_is_left():
    changes = [{"rule": "a=b", "applied": True, "time_ratio": 1.0, "skipped": None}]
    assert _targets.fit_speed(changes, lambda: 1.5, "litert") is None
    assert not changes[0]["applied"]
    assert _targets.fit_speed([{"applied": True, "time_ratio": None}], lambda: 9.0, "x") is None
