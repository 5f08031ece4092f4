"""The scalar element functions: callable from users' own @njit code, and the exp they rely on."""

import math

import numpy as np
import pytest
from numba import njit

import edgeact.kernels as K
from edgeact.kernels import scalar
from edgeact.kernels._fastmath import erfc_for_float32, exp, exp_for_float32, expm1, log1p_unit
from edgeact.kernels._float32 import computes_in_float32
from tests._numerics import assert_within_ulp, expected


@njit
def _gated_mlp_activation(x, gate, out):
    """What a user writes: two edgeact element functions fused into one pass of their own loop."""
    for i in range(x.size):
        out[i] = scalar.hardswish(x[i]) * scalar.hardsigmoid(gate[i]) + scalar.leaky_relu(x[i], 0.1)


def test_element_functions_compose_inside_user_njit_code():
    rng = np.random.default_rng(0)
    x, gate = rng.normal(0, 4, 1000), rng.normal(0, 4, 1000)
    out = np.empty_like(x)
    _gated_mlp_activation(x, gate, out)
    want = expected("hardswish", x) * expected("hardsigmoid", gate) + expected(
        "leaky_relu", x, negative_slope=0.1
    )
    np.testing.assert_allclose(out, want, rtol=1e-14, atol=1e-300)


def _in_njit(function):
    """function(x[i]) over an array, from a user's @njit loop, into an array of x's dtype."""

    @njit
    def loop(x, out):
        for i in range(x.size):
            out[i] = function(x[i])

    def run(x):
        out = np.empty_like(x)
        loop(x, out)
        return out

    return run


@pytest.mark.parametrize("name", list(scalar.ELEMENTS))
def test_float16_scalars_give_the_array_kernels_bits(name):
    """Every float16 value, NaNs included: computed in float64, rounded once, NaN rule."""
    every_half = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    with np.errstate(all="ignore"):
        want = K.get(name)(every_half)
    got = _in_njit(getattr(scalar, name))(every_half)
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


@pytest.mark.parametrize("name", list(scalar.ELEMENTS))
def test_float32_scalars_round_the_float64_result_once(name):
    x = np.concatenate([np.linspace(-12, 12, 4001), np.geomspace(1e-30, 3e38, 500)])
    x = np.concatenate([x, -x]).astype(np.float32)
    got = _in_njit(getattr(scalar, name))(x)
    assert_within_ulp(got, expected(name, x), 1, x)
    nans = np.array([0x7FA00001, 0xFF812345], np.uint32).view(np.float32)
    quieted = _in_njit(getattr(scalar, name))(nans).view(np.uint32)
    np.testing.assert_array_equal(quieted, nans.view(np.uint32) | 0x00400000)


def test_scalars_keep_the_float_type_from_python_and_take_keywords():
    assert type(scalar.hardswish(np.float32(1.5))) is np.float32
    assert type(scalar.hardswish(np.float16(1.5))) is np.float16
    assert type(scalar.hardswish(1.5)) is float and scalar.hardswish(1.5) == 1.5 * 4.5 / 6
    assert scalar.leaky_relu(np.float16(-2.0), negative_slope=0.5) == np.float16(-1.0)

    @njit
    def keywords(v):
        return scalar.leaky_relu(v, negative_slope=0.25), scalar.softplus(v, 2.0, threshold=3.0)

    assert keywords(-2.0) == (-0.5, scalar.ELEMENTS["softplus"](-2.0, 2.0, 3.0))

    @njit
    def leaky(x, out):
        for i in range(x.size):
            out[i] = scalar.leaky_relu(x[i], negative_slope=0.25)

    halves = np.array([-2.0, 4.0], np.float16)
    out = np.empty_like(halves)
    leaky(halves, out)
    np.testing.assert_array_equal(out, np.array([-0.5, 4.0], np.float16))


@pytest.mark.parametrize("name", list(scalar.ELEMENTS))
def test_element_function_agrees_with_its_array_kernel(name):
    x = np.linspace(-12, 12, 97, dtype=np.float32)
    from_python = np.array([scalar.ELEMENTS[name](float(v)) for v in x]).astype(np.float32)
    # not always equal: the float32 kernels compile the element functions with exp_for_float32,
    # or compute in float32 (within 2 ulp of the float64 result)
    assert_within_ulp(K.get(name)(x), from_python, 2 if computes_in_float32(name, "fast") else 1, x)


