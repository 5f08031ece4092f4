"""Float kernels against the float64 references: accuracy, shapes, layouts, aliasing, bad input.

Bounds: float32 results within 2 ulp of the reference rounded to float32 where they are computed
in float32 (accuracy="fast", the default, for the activations ``_float32`` has), within 1 ulp where
they are computed in float64 (accuracy="exact", and the others); float16 results equal the
reference rounded to float16 for all 65 536 inputs (0 ulp).
"""

import os
import pathlib
import platform
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import edgeact.kernels as K
from edgeact.catalogue import ACTIVATIONS
from edgeact.kernels import scalar
from edgeact.kernels._float32 import ELEMENTS as FLOAT32_ELEMENTS
from edgeact.kernels._float32 import EXACT, computes_in_float32
from edgeact.kernels._half import HALF_CODE_ELEMENTS, HALF_ELEMENTS
from edgeact.kernels._loops import map_loop
from edgeact.quant import QuantParams
from tests._numerics import assert_within_ulp, expected

NAMES = list(K.KERNELS)
FLOATS = [np.float32, np.float16]
ACCURACIES = ["fast", "exact"]
F32_FAST_ULP = 2  # computed in float32
F32_ULP = 1  # computed in float64, rounded once
F16_ULP = 0

# Non-default parameters, to show they reach the loop.
PARAMS = {"leaky_relu": {"negative_slope": 0.2}, "hardtanh": {"min_val": -2.0, "max_val": 0.5}}


def _bound(dtype, name, accuracy="fast"):
    if np.dtype(dtype) == np.float16:
        return F16_ULP
    return F32_FAST_ULP if computes_in_float32(name, accuracy) else F32_ULP


def _edge_values(dtype):
    info = np.finfo(dtype)
    special = [
        0.0,
        -0.0,
        np.inf,
        -np.inf,
        np.nan,
        info.tiny,
        -info.tiny,
        info.smallest_subnormal,
        -info.smallest_subnormal,
        info.max,
        -info.max,
        info.eps,
        1.0,
        -1.0,
    ]
    breakpoints = [
        -3.0,
        3.0,
        6.0,
        -6.0,
        4.4,
        -4.4,
        2.5,
        -2.5,
        -4.0,
        0.5,
        -0.5,
        20.0,
        -20.0,
        88.7,
        -88.7,
        -103.9,
        709.8,
        -750.0,
    ]
    near = [np.nextafter(dtype(b), dtype(d)) for b in breakpoints for d in (-np.inf, np.inf)]
    return np.array(special + breakpoints + near, dtype=dtype)


# Where the activations change formula: clamps, knees, thresholds (both signs).
BREAKPOINTS = [0.5, 1.0, 2.5017367, 3.0, 4.0, 4.4, 6.0, 20.0, 88.7, 103.9, 709.8, 750.0]


# Inputs where earlier float32-arithmetic kernels were 3 ulp off (found by denser sweeps).
ONCE_OFF = [-2.9776337, -2.7468088, -3.2167523, -5.9605703, -2.7501373, -1.1769261]


def _float32_sweep():
    """Every 4099th float32 bit pattern (all exponents, both signs, ~1M values), the 4001
    consecutive float32 values around each breakpoint, where cancellation hides, and
    ``ONCE_OFF``."""
    sweep = np.arange(0, 1 << 32, 4099, dtype=np.uint64).astype(np.uint32).view(np.float32)
    centres = np.array([s * b for b in BREAKPOINTS for s in (1, -1)], np.float32).view(np.int32)
    around = (centres[:, None] + np.arange(-2000, 2001, dtype=np.int32)).view(np.float32)
    tiny = np.arange(2001, dtype=np.uint32)  # the smallest subnormals, and zero, of both signs
    signed_tiny = np.concatenate([tiny, tiny | np.uint32(1 << 31)]).view(np.float32)
    return np.concatenate([sweep, around.ravel(), signed_tiny, np.float32(ONCE_OFF)])


@pytest.mark.parametrize("accuracy", ACCURACIES)
@pytest.mark.parametrize("name", NAMES)
def test_float32_sweep_within_bound(name, accuracy):
    x = _float32_sweep()
    params = PARAMS.get(name, {})
    got = K.get(name)(x, accuracy=accuracy, **params)
    assert_within_ulp(got, expected(name, x, **params), _bound(x.dtype, name, accuracy), x)


