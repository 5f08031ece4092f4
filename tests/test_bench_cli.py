"""``edgeact bench kernels|model|compare``: JSON schema, peers, plots, compare, bad input.

Tiny sizes and timings keep it fast; nothing asserts a timing. The commands run through a parser
built like ``edgeact.cli``'s (``bench_cli.add_subcommand``, errors as one line with exit 2).
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeact import bench, bench_cli
from edgeact.bench import kernels as harness
from edgeact.kernels import implementation_of

FIXTURES = Path(__file__).parent / "fixtures"
FAST = ["--repeat", "1", "--min-time", "0.001"]
RECORD_KEYS = {
    "activation", "dtype", "size_label", "elements", "bytes", "peer", "implementation", "compat",
    "threads", "status", "error", "seconds", "elements_per_s", "bytes_per_s", "edgeact_speedup",
    "fraction_of_copy", "above_copy_roof", "validation",
}  # fmt: skip


def main(argv) -> int:
    """What ``edgeact.cli.main`` does with the bench subcommand added."""
    parser = argparse.ArgumentParser(prog="edgeact")
    bench_cli.add_subcommand(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"edgeact {args.command}: error: {error}", file=sys.stderr)
        return 2


def _error(err: str) -> str:
    """The error line of stderr (progress lines may precede it): exactly one, and the last."""
    errors = [line for line in err.splitlines() if line.startswith("edgeact bench: error: ")]
    assert len(errors) == 1 and err.endswith(errors[0] + "\n"), err
    return errors[0]


def _kernels(tmp_path, *options, name="run.json"):
    path = tmp_path / name
    argv = ["bench", "kernels", "--sizes", "64,1K", "--json", str(path), *FAST, *options]
    assert main(argv) == 0
    return json.loads(path.read_text())


def test_kernels_json_follows_the_schema(tmp_path, capsys):
    doc = _kernels(tmp_path, "--activations", "relu6,silu", "--dtypes", "f32,f16,int8,uint8",
                   "--peers", "numpy,copy")  # fmt: skip
    captured = capsys.readouterr()
    assert "[16/16] silu uint8" in captured.err  # progress on stderr
    assert "Gelem/s" in captured.out and "× numpy" in captured.out
    assert doc["schema"] == bench.SCHEMA == 1 and doc["kind"] == "kernels"
    assert {"cpu_model", "simd", "int8_lookup", "versions"} <= set(doc["machine"])
    clamp = doc["machine"]["xnnpack_microkernels"]["relu6 float32"]  # XNNPACK did not run:
    assert clamp["config"] == "f32_clamp" and clamp["observed"] is None  # derived only
    assert "relu6 int8" not in doc["machine"]["xnnpack_microkernels"]  # LiteRT's builtin RELU6
    assert "XNNPACK microkernels" in captured.out
    assert "  relu6 float32      derived   xnn_f32_vclamp_ukernel__" in captured.out
    assert "× numpy   = edgeact's throughput / NumPy's: >1× means edgeact is faster" in captured.out
    assert doc["settings"]["sizes"] == [64, 1024] and doc["settings"]["repeats"] == 1
    records = doc["records"]
    assert len(records) == 2 * 4 * 2 * 3  # activations × dtypes × sizes × (edgeact, numpy, copy)
    for r in records:
        assert set(r) == RECORD_KEYS
        assert r["status"] == "ok" and r["error"] is None and r["seconds"] > 0
        assert r["bytes"] == 2 * r["elements"] * np.dtype(r["dtype"]).itemsize
        assert r["elements_per_s"] == pytest.approx(r["elements"] / r["seconds"])
        assert isinstance(r["above_copy_roof"], bool)
    edgeact = [r for r in records if r["peer"] == "edgeact"]
    assert all(r["edgeact_speedup"] == 1.0 for r in edgeact)
    quantized = [r for r in edgeact if r["dtype"] in ("int8", "uint8")]
    assert all(r["validation"]["max_steps"] <= 1 for r in quantized)
    assert all(r["implementation"].startswith("byte lookup (") for r in quantized)
    paths = {(r["activation"], r["dtype"]): r["implementation"] for r in edgeact}
    assert paths["relu6", "float16"] == implementation_of("relu6", "float16")  # F16C or table
    assert paths["relu6", "float32"] == "float32 in float32"  # selects only
    assert paths["silu", "float32"] == "float32 in float32"  # accuracy="fast"
    assert paths["silu", "float16"].startswith("float16 table (")


def test_kernels_threads_apply_to_edgeact_and_are_recorded(tmp_path, capsys):
    doc = _kernels(tmp_path, "--activations", "relu6", "--dtypes", "f32", "--peers", "numpy,copy",
                   "--threads", "2")  # fmt: skip
    assert doc["settings"]["threads"] == 2
    threads = {r["peer"]: r["threads"] for r in doc["records"]}
    assert threads == {"edgeact": 2, "numpy": None, "copy": None}
    assert "edgeact and the runtimes ran on 2 threads" in capsys.readouterr().out
    one = _kernels(tmp_path, "--activations", "relu6", "--dtypes", "f32", "--peers", "copy")
    assert {r["threads"] for r in one["records"] if r["peer"] == "edgeact"} == {1}


def test_kernel_rows_flag_measurements_above_the_copy_roof():
    records = bench.measure_kernels(["relu"], ["float32"], [64], min_time=1e-4, repeats=1)
    edgeact, numpy, copy = records
    edgeact["seconds"], numpy["seconds"], copy["seconds"] = 1.0, 3.0, 2.0  # edgeact beats copy
    harness._fill_ratios(records)
    assert edgeact["above_copy_roof"] and not copy["above_copy_roof"] | numpy["above_copy_roof"]
    (row,) = bench.rows(records)
    assert row["above_copy_roof"] == ["edgeact"]
    assert "above the copy roof: edgeact" in bench.format_table([row])


def test_a_copy_of_under_a_microsecond_is_no_roof():
    """There the copy is mostly np.copyto's call, which costs more than edgeact's."""
    records = bench.measure_kernels(["relu"], ["float32"], [64], min_time=1e-4, repeats=1)
    edgeact, numpy, copy = records
    edgeact["seconds"], numpy["seconds"], copy["seconds"] = 1e-7, 3e-7, 2e-7
    harness._fill_ratios(records)
    assert edgeact["fraction_of_copy"] == 2.0 and not edgeact["above_copy_roof"]


@pytest.mark.onnxruntime
@pytest.mark.xnnpack
def test_runtime_peers_are_validated_with_their_compat(tmp_path):
    doc = _kernels(tmp_path, "--activations", "sigmoid,hardswish", "--dtypes", "f32,int8",
                   "--peers", "onnxruntime,litert,xnnpack,copy")  # fmt: skip
    by = {(r["activation"], r["dtype"], r["elements"], r["peer"]): r for r in doc["records"]}
    ort = by["sigmoid", "int8", 64, "onnxruntime"]
    assert ort["status"] == "ok" and ort["compat"] == "onnxruntime" and ort["threads"] == 1
    assert ort["validation"]["max_steps"] <= 1
    xnn = by["sigmoid", "int8", 1024, "xnnpack"]
    assert (
        xnn["status"] == "ok" and xnn["compat"] == "xnnpack" and "XNNPACK" in xnn["implementation"]
    )
    assert by["hardswish", "int8", 64, "litert"]["compat"] == "tflite"
    assert by["hardswish", "int8", 64, "xnnpack"]["status"] == "unavailable"  # builtin only
    assert by["hardswish", "float32", 64, "xnnpack"]["status"] == "ok"
    float_peer = by["sigmoid", "float32", 1024, "litert"]
    assert float_peer["status"] == "ok" and float_peer["validation"]["max_abs_error"] < 1e-3
    table = doc["machine"]["xnnpack_microkernels"]["sigmoid int8"]
    assert table["config"] == "x8_lut" and table["derived"].startswith("xnn_x8_lut_ukernel__")
    assert table["observed"] is None or table["observed"].startswith("xnn_x8_lut_ukernel__")


def test_plot_and_compare(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    options = ["--activations", "relu6", "--dtypes", "f32,int8", "--peers", "numpy,copy"]
    a = _kernels(tmp_path, *options, "--plot", str(tmp_path / "a.png"), name="a.json")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    for r in a["records"]:  # B: the same machine, twice as fast
        r["elements_per_s"] *= 2
    (tmp_path / "b.json").write_text(json.dumps(a))
    capsys.readouterr()
    argv = ["bench", "compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert main([*argv, "--plot", str(tmp_path / "c.png")]) == 0
    out = capsys.readouterr().out
    assert "relu6 int8 1024 edgeact" in out and "B/A" in out
    rows = [line for line in out.splitlines() if line.startswith("relu6 ")]
    assert len(rows) == len(a["records"]) and all(line.endswith("2.000") for line in rows)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_without_matplotlib_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    argv = ["bench", "kernels", "--sizes", "64", "--plot", str(tmp_path / "x.png"), *FAST]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in _error(err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["kernels", "--activations", "relu6,warp_drive"], "unknown activation 'warp_drive'"),
        (["kernels", "--dtypes", "f32,f64"], "unsupported dtype 'f64'"),
        (["kernels", "--sizes", "0"], "sizes must be >= 1 element, got '0'"),
        (["kernels", "--sizes", "64,-5"], "sizes must be >= 1 element, got '-5'"),
        (["kernels", "--sizes", "L4"], "unrecognised size 'L4'"),
        (["kernels", "--peers", "tensorflow"], "unknown peer 'tensorflow'"),
        (["kernels", "--threads", "0"], "threads must be an integer >= 1"),
        (["model", "no/such/model.onnx"], "no such model file"),
        (["model", "MODEL", "--target", "tvm"], "unknown target 'tvm'"),
        (["compare", "no/such/a.json", "no/such/b.json"], "no/such/a.json"),
    ],
    ids=["activation", "dtype", "zero", "negative", "label", "peer", "threads", "missing-model",
         "runtime", "compare-missing"],
)  # fmt: skip
def test_bad_input_is_a_one_line_error(argv, message, capsys):
    argv = [str(FIXTURES / "onnx/relu6_opset12.onnx") if a == "MODEL" else a for a in argv]
    assert main(["bench", *argv, *(FAST if argv[0] == "kernels" else [])]) == 2
    err = capsys.readouterr().err
    assert message in _error(err)


def test_model_that_cannot_be_loaded_is_a_one_line_error(tmp_path, capsys):
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"\0\0\0\0TFL3 but nothing else")
    assert main(["bench", "model", str(garbage)]) == 2
    err = capsys.readouterr().err
    assert "garbage.tflite: litert-xnnpack cannot load" in _error(err)


def test_runtime_not_installed_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    assert main(["bench", "model", str(FIXTURES / "onnx/relu6_opset12.onnx")]) == 2
    err = capsys.readouterr().err
    assert "onnxruntime is not installed" in _error(err)


def test_compare_refuses_a_file_of_another_kind(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps({"schema": 99, "records": []}))
    assert main(["bench", "compare", str(tmp_path / "a.json"), str(tmp_path / "a.json")]) == 2
    assert "not an edgeact bench document of schema 1" in capsys.readouterr().err


def test_runtime_is_told_by_identifier_or_suffix(tmp_path):
    renamed = tmp_path / "model.bin"
    shutil.copy(FIXTURES / "tflite/hard_swish.tflite", renamed)
    assert bench.detect_runtime(renamed) == "litert-xnnpack"
    assert bench.detect_runtime(FIXTURES / "tflite/hard_swish.tflite") == "litert-xnnpack"
    assert bench.detect_runtime(FIXTURES / "onnx/relu6_opset12.onnx") == "onnxruntime"


@pytest.mark.onnxruntime
def test_model_bench_onnx_one_model(tmp_path, capsys):
    path = tmp_path / "m.json"
    onnx_model = FIXTURES / "onnx/hardswish_opset17.onnx"
    assert main(["bench", "model", str(onnx_model), "--runs", "3", "--json", str(path)]) == 0
    (record,) = json.loads(path.read_text())["records"]
    assert record["runtime"] == "onnxruntime" and record["runs"] == 3
    lat = record["latency_ms"]
    assert 0 < lat["min"] <= lat["median"] <= lat["p90"]
    assert all(d >= 1 for i in record["inputs"] for d in i["shape"])
    assert record["peak_rss_bytes"] is None or record["peak_rss_bytes"] >= 0
    assert record["memory_method"]
    assert "median ms" in capsys.readouterr().out


@pytest.mark.xnnpack
def test_model_bench_two_tflite_models_interleaved(tmp_path, capsys):
    path = tmp_path / "m.json"
    a, b = FIXTURES / "tflite/gelu.tflite", FIXTURES / "tflite/hard_swish.tflite"
    assert main(["bench", "model", str(a), str(b), "--runs", "4", "--json", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert doc["schema"] == 1 and doc["kind"] == "models"
    first, second = doc["records"]
    assert first["runtime"] == second["runtime"] == "litert-xnnpack"
    assert second["median_ratio"] == pytest.approx(
        second["latency_ms"]["median"] / first["latency_ms"]["median"]
    )
    assert "second / first median latency" in capsys.readouterr().out


@pytest.mark.litert_gemm  # the fixture has FULLY_CONNECTED/CONV_2D
def test_model_bench_takes_converts_target_names(tmp_path):
    path = tmp_path / "m.json"
    model = str(FIXTURES / "tflite/gelu.tflite")
    assert (
        main(["bench", "model", model, "--target", "litert", "--runs", "2", "--json", str(path)])
        == 0
    )
    [record] = json.loads(path.read_text())["records"]
    assert record["runtime"] == "litert"  # builtin kernels, as convert --target litert times
