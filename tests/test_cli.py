"""The edgeact command: readable output for people, JSON for programs, one-line errors (exit 2)."""

import json

import pytest

from edgeact import ACTIVATIONS
from edgeact.cli import main
from edgeact.kernels import KERNELS
from edgeact.kernels._float32 import computes_in_float32


def test_guide_json_is_the_advice(capsys):
    assert main(["guide", "mobile", "--json"]) == 0
    advice = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in advice] == ["mobile"]
    assert all(r["name"] in ACTIVATIONS for r in advice[0]["recommended"])


def test_guide_text_lists_every_scenario(capsys):
    assert main(["guide"]) == 0
    text = capsys.readouterr().out
    for scenario in ("hidden-default", "transformer", "mobile", "large-vocabulary", "sparse"):
        assert scenario in text


def test_unknown_scenario_is_a_one_line_error(capsys):
    assert main(["guide", "spaceship"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "unknown scenario 'spaceship'" in captured.err


def test_missing_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


@pytest.mark.onnxruntime  # the demo converts an ONNX model ...
@pytest.mark.litert_gemm  # ... and TFLite models with a FULLY_CONNECTED
def test_demo_json_checks_every_kernel_and_converts_models(capsys):
    assert main(["demo", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [row["activation"] for row in report["accuracy"]] == list(KERNELS)
    for row in report["accuracy"]:
        bound = 2 if computes_in_float32(row["activation"], "fast") else 1  # the documented ones
        assert row["float32_max_ulp"] <= bound and row["float16_max_ulp"] == 0, row
    assert len(report["speed"]) == 2 * len(KERNELS)
    assert all(r["ratio_vs_numpy"] > 0 for r in report["speed"])
    assert report["machine"]["architecture"]
    conversions = report["conversions"]
    assert [c["format"] for c in conversions] == ["onnx", "tflite", "tflite"]
    for c in conversions:
        assert c["written"] and c["verification"]["passed"]
        assert any(ch["rule"] == "silu=hardswish" and ch["applied"] for ch in c["changes"])


def test_inspect_onnx_and_tflite_by_content(tmp_path, capsys):
    import onnx

    from tests import onnx_models, tflite_models

    onnx_path = tmp_path / "exported.onnx"
    onnx.save(onnx_models.exporter_shaped(13), onnx_path)
    tflite_path = tmp_path / "model.bin"  # no .tflite suffix: told apart by its identifier
    tflite_path.write_bytes(tflite_models.float_model())
    for path, fmt, expected in ((onnx_path, "onnx", "gelu"), (tflite_path, "tflite", "silu")):
        before = path.read_bytes()
        assert main(["inspect", str(path), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["format"] == fmt
        assert expected in {f["activation"] for f in report["findings"]}
        assert main(["inspect", str(path)]) == 0
        assert expected in capsys.readouterr().out
        assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"\x08\x07garbage", b"1234TFL3" + b"\x00" * 4])
def test_inspect_bad_files_are_one_line_errors(tmp_path, capsys, content):
    path = tmp_path / "broken.model"
    path.write_bytes(content)
    assert main(["inspect", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert str(path) in captured.err
    assert path.read_bytes() == content


def test_inspect_missing_file(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nope.onnx")]) == 2
    assert "nope.onnx" in capsys.readouterr().err
