"""A throw-away activation added the way the catalogue's checklist says, and what picks it up.

Softsign, x/(1 + |x|), is not in the catalogue. The fixture registers its record, its element
function, its NumPy peer and its exact formula; kernels, the completeness and accuracy tests, the
benchmark and the guide then handle it like a built-in one, and removing any piece makes the test
that asks for it fail with a message naming the piece.
"""

import math

import numba
import numpy as np
import pytest

from edgeact import bench, catalogue, guide, kernels
from edgeact.bench import numpy_peers
from edgeact.catalogue import ACTIVATIONS, Activation, Approximation
from edgeact.quant import QuantParams
from tests import test_catalogue, test_completeness

NAME = "softsign_throwaway"


def _softsign(x):
    x = np.asarray(x, dtype=np.float64)
    return x / (1.0 + np.abs(x))


def _softsign_derivative(x):
    x = np.asarray(x, dtype=np.float64)
    return 1.0 / (1.0 + np.abs(x)) ** 2


@numba.njit
def softsign_throwaway(x):
    return x / (1.0 + abs(x))


RECORD = Activation(
    name=NAME,
    family="sigmoid",
    formula="x/(1 + |x|)",
    reference=_softsign,
    derivative=_softsign_derivative,
    params={},
    output_range=(-1.0, 1.0),
    smoothness="C1",
    monotonic=True,
    zero_centred=True,
    approximations=(Approximation("hardtanh", 0.5),),
    edge_replacement="hardtanh",
)


@pytest.fixture
def added(monkeypatch):
    """The record and its pieces: element function, NumPy peer, exact Decimal formula."""
    monkeypatch.setitem(kernels.scalar.ELEMENTS, NAME, softsign_throwaway)
    monkeypatch.setitem(numpy_peers.EXPRESSIONS, NAME, lambda x, c: x / (c(1) + np.abs(x)))
    monkeypatch.setitem(test_catalogue.EXACT, NAME, lambda x: x / (1 + abs(x)))
    with catalogue.registered(RECORD):
        yield RECORD


def test_kernels_pick_it_up(added):
    kernel = kernels.get(NAME)
    x = np.linspace(-50, 50, 1001, dtype=np.float32)
    want = _softsign(x).astype(np.float32)
    np.testing.assert_array_max_ulp(kernel(x), want, maxulp=1)
    half = x.astype(np.float16)
    np.testing.assert_array_equal(kernel(half), _softsign(half).astype(np.float16))
    x_q, y_q = QuantParams(0.25, 0, "int8"), QuantParams(1 / 127, 0, "int8")
    codes = np.arange(-128, 128, dtype=np.int8)
    np.testing.assert_array_equal(
        kernel(codes, x_q=x_q, y_q=y_q), kernels.apply_lut(codes, kernels.make_lut(NAME, x_q, y_q))
    )


def test_the_catalogue_tests_pick_it_up(added):
    test_completeness.test_has_an_element_function_and_a_kernel(NAME)
    test_completeness.test_has_a_numpy_peer(NAME)
    test_completeness.test_has_exact_reference_rows(NAME)
    test_completeness.test_has_int8_cases_against_every_runtime_it_has_a_form_for(NAME)
    test_catalogue.test_reference_matches_exact_decimal_evaluation(added)


def test_the_benchmark_picks_it_up(added):
    (record,) = bench.bench_kernels([NAME], ["float32"], [1000], min_time=1e-4, repeats=2)
    assert record["activation"] == NAME and record["error"] is None
    assert record["numpy_s"] > 0 and record["ratio_vs_numpy"] > 0  # timed against its peer


def test_the_guide_picks_it_up(added):
    (mobile,) = guide.advise("mobile")
    rows = [r for r in mobile["edge_replacements"] if r["from"] == NAME]
    assert rows == [{"from": NAME, "to": "hardtanh", "max_abs_error": 0.5}]
    assert guide.dead_for_negative(NAME) is None  # its gradient never vanishes to 0 exactly
    assert guide.saturation(NAME)  # but it does flatten for large |x|


@pytest.mark.parametrize(
    ("piece", "table", "test", "message"),
    [
        (
            "element function",
            lambda: kernels.scalar.ELEMENTS,
            test_completeness.test_has_an_element_function_and_a_kernel,
            "add its @jit element function",
        ),
        (
            "NumPy peer",
            lambda: numpy_peers.EXPRESSIONS,
            test_completeness.test_has_a_numpy_peer,
            "add its NumPy expression",
        ),
        (
            "exact rows",
            lambda: test_catalogue.EXACT,
            test_completeness.test_has_exact_reference_rows,
            "add its Decimal formula",
        ),
    ],
)
def test_a_missing_piece_fails_the_test_that_names_it(
    added, monkeypatch, piece, table, test, message
):
    monkeypatch.delitem(table(), NAME)
    with pytest.raises(AssertionError, match=message):
        test(NAME)


def test_registration_ends_with_the_block():
    with catalogue.registered(RECORD):
        assert NAME in ACTIVATIONS
    assert NAME not in ACTIVATIONS
    with pytest.raises(ValueError, match="relu already in the catalogue"):
        with catalogue.registered(ACTIVATIONS["relu"]):
            pass
    assert math.isclose(RECORD.approximations[0].max_abs_error, 0.5)
