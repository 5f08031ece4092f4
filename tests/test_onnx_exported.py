"""inspect on models written by the real PyTorch exporters (fixtures in tests/fixtures/onnx/).

The fixtures come from tests/fixtures/make_onnx_fixtures.py (torch 2.13.0+cpu, run by hand);
these tests need only onnx. Each entry pins every finding (activation, form, dtype, node names)
and every near miss, so a spurious match or a lost one fails here.
"""

from pathlib import Path

import onnx
import pytest

from edgeact.converters.onnx import format_report, inspect
from tests._files import inspected_untouched
from tests._reports import grouped_findings, grouped_misses

FIXTURES = Path(__file__).parent / "fixtures" / "onnx"

GELU_ERF = "pattern: erf form, Div(√2)"
SILU = "pattern: Sigmoid(x)·x"
HSIG_X = "pattern: HardSigmoid(1/6)·x"


def _ts_erf(prefix: str) -> list[str]:
    return [f"{prefix}/Div", f"{prefix}/Erf", f"{prefix}/Add", f"{prefix}/Mul", f"{prefix}/Mul_1"]


def _mobile_ts(opset: int) -> list[tuple[str, str, list[list[str]]]]:
    hswish = (
        ("hardswish", HSIG_X, [["/hswish/HardSigmoid", "/hswish/Mul"]])
        if opset < 14
        else ("hardswish", "op", [["/hswish/HardSwish"]])
    )
    return [
        ("gelu", GELU_ERF, [_ts_erf("/gelu")]),
        hswish,
        ("hardsigmoid", "op", [["/hsig/HardSigmoid"]]),
        ("relu", "op", [["/se_relu/Relu"]]),
        ("relu6", "op", [["/relu6/Clip"]]),
        ("silu", SILU, [["/silu/Sigmoid", "/silu/Mul"]]),
    ]


