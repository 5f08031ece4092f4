"""compat="onnxruntime" int8/uint8 kernels against the real ONNX Runtime, bit for bit.

Every case runs all 256 codes through a QDQ model (DequantizeLinear -> op -> QuantizeLinear, scales
and zero points as initializers, one model per parameter pair) in ORT's CPU execution provider and
compares with ``edgeact.kernels.<name>(codes, x_q=..., y_q=..., compat="onnxruntime")``.

Parameter pairs per op and dtype (seeded): 100 random ones (scales log-uniform in [2^-12, 1], zero
points uniform over the dtype, every tenth output zero point at the dtype's minimum, where ORT drops
Relu/Clip), plus pairs aimed at rounding ties, which random pairs almost never reach: the output
scale is |f(x)|/(k + 1/2) for one input code, with f the float64 catalogue reference, so ORT's
last float32 bits decide the rounding (a float64-reference table fails on 5-30 % of these pairs for
the transcendental ops), and exact ties for the piecewise-linear ops (y_scale = 2·x_scale).

The default session (ORT_ENABLE_ALL, which fuses Sigmoid and LeakyRelu into QLinear* table ops and
drops redundant Relu/Clip) is what compat="onnxruntime" follows; ORT_DISABLE_ALL gives the same
codes for every case here, and a test documents that. The float arithmetic itself is compared on a
quarter million float32 inputs per op, which pins down the MLAS kernels' FMA evaluation order.
"""

import functools
import zlib

import numpy as np
import pytest

import edgeact.kernels as kernels
from edgeact.catalogue import ACTIVATIONS
from edgeact.kernels import _onnxruntime as ort_compat
from edgeact.quant import QuantParams

RANDOM_PAIRS = 100
TIE_PAIRS = 50
EXACT_TIE_PAIRS = 10
SCALE_RANGE = (2.0**-12, 1.0)

# (edgeact name, parameters): every activation whose ONNX Runtime kernel edgeact emulates, at the
# catalogue's parameters, plus non-default parameters; each runs as its catalogue ONNX form.
CASES = [(name, {}) for name in ACTIVATIONS if kernels.emulates("onnxruntime", name)] + [
    ("hardtanh", {"min_val": -0.25, "max_val": 3.0}),
    ("leaky_relu", {"negative_slope": 0.2}),
]
PIECEWISE_LINEAR = {"relu", "relu6", "hardtanh", "leaky_relu"}
DTYPES = ["int8", "uint8"]


def _case_id(case) -> str:
    name, params = case
    return name + "".join(f"-{k}={v}" for k, v in params.items())


CASE_IDS = [_case_id(case) for case in CASES]


def _codes(dtype) -> np.ndarray:
    return np.arange(256, dtype=np.uint8).view(dtype)


def _log_uniform(rng, low, high) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _random_pair(rng, dtype, index) -> tuple[QuantParams, QuantParams]:
    info = np.iinfo(dtype)
    x_q = QuantParams(
        _log_uniform(rng, *SCALE_RANGE), int(rng.integers(info.min, info.max + 1)), dtype
    )
    y_zero = info.min if index % 10 == 0 else int(rng.integers(info.min, info.max + 1))
    return x_q, QuantParams(_log_uniform(rng, *SCALE_RANGE), y_zero, dtype)


def _tie_pair(rng, name, params, dtype) -> tuple[QuantParams, QuantParams]:
    """y_scale = |f(x_c)|/(k + 1/2) for a random code c: output code c sits on a rounding tie."""
    info = np.iinfo(dtype)
    reference = ACTIVATIONS[name].reference
    while True:
        x_q = QuantParams(
            _log_uniform(rng, 2.0**-10, 0.25), int(rng.integers(info.min, info.max + 1)), dtype
        )
        x = x_q.dequantize(_codes(dtype)).astype(np.float64)
        y = reference(x, **params)
        c = int(rng.integers(256))
        k = int(rng.integers(0, 120))
        y_scale = abs(float(y[c])) / (k + 0.5)
        if not 2.0**-16 <= y_scale <= 4.0:
            continue
        low, high = (info.min, info.max - k - 1) if y[c] > 0 else (info.min + k + 1, info.max)
        return x_q, QuantParams(y_scale, int(rng.integers(low, high + 1)), dtype)


def _exact_tie_pair(rng, dtype) -> tuple[QuantParams, QuantParams]:
    """y_scale = 2·x_scale: identity-like ops land exactly on n/2, ties at every odd n."""
    info = np.iinfo(dtype)
    x_scale = _log_uniform(rng, *SCALE_RANGE)
    return (
        QuantParams(x_scale, int(rng.integers(info.min, info.max + 1)), dtype),
        QuantParams(2.0 * x_scale, int(rng.integers(info.min, info.max + 1)), dtype),
    )


