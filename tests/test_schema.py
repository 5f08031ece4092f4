"""One JSON schema: ``inspect`` of the same network as ONNX and as TFLite, and the schema stamp
on every command's document."""

import json

import onnx
import pytest

from edgeact import converters, schema
from edgeact.converters import Form
from tests import onnx_models as om
from tests import tflite_models as tm


def _both(tmp_path) -> tuple[dict, dict]:
    """x -> Sigmoid -> Mul(x, ·): SiLU, written as ONNX and as TFLite."""
    b = om.Builder()
    onnx_path = tmp_path / "silu.onnx"
    onnx.save(b.model(om.silu(b, "x"), 13), onnx_path)
    tflite_path = tmp_path / "silu.tflite"
    tflite_path.write_bytes(tm.silu_only_model(int8=False))
    return converters.inspect(onnx_path), converters.inspect(tflite_path)


def _shape(value):
    """The keys of a JSON value, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def test_inspect_has_one_schema_for_onnx_and_tflite(tmp_path):
    from_onnx, from_tflite = _both(tmp_path)
    for doc in (from_onnx, from_tflite):
        assert (doc["schema"], doc["command"]) == (schema.VERSION, "inspect")
        json.dumps(doc)
    model_onnx, model_tflite = from_onnx.pop("model"), from_tflite.pop("model")
    assert model_onnx and model_tflite  # format-specific facts, documented per format
    assert _shape(from_onnx) | {"near_misses": []} == _shape(from_tflite) | {"near_misses": []}
    (f_onnx,), (f_tflite,) = from_onnx["findings"], from_tflite["findings"]
    same = ("activation", "form", "dtype", "replacement", "max_abs_error", "qdq")
    assert {k: f_onnx[k] for k in same} == {k: f_tflite[k] for k in same}
    assert f_onnx["form"] == Form.SIGMOID_MUL.value
    assert (f_onnx["opset"], f_tflite["opset"]) == (13, None)
    assert f_onnx["input"]["name"] == "x" and f_tflite["input"]["name"] == "x"


@pytest.mark.onnxruntime
def test_every_command_document_is_stamped(tmp_path):
    from_onnx, _ = _both(tmp_path)
    report = converters.convert(
        tmp_path / "silu.onnx", tmp_path / "out.onnx", swaps=["silu=hardswish"]
    )
    checked = converters.verify(tmp_path / "silu.onnx", tmp_path / "out.onnx")
    for doc, command in ((report, "convert"), (checked, "verify"), (from_onnx, "inspect")):
        assert (doc["schema"], doc["command"]) == (schema.VERSION, command)


@pytest.mark.onnxruntime
def test_convert_changes_have_one_schema_for_onnx_and_tflite(tmp_path):
    _both(tmp_path)
    reports = [
        converters.convert(
            tmp_path / f"silu.{ext}", tmp_path / f"out.{ext}", swaps=["silu=hardswish"]
        )
        for ext in ("onnx", "tflite")
    ]
    (onnx_change,), (tflite_change,) = (r["changes"] for r in reports)
    assert onnx_change.keys() == tflite_change.keys()
    same = ("kind", "rule", "activation", "target", "form", "dtype", "quantized", "applied")
    assert {k: onnx_change[k] for k in same} == {k: tflite_change[k] for k in same}
    assert onnx_change["form"] == Form.SIGMOID_MUL.value
    for report in reports:  # op type -> count: keys are the format's op names
        del report["ops_before"], report["ops_after"]
    assert _shape(reports[0]) == _shape(reports[1])
