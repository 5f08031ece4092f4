"""Fuzz the kernels, the tables and ``QuantParams`` with what users' arrays really look like.

Random kernels get random shapes (0-d and empty included), layouts (reversed, strided,
transposed, Fortran order, misaligned, read-only), dtypes (the four kernels take and others),
every float bit pattern (NaN, infinities, subnormals), quantization parameters at the extremes
(scales of 1e-45 to 3e38, NaN, 0, negative; zero points at and past the bounds), random
``compat`` values, parameters and ``out`` arrays. Each call either succeeds or raises the
documented error (``ValueError`` or ``TypeError``, one line); a success gives the same bits as the
kernel on a fresh contiguous copy into a fresh array, whatever the layout or ``out``.

Sizing: ``CI_EXAMPLES`` per test with a fixed seed; ``EDGEACT_FUZZ_EXAMPLES=N`` runs N instead
(``EDGEACT_FUZZ_EXAMPLES=10000``: 10 000 kernel calls, each checked against a second call).
"""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edgeact.kernels as K
from edgeact.quant import QuantParams

CI_EXAMPLES = 300
_EXAMPLES = int(os.environ.get("EDGEACT_FUZZ_EXAMPLES") or 0)

FUZZ = settings(
    max_examples=_EXAMPLES or CI_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TAKEN = [np.float32, np.float16, np.int8, np.uint8]
REFUSED = [np.float64, np.int16, np.int32, np.uint16, np.bool_, np.complex64]
SCALES = [1e-45, 1e-38, 1e-30, 1e-7, 0.003, 0.05, 1.0, 255.0, 1e30, 3.4e38]  # float32 > 0
BAD_SCALES = [0.0, -0.05, float("nan"), float("inf"), 1e-46, 3.5e38, True, "0.1"]
PARAMS = {
    "leaky_relu": ["negative_slope"],
    "prelu": ["weight"],
    "elu": ["alpha"],
    "celu": ["alpha"],
    "softplus": ["beta", "threshold"],
    "hardtanh": ["min_val", "max_val"],
    "hardshrink": ["lambd"],
    "softshrink": ["lambd"],
}


def _is_documented(error: Exception) -> bool:
    message = str(error)
    return isinstance(error, ValueError | TypeError) and message != "" and "\n" not in message


@st.composite
def quant_params(draw, dtype=None):
    """QuantParams (or the documented error constructing it) at the extremes of each field."""
    dtype = dtype or draw(st.sampled_from([np.int8, np.uint8]))
    info = np.iinfo(dtype)
    scale = draw(st.sampled_from(SCALES) | st.floats(1e-12, 1e12))
    zero_point = draw(st.sampled_from([info.min, info.max, 0, -3, 128]) | st.integers(-128, 255))
    return QuantParams(scale, int(np.clip(zero_point, info.min, info.max)), dtype)


@st.composite
def arrays(draw, dtype):
    """An array of ``dtype`` with any bit pattern, in one of the layouts callers pass."""
    shape = draw(
        st.lists(st.integers(0, 6), min_size=0, max_size=4)
        | st.integers(60, 300).map(lambda n: [n])  # past one SIMD block, with a remainder
    )
    layout = draw(
        st.sampled_from(["c", "f", "reversed", "strided", "transposed", "misaligned", "read-only"])
    )
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * (2 if layout == "strided" else 1)
    raw = draw(st.binary(min_size=size * dtype.itemsize, max_size=size * dtype.itemsize))
    flat = np.frombuffer(raw, dtype).copy()
    if layout == "strided":
        return flat[::2].reshape(shape) if size else flat.reshape(shape)
    x = flat.reshape(shape)
    if layout == "f":
        return np.asfortranarray(x)
    if layout == "reversed":
        return x[::-1] if x.ndim else x
    if layout == "transposed":
        return x.T
    if layout == "misaligned" and dtype.itemsize > 1:
        buffer = np.zeros(x.nbytes + 1, np.uint8)
        moved = buffer[1:].view(dtype).reshape(shape)  # address odd: no aligned loads
        moved[...] = x
        return moved
    if layout == "read-only":
        x.flags.writeable = False
    return x


@st.composite
def kernel_calls(draw):
    """(kernel name, x, keyword arguments) for one call, most of them valid."""
    name = draw(st.sampled_from(sorted(K.KERNELS)))
    dtype = draw(st.sampled_from(TAKEN) | st.sampled_from(REFUSED))
    x = draw(arrays(dtype))
    kwargs = {}
    if np.dtype(dtype).kind in "iu" and draw(st.integers(0, 9)) > 0:
        own = dtype in (np.int8, np.uint8) and draw(st.booleans())
        kwargs["x_q"] = draw(quant_params(dtype if own else None))
        kwargs["y_q"] = draw(quant_params())
        kwargs["compat"] = draw(st.sampled_from([*K.COMPATS, "tflite", "bogus"]))
    elif np.dtype(dtype).kind == "f" and draw(st.integers(0, 9)) == 0:
        kwargs["x_q"] = draw(quant_params())  # quantization of a float array: an error
    for param in PARAMS.get(name, []):
        if draw(st.integers(0, 3)) == 0:
            kwargs[param] = draw(
                st.floats(-1e6, 1e6) | st.sampled_from([0.0, float("nan"), float("inf")])
            )
    if draw(st.integers(0, 19)) == 0:
        kwargs["no_such_parameter"] = 1.0
    return name, x, kwargs


@st.composite
def outs(draw, x, kwargs):
    """None, or an ``out`` array: right, wrong dtype or shape, strided, read-only or x itself."""
    kind = draw(st.sampled_from(["none", "fresh", "strided", "x", "dtype", "shape", "read-only"]))
    y_dtype = kwargs["y_q"].dtype if "y_q" in kwargs else x.dtype
    if kind == "none":
        return None
    if kind == "x":
        return x
    if kind == "dtype":
        return np.empty(x.shape, np.float64)
    if kind == "shape":
        return np.empty((*x.shape, 2), y_dtype)
    if kind == "strided":
        return np.empty((*x.shape, 2), y_dtype)[..., 0]
    out = np.empty(x.shape, y_dtype)
    out.flags.writeable = kind != "read-only"
    return out


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(f"u{a.dtype.itemsize}") if a.dtype.kind == "f" else a


@FUZZ
@given(st.data())
def test_kernels_succeed_with_layout_free_bits_or_raise_one_line(data):
    name, x, kwargs = data.draw(kernel_calls())
    out = data.draw(outs(x, kwargs))
    kernel = K.KERNELS[name]
    fresh_x = np.array(x, order="C", copy=True)  # (ascontiguousarray makes 0-d arrays 1-d)
    try:
        got = kernel(x, out, **kwargs)
    except Exception as error:
        assert _is_documented(error), f"{name}: {type(error).__name__}: {error!r}"
        return
    want = kernel(fresh_x, **kwargs)
    assert out is None or got is out
    assert got.shape == x.shape and got.dtype == want.dtype
    assert np.array_equal(_bits(got), _bits(want)), f"{name}: bits depend on layout or out"


@FUZZ
@given(
    dtype=st.sampled_from([np.int8, np.uint8, "int8", "float32", None, "i1", 3]),
    scale=st.sampled_from(SCALES + BAD_SCALES) | st.floats(allow_nan=True, allow_infinity=True),
    zero_point=st.sampled_from([-129, -128, 0, 127, 128, 255, 256, 2**40, 1.5, True, None]),
)
def test_quant_params_are_valid_or_refused_in_one_line(dtype, scale, zero_point):
    try:
        q = QuantParams(scale, zero_point, dtype)
    except Exception as error:
        assert _is_documented(error), repr(error)
        return
    assert 0 < q.scale < float("inf") and q.qmin <= q.zero_point <= q.qmax


@FUZZ
@given(st.data())
def test_tables_are_built_or_refused_in_one_line(data):
    name = data.draw(st.sampled_from(sorted(K.KERNELS)))
    x_q = data.draw(quant_params() | st.sampled_from([np.float16, np.float32, np.int8]))
    y_q = data.draw(st.none() | quant_params())
    compat = data.draw(st.sampled_from([*K.COMPATS, "bogus"]))
    try:
        table = K.make_lut(name, x_q, y_q, compat)
    except Exception as error:
        assert _is_documented(error), f"{name}: {type(error).__name__}: {error!r}"
        return
    assert table.size in (256, 1 << 16) and not table.flags.writeable
