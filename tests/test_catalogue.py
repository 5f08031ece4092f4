"""The catalogue and its float64 references: values, limits, derivatives, bounds and properties.

Values are checked against an independent evaluation in ``decimal`` (80+ digits, the exact real
constants), derivatives against central differences of the references, pinned approximation
errors by re-measuring them, and each property flag by sampling the reference.
"""

import functools
import math
import warnings
from decimal import Decimal, localcontext

import numpy as np
import pytest

from edgeact import references as ref
from edgeact.catalogue import ACTIVATIONS, Activation, Approximation, get

REQUIRED = (
    "relu relu6 leaky_relu prelu elu selu celu gelu gelu_tanh gelu_quick gelu_poly silu "
    "silu_poly mish softplus sigmoid tanh hardswish hardsigmoid hardtanh hardshrink softshrink "
    "softmax adaptive_log_softmax"
).split()
ELEMENTWISE = [a for a in ACTIVATIONS.values() if a.elementwise]
ELEMENTWISE_IDS = [a.name for a in ELEMENTWISE]
# References whose input is a hidden state (..., in_features) and whose output is (..., n_classes).
HIDDEN_STATE = {"adaptive_log_softmax"}
SHAPE_PRESERVING = [a for a in ACTIVATIONS.values() if a.name not in HIDDEN_STATE]
INF = math.inf
ULP_TOL = 4  # max error in float64 ulp of the correctly rounded exact value

# --- exact evaluation in decimal ---------------------------------------------------------------

D = Decimal
PREC = 80


def machin_pi(digits: int) -> Decimal:
    """π = 16·atan(1/5) - 4·atan(1/239) (Machin), to ``digits`` digits."""
    with localcontext() as ctx:
        ctx.prec = digits + 10

        def atan_inv(n: int) -> Decimal:
            term = total = D(1) / n
            k = 1
            while abs(term) > D(10) ** -(digits + 5):
                term = -term / (n * n)
                k += 2
                total += term / k
            return total

        return 16 * atan_inv(5) - 4 * atan_inv(239)


PI = machin_pi(400)  # erfc's tail needs ~300 digits of it
SELU_ALPHA = D("1.6732632423543772848170429916717")
SELU_SCALE = D("1.0507009873554804934193349852946")


def d_expm1(v):
    """exp(v) - 1 without cancellation: the Taylor series for small |v|."""
    if abs(v) > D("1e-5"):
        return v.exp() - 1
    term = total = v
    for n in range(2, 30):
        term = term * v / n
        total += term
    return total


def d_sigmoid(v):
    return 1 / (1 + (-v).exp())


def d_tanh(v):
    e = d_expm1(2 * v)
    return e / (e + 2)


def d_erfc(z):
    """erfc from erf(z) = 2/√π·exp(-z²)·Σ z·(2z²)^n/(1·3···(2n+1)), a series of positive terms;
    extra digits cover the ~z²·log10(e) lost when 1 - erf(z) is tiny."""
    if z < 0:
        return 2 - d_erfc(-z)
    if z == 0:
        return D(1)
    with localcontext() as ctx:
        ctx.prec = PREC + int(z * z / D("2.3")) + 10
        term = total = z
        n = 0
        while True:
            n += 1
            term = term * 2 * z * z / (2 * n + 1)
            total += term
            if term <= total.scaleb(-ctx.prec):
                break
        return 1 - 2 / PI.sqrt() * (-z * z).exp() * total


def d_ibert(x):
    a, b = D("-0.2888"), D("-1.769")
    z = x / D(2).sqrt()
    sign = (z > 0) - (z < 0)
    return x / 2 * (1 + sign * (a * (min(abs(z), -b) + b) ** 2 + 1))


def d_silu_poly(x):
    c = D("4.4")
    sign = (x > 0) - (x < 0)
    return x * (D("0.5") + D("0.5") * sign * (1 - (1 - min(abs(x), c) / c) ** 2))


def d_softplus(x, beta, threshold):
    return x if beta * x > threshold else (1 + (beta * x).exp()).ln() / beta