@pytest.mark.parametrize("name", sorted(set(FLOAT32_ELEMENTS) - EXACT))
def test_float32_arithmetic_dense_where_it_approximates(name):
    """Every 257th float32 with |x| in [2**-30, 2**8) (2.5M inputs), where the float32
    arithmetic's roundings add up: the exponential's range and the gates' bend."""
    low, high = np.float32([2.0**-30, 2.0**8]).view(np.uint32)
    bits = np.arange(low, high, 257, dtype=np.uint32)
    x = np.concatenate([bits, bits | np.uint32(1 << 31)]).view(np.float32)
    assert_within_ulp(K.get(name)(x), expected(name, x), F32_FAST_ULP, x)


@pytest.mark.parametrize("accuracy", ACCURACIES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", NAMES)
def test_edge_values(name, dtype, accuracy):
    x = _edge_values(dtype)
    result = K.get(name)(x, accuracy=accuracy)
    assert result.dtype == dtype
    assert_within_ulp(result, expected(name, x), _bound(dtype, name, accuracy), x)


@pytest.mark.parametrize("name", ["hardswish", "sigmoid", "silu"])
def test_accuracy_changes_float32_only(name):
    """float16 and int8 results are the same under both accuracies; float32 ones are not always
    (the fast path really is a different computation)."""
    half = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    codes = np.arange(256, dtype=np.uint8).view(np.int8)
    x_q, y_q = QuantParams(0.05, 3, np.int8), QuantParams(0.03, -10, np.int8)
    kernel = K.get(name)
    np.testing.assert_array_equal(
        kernel(half).view(np.uint16), kernel(half, accuracy="exact").view(np.uint16)
    )
    np.testing.assert_array_equal(
        kernel(codes, x_q=x_q, y_q=y_q), kernel(codes, x_q=x_q, y_q=y_q, accuracy="exact")
    )
    x = _float32_sweep()
    assert (kernel(x).view(np.uint32) != kernel(x, accuracy="exact").view(np.uint32)).any()


@pytest.mark.parametrize("name", NAMES)
def test_float16_exhaustive_is_correctly_rounded(name):
    x = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    params = PARAMS.get(name, {})
    assert_within_ulp(K.get(name)(x, **params), expected(name, x, **params), F16_ULP, x)


@pytest.mark.parametrize("name", sorted([*HALF_ELEMENTS, *HALF_CODE_ELEMENTS]))
def test_float16_arithmetic_gives_the_table_bits(name):
    """The float16 kernels computed in float32 (F16C) or on the bits give the float64 table's
    very bits, signed zeros and NaN payloads included, which the ulp distance above does not
    tell apart."""
    x = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    got, table = K.get(name)(x), K.make_lut(name, np.float16)
    np.testing.assert_array_equal(got.view(np.uint16), table.view(np.uint16))


@pytest.mark.parametrize("name", sorted(EXACT))
def test_float32_arithmetic_gives_the_float64_loops_bits(name):
    """relu and relu6 skip the float64 widening on float32 arrays under both accuracies; signed
    zeros, infinities, subnormals and the clamp points must come out bit for bit as from the
    float64 loop."""
    rng = np.random.default_rng(7)
    x = np.concatenate([_edge_values(np.float32), rng.normal(0, 8, 10_000).astype(np.float32)])
    x = np.concatenate([x, np.nextafter(np.float32([0, 6]), np.float32([-1, 7])), NAN32])
    got, want = K.get(name)(x, accuracy="exact"), np.empty_like(x)
    map_loop(scalar.ELEMENTS[name], for_float32=True)(x, want, ())
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


# Quiet and signalling NaNs of both signs, with payloads in the low and high bits.
NAN32 = np.array(
    [0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FA00000, 0x7FFFFFFF, 0xFFC12345],
    dtype=np.uint32,
).view(np.float32)
NAN16 = np.array([0x7E00, 0xFE00, 0x7C01, 0xFC01, 0x7D00, 0x7FFF, 0xFE5A], np.uint16).view(
    np.float16
)


@pytest.mark.parametrize("accuracy", ACCURACIES)
@pytest.mark.parametrize("nans", [NAN32, NAN16], ids=["float32", "float16"])
@pytest.mark.parametrize("name", NAMES)
def test_a_nan_comes_back_quieted(name, nans, accuracy):
    """Sign and payload kept, quiet bit set, on every path (the NaN rule in kernels/_loops.py):
    without it the NaN bits depended on the CPU target Numba compiled for."""
    bits = f"u{nans.itemsize}"
    quiet_bit = 1 << (np.finfo(nans.dtype).nmant - 1)  # the top significand bit
    want = nans.view(bits) | np.dtype(bits).type(quiet_bit)
    np.testing.assert_array_equal(K.get(name)(nans, accuracy=accuracy).view(bits), want)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    x=hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=0, max_dims=3, max_side=9),
        elements=st.floats(width=32),
    ),
)
def test_float32_random_arrays(name, x):
    assert_within_ulp(K.get(name)(x), expected(name, x), _bound(x.dtype, name), x)