@functools.cache
def _pairs(case_id: str, dtype: str) -> tuple[tuple[QuantParams, QuantParams], ...]:
    name, params = CASES[CASE_IDS.index(case_id)]
    rng = np.random.default_rng([zlib.crc32(case_id.encode()), DTYPES.index(dtype)])
    pairs = [_random_pair(rng, dtype, i) for i in range(RANDOM_PAIRS)]
    pairs += [_tie_pair(rng, name, params, dtype) for _ in range(TIE_PAIRS)]
    if name in PIECEWISE_LINEAR:
        pairs += [_exact_tie_pair(rng, dtype) for _ in range(EXACT_TIE_PAIRS)]
    return tuple(pairs)


@functools.cache
def _models(case_id: str, dtype: str) -> tuple[bytes, ...]:
    from edgeact.runtimes.onnxruntime import qdq_model

    name, params = CASES[CASE_IDS.index(case_id)]
    op, attributes = ort_compat.onnx_op(name, params)
    return tuple(qdq_model(op, x_q, y_q, **attributes) for x_q, y_q in _pairs(case_id, dtype))


def _compare(case_id: str, dtype: str, optimized: bool) -> None:
    from edgeact.runtimes.onnxruntime import run_model

    name, params = CASES[CASE_IDS.index(case_id)]
    kernel = getattr(kernels, name)
    codes = _codes(dtype)
    failures = []
    pairs = _pairs(case_id, dtype)
    for (x_q, y_q), model in zip(pairs, _models(case_id, dtype), strict=True):
        expected = run_model(model, codes, optimized=optimized)
        got = kernel(codes, x_q=x_q, y_q=y_q, compat="onnxruntime", **params)
        assert got.dtype == expected.dtype == np.dtype(dtype)
        wrong = np.flatnonzero(got != expected)
        if wrong.size:
            shown = ", ".join(
                f"code {int(codes[i])}: ORT {int(expected[i])}, edgeact {int(got[i])}"
                for i in wrong[:3]
            )
            failures.append(f"{x_q} -> {y_q}: {wrong.size} codes differ ({shown})")
    assert not failures, f"{case_id} {dtype}, {len(failures)} of {len(pairs)} pairs:\n" + "\n".join(
        failures[:10]
    )


@pytest.mark.onnxruntime
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_default_session_bit_exact(case_id, dtype):
    """compat="onnxruntime" equals ORT with its default session options, all 256 codes."""
    _compare(case_id, dtype, optimized=True)


@pytest.mark.onnxruntime
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_unoptimized_session_gives_the_same_codes(case_id, dtype):
    """ORT_DISABLE_ALL (no QDQ fusion) computes the same codes: the fused QLinearSigmoid and
    QLinearLeakyRelu tables use the float kernels' arithmetic and MlasQuantizeLinear."""
    _compare(case_id, dtype, optimized=False)


# What ORT 1.32 executes for each QDQ op with default options (the paths the docstring of
# edgeact.kernels._onnxruntime states).
EXECUTED = [
    ("relu", {}, 3, ["DequantizeLinear", "Relu", "QuantizeLinear"]),
    ("relu", {}, -128, ["DequantizeLinear", "QuantizeLinear"]),  # y zero point = qmin: Relu dropped
    ("relu6", {}, 3, ["DequantizeLinear", "Clip", "QuantizeLinear"]),
    ("relu6", {}, -128, ["DequantizeLinear", "QuantizeLinear"]),  # Clip covers Q's range: dropped
    ("leaky_relu", {}, 3, ["com.microsoft:QLinearLeakyRelu"]),
    ("sigmoid", {}, 3, ["com.microsoft:QLinearSigmoid"]),
    ("tanh", {}, 3, ["DequantizeLinear", "Tanh", "QuantizeLinear"]),
    ("hardsigmoid", {}, 3, ["DequantizeLinear", "HardSigmoid", "QuantizeLinear"]),
    ("hardswish", {}, 3, ["DequantizeLinear", "HardSigmoid", "Mul", "QuantizeLinear"]),
    ("gelu", {}, 3, ["DequantizeLinear", "Gelu", "QuantizeLinear"]),
    ("gelu_tanh", {}, 3, ["DequantizeLinear", "Gelu", "QuantizeLinear"]),
]


@pytest.mark.onnxruntime
@pytest.mark.parametrize(("name", "params", "y_zero_point", "ops"), EXECUTED)
def test_graph_ort_executes(name, params, y_zero_point, ops):
    from edgeact.runtimes.onnxruntime import optimized_ops, qdq_model

    op, attributes = ort_compat.onnx_op(name, params)
    # y_scale = 6/255: the int8 range with zero point -128 is [0, 6], inside Clip(0, 6).
    model = qdq_model(
        op, QuantParams(0.05, 3, "int8"), QuantParams(6 / 255, y_zero_point, "int8"), **attributes
    )
    assert optimized_ops(model) == ops
    assert optimized_ops(model, optimized=False)[0] == "DequantizeLinear"


