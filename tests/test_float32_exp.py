"""The float32 exponential's pieces (``edgeact.kernels._float32``): where its polynomial's
coefficients come from and how far off it is, and the reduction's exactness claims.

The kernels built on it are swept against the float64 references in tests/test_kernels.py; these
tests check the parts that a sweep cannot pin down: the error bound over the whole reduced range
and the derivation that makes the coefficients reproducible.
"""

import math

import numpy as np

from edgeact.kernels import _float32

REDUCED = 0.3466  # |r| <= ln(2)/2 plus the reduction's slack (test_reduced_range_fits)
FIT_GRID = np.linspace(-REDUCED, REDUCED, 4001)


def _weighted_fit(fixed: dict[int, float], degree: int, iterations: int = 1000) -> np.ndarray:
    """Coefficients c[k] of r**(k + 2), k < degree, minimising max |r + r²·P(r) - (e**r - 1)| /
    |e**r - 1| on ``FIT_GRID`` with the ``fixed`` ones held: Lawson's iteratively reweighted least
    squares, which converges to the grid's minimax solution."""
    r = FIT_GRID
    scale = np.abs(np.where(r == 0, 1.0, np.expm1(r)))
    free = [k for k in range(degree) if k not in fixed]
    basis = np.stack([r ** (k + 2) / scale for k in free], axis=1)
    target = (np.expm1(r) - r - sum(v * r ** (k + 2) for k, v in fixed.items())) / scale
    weights = np.full(r.size, 1.0 / r.size)
    for _ in range(iterations):
        root = np.sqrt(weights)
        solution = np.linalg.lstsq(basis * root[:, None], target * root, rcond=None)[0]
        weights *= np.abs(basis @ solution - target)
        weights /= weights.sum()
    c = np.zeros(degree)
    c[list(fixed)] = list(fixed.values())
    c[free] = solution
    return c


def derive_expm1_coefficients(degree: int = 5) -> tuple[np.float32, ...]:
    """The minimax P, rounded to float32 one coefficient at a time from r**2 up, the others
    refitted after each rounding (which keeps the rounded set's error within 4 % of the
    unrounded minimax's), highest first as ``_float32._EXPM1_P`` holds them."""
    fixed: dict[int, float] = {}
    for k in range(degree):
        fixed[k] = float(np.float32(_weighted_fit(fixed, degree)[k]))
    return tuple(np.float32(fixed[k]) for k in reversed(range(degree)))


def _relative_error(coefficients, r):
    """|r + r²·P(r) - (e**r - 1)| / |e**r - 1|, in float64 (~1e-16: far below what it measures)."""
    p = np.polynomial.polynomial.polyval(r, np.float64(coefficients[::-1]))
    return np.abs((r + r * r * p - np.expm1(r)) / np.expm1(r))


def test_the_coefficients_are_the_derivations():
    assert derive_expm1_coefficients() == _float32._EXPM1_P


def test_expm1_polynomial_error_bound():
    """1.4e-8 of e**r - 1 (0.23·2**-24; so at most that of e**r = 1 + (e**r - 1) too): ~0.03 ulp
    of the sigmoid's 1 + e, against the ~2 ulp that the kernels' own roundings may reach."""
    r = np.linspace(-REDUCED, REDUCED, 400_002)  # an even count: 0 is not on it
    assert _relative_error(_float32._EXPM1_P, r).max() < 1.4e-8


def test_one_degree_less_would_not_do():
    """A degree-5 e**r (P of degree 3) rounded likewise is ~33 times worse, 7.6·2**-24: with it
    the kernels came out 3 (tanh, gelu_tanh) to 8 (selu) ulp off on test_kernels' sweep."""
    r = np.linspace(-REDUCED, REDUCED, 40_002)
    assert _relative_error(derive_expm1_coefficients(4), r).max() > 4e-7


def test_reduced_range_fits():
    """n = round(w·LOG2E) with a float32 LOG2E leaves |w - n·ln 2| <= ln(2)·(1/2 + |w|·|LOG2E -
    log2(e)|), within ``REDUCED`` for every w the kernels pass (|w| <= 110)."""
    slack = 110 * abs(float(_float32._LOG2E) - 1 / math.log(2))
    assert math.log(2) * (0.5 + slack) < REDUCED


def test_ln2_split_is_close_enough():
    """n·(L1 + L2) is n·ln 2 to below 2**-41 for |n| <= 160 (w in [-110, 110])."""
    high, low = (float(part) for part in _float32._LN2)
    assert 160 * abs(high + low - math.log(2)) < 2.0**-41


def test_first_reduction_step_is_exact():
    """fma(-n, LN2_HI, w) rounds nothing: every 97th float32 w in [-110, 110] (~11M), w - n·LN2_HI
    in float64 (exact: n·LN2_HI has 32 bits) is a float32."""
    high = int(np.float32(110).view(np.uint32))
    bits = np.arange(0, high, 97, dtype=np.uint32)
    w = np.concatenate([bits, bits | np.uint32(1 << 31)]).view(np.float32).astype(np.float64)
    n = np.rint(w * np.float64(_float32._LOG2E))
    r = w - n * np.float64(_float32._LN2[0])
    assert np.abs(r).max() < REDUCED
    np.testing.assert_array_equal(r.astype(np.float32).astype(np.float64), r)