def test_exp_matches_libm_to_float64_precision():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-745, 709.7, 200_000), rng.normal(0, 1, 100_000)])
    got = np.array([exp(v) for v in x[:2000]])  # the scalar path, called from Python
    want = np.exp(x[:2000])
    np.testing.assert_allclose(got, want, rtol=3e-16 * 2, atol=0)
    sweep = njit(lambda v: np.array([exp(t) for t in v]))(x)
    normal = np.exp(x) > np.finfo(np.float64).tiny
    assert np.max(np.abs(sweep[normal] / np.exp(x[normal]) - 1)) < 6e-16


def test_exp_special_values():
    got = [exp(v) for v in (math.inf, -math.inf, math.nan, 710.0, -746.0, 0.0)]
    assert got[0] == math.inf and got[1] == 0.0 and math.isnan(got[2])
    assert got[3] == math.inf and got[4] == 0.0 and got[5] == 1.0


def test_exp_for_float32_is_accurate_to_3e_10_and_clamps_at_200():
    x = np.concatenate(
        [np.linspace(-200, 200, 400_001), np.random.default_rng(2).normal(0, 3, 10**5)]
    )
    sweep = njit(lambda v: np.array([exp_for_float32(t) for t in v]))(x)
    assert np.max(np.abs(sweep / np.exp(x) - 1)) < 3e-10
    limits = [exp_for_float32(v) for v in (math.inf, -math.inf, 1e30, -1e30)]
    np.testing.assert_allclose(limits, np.exp([200, -200, 200, -200]), rtol=3e-10)
    assert math.isnan(exp_for_float32(math.nan))


def test_expm1_and_log1p_match_libm_to_float64_precision():
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [rng.normal(0, 1, 100_000), rng.uniform(-40, 700, 100_000), np.geomspace(1e-300, 1, 3000)]
    )
    x = np.concatenate([x, -x])
    got = njit(lambda v: np.array([expm1(t) for t in v]))(x)
    assert np.max(np.abs(got / np.expm1(x) - 1)) < 1.2e-15
    y = np.concatenate([rng.uniform(0, 1, 200_000), np.geomspace(1e-300, 1, 3000)])
    got = njit(lambda v: np.array([log1p_unit(t) for t in v]))(y)
    assert np.max(np.abs(got / np.log1p(y) - 1)) < 5e-16
    specials = [expm1(v) for v in (math.inf, -math.inf, -0.0)] + [log1p_unit(0.0)]
    assert specials == [math.inf, -1.0, 0.0, 0.0] and math.copysign(1, specials[2]) == -1
    assert math.isnan(expm1(math.nan)) and math.isnan(log1p_unit(math.nan))


def test_erfc_for_float32_is_accurate_to_3e_10():
    z = np.concatenate(
        [np.linspace(-12, 12, 400_001), np.random.default_rng(4).normal(0, 2, 10**5)]
    )
    got = njit(lambda v: np.array([erfc_for_float32(t) for t in v]))(z)
    want = np.array([math.erfc(v) for v in z])
    representable = want > 2.0**-149  # beyond z = 10.05 erfc is below float32's smallest
    assert np.max(np.abs(got[representable] / want[representable] - 1)) < 3e-10
    assert np.all(got[~representable] < 2.0**-149) and np.all(got >= 0)
    limits = [erfc_for_float32(v) for v in (math.inf, -math.inf, 0.0)]
    assert limits[0] < 2.0**-149 and limits[1:] == [2.0, 1.0]
    assert math.isnan(erfc_for_float32(math.nan))


def test_float32_kernels_round_once_from_float64():
    x = np.concatenate(
        [
            np.linspace(-10, 10, 10_001),
            np.geomspace(10, 3e38, 3_000),
            -np.geomspace(10, 3e38, 3_000),
        ]
    ).astype(np.float32)
    for name in ("silu", "gelu", "gelu_tanh", "gelu_quick", "sigmoid", "softplus", "mish", "elu"):
        assert_within_ulp(K.get(name)(x, accuracy="exact"), expected(name, x), 1, x)
