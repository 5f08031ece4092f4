"""QuantParams validation, the table functions, and the quantized calls' argument checks."""

import numpy as np
import pytest

import edgeact.kernels as K
from edgeact import QuantParams
from tests._numerics import assert_within_ulp, expected

INT8 = QuantParams(0.05, -3, "int8")
UINT8 = QuantParams(0.05, 120, "uint8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 0, "int8"), r"scale must be finite and > 0, got 0.0"),
        ((-1.0, 0, "int8"), r"scale must be finite and > 0, got -1.0"),
        ((float("inf"), 0, "int8"), r"scale must be finite and > 0, got inf"),
        ((float("nan"), 0, "int8"), r"scale must be finite and > 0, got nan"),
        ((1e-60, 0, "int8"), r"scale 1e-60 is not representable as a float32"),
        (("0.1", 0, "int8"), r"scale must be a number, got '0.1'"),
        ((0.1, 128, "int8"), r"zero_point 128 is outside int8's range \[-128, 127\]"),
        ((0.1, -1, "uint8"), r"zero_point -1 is outside uint8's range \[0, 255\]"),
        ((0.1, 1.5, "int8"), r"zero_point must be an integer, got 1.5"),
        ((0.1, True, "int8"), r"zero_point must be an integer, got True"),
        ((0.1, 0, "int16"), r"dtype must be int8 or uint8, got int16"),
        ((0.1, 0, "float32"), r"dtype must be int8 or uint8, got float32"),
        ((0.1, 0, "nonsense"), r"dtype must be int8 or uint8, got 'nonsense'"),
    ],
)
def test_bad_quant_params_name_the_field(args, message):
    with pytest.raises(ValueError, match=message):
        QuantParams(*args)


def test_scale_is_held_as_float32_and_round_trips():
    q = QuantParams(0.1, np.int64(5), np.uint8)
    assert q.scale == float(np.float32(0.1)) and q.zero_point == 5 and q.dtype == np.uint8
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(q.quantize(q.dequantize(codes)), codes)
    assert q.quantize([1e9, -1e9]).tolist() == [255, 0]
    exact = QuantParams(0.25, 0, "int8")  # x/scale is exact, so only the tie rule decides
    assert exact.quantize([0.125, 0.375, -0.125, -0.375]).tolist() == [0, 2, 0, -2]
    with pytest.raises(TypeError, match="codes have dtype int8, parameters are for uint8"):
        q.dequantize(np.zeros(2, np.int8))


def test_quantized_call_argument_errors():
    q = np.zeros(4, np.int8)
    with pytest.raises(TypeError, match=r"hardswish: x is an int8 array; .* x_q is missing"):
        K.hardswish(q)
    with pytest.raises(TypeError, match="y_q is missing"):
        K.hardswish(q, x_q=INT8)
    with pytest.raises(ValueError, match=r"x_q\.dtype is uint8 but x is an int8 array"):
        K.hardswish(q, x_q=UINT8, y_q=INT8)
    with pytest.raises(TypeError, match=r"x_q must be an edgeact\.QuantParams, got tuple"):
        K.hardswish(q, x_q=(0.1, 0), y_q=INT8)
    with pytest.raises(TypeError, match="x_q/y_q describe int8/uint8 codes, but x is a float32"):
        K.hardswish(np.zeros(4, np.float32), x_q=INT8, y_q=INT8)
    with pytest.raises(ValueError, match="unknown compat 'tensorrt'; choose one of tflite"):
        K.hardswish(q, x_q=INT8, y_q=INT8, compat="tensorrt")
    with pytest.raises(TypeError, match="out has dtype int8, the result is uint8"):
        K.hardswish(q, np.zeros(4, np.int8), x_q=INT8, y_q=UINT8)


def test_float16_table_is_exact_for_every_input():
    table = K.make_lut("gelu_tanh", np.float16)
    assert table.dtype == np.float16 and table.shape == (1 << 16,) and not table.flags.writeable
    x = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    assert_within_ulp(table, expected("gelu_tanh", x), 0, x)
    assert K.make_lut("gelu_tanh", "float16") is not None
    np.testing.assert_array_equal(K.apply_lut(x, table), K.gelu_tanh(x))


def test_tables_read_partially_overlapping_inputs_first():
    codes = np.arange(-100, 101, dtype=np.int8)
    table = K.make_lut("sigmoid", x_q=INT8, y_q=INT8)
    want = K.sigmoid(codes[:-1].copy(), x_q=INT8, y_q=INT8)
    for apply in (
        lambda x, out: K.sigmoid(x, out, x_q=INT8, y_q=INT8),
        lambda x, out: K.apply_lut(x, table, out),
    ):
        buffer = codes.copy()
        apply(buffer[:-1], buffer[1:])
        np.testing.assert_array_equal(buffer[1:], want)


def test_float16_table_takes_parameters():
    x = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    table = K.make_lut("leaky_relu", np.float16, negative_slope=0.3)
    assert_within_ulp(K.apply_lut(x, table), expected("leaky_relu", x, negative_slope=0.3), 0, x)


def test_apply_lut_on_codes_of_any_layout():
    table = np.arange(256, dtype=np.uint8)[::-1].copy().view(np.int8)  # any 256-entry table
    q = np.arange(256, dtype=np.uint8).view(np.int8).reshape(16, 16).T[::2]
    got = K.apply_lut(q, table)
    assert got.dtype == np.int8 and got.shape == q.shape
    np.testing.assert_array_equal(got, table[q.view(np.uint8)])
    in_place = q.copy()
    assert K.apply_lut(in_place, table, out=in_place) is in_place
    np.testing.assert_array_equal(in_place, got)


def test_apply_lut_errors():
    with pytest.raises(ValueError, match="a int8 array needs a table of 256 1-byte entries"):
        K.apply_lut(np.zeros(3, np.int8), np.zeros(255, np.int8))
    with pytest.raises(ValueError, match="a float16 array needs a table of 65536"):
        K.apply_lut(np.zeros(3, np.float16), np.zeros(256, np.int8))
    with pytest.raises(
        TypeError, match="tables apply to int8, uint8 or float16 arrays, not float32"
    ):
        K.apply_lut(np.zeros(3, np.float32), np.zeros(256, np.int8))
    with pytest.raises(TypeError, match="table must be a 1-D NumPy array"):
        K.apply_lut(np.zeros(3, np.int8), list(range(256)))


def test_make_lut_errors():
    with pytest.raises(ValueError, match="unknown activation 'swish2'"):
        K.make_lut("swish2", INT8, INT8)
    with pytest.raises(TypeError, match=r"y_q must be an edgeact\.QuantParams"):
        K.make_lut("relu6", INT8)
    with pytest.raises(TypeError, match="a float16 table takes no y_q"):
        K.make_lut("relu6", np.float16, INT8)
    with pytest.raises(TypeError, match="unexpected parameter"):
        K.make_lut("relu6", np.float16, alpha=2.0)
