"""The integer-only GELU/SiLU approximations: error bounds, no float in the loop, bad input."""

import re
import types
from dataclasses import astuple

import numba
import numpy as np
import pytest

import edgeact.kernels as K
from edgeact import ACTIVATIONS, QuantParams
from edgeact.kernels import integer

CASES = [("gelu_poly_int", "gelu", "gelu_poly", 1.5), ("silu_poly_int", "silu", "silu_poly", 0.1)]


def _params(rng, dtype, function, approximation):
    """Random input parameters, and output parameters that cover both functions' range."""
    info = np.iinfo(dtype)
    x_q = QuantParams(10 ** rng.uniform(-3, -0.5), int(rng.integers(info.min, info.max + 1)), dtype)
    x = x_q.dequantize(np.arange(info.min, info.max + 1).astype(dtype)).astype(np.float64)
    values = np.concatenate([ACTIVATIONS[n].reference(x) for n in (function, approximation)])
    lo, hi = min(values.min(), 0.0), max(values.max(), 0.0)
    scale = (hi - lo) / 255 * 1.01 + 1e-6
    zero = int(np.clip(round(info.min - lo / scale), info.min, info.max))
    return x_q, QuantParams(scale, zero, dtype)


@pytest.mark.parametrize(("kernel", "function", "approximation", "k"), CASES)
def test_error_against_the_exact_activation(kernel, function, approximation, k):
    """|error| <= approximation bound + S_y/2 + k·S_x, the bound the module documents."""
    bound = {a.name: a.max_abs_error for a in ACTIVATIONS[function].approximations}[approximation]
    rng = np.random.default_rng(11)
    for _ in range(300):
        dtype = rng.choice(["int8", "uint8"])
        x_q, y_q = _params(rng, dtype, function, approximation)
        q = np.arange(256, dtype=np.uint8).view(dtype)
        got = y_q.dequantize(getattr(K, kernel)(q, x_q, y_q)).astype(np.float64)
        exact = ACTIVATIONS[function].reference(x_q.dequantize(q).astype(np.float64))
        allowed = bound + y_q.scale / 2 + k * x_q.scale
        assert np.abs(got - exact).max() <= allowed, (x_q, y_q)


@pytest.mark.parametrize("kernel", ["gelu_poly_int", "silu_poly_int"])
def test_the_compiled_loop_has_no_floating_point(kernel):
    """Compile the kernel's loop and helpers afresh, uncached (Numba shows no IR for code it loaded
    from its cache), and read the optimised LLVM IR: integer instructions only."""
    fresh = {
        "_accumulate": numba.njit(integer._SETUP[kernel][2].py_func),
        "_requantize": numba.njit(integer._requantize.py_func),
    }
    template = integer._integer_template
    loop = numba.njit(
        types.FunctionType(template.__code__, dict(template.__globals__, **fresh), "probe")
    )
    program = np.array(
        astuple(integer.integer_program(kernel, *[QuantParams(0.05, 0, "int8")] * 2))
    )
    codes = np.arange(-128, 128, dtype=np.int8)
    loop(codes, np.empty_like(codes), program)
    (ir,) = loop.inspect_llvm().values()
    assert "define" in ir and "mul" in ir, "no IR to inspect"
    assert not re.search(r"\b(fadd|fsub|fmul|fdiv|sitofp|fptosi|double|float)\b", ir), kernel


@pytest.mark.parametrize("kernel", ["gelu_poly_int", "silu_poly_int"])
def test_matches_the_float_approximation_at_fine_scales(kernel):
    """With a fine input scale the integer constants are nearly exact: within 1.5 output steps."""
    name = kernel.removesuffix("_int")
    x_q, y_q = QuantParams(0.02, 0, "int8"), QuantParams(0.02, -20, "int8")
    q = np.arange(-128, 128, dtype=np.int8)
    want = ACTIVATIONS[name].reference(x_q.dequantize(q).astype(np.float64))
    got = y_q.dequantize(getattr(K, kernel)(q, x_q, y_q))
    assert np.abs(got - want).max() <= 1.5 * y_q.scale


def test_bad_input():
    x_q = QuantParams(0.05, 0, "int8")
    with pytest.raises(TypeError, match="gelu_poly_int: takes int8/uint8 codes, got a float32"):
        K.gelu_poly_int(np.zeros(3, np.float32), x_q, x_q)
    with pytest.raises(ValueError, match=r"x_q\.dtype is int8 but x is an uint8 array"):
        K.silu_poly_int(np.zeros(3, np.uint8), x_q, QuantParams(0.05, 0, "uint8"))
    with pytest.raises(ValueError, match="beyond int64 fixed point"):
        K.gelu_poly_int(np.zeros(3, np.int8), QuantParams(1e-7, 0, "int8"), x_q)