def _float_inputs() -> np.ndarray:
    """262 144 float32 inputs: wide, normal and tiny values, and the kernels' breakpoints (the
    clamps at 18, 9 and 3.925·√2, erf's branch split 0.921875·√2, hardsigmoid's ±3) and their
    float32 neighbours."""
    rng = np.random.default_rng(20)
    n = 1 << 16
    edges = np.array([0.0, 18.0, 9.0, 3.925, 0.921875, 3.0])
    edges = np.concatenate([edges, edges[3:5] * np.sqrt(2.0)]).astype(np.float32)
    edges = np.concatenate([edges, -edges])
    special = np.concatenate(
        [edges, np.nextafter(edges, np.float32(np.inf)), np.nextafter(edges, np.float32(-np.inf))]
    )
    tiny = n - special.size
    return np.concatenate(
        [
            rng.uniform(-25, 25, n),
            rng.standard_normal(n) * 3,
            rng.uniform(-4, 4, n),
            np.exp(rng.uniform(-40, 3, tiny)) * rng.choice([-1, 1], tiny),
            special,
        ]
    ).astype(np.float32)


FLOAT_OPS = [
    pytest.param("Sigmoid", {}, ort_compat.mlas_logistic, id="Sigmoid"),
    pytest.param("Tanh", {}, ort_compat.mlas_tanh, id="Tanh"),
    pytest.param("Erf", {}, ort_compat.mlas_erf, id="Erf"),
    pytest.param("Gelu", {}, lambda x: ort_compat.onnxruntime_float("gelu", x), id="Gelu"),
    pytest.param(
        "Gelu",
        {"approximate": "tanh"},
        lambda x: ort_compat.onnxruntime_float("gelu_tanh", x),
        id="Gelu-tanh",
    ),
    pytest.param(
        "HardSigmoid",
        {"alpha": 1 / 6, "beta": 0.5},
        lambda x: ort_compat.onnxruntime_float("hardsigmoid", x),
        id="HardSigmoid",
    ),
    pytest.param(
        "HardSwish", {}, lambda x: ort_compat.onnxruntime_float("hardswish", x), id="HardSwish"
    ),
    pytest.param(
        "LeakyRelu",
        {"alpha": 0.2},
        lambda x: ort_compat.onnxruntime_float("leaky_relu", x, {"negative_slope": 0.2}),
        id="LeakyRelu",
    ),
]


@pytest.mark.onnxruntime
@pytest.mark.parametrize(("op", "attributes", "emulation"), FLOAT_OPS)
def test_float_arithmetic_bit_exact(op, attributes, emulation):
    """The float32 emulation of ORT's kernel (MLAS FMA3 logistic/tanh/erf, ...) equals ORT's
    float op bit for bit, so the tables are right for any scales, not only the sampled ones."""
    from edgeact.runtimes.onnxruntime import float_model, run_model

    x = _float_inputs()
    expected = run_model(float_model(op, shape=x.shape, **attributes), x)
    got = emulation(x)
    wrong = np.flatnonzero(got.view(np.uint32) != expected.view(np.uint32))
    assert wrong.size == 0, f"{op}: {wrong.size} of {x.size} differ, e.g. " + ", ".join(
        f"x={x[i]!r}: ORT {expected[i]!r}, edgeact {got[i]!r}" for i in wrong[:5]
    )


@pytest.mark.onnxruntime
def test_runtime_errors_name_the_op():
    from edgeact.runtimes.onnxruntime import float_model, qdq_model, run_model

    q = QuantParams(0.05, 0, "int8")
    with pytest.raises(ValueError, match="Gelu at opset 19"):
        qdq_model("Gelu", q, q, opset=19)
    with pytest.raises(RuntimeError, match="op\\(s\\) Relu"):
        run_model(float_model("Relu"), np.zeros(3, dtype=np.float32))  # wrong shape
    with pytest.raises(RuntimeError, match="not an ONNX model"):
        run_model(b"not a model", np.zeros(256, dtype=np.float32))


# --- without ONNX Runtime: the documented fallback for activations without an emulated op ------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n, a in ACTIVATIONS.items()
        if a.elementwise and not kernels.emulates("onnxruntime", n) and n in kernels.KERNELS
    ),
)
def test_other_activations_use_the_float64_reference(name, dtype):
    """DQ -> float64 catalogue reference rounded to float32 -> Q (round half to even)."""
    rng = np.random.default_rng([zlib.crc32(name.encode()), DTYPES.index(dtype)])
    codes = _codes(dtype)
    for i in range(20):
        x_q, y_q = _random_pair(rng, dtype, i)
        x = x_q.dequantize(codes).astype(np.float64)
        with np.errstate(over="ignore"):
            y = ACTIVATIONS[name].reference(x).astype(np.float32)
        expected = y_q.quantize(y)
        got = kernels.KERNELS[name](codes, x_q=x_q, y_q=y_q, compat="onnxruntime")
        np.testing.assert_array_equal(got, expected, err_msg=f"{name} {x_q} -> {y_q}")