SIZES = [0, 1, 7, 8, 9, 63, 64, 65, 10_007]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", NAMES)
def test_sizes_around_the_vector_width(name, dtype, size):
    x = np.random.default_rng(size).normal(0, 4, size).astype(dtype)
    result = K.get(name)(x)
    assert result.shape == x.shape and result.dtype == x.dtype
    assert_within_ulp(result, expected(name, x), _bound(dtype, name), x)


def _layouts(dtype):
    base = np.random.default_rng(7).normal(0, 4, (6, 10, 12)).astype(dtype)
    return {
        "0-d": np.array(-1.25, dtype=dtype),
        "N-d C": base,
        "N-d Fortran": np.asfortranarray(base),
        "transposed": base.transpose(2, 0, 1),
        "strided": base[::2, 1::3, ::-1],
        "broadcast view": np.broadcast_to(base[0, 0], (5, 12)),
        "empty 2-d": base[:0],
    }


@pytest.mark.parametrize("layout", list(_layouts(np.float32)))
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", NAMES)
def test_layouts_match_reference(name, dtype, layout):
    x = _layouts(dtype)[layout]
    result = K.get(name)(x)
    assert result.shape == x.shape and result.dtype == x.dtype
    assert_within_ulp(result, expected(name, x), _bound(dtype, name), x)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", NAMES)
def test_out_non_contiguous_and_in_place(name, dtype):
    x = np.random.default_rng(3).normal(0, 4, (8, 9)).astype(dtype)
    want = expected(name, x)
    holder = np.zeros((8, 18), dtype=dtype)
    out = holder[:, ::2]
    assert K.get(name)(x, out=out) is out
    assert_within_ulp(out, want, _bound(dtype, name), x)
    assert not holder[:, 1::2].any(), "wrote outside out"
    in_place = x.copy()
    assert K.get(name)(in_place, out=in_place) is in_place
    assert_within_ulp(in_place, want, _bound(dtype, name), x)


@pytest.mark.parametrize("name", ["hardswish", "sigmoid"])  # float16: arithmetic and table
@pytest.mark.parametrize("dtype", FLOATS)
def test_partially_overlapping_out_reads_inputs_first(dtype, name):
    buffer = np.linspace(-8, 8, 101).astype(dtype)
    x, out = buffer[:-1], buffer[1:]
    want = expected(name, x.copy())
    K.get(name)(x, out=out)
    assert_within_ulp(out, want, _bound(dtype, name))


@pytest.mark.parametrize("dtype", FLOATS)
def test_parameters_reach_the_kernel(dtype):
    x = np.array([-4.0, -1.0, 0.25, 2.0], dtype=dtype)
    np.testing.assert_array_equal(
        K.leaky_relu(x, negative_slope=0.5), np.array([-2, -0.5, 0.25, 2], dtype)
    )
    np.testing.assert_array_equal(
        K.hardtanh(x, min_val=-2.0, max_val=1.0), np.array([-2, -1, 0.25, 1], dtype)
    )
    np.testing.assert_array_equal(K.leaky_relu(x), expected("leaky_relu", x))


def test_element_defaults_agree_with_catalogue():
    import inspect

    for name, element in K.scalar.ELEMENTS.items():
        signature = inspect.signature(element.py_func)
        defaults = {k: p.default for k, p in list(signature.parameters.items())[1:]}
        assert defaults == dict(ACTIVATIONS[name].params), name
        fixed = {"x", "out", "x_q", "y_q", "compat", "accuracy", "threads"}
        params = [p for p in inspect.signature(K.get(name)).parameters if p not in fixed]
        assert params == list(defaults), name


def test_every_kernel_has_a_catalogue_record_and_docstring():
    for name, kernel in K.KERNELS.items():
        assert name in ACTIVATIONS and ACTIVATIONS[name].elementwise
        assert ACTIVATIONS[name].formula in kernel.__doc__