# file -> (opset, exporter, findings [(activation, form, nodes per occurrence)], near misses)
EXPECTED: dict[str, tuple[int, str, list, list]] = {
    "gelu_erf_opset13.onnx": (13, "torchscript", [("gelu", GELU_ERF, [_ts_erf("/act")])], []),
    "gelu_tanh_opset13.onnx": (
        13,
        "torchscript",
        [
            (
                "gelu_tanh",
                "pattern: tanh form, x·x·x",
                [
                    [
                        "/act/Mul",
                        "/act/Mul_1",
                        "/act/Mul_2",
                        "/act/Add",
                        "/act/Mul_3",
                        "/act/Tanh",
                        "/act/Add_1",
                        "/act/Mul_4",
                        "/act/Mul_5",
                    ]
                ],
            )
        ],
        [],
    ),
    "gelu_erf_tanh_opset20.onnx": (
        20,
        "torchscript",
        [("gelu", "op", [["/erf/Gelu"]]), ("gelu_tanh", "op", [["/tanh/Gelu"]])],
        [],
    ),
    "silu_opset13.onnx": (
        13,
        "torchscript",
        [("silu", SILU, [["/act/Sigmoid", "/act/Mul"]])],
        [],
    ),
    "hardswish_opset12.onnx": (
        12,
        "torchscript",
        [("hardswish", HSIG_X, [["/act/HardSigmoid", "/act/Mul"]])],
        [],
    ),
    "hardswish_opset17.onnx": (17, "torchscript", [("hardswish", "op", [["/act/HardSwish"]])], []),
    "hardsigmoid_opset13.onnx": (
        13,
        "torchscript",
        [("hardsigmoid", "op", [["/act/HardSigmoid"]])],
        [],
    ),
    "mish_opset17.onnx": (
        17,
        "torchscript",
        [("mish", "pattern: x·Tanh(Softplus(x))", [["/act/Softplus", "/act/Tanh", "/act/Mul"]])],
        [],
    ),
    "relu6_opset12.onnx": (12, "torchscript", [("relu6", "op", [["/act/Clip"]])], []),
    # Sigmoid → SE block: the first Sigmoid is the gated tensor (a plain sigmoid), the second the
    # gate; only the gate is a SiLU near miss.
    "sigmoid_se_opset13.onnx": (
        13,
        "torchscript",
        [
            ("relu", "op", [["/se/relu/Relu"]]),
            ("sigmoid", "op", [["/sig/Sigmoid"]]),
            ("sigmoid", "pattern: sigmoid gate σ(y)·x", [["/se/gate/Sigmoid"]]),
        ],
        [("silu", "pattern: Sigmoid(y)·x", [["/se/gate/Sigmoid", "/se/Mul"]])],
    ),
    "mobile_block_opset12.onnx": (12, "torchscript", _mobile_ts(12), []),
    "mobile_block_opset17.onnx": (17, "torchscript", _mobile_ts(17), []),
    "mobile_block_dynamo_opset18.onnx": (
        18,
        "dynamo",
        [
            (
                "gelu",
                GELU_ERF,
                [["node_Div_8", "node_Erf_9", "node_Add_11", "node_Mul_13", "node_gelu"]],
            ),
            ("hardsigmoid", "op", [["node_hardsigmoid"]]),
            ("hardswish", "op", [["n0"]]),
            ("relu", "op", [["node_relu"]]),
            ("relu6", "op", [["n4"]]),
            ("silu", SILU, [["node_Sigmoid_3", "node_silu"]]),
        ],
        [],
    ),
    "gelu_erf_tanh_dynamo_opset17.onnx": (
        17,
        "dynamo",
        [
            (
                "gelu",
                GELU_ERF,
                [["node_Div_1", "node_Erf_2", "node_Add_4", "node_Mul_6", "node_gelu"]],
            ),
            (
                "gelu_tanh",
                "pattern: tanh form, Pow(x,3)",
                [
                    [
                        "node_Pow_8",
                        "node_Mul_10",
                        "node_Add_11",
                        "node_Mul_13",
                        "node_Tanh_14",
                        "node_Add_16",
                        "node_Mul_18",
                        "node_gelu_1",
                    ]
                ],
            ),
        ],
        [],
    ),
    "gelu_erf_tanh_dynamo_opset20.onnx": (
        20,
        "dynamo",
        [("gelu", "op", [["node_gelu"]]), ("gelu_tanh", "op", [["node_gelu_1"]])],
        [],
    ),
}


def _inspect_untouched(path: Path) -> dict:
    return inspected_untouched(inspect, path)


def test_every_fixture_is_pinned_and_small():
    files = {p.name: p.stat().st_size for p in FIXTURES.glob("*.onnx")}
    assert sorted(files) == sorted(EXPECTED)
    assert max(files.values()) < 50_000
    assert sum(files.values()) < 500_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exported_model(name):
    opset, exporter, want_findings, want_misses = EXPECTED[name]
    r = _inspect_untouched(FIXTURES / name)
    assert r["model"]["opset"] == opset
    assert r["model"]["producer"].startswith("pytorch 2.13.0")
    assert r["model"]["graphs"] == 1
    got = sorted(
        (f["activation"], f["pattern"], f["count"], f["nodes"]) for f in grouped_findings(r)
    )
    want = sorted((a, form, len(nodes), nodes) for a, form, nodes in want_findings)
    assert got == want
    for f in grouped_findings(r):
        assert f["dtype"] == "float32", (exporter, f["activation"])
        assert f["qdq"] is False
        assert f["opset"] == opset
    got_m = sorted((m["looks_like"], m["pattern"], m["nodes"]) for m in grouped_misses(r))
    assert got_m == sorted(want_misses)
    assert format_report(r)  # renders


def test_torchscript_files_carry_no_value_info():
    """Why inspect runs shape inference: without it every dtype above would be "unknown"."""
    model = onnx.load(FIXTURES / "gelu_erf_opset13.onnx")
    assert len(model.graph.value_info) == 0
    erf_in = next(n for n in model.graph.node if n.op_type == "Div").input[0]
    assert erf_in not in {vi.name for vi in model.graph.input}
