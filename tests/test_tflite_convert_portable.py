"""TFLite convert on models of activation ops only, so it also runs on emulated arm64.

LiteRT's FULLY_CONNECTED/CONV_2D kernels crash under the qemu emulation that CI uses for ARM
(the other convert tests are marked ``litert_gemm`` and deselected there), so these models are
x -> activation pattern -> y. Under emulation LiteRT runs its ARM builds, and the int8 check
below compares the swapped HARD_SWISH with edgeact's ``compat="tflite"`` kernel of the platform
it runs on (NEON rounding on ARM).
"""

import numpy as np
import pytest

import edgeact.kernels as K
import tests.tflite_models as tm
from edgeact.catalogue import ACTIVATIONS
from edgeact.converters import convert
from edgeact.converters.tflite._graph import opcode_names
from edgeact.converters.tflite._reader import parse_model
from edgeact.converters.tflite._verify import load
from tests._files import Unchanged

CODES = np.arange(-128, 128, dtype=np.int8)[None]  # every int8 input code, one run
X_Q, Y_Q = tm.SILU_X_Q, tm.SILU_Y_Q


def _ops(data: bytes) -> list[str]:
    model = parse_model(data)
    codes = opcode_names(model)
    return [codes[op.opcodeIndex][0] for op in model.subgraphs[0].operators]


def _convert(tmp_path, data: bytes, swap: str, **options) -> tuple[dict, bytes]:
    src, dst = tmp_path / "in.tflite", tmp_path / "out.tflite"
    src.write_bytes(data)
    with Unchanged(src):
        report = convert(src, dst, [swap], **options)
    assert report["written"] and report["verification"]["passed"]
    return report, dst.read_bytes()


def _run(data: bytes, x: np.ndarray) -> np.ndarray:
    interp = load(data)
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def test_float_silu_becomes_hardswish(tmp_path):
    report, out = _convert(tmp_path, tm.silu_only_model(int8=False), "silu=hardswish")
    assert _ops(out) == ["HARD_SWISH"]
    bound = next(
        a.max_abs_error for a in ACTIVATIONS["silu"].approximations if a.name == "hardswish"
    )
    assert 0.1 < report["changes"][0]["max_abs_error"] <= bound + 1e-5


def test_int8_silu_becomes_hardswish_bit_exact_with_edgeact_on_this_platform(tmp_path):
    report, out = _convert(tmp_path, tm.silu_only_model(int8=True), "silu=hardswish")
    assert _ops(out) == ["HARD_SWISH"] and report["changes"][0]["quantized"]
    got = _run(out, CODES)
    want = K.hardswish(CODES, x_q=X_Q, y_q=Y_Q, compat="tflite")
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("op", "options", "swap", "after"),
    [
        ("TANH", {}, "tanh=hardtanh", "RELU_N1_TO_1"),
        ("ELU", {}, "elu=relu6", "RELU6"),
        ("GELU", {"options": "GeluOptions", "approximate": False}, "gelu=gelu_tanh", "GELU"),
    ],
)
def test_float_single_op_swaps(tmp_path, op, options, swap, after):
    # the rewrite is under test, not whether the swap approximates (elu=relu6 does not)
    report, out = _convert(tmp_path, tm.single_op_model(op, **options), swap, min_cosine=-1.0)
    assert _ops(out) == [after]
    x = np.linspace(-8, 8, 256, dtype=np.float32)[None]
    target = swap.split("=")[1]
    np.testing.assert_allclose(_run(out, x), ACTIVATIONS[target].reference(x), atol=2e-6)
    assert report["changes"][0]["max_abs_error"] > 0


def test_dynamic_inputs_are_verified_at_the_given_shape(tmp_path):
    data = tm.silu_only_model(int8=False, dynamic_batch=True)
    report, _ = _convert(tmp_path, data, "silu=hardswish")
    assert report["verification"]["outputs"][0]["shape"] == [1, 256]
    assert any("dynamic dimensions taken as 1" in n for n in report["verification"]["inputs"])
    report, _ = _convert(tmp_path, data, "silu=hardswish", input_shapes=["x=3x256"])
    assert report["verification"]["outputs"][0]["shape"] == [3, 256]
    with pytest.raises(ValueError, match="does not fit the model's shape"):
        _convert(tmp_path, data, "silu=hardswish", input_shapes=["x=3x255"])
