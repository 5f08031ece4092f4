"""edgeact verify: two models on the same inputs give the numbers convert reported."""

import json

import onnx
import pytest

import tests.tflite_models as tm
from edgeact.cli import main
from edgeact.converters import convert, verify
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
