"""Models that load but fail when run: a one-line error naming the runtime, exit 2, no traceback.

Both pass their format's own checks (``onnx.checker``; the flatbuffer parses and LiteRT allocates
it); the runtime fails only when it computes (issue 13's measured tracebacks).
"""

import numpy as np
import onnx
import pytest

from edgeact.cli import main
from edgeact.converters.tflite._build import ModelBuilder
from tests import onnx_models as om


def _out_of_range_gather() -> onnx.ModelProto:
    """x -> Gather(x, [0..6, 100], axis=1) -> SiLU: index 100 of 8 fails in ONNX Runtime's run."""
    b = om.Builder()
    indices = b.const(np.array([0, 1, 2, 3, 4, 5, 6, 100], dtype=np.int64), dtype=np.int64)
    gathered = b.op("Gather", "x", indices, axis=1)
    model = b.model(om.silu(b, gathered), 13)
    onnx.checker.check_model(model, full_check=True)
    return model


def _tensor_without_data() -> bytes:
    """SiLU plus ADD(y, ghost), where ghost is neither an input, a constant nor an op's output."""
    mb = ModelBuilder("ghost")
    g = mb.subgraph("main")
    x, s, y = (g.tensor(n, [1, 16]) for n in ("x", "s", "y"))
    ghost, z = g.tensor("ghost", [1, 16]), g.tensor("z", [1, 16])
    g.op("LOGISTIC", [x], [s])
    g.op("MUL", [x, s], [y], options="MulOptions")
    g.op("ADD", [y, ghost], [z], options="AddOptions")
    g.io([x], [z])
    return mb.build()


@pytest.fixture
def broken(tmp_path):
    onnx_path, tflite_path = tmp_path / "broken.onnx", tmp_path / "broken.tflite"
    onnx.save(_out_of_range_gather(), onnx_path)
    tflite_path.write_bytes(_tensor_without_data())
    return {"onnx": onnx_path, "tflite": tflite_path}


FORMATS = [
    pytest.param("onnx", "ONNX Runtime", marks=pytest.mark.onnxruntime, id="onnx"),
    pytest.param("tflite", "LiteRT", id="tflite"),
]


@pytest.mark.parametrize(("fmt", "runtime"), FORMATS)
def test_convert_reports_a_model_that_fails_to_run(broken, tmp_path, capsys, fmt, runtime):
    source = broken[fmt]
    before = source.read_bytes()
    out = tmp_path / f"out.{fmt}"
    assert main(["convert", str(source), "-o", str(out), "--swap", "silu=hardswish"]) == 2
    err = capsys.readouterr().err  # progress lines, then the error
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("edgeact convert: error: ") and f"{runtime} fails to run" in last, err
    assert source.read_bytes() == before and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.onnx", "broken.tflite"]


@pytest.mark.parametrize(("fmt", "runtime"), FORMATS)
def test_verify_reports_a_model_that_fails_to_run(broken, capsys, fmt, runtime):
    source = str(broken[fmt])
    assert main(["verify", source, source]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and (f"{runtime} fails to run" in err or "does not run" in err), err


@pytest.mark.parametrize(("fmt", "other"), [("onnx", "tflite"), ("tflite", "onnx")])
def test_an_output_named_for_the_other_format_is_refused(broken, tmp_path, capsys, fmt, other):
    out = tmp_path / f"out.{other}"
    assert main(["convert", str(broken[fmt]), "-o", str(out), "--swap", "silu=hardswish"]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert f"named like a {other} model, but a {fmt} model is written; name it out.{fmt}" in last
    assert not out.exists()