EXACT = {
    "relu": lambda x: max(x, D(0)),
    "relu6": lambda x: min(max(x, D(0)), D(6)),
    "leaky_relu": lambda x, negative_slope: x if x >= 0 else negative_slope * x,
    "prelu": lambda x, weight: x if x >= 0 else weight * x,
    "elu": lambda x, alpha: x if x > 0 else alpha * d_expm1(x),
    "selu": lambda x: SELU_SCALE * (x if x > 0 else SELU_ALPHA * d_expm1(x)),
    "celu": lambda x, alpha: max(D(0), x) + min(D(0), alpha * d_expm1(x / alpha)),
    "gelu": lambda x: x / 2 * d_erfc(-x / D(2).sqrt()),
    "gelu_tanh": lambda x: x * d_sigmoid(2 * (2 / PI).sqrt() * (x + D("0.044715") * x**3)),
    "gelu_quick": lambda x: x * d_sigmoid(D("1.702") * x),
    "gelu_poly": d_ibert,
    "silu": lambda x: x * d_sigmoid(x),
    "silu_poly": d_silu_poly,
    "mish": lambda x: x * d_tanh((1 + x.exp()).ln()),
    "softplus": d_softplus,
    "sigmoid": d_sigmoid,
    "tanh": d_tanh,
    "hardswish": lambda x: x * min(max(x + 3, D(0)), D(6)) / 6,
    "hardsigmoid": lambda x: min(max(x + 3, D(0)), D(6)) / 6,
    "hardtanh": lambda x, min_val, max_val: min(max(x, min_val), max_val),
    "hardshrink": lambda x, lambd: x if abs(x) > lambd else D(0),
    "softshrink": lambda x, lambd: x - lambd if x > lambd else x + lambd if x < -lambd else D(0),
}

POINTS = [
    *(-30.0, -20.0, -15.0, -10.0, -7.25, -6.0, -4.5, -4.4, -4.3, -3.5, -3.0, -2.6, -2.45),
    *(-2.0, -1.3, -1.0, -0.75, -0.5, -0.3, -0.1, -1e-3, -1e-8, -1e-300, 0.0, 1e-300),
    *(1e-8, 1e-3, 0.1, 0.3, 0.5, 0.75, 1.0, 1.3, 2.0, 2.45, 2.6, 3.0, 3.5, 4.3, 4.4, 4.5),
    *(6.0, 7.25, 10.0, 15.0, 20.0, 20.5, 30.0, 0.1234567, -0.9876543, 5.4321, -5.4321),
]


def ulp_error(y: float, exact: Decimal) -> float:
    r = float(exact)
    return abs(y - r) / np.spacing(abs(r))


def test_exact_table_covers_every_elementwise_activation():
    assert set(EXACT) == set(ELEMENTWISE_IDS)