_VECTOR_WIDTH_PROBE = r"""
import re, sys, numba
from edgeact.kernels import scalar
from edgeact.kernels._float32 import float32_loop
from edgeact.kernels._half import half_loop
from edgeact.kernels._loops import map_loop
a, h = numba.float32[::1], numba.uint16[::1]
loops = {
    "float32": [(float32_loop("sigmoid"), (a, a)),
                (map_loop(scalar.ELEMENTS["gelu_tanh"], for_float32=True),
                 (a, a, numba.types.Tuple(())))],
    "float16": [(half_loop("hardswish"), (h, h))],
}[sys.argv[1]]
for loop, signature in loops:
    loop.compile(signature)  # compiled for the target CPU, never run: this host may lack it
    print(sorted(set(re.findall(r"vmovups\s+(?:\S+, )?%([xyz])mm", loop.inspect_asm(signature)))))
"""


def _vector_registers(loops: str, cpu: str, tmp_path) -> list[str]:
    """Per loop of the probe's ``loops``, the vector registers its moves use, compiled for
    ``cpu``."""
    env = dict(os.environ, NUMBA_CPU_NAME=cpu, NUMBA_CACHE_DIR=str(tmp_path))
    env["PYTHONPATH"] = os.pathsep.join([str(pathlib.Path(K.__file__).parents[2]), *sys.path])
    run = subprocess.run(
        [sys.executable, "-c", _VECTOR_WIDTH_PROBE, loops], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 registers")
def test_float32_loops_use_512_bit_vectors_where_llvm_prefers_256(tmp_path):
    """Compiled for skylake-avx512, whose LLVM tuning prefers 256-bit vectors, the float32 loops
    (both accuracies) still move zmm registers: ``_jit.prefer_wide_vectors`` is in effect."""
    widths = _vector_registers("float32", "skylake-avx512", tmp_path)
    assert len(widths) == 2 and all("'z'" in line for line in widths), widths


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 registers")
def test_float16_conversion_loops_use_256_bit_vectors_where_llvm_prefers_512(tmp_path):
    """Compiled for znver4, whose LLVM tuning prefers 512-bit vectors, float16 hardswish moves
    ymm registers and no zmm: ``_jit.prefer_256_bit_vectors`` is in effect."""
    widths = _vector_registers("float16", "znver4", tmp_path)
    assert widths == ["['x', 'y']"] or widths == ["['y']"], widths


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32])
def test_integer_arrays_need_quantization_parameters(dtype):
    with pytest.raises(
        TypeError, match=rf"hardswish: x is an {np.dtype(dtype)} array.*(x_q|quantization)"
    ):
        K.hardswish(np.zeros(4, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float64, object, np.complex64, np.bool_, ">f4"])
def test_unsupported_dtypes_are_refused_not_converted(dtype):
    with pytest.raises(TypeError, match=r"relu6: unsupported dtype"):
        K.relu6(np.zeros(3, dtype=dtype))


def test_non_arrays_are_refused():
    with pytest.raises(TypeError, match="x must be a NumPy array, got list"):
        K.gelu([1.0, 2.0])


def test_out_mismatches():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"out has shape \(3, 2\), x has \(2, 3\)"):
        K.silu(x, out=np.zeros((3, 2), np.float32))
    with pytest.raises(TypeError, match="out has dtype float16, the result is float32"):
        K.silu(x, out=np.zeros((2, 3), np.float16))
    with pytest.raises(TypeError, match="out must be a NumPy array"):
        K.silu(x, out=[0.0] * 6)
    read_only = np.zeros((2, 3), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        K.silu(x, out=read_only)


def test_bad_parameters():
    x = np.zeros(3, np.float32)
    with pytest.raises(
        TypeError, match=r"unexpected parameter\(s\) slope \(parameters: negative_slope\)"
    ):
        K.leaky_relu(x, slope=0.1)
    with pytest.raises(TypeError, match=r"parameters: none"):
        K.relu6(x, alpha=1.0)
    with pytest.raises(ValueError, match="negative_slope must be a finite number, got nan"):
        K.leaky_relu(x, negative_slope=float("nan"))
    with pytest.raises(
        ValueError, match="sigmoid: unknown accuracy 'low'; choose one of fast, exact"
    ):
        K.sigmoid(x, accuracy="low")


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        K.get("swishy")
    with pytest.raises(ValueError, match="'softmax' has no float kernel"):
        K.get("softmax")
