"""edgeact verify: two models on the same inputs give the numbers convert reported."""

import json
import pathlib

import numpy as np
import onnx
import pytest

import tests.tflite_models as tm
from edgeact.cli import main
from edgeact.converters import convert, verify
from edgeact.converters._inputs import DEFAULT_SAMPLES
from tests import onnx_models as om


@pytest.fixture
def onnx_pair(tmp_path):
    b = om.Builder()
    src, dst = tmp_path / "a.onnx", tmp_path / "b.onnx"
    onnx.save(b.model(om.silu(b, "x"), 17), src)
    return src, dst, convert(src, dst, ["silu=hardswish"])


@pytest.mark.onnxruntime
def test_onnx_verify_reproduces_the_conversion_report(onnx_pair):
    src, dst, report = onnx_pair
    checked = verify(src, dst, tolerance=0.5)
    assert checked["verification"]["passed"] and checked["format"] == "onnx"
    assert checked["verification"]["outputs"] == report["verification"]["outputs"]


@pytest.mark.onnxruntime
def test_onnx_verify_cli_exit_1_over_the_tolerance(onnx_pair, capsys):
    src, dst, report = onnx_pair
    assert main(["verify", str(src), str(dst), "--tolerance", "1e-3", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["verification"]["passed"]
    assert out["verification"]["max_abs"] == report["verification"]["max_abs"] > 1e-3


def test_tflite_verify_reproduces_the_conversion_report(tmp_path, capsys):
    src, dst = tmp_path / "a.tflite", tmp_path / "b.tflite"
    src.write_bytes(tm.silu_only_model(int8=True))
    report = convert(src, dst, ["silu=hardswish"])
    assert main(["verify", str(src), str(dst)]) == 0
    text = capsys.readouterr().out
    assert "Verification in LiteRT" in text and "passed" in text
    assert verify(src, dst)["verification"]["outputs"] == report["verification"]["outputs"]


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (("a.tflite", "b.onnx"), "compare models of one format"),
        (("a.tflite", "missing.tflite"), "missing.tflite: no such file"),
        (("a.tflite", "other_input.tflite"), "does not run on"),
    ],
)
def test_bad_pairs_are_one_line_exit_2(tmp_path, capsys, pair, message):
    from edgeact.converters.tflite._build import ModelBuilder

    (tmp_path / "a.tflite").write_bytes(tm.silu_only_model(int8=False))
    (tmp_path / "b.onnx").write_bytes(b"not onnx")
    mb = ModelBuilder("other")
    g = mb.subgraph("main")
    z, y = g.tensor("z", [1, 256]), g.tensor("y", [1, 256])
    g.op("RELU", [z], [y])
    g.io([z], [y])
    (tmp_path / "other_input.tflite").write_bytes(mb.build())
    assert main(["verify", *(str(tmp_path / p) for p in pair)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


# --- thresholds and samples (issue 14) --------------------------------------------------------
def _conv_model(seed: int) -> onnx.ModelProto:
    """x -> Conv(3x3, 8 channels, weights from ``seed``) -> SiLU: one graph, many weights."""
    b = om.Builder()
    w = np.random.default_rng(seed).normal(size=(8, 8, 3, 3)).astype(np.float32)
    return b.model(om.silu(b, b.op("Conv", "x", b.const(w), pads=[1, 1, 1, 1])), 17)


@pytest.fixture
def weights_pair(tmp_path):
    paths = {name: tmp_path / f"{name}.onnx" for name in ("a", "copy", "other")}
    onnx.save(_conv_model(0), paths["a"])
    onnx.save(_conv_model(0), paths["copy"])
    onnx.save(_conv_model(1), paths["other"])
    return paths


@pytest.mark.onnxruntime
def test_verify_fails_another_model_and_passes_a_copy_with_no_flags(weights_pair, capsys):
    a, copy, other = (str(weights_pair[n]) for n in ("a", "copy", "other"))
    assert main(["verify", a, other, "--no-isolate"]) == 1
    text = capsys.readouterr().out
    assert "FAILED" in text and "thresholds: cosine ≥ 0.99 (defaults)" in text
    assert "FAILS: 'y' cosine" in text
    assert main(["verify", a, copy, "--no-isolate", "--json"]) == 0
    block = json.loads(capsys.readouterr().out)["verification"]
    assert block["passed"] and block["max_abs"] == 0 and block["samples"] == DEFAULT_SAMPLES
    assert block["thresholds"] == {
        "tolerance": None,
        "rtol": None,
        "min_cosine": 0.99,
        "default": True,
    }


@pytest.mark.onnxruntime
def test_each_threshold_fails_on_its_own_number(weights_pair):
    a, other = weights_pair["a"], weights_pair["other"]
    loose = verify(a, other, min_cosine=-1.0)["verification"]
    assert loose["passed"] and loose["thresholds"]["default"] is False
    [record] = loose["outputs"]
    for option, limit, words in (
        ("tolerance", record["max_abs"] * 0.99, "max |error|"),
        ("rtol", record["max_rel"] * 0.99, "max relative error"),
        ("min_cosine", record["cosine"] + 1e-3, "cosine"),
    ):
        block = verify(a, other, **{option: limit})["verification"]
        [failure] = block["outputs"][0]["failures"]
        assert not block["passed"] and failure.startswith(f"'y' {words}"), failure
        assert verify(a, other, **{option: limit * (1.02 if option != "min_cosine" else 0)})[
            "verification"
        ]["passed"]


@pytest.mark.onnxruntime
def test_samples_and_seed_choose_the_random_inputs(weights_pair):
    a, other = weights_pair["a"], weights_pair["other"]
    runs = {
        (samples, seed): verify(a, other, samples=samples, seed=seed, min_cosine=-1.0)[
            "verification"
        ]
        for samples, seed in ((1, 0), (1, 1), (2, 0))
    }
    assert [runs[k]["samples"] for k in runs] == [1, 1, 2]
    assert "random inputs (seeds 0–1)" in runs[2, 0]["inputs"][-1]
    one, two, both = (runs[k]["outputs"][0] for k in ((1, 0), (1, 1), (2, 0)))
    assert one["max_abs"] != two["max_abs"]  # another seed, other inputs
    assert both["max_abs"] == max(one["max_abs"], two["max_abs"])  # the worst sample counts
    assert both["cosine"] == min(one["cosine"], two["cosine"])


@pytest.mark.onnxruntime
def test_an_npz_with_a_leading_sample_axis_runs_one_sample_per_row(weights_pair, tmp_path):
    rows = np.random.default_rng(3).normal(size=(5, 1, 8, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=rows)
    block = verify(weights_pair["a"], weights_pair["copy"], inputs=str(tmp_path / "x.npz"))
    assert block["verification"]["samples"] == 5
    assert block["verification"]["inputs"] == ["1 input(s) from file, 5 sample(s)"]
    np.savez(tmp_path / "odd.npz", x=rows, y=rows[:2])
    with pytest.raises(ValueError, match="the model has no input 'y'"):
        verify(weights_pair["a"], weights_pair["copy"], inputs=str(tmp_path / "odd.npz"))


@pytest.mark.onnxruntime
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-cosine", "2"], "min_cosine 2.0 must be in [-1, 1]"),
        (["--rtol", "nan"], "rtol nan must be a number >= 0"),
        (["--samples", "0"], "samples 0 must be an integer in [1, 1000]"),
        (["--seed", "-1"], "seed -1 must be an integer in [0, "),
    ],
)
def test_bad_thresholds_and_samples_are_one_line_exit_2(weights_pair, capsys, args, message):
    a, copy = str(weights_pair["a"]), str(weights_pair["copy"])
    assert main(["verify", a, copy, "--no-isolate", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


@pytest.mark.onnxruntime
def test_an_explicit_swap_that_breaks_the_defaults_is_applied_but_not_written(tmp_path, capsys):
    """The user named it, so it is not skipped; the result does not agree, so nothing is
    written, and the report says how to accept it."""
    b = om.Builder()
    src, dst = tmp_path / "elu.onnx", tmp_path / "out.onnx"
    onnx.save(b.model(b.op("Elu", "x"), 17), src)
    assert main(["convert", str(src), "-o", str(dst), "--swap", "elu=relu6", "--no-isolate"]) == 1
    text = capsys.readouterr().out
    assert "Changes: 1 applied" in text and "FAILS: 'y' cosine" in text
    assert "accept more with --min-cosine" in " ".join(text.split()) and not dst.exists()
    assert main(["convert", str(src), "-o", str(dst), "--swap", "elu=relu6", "--no-isolate",
                 "--min-cosine", "0.5"]) == 0  # fmt: skip
    assert "thresholds: cosine ≥ 0.5" in capsys.readouterr().out and dst.exists()


@pytest.mark.onnxruntime
def test_per_op_names_the_first_tensor_where_the_models_part(weights_pair, tmp_path, capsys):
    a, converted = weights_pair["a"], tmp_path / "hardswish.onnx"
    convert(a, converted, ["silu=hardswish"])
    per_op = verify(a, converted, per_op=True, tolerance=1e-6)["per_op"]
    conv_out, silu_out = "/act/Conv_output_0", "/act/Mul_output_0"
    assert [t["tensor"] for t in per_op["tensors"]] == [conv_out, silu_out]
    assert per_op["first_failure"] == silu_out  # the Conv before it agrees exactly
    assert per_op["tensors"][0]["max_abs"] == 0 and not per_op["tensors"][0]["failures"]
    assert verify(a, weights_pair["copy"], per_op=True)["per_op"]["first_failure"] is None
    assert main(["verify", str(a), str(weights_pair["other"]), "--per-op", "--no-isolate"]) == 1
    text = capsys.readouterr().out
    assert f"first over: {conv_out}" in text  # other weights: the first Conv already differs


@pytest.mark.litert_gemm  # FULLY_CONNECTED: see pyproject
def test_per_op_in_litert_compares_int8_tensors_in_real_units(tmp_path):
    from edgeact.converters.tflite._reader import parse_model

    src, dst = tmp_path / "a.tflite", tmp_path / "b.tflite"
    src.write_bytes(tm.activation_model("silu", "int8"))  # FULLY_CONNECTED -> LOGISTIC -> MUL
    convert(src, dst, ["silu=hardswish"])  # FULLY_CONNECTED -> HARD_SWISH
    per_op = verify(src, dst, per_op=True, tolerance=1e-6)["per_op"]
    fc, y = per_op["tensors"]
    assert (fc["tensor"], y["tensor"], per_op["first_failure"]) == ("fc", "y", "y")
    assert fc["max_abs"] == 0 and not fc["failures"]
    [scale] = next(
        t for t in parse_model(dst.read_bytes()).subgraphs[0].tensors if t.name == b"y"
    ).quantization.scale
    steps = y["max_abs"] / float(np.float32(scale))
    assert steps >= 1 and steps == pytest.approx(round(steps), abs=1e-6)  # codes x scale


# --- budget: rollback until the whole model fits (issue 14) -----------------------------------
def _two_silus_onnx() -> bytes:
    b = om.Builder()
    return b.model(om.silu(b, om.silu(b, "x")), 17).SerializeToString()


@pytest.mark.parametrize(
    ("name", "model"),
    [
        pytest.param("m.onnx", _two_silus_onnx, marks=pytest.mark.onnxruntime),
        pytest.param("m.tflite", tm.two_silu_model, marks=pytest.mark.litert_gemm),
    ],
)
def test_a_budget_keeps_a_strict_subset_when_all_changes_together_exceed_it(tmp_path, name, model):
    src, dst = tmp_path / name, tmp_path / f"out{pathlib.Path(name).suffix}"
    src.write_bytes(model())
    everything = convert(src, dst, ["silu=hardswish"])
    own = [c["max_abs_error"] for c in everything["changes"]]
    together = everything["verification"]["max_abs"]
    assert len(own) == 2 and together > max(own)  # within a budget alone, over it together
    dst.unlink()
    budget = (max(own) + together) / 2
    report = convert(src, dst, ["silu=hardswish"], budget=budget)
    kept = [c for c in report["changes"] if c["applied"]]
    [dropped] = [c for c in report["changes"] if not c["applied"]]
    assert len(kept) == 1 and report["written"] and report["verification"]["passed"]
    assert report["verification"]["max_abs"] <= budget
    assert dropped["skipped"].startswith(f"dropped to fit the budget {budget:g}")
    assert report["verification"]["thresholds"]["tolerance"] == budget


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"budget": 0.0}, "budget 0.0 must be a number > 0"),
        ({"budget": float("nan")}, "budget nan must be a number > 0"),
        ({"budget": 0.1, "tolerance": 0.1}, "give --budget or --tolerance, not both"),
        ({"budget": 0.1, "verify": False}, "a budget needs verification"),
    ],
)
def test_a_bad_budget_is_refused_and_nothing_written(tmp_path, options, message):
    src, dst = tmp_path / "m.tflite", tmp_path / "out.tflite"
    src.write_bytes(tm.two_silu_model())
    with pytest.raises(ValueError, match=message):
        convert(src, dst, ["silu=hardswish"], **options)
    assert not dst.exists()