@pytest.mark.parametrize("act", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_reference_matches_exact_decimal_evaluation(act):
    y = act.reference(np.array(POINTS), **act.params)
    dparams = {k: D(v) for k, v in act.params.items()}  # the float parameters' exact values
    errors = {}
    with localcontext() as ctx:
        ctx.prec = PREC
        for x, yx in zip(POINTS, y, strict=True):
            errors[x] = ulp_error(float(yx), EXACT[act.name](D(x), **dparams))
    worst = max(errors, key=errors.get)
    assert errors[worst] <= ULP_TOL, f"{act.name}({worst}) is {errors[worst]} ulp off"


def test_softmax_matches_exact_decimal_evaluation():
    rows = [[-30.0, -1.0, 0.0, 2.5, 10.0], [0.0, 0.0, 0.0], [-745.0, 0.0], [1e-8, -1e-8, 3.0]]
    for row in rows:
        y = ref.softmax(np.array(row))
        with localcontext() as ctx:
            ctx.prec = PREC
            e = [D(v).exp() for v in row]
            exact = [v / sum(e) for v in e]
        assert max(ulp_error(float(a), b) for a, b in zip(y, exact, strict=True)) <= ULP_TOL


# --- limits, NaN, warnings, shapes --------------------------------------------------------------

SELU_LIMIT = -float(SELU_ALPHA * SELU_SCALE)
LIMITS = {  # name: (f(-inf), f(+inf)), (f'(-inf), f'(+inf)) with the default parameters
    "relu": ((0, INF), (0, 1)),
    "relu6": ((0, 6), (0, 0)),
    "leaky_relu": ((-INF, INF), (0.01, 1)),
    "prelu": ((-INF, INF), (0.25, 1)),
    "elu": ((-1, INF), (0, 1)),
    "selu": ((SELU_LIMIT, INF), (0, float(SELU_SCALE))),
    "celu": ((-1, INF), (0, 1)),
    "gelu": ((0, INF), (0, 1)),
    "gelu_tanh": ((0, INF), (0, 1)),
    "gelu_quick": ((0, INF), (0, 1)),
    "gelu_poly": ((0, INF), (0, 1)),
    "silu": ((0, INF), (0, 1)),
    "silu_poly": ((0, INF), (0, 1)),
    "mish": ((0, INF), (0, 1)),
    "softplus": ((0, INF), (0, 1)),
    "sigmoid": ((0, 1), (0, 0)),
    "tanh": ((-1, 1), (0, 0)),
    "hardswish": ((0, INF), (0, 1)),
    "hardsigmoid": ((0, 1), (0, 0)),
    "hardtanh": ((-1, 1), (0, 0)),
    "hardshrink": ((-INF, INF), (1, 1)),
    "softshrink": ((-INF, INF), (1, 1)),
}
NASTY = np.array(
    [
        *(np.nan, -INF, INF, -0.0, 0.0, 5e-324, -5e-324, 1e-310, -1e-310, 1e-200, -1e-200),
        *(1e300, -1e300, 1.7e308, -1.7e308, 710.0, -710.0, 746.0, -746.0, 1e5, -1e5),
        *(20.0, 20.5, 3.0, -3.0, 0.5, -0.5),
    ]
)


def test_limit_table_covers_every_elementwise_activation():
    assert set(LIMITS) == set(ELEMENTWISE_IDS)


@pytest.mark.parametrize("act", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_nan_and_infinities_give_nan_and_limits(act):
    (f_lo, f_hi), (d_lo, d_hi) = LIMITS[act.name]
    y = act.reference(np.array([np.nan, -INF, INF]))
    d = act.derivative(np.array([np.nan, -INF, INF]))
    assert np.isnan(y[0]) and np.isnan(d[0])
    assert (y[1], y[2]) == (f_lo, f_hi)
    assert (d[1], d[2]) == (d_lo, d_hi)


@pytest.mark.parametrize("act", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_no_warnings_and_finite_where_input_is_finite(act):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = act.reference(NASTY)
        d = act.derivative(NASTY)
        for x in NASTY:
            act.reference(x)
            act.derivative(x)
    finite = np.isfinite(NASTY)
    assert np.all(np.isfinite(d[finite]))
    bounded = np.isfinite(act.output_range)
    if bounded.all():
        assert np.all(np.isfinite(y[finite]))
    # unbounded ones may overflow only for huge inputs
    assert np.all(np.isfinite(y[np.abs(NASTY) <= 1e5]))


def test_softmax_limits_nan_and_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = ref.softmax(np.array([[INF, 0.0, INF], [-INF, 1.0, 1.0], [np.nan, 1.0, 2.0]]))
        all_neg = ref.softmax(np.array([-INF, -INF]))
    np.testing.assert_array_equal(y[0], [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(y[1], [0.0, 0.5, 0.5])
    assert np.isnan(y[2]).all() and np.isnan(all_neg).all()


@pytest.mark.parametrize("act", SHAPE_PRESERVING, ids=[a.name for a in SHAPE_PRESERVING])
@pytest.mark.parametrize("shape", [(), (0,), (2, 0), (7,), (2, 3, 4)])
def test_shape_and_dtype_preserved(act, shape):
    x = np.random.default_rng(0).normal(0.0, 3.0, shape).astype(np.float32)
    for fn in (act.reference, act.derivative):
        if fn is None:
            continue
        y = fn(x)
        assert isinstance(y, np.ndarray) and y.shape == shape and y.dtype == np.float64
        if act.elementwise and x.size:
            expected = [float(fn(float(v))) for v in x.ravel()]
            np.testing.assert_array_equal(y.ravel(), expected)
    assert act.reference(1.5).shape == ()


def test_softmax_axis():
    x = np.random.default_rng(1).normal(size=(3, 4))
    np.testing.assert_allclose(ref.softmax(x, axis=0).sum(axis=0), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(ref.softmax(x, axis=0), ref.softmax(x.T).T)


# --- derivatives --------------------------------------------------------------------------------

BREAKPOINTS = {  # where f, f' or f'' is not smooth: central differences are inaccurate there
    "relu": [0],
    "relu6": [0, 6],
    "leaky_relu": [0],
    "prelu": [0],
    "elu": [0],
    "selu": [0],
    "celu": [0],
    "gelu_poly": [-2.50174, 0, 2.50174],
    "silu_poly": [-4.4, 4.4],
    "hardswish": [-3, 3],
    "hardsigmoid": [-3, 3],
    "hardtanh": [-1, 1],
    "hardshrink": [-0.5, 0.5],
    "softshrink": [-0.5, 0.5],
    "softplus": [20],  # PyTorch's threshold switch
}
FD_POINTS = np.concatenate([np.linspace(-8.0, 8.0, 1601), [-30.0, -15.0, 15.0, 19.9, 30.0]])


@pytest.mark.parametrize("act", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_derivative_matches_central_difference(act):
    x = FD_POINTS
    for k in BREAKPOINTS.get(act.name, []):
        x = x[np.abs(x - k) > 1e-3]
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    fd = (act.reference(x + h) - act.reference(x - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(x), fd, rtol=1e-6, atol=1e-8)


GELU_POLY_RIGHT = 0.5 * (2 - 0.2888 * 1.769**2)
AT_KINKS = [  # PyTorch's backward at kinks; the right-hand derivative where PyTorch has none
    ("relu", 0, 0),
    ("relu6", 0, 0),
    ("relu6", 6, 0),
    ("leaky_relu", 0, 0.01),
    ("prelu", 0, 0.25),
    ("elu", 0, 1),
    ("selu", 0, float(SELU_ALPHA * SELU_SCALE)),
    ("celu", 0, 1),
    ("gelu_poly", 0, GELU_POLY_RIGHT),
    ("hardswish", -3, -0.5),
    ("hardswish", 3, 1.5),
    ("hardsigmoid", -3, 0),
    ("hardsigmoid", 3, 0),
    ("hardtanh", -1, 0),
    ("hardtanh", 1, 0),
    ("hardshrink", 0.5, 0),
    ("softshrink", -0.5, 0),
    ("silu_poly", 4.4, 1),
    ("softplus", 20, float(ref.sigmoid(20.0))),
    ("softplus", 20.5, 1),
]


@pytest.mark.parametrize(("name", "x", "expected"), AT_KINKS)
def test_derivative_convention_at_kinks(name, x, expected):
    assert float(get(name).derivative(float(x))) == pytest.approx(expected, rel=1e-15, abs=1e-15)


def test_gelu_poly_kink_at_zero_is_real():
    """I-BERT's L(z) jumps by 2·(1 + a·b²) at 0; only the factor x keeps gelu_poly continuous."""
    left = float(ref.gelu_poly_derivative(-1e-12))
    assert left == pytest.approx(0.5 * 0.2888 * 1.769**2, rel=1e-9)
    assert GELU_POLY_RIGHT - left == pytest.approx(1 - 0.2888 * 1.769**2, rel=1e-9)


# --- approximations -----------------------------------------------------------------------------

# Every approximated function and its approximations tend to the same asymptotes (0 or the
# constant lower bound as x -> -inf, x or the constant upper bound as x -> +inf), exactly or as
# e^{-|x|} at the slowest (sigmoid, silu, softplus, mish). So |f - g| < 1e-7 beyond |x| = 20 while
# every bound is >= 4.8e-4: the sup over ℝ is attained inside [-20, 20]; the test checks both ends.
APPROX_GRID = np.linspace(-20.0, 20.0, 2_000_001)  # step 2e-5
PAIRS = [(a, p) for a in ACTIVATIONS.values() for p in a.approximations]


@functools.cache
def on_grid(name: str) -> np.ndarray:
    return get(name).reference(APPROX_GRID)


def test_the_required_approximations_are_recorded():
    recorded = {(a.name, p.name) for a, p in PAIRS}
    required = {("gelu", "gelu_tanh"), ("gelu", "gelu_quick"), ("gelu", "gelu_poly")}
    required |= {("gelu", "hardswish"), ("silu", "silu_poly"), ("silu", "hardswish")}
    required |= {("sigmoid", "hardsigmoid"), ("tanh", "hardtanh"), ("mish", "hardswish")}
    assert required <= recorded


@pytest.mark.parametrize(("act", "approx"), PAIRS, ids=[f"{a.name}~{p.name}" for a, p in PAIRS])
def test_pinned_max_error_is_a_tight_upper_bound(act, approx):
    diff = np.abs(on_grid(act.name) - on_grid(approx.name))
    measured = float(diff.max())
    assert measured <= approx.max_abs_error <= 1.05 * measured
    assert max(diff[0], diff[-1]) < 1e-3 * measured  # the difference has vanished at the ends
    far = np.array([-40.0, 40.0])
    tail = np.abs(act.reference(far) - get(approx.name).reference(far))
    assert np.all(tail <= np.array([diff[0], diff[-1]]))  # ... and keeps shrinking beyond


# --- properties ---------------------------------------------------------------------------------


# adaptive_log_softmax sampled on a 12-class vocabulary (its default has 32 000 classes; each of the
# 600 001 samples would need them all): the flags describe the function, not the vocabulary size.
SMALL_VOCABULARY = {"adaptive_log_softmax": {"in_features": 3, "n_classes": 12, "cutoffs": (4, 8)}}


def as_scalar_function(act: Activation):
    """x -> f(x); for softmax the first output over the logits (x, 0, 1), for adaptive
    log-softmax the first class's log-probability at the hidden state (x, 0, 1)."""
    if act.elementwise:
        return functools.partial(act.reference, **act.params)
    params = SMALL_VOCABULARY.get(act.name, {})

    def first(x):
        x = np.asarray(x, dtype=np.float64)
        rest = np.broadcast_to([0.0, 1.0], (*x.shape, 2))
        return act.reference(np.concatenate([x[..., None], rest], axis=-1), **params)[..., 0]

    return first


ALL = list(ACTIVATIONS.values())
SAMPLE = np.concatenate([[-INF], np.linspace(-50.0, 50.0, 200_001), [INF]])


@pytest.mark.parametrize("act", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_output_range_contains_and_reaches_the_sampled_outputs(act):
    y = act.reference(SAMPLE)
    lo, hi = act.output_range
    assert lo <= y.min() and y.max() <= hi
    assert y.min() == lo if math.isinf(lo) else y.min() - lo <= 1e-3
    assert y.max() == hi if math.isinf(hi) else hi - y.max() <= 1e-3


def test_softmax_output_range():
    y = ref.softmax(np.random.default_rng(2).normal(0.0, 30.0, (1000, 5)))
    lo, hi = get("softmax").output_range
    assert lo <= y.min() < lo + 1e-9 and hi - 1e-9 < y.max() <= hi


@pytest.mark.parametrize("act", ALL, ids=list(ACTIVATIONS))
def test_monotonic_flag_matches_sampling(act):
    y = as_scalar_function(act)(np.linspace(-30.0, 30.0, 600_001))
    assert bool(np.all(np.diff(y) >= 0)) == act.monotonic


@pytest.mark.parametrize("act", ELEMENTWISE, ids=ELEMENTWISE_IDS)
def test_zero_centred_flag_matches_sampling(act):
    y = act.reference(SAMPLE)
    assert (float(act.reference(0.0)) == 0 and y.min() < 0 < y.max()) == act.zero_centred


def smoothness_class(f) -> str:
    """Classify f on [-8, 8] from finite differences with step h = 1e-3.

    A jump of f shows as |Δf| = O(1) (else <= h·max|f'| ~ 2e-3); a kink as a jump of the slopes
    (>= half the derivative jump, >= 0.048 for the smallest kink here, else ~h·|f''|); a jump of f''
    as a jump of the second differences (smooth: ~h·|f'''|). Thresholds sit ~10x from both sides.
    """
    h = 1e-3
    y = f(np.linspace(-8.0, 8.0, 16_001))
    if np.max(np.abs(np.diff(y))) > 0.05:
        return "discontinuous"
    slopes = np.diff(y) / h
    if np.max(np.abs(np.diff(slopes))) > 0.02:
        return "C0"
    if np.max(np.abs(np.diff(np.diff(slopes) / h))) > 0.05:
        return "C1"
    return "C∞"


@pytest.mark.parametrize("act", ALL, ids=list(ACTIVATIONS))
def test_smoothness_matches_finite_differences(act):
    assert smoothness_class(as_scalar_function(act)) == act.smoothness


# --- catalogue structure ------------------------------------------------------------------------


def test_required_activations_in_order():
    assert list(ACTIVATIONS)[: len(REQUIRED)] == REQUIRED
    not_elementwise = [a.name for a in ACTIVATIONS.values() if not a.elementwise]
    assert not_elementwise == ["softmax", "adaptive_log_softmax"]


def test_get_returns_records_and_names_unknown_ones():
    assert get("hardswish") is ACTIVATIONS["hardswish"]
    with pytest.raises(ValueError, match=r"unknown activation 'swish2'; known: relu, relu6, "):
        get("swish2")


def test_names_referenced_by_records_exist():
    for act in ACTIVATIONS.values():
        assert act.edge_replacement is None or act.edge_replacement in ACTIVATIONS
        for p in act.approximations:
            assert isinstance(p, Approximation) and p.name in ACTIVATIONS and p.name != act.name
            assert ACTIVATIONS[p.name].elementwise and p.max_abs_error > 0


def test_edge_replacements_are_edge_friendly_and_acyclic():
    edge_friendly = ["relu6", "hardswish", "hardsigmoid", "hardtanh", "gelu_tanh", "gelu_poly"]
    assert all(get(n).edge_replacement is None for n in [*edge_friendly, "silu_poly"])
    for act in ACTIVATIONS.values():
        seen, name = set(), act.name
        while get(name).edge_replacement is not None:
            assert name not in seen
            seen.add(name)
            name = get(name).edge_replacement
    expected = {"gelu": "gelu_tanh", "silu": "hardswish", "mish": "hardswish", "relu": "relu6"}
    expected |= {"sigmoid": "hardsigmoid", "tanh": "hardtanh", "softplus": "relu"}
    expected |= {"elu": "relu6", "selu": "relu6", "celu": "relu6", "leaky_relu": "relu6"}
    expected |= {"prelu": "leaky_relu"}
    assert {n: get(n).edge_replacement for n in expected} == expected


def test_records_are_immutable_and_params_match_the_references():
    act = get("leaky_relu")
    with pytest.raises(AttributeError):
        act.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        act.params["negative_slope"] = 0.2  # type: ignore[index]
    with pytest.raises(TypeError):
        ACTIVATIONS["x"] = act  # type: ignore[index]
    assert dict(get("softplus").params) == {"beta": 1.0, "threshold": 20.0}
    assert dict(get("hardtanh").params) == {"min_val": -1.0, "max_val": 1.0}
    for a in ACTIVATIONS.values():
        assert (a.derivative is None) == (not a.elementwise)
        assert a.smoothness in {"discontinuous", "C0", "C1", "C∞"}
        a.reference(np.zeros(a.params.get("in_features", 3)), **a.params)
        hash(a)


def test_onnx_and_tflite_op_names_exist():
    onnx_defs = pytest.importorskip("onnx.defs")
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    for act in ACTIVATIONS.values():
        assert act.onnx_op is None or onnx_defs.has(act.onnx_op), act.onnx_op
        assert act.tflite_op is None or hasattr(schema.BuiltinOperator, act.tflite_op)
